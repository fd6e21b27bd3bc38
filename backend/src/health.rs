//! Whether the primary database answers (docs/adr/0034): a flag every request looks at before
//! its handler runs, so while PostgreSQL is down each request is answered 503 with
//! `Retry-After` at once instead of waiting for a connection.
//!
//! - Down: a probe on a connection of its own (`<application_name>-health`) fails: a connect
//!   refused, or no answer to `SELECT 1` within [`PROBE_TIMEOUT`]. A request that meets an
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
    loop {
        let up = probe(&mut conn, &options).await;
        let Some(s) = state.upgrade() else { return };
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

/// One probe: (re)connects if needed, then `SELECT 1`, each within [`PROBE_TIMEOUT`]. A
/// failed connection is dropped, so the next probe connects afresh.
async fn probe(conn: &mut Option<PgConnection>, options: &PgConnectOptions) -> bool {
    if conn.is_none() {
        match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(options)).await {
            Ok(Ok(c)) => *conn = Some(c),
            _ => return false,
        }
    }
    let Some(c) = conn.as_mut() else { return false };
    let answered = matches!(
        tokio::time::timeout(PROBE_TIMEOUT, c.ping()).await,
        Ok(Ok(()))
    );
    if !answered {
        *conn = None;
    }
    answered
}

/// The routes that need no database (liveness, readiness which says so itself, the trust list
/// and documents held in memory).
const WITHOUT_DATABASE: &[&str] = &[
    eid_core::api::paths::HEALTH,
    crate::meta::READY,
    eid_core::api::paths::TRUST_LIST,
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
