//! Whether the primary database answers (docs/adr/0034): a flag every request looks at before
//! its handler runs, so while PostgreSQL is down each request is answered 503 with
//! `Retry-After` at once instead of waiting for a connection.
//!
//! - Down: a probe on a connection of its own (`<application_name>-health`) fails with an
//!   error (a connect refused, a connection ended: at once), or gets no answer within
//!   [`PROBE_TIMEOUT`] [`SLOW_PROBES`] times in a row (a starved runtime or a busy server is
//!   slow, not down; a partitioned one is noticed within about 2 s). A request that meets an
//!   unreachable database (its 503) asks for a probe at once ([`Health::suspect`]), so an outage
//!   is noticed by the first request that meets it, not by the next tick; a busy pool alone
//!   never marks it down (the probe answers).
//! - Up again: probed every [`DOWN_PROBE`] while down, every [`UP_PROBE`] while up.
//! - In flight when it goes down: the pool's acquire timeout (`db::ACQUIRE_TIMEOUT`) bounds the
//!   wait; a broken connection fails at once.
//!
//! SQLite is a file: always up, no probe.

use crate::error::ApiFailure;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// How long a probe (connect, then `SELECT 1`) may take before the database counts as down.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// Probes without an answer in a row that make the database count as down.
const SLOW_PROBES: u32 = 3;
/// How often the database is probed while it answers.
const UP_PROBE: Duration = Duration::from_secs(1);
/// How often while it does not.
const DOWN_PROBE: Duration = Duration::from_millis(200);

/// The primary's health, shared by the requests and the prober.
#[derive(Debug)]
pub struct Health {
    up: AtomicBool,
    probe_now: Notify,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            up: AtomicBool::new(true),
            probe_now: Notify::new(),
        }
    }
}

impl Health {
    /// Whether the last probe reached the database.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    /// A request met an unreachable database: probe now.
    pub fn suspect(&self) {
        self.probe_now.notify_one();
    }

    fn set(&self, up: bool) {
        if self.up.swap(up, Ordering::SeqCst) != up {
            if up {
                tracing::info!("database reachable again");
            } else {
                tracing::warn!("database unreachable: answering 503 until it is back");
            }
        }
    }
}

/// Starts the prober of `state`'s primary (PostgreSQL only); it ends with the backend.
pub fn spawn_prober(state: &Arc<AppState>) {
    if state.store.backend() != crate::db::Backend::Postgres {
        return;
    }
    let Ok(options) = state.config.database_url.parse::<PgConnectOptions>() else {
        return;
    };
    let name = format!("{}-health", options.get_application_name().unwrap_or("eid"));
    tokio::spawn(probe_loop(
        Arc::downgrade(state),
        options.application_name(&name),
    ));
}

async fn probe_loop(state: Weak<AppState>, options: PgConnectOptions) {
    let mut conn: Option<PgConnection> = None;
    let mut slow = 0;
    loop {
        let probed = probe(&mut conn, &options).await;
        slow = if probed == Probe::Slow { slow + 1 } else { 0 };
        let Some(s) = state.upgrade() else { return };
        let up = match probed {
            Probe::Up => true,
            Probe::Failed => false,
            Probe::Slow => slow < SLOW_PROBES && s.health.is_up(),
        };
        s.health.set(up);
        let wait = if up { UP_PROBE } else { DOWN_PROBE };
        let health = &s.health;
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = health.probe_now.notified() => {}
        }
        drop(s);
    }
}

/// What one probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Up,
    /// An error: refused, ended, failed.
    Failed,
    /// No answer within [`PROBE_TIMEOUT`].
    Slow,
}

/// One probe: (re)connects if needed, then `SELECT 1`, each within [`PROBE_TIMEOUT`]. A
/// connection that failed or did not answer is dropped, so the next probe connects afresh.
async fn probe(conn: &mut Option<PgConnection>, options: &PgConnectOptions) -> Probe {
    if conn.is_none() {
        match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(options)).await {
            Ok(Ok(c)) => *conn = Some(c),
            Ok(Err(_)) => return Probe::Failed,
            Err(_) => return Probe::Slow,
        }
    }
    let Some(c) = conn.as_mut() else {
        return Probe::Failed;
    };
    let probed = match tokio::time::timeout(PROBE_TIMEOUT, c.ping()).await {
        Ok(Ok(())) => return Probe::Up,
        Ok(Err(_)) => Probe::Failed,
        Err(_) => Probe::Slow,
    };
    *conn = None;
    probed
}

/// The routes that need no database (liveness, readiness which says so itself, the trust list
/// and documents held in memory).
const WITHOUT_DATABASE: &[&str] = &[
    eid_core::api::paths::HEALTH,
    crate::meta::READY,
    eid_core::api::paths::TRUST_LIST,
    eid_core::api::paths::KINDS,
    eid_core::api::paths::OPENAPI,
    eid_core::signing::paths::CA_PEM,
];

/// The middleware: while the database is down, 503 + `Retry-After` before the handler runs; a
/// 503 from a handler (an unreachable database met on the way) asks for a probe.
pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let needs_database = !WITHOUT_DATABASE.contains(&req.uri().path());
    if needs_database && !state.health.is_up() {
        return ApiFailure::unavailable().into_response();
    }
    let resp = next.run(req).await;
    if resp.status() == StatusCode::SERVICE_UNAVAILABLE && needs_database {
        state.health.suspect();
    }
    resp
}
