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
pub mod input;
mod issue;
pub mod keys;
pub mod limits;
pub mod lists;
mod presentation;
pub mod registry;
mod server;
pub mod signing;
pub mod sms;
mod status_index;
mod throttle;

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
use signing::seal::{KEK_ENV, SealKey};
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
    /// Development mode: the public fixture issuer keys, the SMS outbox readable over HTTP and
    /// codes logged. Never for a deployment.
    pub dev_mode: bool,
    /// Activation starts allowed per (ID number, phone) pair in [`RATE_WINDOW`].
    pub starts_per_hour: i64,
    /// Synthetic citizens seeded into an empty registry: the fixtures' population
    /// (`eid_fixtures::citizens::POPULATION_SIZE`) unless a load measurement asks for more.
    pub population: usize,
    /// Bearer token of the admin endpoints (verifier registration); none: they refuse everyone.
    pub admin_token: Option<String>,
    /// Connection caps, timeouts, body size, throttles (docs/adr/0019).
    pub limits: limits::Limits,
    /// Where production sends activation codes (development: the outbox).
    pub sms_gateway: Option<sms::Gateway>,
    /// The key-encryption key every private key in the database is sealed under; `None`: from
    /// the environment (`EID_KEK`), or in development mode the public development key.
    pub kek: Option<Arc<SealKey>>,
    /// Where new issuer keys are made and kept: sealed in the database (`Software`, default) or
    /// on a PKCS#11 token (token label and PIN as for the remote signer).
    pub issuer_keys: signing::SignerChoice,
}

impl Config {
    /// Development defaults for `url`: fixture keys, outbox, KEK from the environment or the
    /// development key.
    pub fn development(database_url: impl Into<String>) -> Config {
        Config {
            database_url: database_url.into(),
            dev_mode: true,
            starts_per_hour: 5,
            population: eid_fixtures::citizens::POPULATION_SIZE,
            admin_token: None,
            limits: limits::Limits::default(),
            sms_gateway: None,
            kek: None,
            issuer_keys: signing::SignerChoice::Software,
        }
    }

    /// A deployment on `url`: keys generated on the first start and sealed under `kek`, no
    /// outbox, no logged codes, admin endpoints only with a token.
    pub fn production(
        database_url: impl Into<String>,
        kek: SealKey,
        admin_token: Option<String>,
    ) -> Config {
        Config {
            dev_mode: false,
            admin_token,
            kek: Some(Arc::new(kek)),
            ..Config::development(database_url)
        }
    }

    /// The configured KEK, else the one from the environment; production without one is an
    /// error (one line, for `eid serve`).
    fn resolve_kek(&self) -> Result<Arc<SealKey>, Error> {
        if let Some(k) = &self.kek {
            return Ok(k.clone());
        }
        SealKey::from_env(self.dev_mode)?
            .map(Arc::new)
            .ok_or_else(|| {
                Error::Config(format!(
                    "{KEK_ENV} is not set: production needs a key-encryption key (64 hex digits, \
                     e.g. from `openssl rand -hex 32`), or start with --dev"
                ))
            })
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
    pub keys: keys::Keys,
    pub config: Config,
    pub clock: Clock,
    /// Device keys and state per account (see `auth`).
    pub(crate) accounts: auth::AccountCache,
    /// Encoded document pages per device (see `documents`).
    pub(crate) pages: documents::PageCache,
    /// The last signed status list (see `lists`).
    pub(crate) status_list: lists::StatusListCache,
    /// Remote signing (always on since the KEK is required; an `Option` for tests that turn
    /// it off).
    pub signing: Option<signing::Signing>,
    /// Caches of the presentation endpoints (verifiers, opened registry records).
    pub presentation: presentation::Caches,
    /// Token buckets of the unauthenticated endpoints.
    pub(crate) throttle: throttle::Throttle,
    /// Where activation codes go.
    pub(crate) sms: sms::SmsSender,
    /// Citizen consent (docs/adr/0017); always on since every backend has a KEK.
    pub(crate) consent: consent::Consent,
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
        let kek = config.resolve_kek()?;
        // One session per PKCS#11 module: the issuer keys and the remote signer share it.
        let token: Option<Arc<dyn signing::KeySigner>> = match &config.issuer_keys {
            signing::SignerChoice::Software => None,
            signing::SignerChoice::Pkcs11 { module } => {
                Some(Arc::new(signing::pkcs11::Pkcs11Signer::from_env(module)?))
            }
        };
        let shared = match (choice, &config.issuer_keys) {
            (
                signing::SignerChoice::Pkcs11 { module: a },
                signing::SignerChoice::Pkcs11 { module: b },
            ) if a == b => token.clone(),
            _ => None,
        };
        let vault = keys::Vault {
            kek: kek.clone(),
            token,
        };
        let store = db::Store::open(&config.database_url).await?;
        let clock = Clock::default();
        keys::ensure(&store, &vault, config.dev_mode, clock.now()).await?;
        let mut keys = keys::Keys::load(&store, &vault, clock.now()).await?;
        if registry::seed_if_empty(&store, &keys, clock.now(), config.population).await? {
            // Again with the chips' CSCA the seed added.
            keys = keys::Keys::load(&store, &vault, clock.now()).await?;
        }
        let signing =
            Some(signing::Signing::open(&store, kek.clone(), choice, shared, clock.now()).await?);
        if config.admin_token.is_none() {
            tracing::info!("no admin token: the admin endpoints refuse every request");
        }
        let throttle =
            throttle::Throttle::new(config.limits.client_throttle, config.limits.global_throttle);
        let sms = sms::SmsSender::new(config.dev_mode, config.sms_gateway.as_ref());
        let consent = consent::Consent::open(&store, kek.clone(), clock.now()).await?;
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
                throttle,
                sms,
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
    /// checks is the router itself. The unauthenticated ones are throttled; every body is read
    /// within the size and time limits before a handler sees it; every answer carries the request
    /// id and every error is an `ErrorBody`.
    pub fn router(&self) -> Router {
        let limits = self.state.config.limits.clone();
        ROUTES
            .iter()
            .filter_map(|(method, path)| handler(method, path).map(|h| (*path, h)))
            .map(|(path, h)| {
                if THROTTLED.contains(&path) {
                    let guard =
                        axum::middleware::from_fn_with_state(self.state.clone(), throttle::guard);
                    (path, h.route_layer(guard))
                } else {
                    (path, h)
                }
            })
            .fold(Router::new(), |router, (path, h)| router.route(path, h))
            .fallback(http::not_found)
            .layer(axum::middleware::from_fn(move |req, next| {
                http::read_body(limits.clone(), req, next)
            }))
            .layer(axum::middleware::from_fn(http::request_context))
            .with_state(self.state.clone())
    }

    /// Deletes what no request needs any more: activations past the rate-limit window and
    /// their expiry, development SMS, and stored answers older than [`RETENTION`] (a client
    /// retries a POST within minutes, not days), request nonces past the timestamp window, and
    /// expired redeemed tokens; forgets the
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
        // Request nonces once the timestamp check refuses a replay anyway.
        deleted += sqlx::query("DELETE FROM request_nonces WHERE seen_at < $1")
            .bind(self.state.now_i64() - auth::NONCE_RETENTION as i64)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
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

    /// Serves on `listener` until `shutdown` completes, within the connection caps and timeouts
    /// of [`Config::limits`] (see `server`), pruning old rows every few minutes.
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
        let served =
            server::run(listener, self.router(), &self.state.config.limits, shutdown).await;
        pruner.abort();
        served
    }
}

/// The routes anyone may call without a device or verifier signature, throttled per client and
/// globally (redeem is verifier-signed, the GETs are cached public lists).
const THROTTLED: &[&str] = &[paths::ACTIVATION_START, paths::ACTIVATION_COMPLETE];

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
    // The form the outbox holds (`+84…` is the same phone).
    let phone = input::normalise_phone(&phone).unwrap_or(phone);
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
