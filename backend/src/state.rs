//! What every handler shares: the store, the keys, the configuration, the clock and the caches
//! ([`AppState`]).

use crate::clock::Clock;
use crate::config::Config;
use crate::{
    auth, coherence, consent, db, documents, keys, lists, mdoc_keys, presentation, reader_keys,
    rp_keys, rp_registry, signing, sms, throttle,
};

/// Everything a handler needs.
#[derive(Debug)]
pub struct AppState {
    pub store: db::Store,
    pub keys: keys::Keys,
    /// The signed kind list and the kinds declared as data (docs/adr/0060).
    pub kinds: crate::kinds::KindList,
    /// The mdoc IACA and document signer (docs/adr/0031).
    pub mdoc: mdoc_keys::MdocKeys,
    /// The RP CA that issues relying parties' access certificates (docs/adr/0036).
    pub rp_ca: rp_keys::RpCa,
    /// The reader CA that certifies mdoc readers (docs/adr/0040).
    pub reader_ca: reader_keys::ReaderCa,
    /// The reader CA's last signed CRL (docs/adr/0053).
    pub(crate) reader_crl: crate::reader_crl::CrlCache,
    pub config: Config,
    pub clock: Clock,
    /// Device keys and state per account (see `auth`).
    pub(crate) accounts: auth::AccountCache,
    /// Encoded document pages per device (see `documents`).
    pub(crate) pages: documents::PageCache,
    /// The last signed status list (see `lists`).
    pub(crate) status_list: lists::StatusListCache,
    /// The last signed relying-party registry (see `rp_registry`).
    pub(crate) rp_registry: rp_registry::RegistryCache,
    /// The three caches above across instances on one PostgreSQL (docs/adr/0027).
    pub(crate) coherence: coherence::Coherence,
    /// Remote signing (always on since the KEK is required; an `Option` for tests that turn
    /// it off).
    pub signing: Option<signing::Signing>,
    /// Caches of the presentation endpoints (verifiers, opened registry records).
    pub presentation: presentation::Caches,
    /// Token buckets of the unauthenticated endpoints.
    pub(crate) throttle: throttle::Throttle,
    /// Where activation codes go.
    pub(crate) sms: sms::SmsSender,
    /// The OIDC facade's sealed secrets (docs/adr/0042).
    pub(crate) oidc: crate::oidc::keys::OidcKeys,
    /// The hub's verifier identity in this instance (docs/adr/0042).
    pub(crate) oidc_hub: crate::oidc::hub::Hub,
    /// The key-encryption key: seals citizens' submissions at rest (docs/adr/0057).
    pub(crate) kek: std::sync::Arc<signing::seal::SealKey>,
    /// Citizen consent (docs/adr/0017); always on since every backend has a KEK.
    pub(crate) consent: consent::Consent,
    /// What `/metrics` shows (docs/adr/0030).
    pub(crate) metrics: crate::metrics::Metrics,
    /// Whether the primary answers; 503 at once while not (docs/adr/0034).
    pub(crate) health: crate::health::Health,
    /// Shutting down: the readiness endpoint answers 503 (docs/adr/0027).
    pub(crate) draining: std::sync::atomic::AtomicBool,
    /// SQLite: the lock on `<file>.serve-lock` while this backend serves (`App::claim_sqlite`).
    pub(crate) serve_lock: std::sync::Mutex<Option<std::fs::File>>,
}

impl AppState {
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    pub fn now_i64(&self) -> i64 {
        i64::try_from(self.now()).unwrap_or(i64::MAX)
    }
}
