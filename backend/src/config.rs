//! How the backend runs: database, mode, limits, keys ([`Config`]).

use crate::error::Error;
use crate::signing::seal::{KEK_ENV, SealKey};
use crate::{limits, signing, sms};
use std::sync::Arc;

/// How the backend runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// A PostgreSQL streaming replica of `database_url` for the public, cacheable reads (the
    /// status list; docs/adr/0030). `None`: every read goes to the primary.
    pub replica_url: Option<String>,
    /// Development mode: the public fixture issuer keys, the SMS outbox readable over HTTP and
    /// codes logged. Never for a deployment.
    pub dev_mode: bool,
    /// Activation starts allowed per (ID number, phone) pair in
    /// [`RATE_WINDOW`](crate::RATE_WINDOW).
    pub starts_per_hour: i64,
    /// Synthetic citizens seeded into an empty registry: the fixtures' population
    /// (`eid_fixtures::citizens::POPULATION_SIZE`) unless a load measurement asks for more.
    pub population: usize,
    /// Bearer token of the admin endpoints (verifier registration); none: they refuse everyone.
    pub admin_token: Option<String>,
    /// Bearer tokens of the issuing authorities' clerks: each opens only its authority's queue
    /// of citizen submissions (docs/adr/0057); the admin token opens every queue.
    pub authority_tokens: Vec<AuthorityToken>,
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
    /// The backend's public base URL (no trailing slash): what the MSOs' status list `uri`
    /// (draft-ietf-oauth-status-list) is made of, so readers can fetch it.
    pub public_url: String,
    /// Kinds declared only as data, with their documents (docs/adr/0060): published in
    /// `GET /v1/kinds` and issued at sync though no library release knows them.
    pub declared_kinds: Vec<crate::kinds::DeclaredKind>,
}

/// An authority's clerk token (`Debug` shows the authority only).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorityToken {
    /// The issuer id of the kinds' declarations: `health`, `police`, ...
    pub authority: String,
    pub token: String,
}

impl std::fmt::Debug for AuthorityToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorityToken")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl std::str::FromStr for AuthorityToken {
    type Err = String;

    /// `AUTHORITY=TOKEN`, e.g. `health=...`.
    fn from_str(s: &str) -> Result<AuthorityToken, String> {
        let (authority, token) = s
            .split_once('=')
            .ok_or("an authority token is AUTHORITY=TOKEN, e.g. health=...")?;
        if authority.is_empty() || token.is_empty() {
            return Err("an authority token is AUTHORITY=TOKEN, e.g. health=...".into());
        }
        Ok(AuthorityToken {
            authority: authority.to_owned(),
            token: token.to_owned(),
        })
    }
}

/// The public base URL when none is configured (an `.invalid` host: never resolvable).
pub const DEFAULT_PUBLIC_URL: &str = "https://backend.eid.invalid";

impl Config {
    /// Development defaults for `url`: fixture keys, outbox, KEK from the environment or the
    /// development key.
    pub fn development(database_url: impl Into<String>) -> Config {
        Config {
            database_url: database_url.into(),
            replica_url: None,
            dev_mode: true,
            starts_per_hour: 5,
            population: eid_fixtures::citizens::POPULATION_SIZE,
            admin_token: None,
            authority_tokens: Vec::new(),
            limits: limits::Limits::default(),
            sms_gateway: None,
            kek: None,
            issuer_keys: signing::SignerChoice::Software,
            public_url: DEFAULT_PUBLIC_URL.into(),
            declared_kinds: Vec::new(),
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
    pub(crate) fn resolve_kek(&self) -> Result<Arc<SealKey>, Error> {
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
