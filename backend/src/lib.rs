//! eid-backend: the reference verification backend (issue "Reference backend, level-2
//! activation and sync"): a synthetic population registry, level-2 activation with chip
//! evidence, document sync, trust and status lists, account lock. The wire contract is
//! `eid_core::api`; the OpenAPI document (`openapi.json`) describes it for other clients.

mod account;
mod activation;
mod auth;
mod cache;
mod consent;
pub mod db;
mod documents;
pub mod error;
mod evidence;
mod http;
mod issue;
pub mod lists;
mod presentation;
pub mod registry;
pub mod signing;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use eid_core::api::{DevOutbox, DevSms, ErrorCode, paths};
use eid_core::signing::api::paths as signing_paths;
pub use error::Error;
use error::{ApiFailure, json_response};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub use activation::{CODE_LIFETIME, MAX_WRONG_CODES, RATE_WINDOW};

/// How long activations, development SMS and stored POST answers are kept (seconds). Longer
/// than [`RATE_WINDOW`] and [`CODE_LIFETIME`], so pruning never weakens a limit.
pub const RETENTION: u64 = 24 * 3600;

/// The OpenAPI 3.1 document of the API (checked in next to this crate's Cargo.toml).
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Every route: method and path. The router is built from the same table as the tests that
/// check it against the OpenAPI document.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", paths::HEALTH),
    ("post", paths::ACTIVATION_START),
    ("post", paths::ACTIVATION_COMPLETE),
    ("get", paths::DOCUMENTS),
    ("get", paths::TRUST_LIST),
    ("get", paths::STATUS_LIST),
    ("get", paths::ACCOUNT),
    ("post", paths::ACCOUNT_LOCK),
    ("post", paths::ACCOUNT_UNLOCK),
    ("post", paths::PRESENTATION_CREDENTIALS),
    ("post", paths::TOKEN_REDEEM),
    ("post", paths::ADMIN_VERIFIERS),
    // Citizen consent (docs/adr/0017).
    ("post", paths::CONSENT_REGISTER),
    ("post", paths::CONSENT_START),
    ("post", paths::PRESENTATION_TOKENS),
    ("get", paths::DEV_OUTBOX),
    ("get", paths::OPENAPI),
    // Remote signing (issue 6).
    ("post", signing_paths::ENROL),
    ("get", signing_paths::CA_PEM),
    ("post", signing_paths::CREDENTIALS_LIST),
    ("post", signing_paths::CREDENTIALS_INFO),
    ("post", signing_paths::CREDENTIALS_CHALLENGE),
    ("post", signing_paths::CREDENTIALS_AUTHORIZE),
    ("post", signing_paths::SIGN_HASH),
];

/// How the backend runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// Development mode: the SMS outbox is readable over HTTP and codes are logged.
    pub dev_mode: bool,
    /// Activation starts allowed per ID number and per phone in [`RATE_WINDOW`].
    pub starts_per_hour: i64,
    /// Synthetic citizens seeded into an empty registry: the fixtures' population
    /// (`eid_fixtures::citizens::POPULATION_SIZE`) unless a load measurement asks for more.
    pub population: usize,
    /// Bearer token of the admin endpoints (verifier registration); none: they refuse everyone.
    pub admin_token: Option<String>,
}

impl Config {
    /// Development defaults for `url`.
    pub fn development(database_url: impl Into<String>) -> Config {
        Config {
            database_url: database_url.into(),
            dev_mode: true,
            starts_per_hour: 5,
            population: eid_fixtures::citizens::POPULATION_SIZE,
            admin_token: None,
        }
    }
}

/// Wall clock with an adjustable offset, so tests can let codes expire without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> u64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        real.saturating_add_signed(self.offset.load(Ordering::Relaxed))
    }

    /// Moves this clock by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}

/// Everything a handler needs.
#[derive(Debug)]
pub struct AppState {
    pub store: db::Store,
    pub keys: registry::Keys,
    pub config: Config,
    pub clock: Clock,
    /// Device keys and state per account (see `auth`).
    pub(crate) accounts: auth::AccountCache,
    /// Encoded document pages per device (see `documents`).
    pub(crate) pages: documents::PageCache,
    /// The last signed status list (see `lists`).
    pub(crate) status_list: lists::StatusListCache,
    /// Remote signing; `None` when it is off (production without a seal key).
    pub signing: Option<signing::Signing>,
    /// Caches of the presentation endpoints (verifiers, opened registry records).
    pub presentation: presentation::Caches,
    /// Citizen consent (docs/adr/0017); `None` when it is off (production without a seal key:
    /// the consented actions are refused).
    pub(crate) consent: Option<consent::Consent>,
}

impl AppState {
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    pub fn now_i64(&self) -> i64 {
        i64::try_from(self.now()).unwrap_or(i64::MAX)
    }
}

/// The backend: opened database, seeded registry, loaded keys.
#[derive(Debug, Clone)]
pub struct App {
    state: Arc<AppState>,
}

impl App {
    /// Opens the database (creating and migrating it), seeds the registry when empty and
    /// loads the keys.
    pub async fn open(config: Config) -> Result<App, Error> {
        App::open_with_signer(config, &signing::SignerChoice::Software).await
    }

    /// [`App::open`] with the remote signing keys in the signer `choice`.
    pub async fn open_with_signer(
        config: Config,
        choice: &signing::SignerChoice,
    ) -> Result<App, Error> {
        let store = db::Store::open(&config.database_url).await?;
        let clock = Clock::default();
        registry::seed_if_empty(&store, clock.now(), config.population).await?;
        let keys = registry::Keys::load(&store).await?;
        let signing = signing::Signing::open(&store, config.dev_mode, choice, clock.now()).await?;
        let consent = consent::Consent::open(&store, config.dev_mode, clock.now()).await?;
        Ok(App {
            state: Arc::new(AppState {
                store,
                keys,
                config,
                clock,
                accounts: Default::default(),
                pages: Default::default(),
                status_list: Default::default(),
                signing,
                presentation: presentation::Caches::default(),
                consent,
            }),
        })
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// The HTTP routes of the backend: exactly [`ROUTES`], so the table the OpenAPI test
    /// checks is the router itself.
    pub fn router(&self) -> Router {
        ROUTES
            .iter()
            .filter_map(|(method, path)| handler(method, path).map(|h| (*path, h)))
            .fold(Router::new(), |router, (path, h)| router.route(path, h))
            .fallback(http::not_found)
            .layer(axum::middleware::from_fn(http::request_context))
            .with_state(self.state.clone())
    }

    /// Deletes what no request needs any more: activations past the rate-limit window and
    /// their expiry, development SMS, and stored answers older than [`RETENTION`] (a client
    /// retries a POST within minutes, not days), and expired redeemed tokens; forgets the
    /// opened registry records. Returns the number of rows deleted.
    pub async fn prune(&self) -> Result<u64, Error> {
        let cutoff = self.state.now_i64() - RETENTION as i64;
        let mut w = self.state.store.write().await?;
        let mut deleted = 0;
        for query in [
            "DELETE FROM activations WHERE created_at < $1",
            "DELETE FROM sms_outbox WHERE created_at < $1",
            "DELETE FROM idempotency WHERE created_at < $1",
            "DELETE FROM rate_keys WHERE touched_at < $1",
        ] {
            deleted += sqlx::query(query)
                .bind(cutoff)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
        }
        // Redeemed and registered tokens once expired (with the clock-skew margin): expiry
        // refuses them anyway; consent logins past their lifetime.
        for query in [
            "DELETE FROM redeemed_tokens WHERE expires_at < $1",
            "DELETE FROM registered_tokens WHERE expires_at < $1",
            "DELETE FROM consent_sessions WHERE expires_at < $1",
            "DELETE FROM consent_pending WHERE expires_at < $1",
        ] {
            deleted += sqlx::query(query)
                .bind(self.state.now_i64() - eid_core::api::MAX_SKEW_SECONDS as i64)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
        }
        w.commit().await?;
        self.state.presentation.clear_records();
        Ok(deleted)
    }

    /// Serves on `listener` until `shutdown` completes, pruning old rows every few minutes.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self.clone();
        let pruner = tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                tick.tick().await;
                match app.prune().await {
                    Ok(n) => tracing::debug!(rows = n, "pruned"),
                    Err(e) => tracing::warn!(error = %e, "pruning failed"),
                }
            }
        });
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await;
        pruner.abort();
        served
    }
}

/// The handler of each entry of [`ROUTES`].
fn handler(method: &str, path: &str) -> Option<MethodRouter<Arc<AppState>>> {
    Some(match (method, path) {
        ("get", paths::HEALTH) => get(health),
        ("post", paths::ACTIVATION_START) => post(activation::start),
        ("post", paths::ACTIVATION_COMPLETE) => post(activation::complete),
        ("get", paths::DOCUMENTS) => get(documents::list),
        ("get", paths::TRUST_LIST) => get(lists::trust_list),
        ("get", paths::STATUS_LIST) => get(lists::status_list),
        ("get", paths::ACCOUNT) => get(account::get),
        ("post", paths::ACCOUNT_LOCK) => post(account::lock),
        ("post", paths::ACCOUNT_UNLOCK) => post(account::unlock),
        ("post", paths::PRESENTATION_CREDENTIALS) => post(presentation::issue_credentials),
        ("post", paths::TOKEN_REDEEM) => post(presentation::redeem),
        ("post", paths::ADMIN_VERIFIERS) => post(presentation::register_verifier),
        ("post", paths::CONSENT_REGISTER) => post(consent::register),
        ("post", paths::CONSENT_START) => post(consent::start),
        ("post", paths::PRESENTATION_TOKENS) => post(presentation::register_token),
        ("get", paths::DEV_OUTBOX) => get(dev_outbox),
        ("get", paths::OPENAPI) => get(openapi),
        ("post", signing_paths::ENROL) => post(signing::enrol),
        ("get", signing_paths::CA_PEM) => get(signing::ca_pem),
        ("post", signing_paths::CREDENTIALS_LIST) => post(signing::list),
        ("post", signing_paths::CREDENTIALS_INFO) => post(signing::info),
        ("post", signing_paths::CREDENTIALS_CHALLENGE) => post(signing::challenge),
        ("post", signing_paths::CREDENTIALS_AUTHORIZE) => post(signing::authorize),
        ("post", signing_paths::SIGN_HASH) => post(signing::sign_hash),
        _ => return None,
    })
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Health {
    pub status: String,
    pub version: String,
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    // Healthy means the database answers.
    match sqlx::query("SELECT 1").fetch_one(state.store.pool()).await {
        Ok(_) => Json(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
        .into_response(),
        Err(e) => ApiFailure::from(e).into_response(),
    }
}

async fn openapi() -> Response {
    let mut resp = (StatusCode::OK, OPENAPI_JSON).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

#[derive(Deserialize)]
struct OutboxQuery {
    phone: Option<String>,
}

async fn dev_outbox(
    State(state): State<Arc<AppState>>,
    query: Result<Query<OutboxQuery>, QueryRejection>,
) -> Response {
    if !state.config.dev_mode {
        return ApiFailure::new(ErrorCode::NotFound, "no such endpoint").into_response();
    }
    let Some(phone) = query.ok().and_then(|q| q.0.phone) else {
        return ApiFailure::invalid("phone is required").into_response();
    };
    let rows = match sqlx::query(
        "SELECT phone, body, created_at FROM sms_outbox WHERE phone = $1 ORDER BY id",
    )
    .bind(&phone)
    .fetch_all(state.store.pool())
    .await
    {
        Ok(r) => r,
        Err(e) => return ApiFailure::from(e).into_response(),
    };
    let mut messages = Vec::new();
    for row in rows {
        let (Ok(phone), Ok(text), Ok(sent_at)) = (
            row.try_get::<String, _>(0),
            row.try_get::<String, _>(1),
            row.try_get::<i64, _>(2),
        ) else {
            continue;
        };
        let code = text
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap_or_default()
            .to_owned();
        messages.push(DevSms {
            phone,
            code,
            text,
            sent_at: u64::try_from(sent_at).unwrap_or(0),
        });
    }
    match serde_json::to_vec(&DevOutbox { messages }) {
        Ok(body) => json_response(StatusCode::OK, body, None),
        Err(_) => ApiFailure::new(ErrorCode::Internal, "encoding").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_handler_once() {
        for (i, (method, path)) in ROUTES.iter().enumerate() {
            assert!(handler(method, path).is_some(), "{method} {path}");
            assert!(
                !ROUTES[..i].contains(&(*method, *path)),
                "{method} {path} twice"
            );
        }
    }
}
