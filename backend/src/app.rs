//! The running backend ([`App`]): opening (database, keys, registry, services), pruning and
//! serving.

use crate::cache::Cache;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::Error;
use crate::state::AppState;
use crate::{
    auth, coherence, consent, db, keys, mdoc_keys, presentation, reader_keys, registry, rp_keys,
    server, signing, sms, throttle,
};
use axum::Router;
use std::sync::Arc;

/// How long activations, development SMS and stored POST answers are kept (seconds). Longer
/// than [`RATE_WINDOW`](crate::RATE_WINDOW) and [`CODE_LIFETIME`](crate::CODE_LIFETIME), so
/// pruning never weakens a limit.
pub const RETENTION: u64 = 24 * 3600;

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
        let mut store = db::Store::open(&config.database_url).await?;
        if let Some(url) = &config.replica_url {
            store = store.with_replica(url)?;
        }
        let clock = Clock::default();
        crate::kinds::check_config(&config.declared_kinds)?;
        keys::ensure(&store, &vault, config.dev_mode, clock.now()).await?;
        let declared_names: Vec<&str> = config
            .declared_kinds
            .iter()
            .map(|k| k.declaration.name.as_str())
            .collect();
        keys::ensure_declared_issuers(&store, &vault, &declared_names, clock.now()).await?;
        mdoc_keys::ensure(&store, &vault, config.dev_mode, clock.now()).await?;
        let mdoc = mdoc_keys::load(&store, &vault).await?;
        rp_keys::ensure(&store, &vault, config.dev_mode, clock.now()).await?;
        let rp_ca = rp_keys::load(&store, &vault).await?;
        reader_keys::ensure(&store, &vault, config.dev_mode, clock.now()).await?;
        let reader_ca = reader_keys::load(&store, &vault).await?;
        let mut keys = keys::Keys::load(&store, &vault, clock.now()).await?;
        if registry::seed_if_empty(&store, &keys, clock.now(), config.population).await? {
            // Again with the chips' CSCA the seed added.
            keys = keys::Keys::load(&store, &vault, clock.now()).await?;
        }
        let kinds = crate::kinds::KindList::sign(
            config.declared_kinds.clone(),
            keys.status_signer(clock.now())?,
            clock.now(),
        )?;
        let signing =
            Some(signing::Signing::open(&store, kek.clone(), choice, shared, clock.now()).await?);
        if config.admin_token.is_none() {
            tracing::info!("no admin token: the admin endpoints refuse every request");
        }
        let throttle =
            throttle::Throttle::new(config.limits.client_throttle, config.limits.global_throttle);
        let sms = sms::SmsSender::new(config.dev_mode, config.sms_gateway.as_ref());
        let consent = consent::Consent::open(&store, kek.clone(), clock.now()).await?;
        let oidc = crate::oidc::keys::OidcKeys::open(&store, kek.clone(), clock.now()).await?;
        let coherence = coherence::Coherence::new(store.backend())?;
        let gate = coherence.gate();
        let metrics = crate::metrics::Metrics::new();
        let state = Arc::new(AppState {
            store,
            keys,
            kinds,
            mdoc,
            rp_ca,
            reader_ca,
            reader_crl: Default::default(),
            config,
            clock,
            accounts: Cache::new(gate.clone(), metrics.cache("accounts")),
            pages: Cache::new(gate.clone(), metrics.cache("document_pages")),
            status_list: Cache::new(gate.clone(), metrics.cache("status_list")),
            rp_registry: Cache::new(gate, metrics.cache("rp_registry")),
            presentation: presentation::Caches::new(&metrics),
            metrics,
            coherence,
            signing,
            throttle,
            sms,
            kek,
            consent,
            oidc,
            oidc_hub: Default::default(),
            health: Default::default(),
            draining: Default::default(),
            serve_lock: Default::default(),
        });
        // PostgreSQL: hear the other instances' invalidations before using the caches.
        coherence::spawn_listener(&state);
        coherence::wait_listening(&state).await;
        // PostgreSQL: notice an outage (and its end) without waiting for the pool.
        crate::health::spawn_prober(&state);
        // The hub as the verifier of "Log in with e-ID", in its own registry.
        crate::oidc::hub::ensure(&state).await?;
        Ok(App { state })
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// The HTTP routes of the backend (see [`crate::router`]).
    pub fn router(&self) -> Router {
        crate::router(self.state.clone())
    }

    /// The metrics address's routes: `GET /metrics` only (docs/adr/0030). Never merged into
    /// [`App::router`]: serve it on an address of its own that only the scraper reaches.
    pub fn metrics_router(&self) -> Router {
        Router::new()
            .route(
                crate::metrics::PATH,
                axum::routing::get(crate::metrics::metrics),
            )
            .with_state(self.state.clone())
    }

    /// Serves [`App::metrics_router`] on `listener` until `shutdown` completes (the API's
    /// connection limits apply); a failure is logged.
    pub async fn serve_metrics(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        let limits = &self.state.config.limits;
        let counts = server::ConnectionCounts::default();
        if let Err(e) = server::run(listener, self.metrics_router(), limits, counts, shutdown).await
        {
            tracing::warn!(error = %e, "metrics listener failed");
        }
    }

    /// Deletes what no request needs any more: activations past the rate-limit window and
    /// their expiry, throttle buckets full again, development SMS, and stored answers older than [`RETENTION`] (a client
    /// retries a POST within minutes, not days), request nonces past the timestamp window, and
    /// expired redeemed tokens; forgets the
    /// opened registry records. Returns the number of rows deleted.
    pub async fn prune(&self) -> Result<u64, Error> {
        let now = self.state.now_i64();
        let kept = now - RETENTION as i64;
        // Request nonces once the timestamp check refuses a replay anyway.
        let nonces = now - auth::NONCE_RETENTION as i64;
        // Redeemed and registered tokens once expired (with the clock-skew margin): expiry
        // refuses them anyway; consent logins past their lifetime.
        let expired = now - eid_core::api::MAX_SKEW_SECONDS as i64;
        let mut w = self.state.store.write().await?;
        let mut deleted = 0;
        for (query, cutoff) in [
            ("DELETE FROM activations WHERE created_at < $1", kept),
            ("DELETE FROM sms_outbox WHERE created_at < $1", kept),
            ("DELETE FROM idempotency WHERE created_at < $1", kept),
            ("DELETE FROM rate_keys WHERE touched_at < $1", kept),
            ("DELETE FROM request_nonces WHERE seen_at < $1", nonces),
            ("DELETE FROM redeemed_tokens WHERE expires_at < $1", expired),
            (
                "DELETE FROM registered_tokens WHERE expires_at < $1",
                expired,
            ),
            (
                "DELETE FROM consent_sessions WHERE expires_at < $1",
                expired,
            ),
            ("DELETE FROM consent_pending WHERE expires_at < $1", expired),
            ("DELETE FROM oidc_sessions WHERE expires_at < $1", expired),
            (
                "DELETE FROM oidc_access_tokens WHERE expires_at < $1",
                expired,
            ),
            // Stays, a retention period after check-out (docs/adr/0048).
            (
                "DELETE FROM accommodation_stays WHERE check_out_day < $1",
                now.div_euclid(86_400) - crate::accommodation::STAY_RETENTION_DAYS,
            ),
        ] {
            deleted += sqlx::query(query)
                .bind(cutoff)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
        }
        w.commit().await?;
        deleted += self
            .state
            .throttle
            .prune(&self.state.store, throttle::now_ms())
            .await?;
        self.state.presentation.clear_records();
        Ok(deleted)
    }

    /// Serves on `listener` until `shutdown` completes, within the connection caps and timeouts
    /// of [`Config::limits`] (see `server`), pruning old rows every few minutes. When `shutdown`
    /// completes the readiness endpoint turns 503 for [`Limits::drain_delay`], then the listener
    /// stops accepting and in-flight requests finish. On SQLite, only one server per database
    /// file (docs/adr/0027): a second one is refused (`AddrInUse`).
    ///
    /// [`Limits::drain_delay`]: crate::limits::Limits::drain_delay
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Held while serving: a second process on the same SQLite file is refused.
        self.claim_sqlite()?;
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
        // Shutdown: not ready first, serve on for the drain delay (the balancer takes this
        // instance out), then stop accepting and finish what is in flight.
        let state = self.state.clone();
        let drain = self.state.config.limits.drain_delay;
        let shutdown = async move {
            shutdown.await;
            state
                .draining
                .store(true, std::sync::atomic::Ordering::SeqCst);
            tracing::info!(
                drain_ms = drain.as_millis() as u64,
                "shutting down: not ready, draining"
            );
            tokio::time::sleep(drain).await;
        };
        let counts = self.state.metrics.connections();
        let served = server::run(
            listener,
            self.router(),
            &self.state.config.limits,
            counts,
            shutdown,
        )
        .await;
        pruner.abort();
        if let Ok(mut held) = self.state.serve_lock.lock() {
            *held = None;
        }
        served
    }

    /// SQLite: claims the database file for this server (a lock held until [`App::serve`]
    /// returns), or refuses with `AddrInUse` when another process serves it. `serve` claims it
    /// itself; call this first to refuse before announcing anything. PostgreSQL: nothing.
    pub fn claim_sqlite(&self) -> std::io::Result<()> {
        let mut held = self
            .state
            .serve_lock
            .lock()
            .map_err(|_| std::io::Error::other("serve lock poisoned"))?;
        if held.is_none() {
            *held = single_sqlite_server(&self.state.config.database_url)?;
        }
        Ok(())
    }
}

/// SQLite is served by one process (docs/adr/0027): its caches hear no other process, and its
/// writer lock is per process. An exclusive lock on `<file>.serve-lock`, held while serving;
/// `None` for PostgreSQL and in-memory databases.
fn single_sqlite_server(url: &str) -> std::io::Result<Option<std::fs::File>> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(None);
    };
    let path = rest
        .strip_prefix("//")
        .unwrap_or(rest)
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return Ok(None);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{path}.serve-lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "another process serves this SQLite database: SQLite is served by one process; \
             several instances need PostgreSQL (docs/adr/0027)",
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}
