//! The caches of several instances on one PostgreSQL database, kept coherent (docs/adr/0027).
//!
//! - A write that changes what a cache holds commits through [`commit`] with the [`Change`]s it
//!   made: on PostgreSQL one `NOTIFY` on [`CHANNEL`] goes out *inside* the transaction (the
//!   server delivers it at the commit, and only if the transaction commits), then this
//!   process's caches are invalidated as before (docs/adr/0010).
//! - Every instance on PostgreSQL runs a listener task ([`spawn_listener`]) on a connection of
//!   its own (`LISTEN`), and invalidates what the other instances announce.
//! - While that connection is not listening, notifications may be missed: the caches' [`Gate`]
//!   is closed (every request reads the database) and every cache is cleared when it closes and
//!   again when the listener is back, before the gate opens. A connection that goes quiet is
//!   probed ([`PROBE_AFTER`]); one that does not answer within [`PROBE_TIMEOUT`] counts as lost.
//! - SQLite is one process (`App::serve` refuses a second one on the same file): no channel,
//!   the gate is always open.
//!
//! A payload is the sending instance's id on the first line, then one change per line:
//! `a <account id>`, `p <device id>`, `s`, `r` (the ids are random, no personal data).

use crate::cache::Gate;
use crate::db::{Backend, WriteTx};
use crate::error::Error;
use crate::state::AppState;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The notification channel of cache invalidations.
pub const CHANNEL: &str = "eid_cache";
/// A listener connection quiet this long is probed with a query.
pub const PROBE_AFTER: Duration = Duration::from_secs(1);
/// A probe unanswered this long: the connection counts as lost.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `App::open` waits for the first `LISTEN` before serving with the caches bypassed.
pub const FIRST_LISTEN_WAIT: Duration = Duration::from_secs(5);
/// The largest payload PostgreSQL takes is 8000 bytes; a longer list goes out in parts.
const MAX_PAYLOAD: usize = 7000;

/// What a committed write changed, for the caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// An account's devices or state (the device keys of `auth`).
    Account(&'a str),
    /// A device's documents (the encoded pages of `documents`).
    Pages(&'a str),
    /// What the status list revokes or suspends (`lists`).
    StatusList,
    /// The relying parties (`rp_registry`).
    RelyingParties,
}

impl Change<'_> {
    fn line(&self) -> String {
        match self {
            Change::Account(id) => format!("a {id}"),
            Change::Pages(id) => format!("p {id}"),
            Change::StatusList => "s".to_owned(),
            Change::RelyingParties => "r".to_owned(),
        }
    }
}

/// This instance's part: its id (so it skips its own notifications) and the caches' gate.
#[derive(Debug)]
pub struct Coherence {
    instance: String,
    gate: Arc<Gate>,
}

impl Coherence {
    /// For a store on `backend`: the gate starts open on SQLite, closed on PostgreSQL (until
    /// the listener listens).
    pub fn new(backend: Backend) -> Result<Coherence, Error> {
        Ok(Coherence {
            instance: crate::http::random_hex(8)?,
            gate: Gate::new(backend == Backend::Sqlite),
        })
    }

    /// The gate every cache of this process shares.
    pub fn gate(&self) -> Arc<Gate> {
        self.gate.clone()
    }

    /// Whether the caches are in use (always on SQLite; on PostgreSQL while listening).
    pub fn is_listening(&self) -> bool {
        self.gate.is_open()
    }
}

/// Commits `w` and invalidates the caches for `changes`, those of the other instances too (see
/// the module documentation). The one way a write that changes cached data commits.
pub async fn commit(
    state: &AppState,
    mut w: WriteTx<'_>,
    changes: &[Change<'_>],
) -> Result<(), Error> {
    if state.store.backend() == Backend::Postgres && !changes.is_empty() {
        if changes.contains(&Change::StatusList) {
            // Flushed before it is acknowledged, whatever the server's default: a status list
            // read on a replica waits for the primary's flushed WAL (`replica`, ADR 0030).
            sqlx::query("SET LOCAL synchronous_commit TO on")
                .execute(&mut *w.tx)
                .await?;
        }
        for payload in payloads(&state.coherence.instance, changes) {
            // pg_notify returns void, which sqlx::Any does not decode: count its one row.
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS n")
                .bind(CHANNEL)
                .bind(payload)
                .fetch_one(&mut *w.tx)
                .await?;
        }
    }
    let committed = w.commit().await;
    // Even when the commit reports an error: it may have committed (the connection lost on
    // COMMIT), and this instance skips its own notifications. Forgetting is always safe.
    for change in changes {
        apply(state, *change);
    }
    committed
}

/// The notification payloads of `changes` by `instance`, each within [`MAX_PAYLOAD`].
fn payloads(instance: &str, changes: &[Change<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = instance.to_owned();
    for line in changes.iter().map(Change::line) {
        if current.len() + 1 + line.len() > MAX_PAYLOAD && current.len() > instance.len() {
            out.push(std::mem::replace(&mut current, instance.to_owned()));
        }
        current.push('\n');
        current.push_str(&line);
    }
    out.push(current);
    out
}

/// Invalidates this process's cache entry of `change`.
fn apply(state: &AppState, change: Change<'_>) {
    match change {
        Change::Account(id) => state.accounts.invalidate(id),
        Change::Pages(id) => state.pages.invalidate(id),
        Change::StatusList => state.status_list.invalidate(&()),
        Change::RelyingParties => state.rp_registry.invalidate(&()),
    }
}

/// Every cache of this process emptied (and every store of an earlier read refused).
fn clear_all(state: &AppState) {
    state.accounts.clear();
    state.pages.clear();
    state.status_list.clear();
    state.rp_registry.clear();
}

/// Applies a notification from another instance; one from this instance is skipped. A line it
/// does not know (a newer instance's) clears everything: never keep what might be stale.
fn receive(state: &AppState, payload: &str) {
    let mut lines = payload.lines();
    if lines.next() == Some(state.coherence.instance.as_str()) {
        return;
    }
    for line in lines {
        let change = match line.split_once(' ') {
            Some(("a", id)) => Change::Account(id),
            Some(("p", id)) => Change::Pages(id),
            None if line == "s" => Change::StatusList,
            None if line == "r" => Change::RelyingParties,
            _ => {
                tracing::warn!("unknown cache notification: every cache cleared");
                clear_all(state);
                continue;
            }
        };
        apply(state, change);
    }
}

/// Starts the listener task of `state` (PostgreSQL only; nothing on SQLite). It ends when the
/// backend is dropped.
pub fn spawn_listener(state: &Arc<AppState>) {
    if state.store.backend() != Backend::Postgres {
        return;
    }
    let url = state.config.database_url.clone();
    tokio::spawn(listen(Arc::downgrade(state), url));
}

/// Waits until the listener of `state` listens, at most [`FIRST_LISTEN_WAIT`] (then the
/// backend serves with its caches bypassed until it does, and says so).
pub async fn wait_listening(state: &AppState) {
    let start = std::time::Instant::now();
    while !state.coherence.is_listening() {
        if start.elapsed() > FIRST_LISTEN_WAIT {
            tracing::warn!("cache listener not connected yet: caches bypassed until it is");
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How a listening session ended.
enum Ended {
    /// The connection was lost (or stopped answering).
    Lost,
    /// The backend was dropped.
    Gone,
}

async fn listen(state: Weak<AppState>, url: String) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match connect(&url).await {
            Ok(mut listener) => {
                backoff = Duration::from_millis(50);
                {
                    let Some(s) = state.upgrade() else { return };
                    // Whatever was cached before this LISTEN may have missed a notification.
                    clear_all(&s);
                    s.coherence.gate.set(true);
                }
                tracing::info!("cache listener listening");
                if let Ended::Gone = session(&state, &mut listener).await {
                    return;
                }
                let Some(s) = state.upgrade() else { return };
                s.coherence.gate.set(false);
                clear_all(&s);
                tracing::warn!("cache listener lost: caches bypassed until it is back");
            }
            Err(e) => {
                if state.strong_count() == 0 {
                    return;
                }
                tracing::warn!(error = %e, "cache listener cannot connect");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// A listening connection on its own one-connection pool, named after the backend's
/// connections (`<application_name>-listener`, so operators and tests can find it).
async fn connect(url: &str) -> Result<PgListener, Error> {
    let options: PgConnectOptions = url.parse()?;
    let name = format!(
        "{}-listener",
        options.get_application_name().unwrap_or("eid")
    );
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.application_name(&name))
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    // A lost connection is this module's to handle (clear, then listen afresh), not sqlx's.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Receives notifications until the connection is lost or the backend dropped.
async fn session(state: &Weak<AppState>, listener: &mut PgListener) -> Ended {
    loop {
        // try_recv is cancel-safe (sqlx reads whole messages), so a timeout loses nothing.
        match tokio::time::timeout(PROBE_AFTER, listener.try_recv()).await {
            Ok(Ok(Some(n))) => {
                let Some(s) = state.upgrade() else {
                    return Ended::Gone;
                };
                receive(&s, n.payload());
            }
            Ok(Ok(None)) => return Ended::Lost,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "cache listener connection");
                return Ended::Lost;
            }
            Err(_) => {
                if state.strong_count() == 0 {
                    return Ended::Gone;
                }
                let probe = sqlx::query::<sqlx::Postgres>("SELECT 1").execute(&mut *listener);
                if !matches!(tokio::time::timeout(PROBE_TIMEOUT, probe).await, Ok(Ok(_))) {
                    return Ended::Lost;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_the_instance_and_stay_small() {
        let ids: Vec<String> = (0..500).map(|i| format!("{i:032x}")).collect();
        let mut changes: Vec<Change<'_>> = ids.iter().map(|i| Change::Pages(i)).collect();
        changes.push(Change::StatusList);
        let out = payloads("abc", &changes);
        assert!(out.len() > 1);
        let mut lines = 0;
        for p in &out {
            assert!(p.len() <= MAX_PAYLOAD, "{}", p.len());
            assert_eq!(p.lines().next(), Some("abc"));
            lines += p.lines().count() - 1;
        }
        assert_eq!(lines, changes.len());
        assert_eq!(
            payloads("x", &[Change::Account("k"), Change::StatusList]),
            ["x\na k\ns"]
        );
    }
}
