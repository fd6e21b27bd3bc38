//! QR presentation (issue 5, docs/adr/0010), the backend's side:
//!
//! - POST /v1/presentation-credentials (device-signed): a batch of single-use presentation
//!   credentials of one profile, one per fresh device key, each with its own serial and status
//!   list entry (revoked with the device binding, suspended with the account, like documents).
//! - POST /v1/admin/verifiers (admin token): registers a verifier device and its profiles.
//! - POST /v1/presentations/tokens (device-signed, with the citizen's consent): registers an
//!   online token before the wallet shows it (docs/adr/0017).
//! - POST /v1/presentations/redeem (verifier-signed): redeems a registered online token once
//!   and answers the profile's fields from the registry.

use crate::auth::{Device, Scope, SignedCall, device_post};
use crate::error::{ApiFailure, Error};
use crate::http::{Answer, parse, random_bytes, random_hex};
use crate::metrics::{CacheCounters, Metrics};
use crate::state::AppState;
use crate::status_index;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use eid_core::api::{
    B64, ErrorCode, MAX_PRESENTATION_BATCH, MAX_SKEW_SECONDS, PresentationCredentialsIssued,
    PresentationCredentialsRequest, TokenRedeem, TokenRedeemed, TokenRegistered, TokenRegistration,
    VerifierRegistered, VerifierRegistration, consent_action, consented_profile, headers,
    presentation_credentials_digest, token_digest,
};
use eid_core::credential::{Document, DocumentKind};
use eid_core::present::TOKEN_LIFETIME;
use eid_core::present::{self, CredentialSpec, Disclosed, PresentError, Profile, QrPayload};
use p256::ecdsa::VerifyingKey;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use subtle::ConstantTimeEq;

/// Presentation credentials are valid 30 days (the wallet asks for a new batch long before).
pub const PRESENTATION_CREDENTIAL_LIFETIME: u64 = 30 * 86_400;
/// Presentation credentials are issued at the start of their UTC day (seconds per day).
pub const VALIDITY_GRANULARITY: u64 = 86_400;
/// Verifier names are for people (the desk's label), not identifiers.
const MAX_VERIFIER_NAME: usize = 100;
/// The record cache is dropped when it grows past this many entries (and on every prune).
const MAX_CACHED_RECORDS: usize = 100_000;

/// A registered verifier, as redemption and check-ins (a host is a verifier registered for the
/// `accommodation` profile, docs/adr/0048) need it.
#[derive(Debug)]
pub(crate) struct Verifier {
    /// SEC1 uncompressed point (what ring verifies with).
    pub(crate) key: Vec<u8>,
    pub(crate) profiles: Vec<Profile>,
    /// The desk's label, for people (a host's name on its receipts).
    pub(crate) name: String,
}

/// In-memory caches of the hot redemption path. Both hold only what the database holds and
/// checked data: verifiers (never changed once registered) and registry records opened by
/// `Keys::open_record`, keyed by the SHA-256 of the record bytes (a row altered in the database
/// is a new key, checked afresh).
#[derive(Debug, Default)]
pub struct Caches {
    verifiers: RwLock<HashMap<String, Arc<Verifier>>>,
    records: Mutex<HashMap<[u8; 32], Document>>,
    /// Hits and misses of each, for `/metrics`.
    verifier_counters: CacheCounters,
    record_counters: CacheCounters,
}

impl Caches {
    /// Empty caches counted in `metrics`.
    pub fn new(metrics: &Metrics) -> Caches {
        Caches {
            verifier_counters: metrics.cache("verifiers"),
            record_counters: metrics.cache("registry_records"),
            ..Caches::default()
        }
    }

    /// Forgets the opened records, so they are checked again at the current time.
    pub fn clear_records(&self) {
        if let Ok(mut r) = self.records.lock() {
            r.clear();
        }
    }
}

/// Not registered, registered as another token, or no longer signed by the registering
/// account's current device: one answer, so redemption tells nothing about whose it is.
fn not_verified() -> ApiFailure {
    ApiFailure::invalid("the token does not verify or was not registered")
}

fn admin_unauthenticated() -> ApiFailure {
    ApiFailure::new(
        ErrorCode::Unauthenticated,
        "the admin token is missing or wrong",
    )
}

/// Refuses a request without the configured admin token (see [`is_admin`]).
pub(crate) fn require_admin(state: &AppState, h: &HeaderMap) -> Result<(), ApiFailure> {
    if is_admin(state, h) {
        Ok(())
    } else {
        Err(admin_unauthenticated())
    }
}

/// The registry record `record` opened (checked against the trust list), through the cache.
fn open_record(state: &AppState, record: &[u8]) -> Result<Document, Error> {
    let hash: [u8; 32] = Sha256::digest(record).into();
    if let Some(doc) = state
        .presentation
        .records
        .lock()
        .ok()
        .and_then(|c| c.get(&hash).cloned())
    {
        state.presentation.record_counters.hits.inc();
        return Ok(doc);
    }
    state.presentation.record_counters.misses.inc();
    let doc = state.keys.open_record(record, state.now())?;
    if let Ok(mut c) = state.presentation.records.lock() {
        if c.len() >= MAX_CACHED_RECORDS {
            c.clear();
        }
        c.insert(hash, doc.clone());
    }
    Ok(doc)
}

/// The profile's fields from the citizen's documents; a missing source document is 404.
fn extract(profile: Profile, documents: &[Document], now: u64) -> Result<Disclosed, ApiFailure> {
    profile.extract(documents, now).map_err(|e| match e {
        PresentError::MissingDocument(kind) => ApiFailure::new(
            ErrorCode::NotFound,
            match kind {
                DocumentKind::DrivingLicence => "the citizen holds no driving licence",
                DocumentKind::HealthInsurance => "the citizen holds no health insurance card",
                DocumentKind::Identity => "the citizen's identity card is not in the registry",
                DocumentKind::HealthRecord => "the citizen holds no health record",
                DocumentKind::VehicleRegistration => "the citizen holds no vehicle registration",
                DocumentKind::Vaccination => "the citizen holds no vaccination record",
                DocumentKind::JudicialRecord => "the citizen holds no judicial record extract",
                DocumentKind::BirthCertificate => "the citizen holds no birth certificate",
                DocumentKind::MarriageCertificate => "the citizen holds no marriage certificate",
                DocumentKind::SocialInsuranceBook => "the citizen holds no social insurance book",
                DocumentKind::Residence => "the citizen's residence is not in the registry",
                DocumentKind::TaxInfo => "the citizen's tax information is not in the registry",
                DocumentKind::EHealthBook => "the citizen holds no e-health book",
            },
        ),
        _ => ApiFailure::new(ErrorCode::Internal, "the profile's fields cannot be taken"),
    })
}

/// The record kinds a profile reads: its source, and the identity card (the clinic takes the
/// sex from it).
fn record_kinds(profile: Profile) -> [&'static str; 2] {
    [profile.source().as_str(), DocumentKind::Identity.as_str()]
}

// ---------------------------------------------------------------------------------------------
// POST /v1/presentation-credentials

pub async fn issue_credentials(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    let post = (Scope::Device, false);
    device_post(&state, &call, "presentation_credentials", post, issue_inner).await
}

async fn issue_inner(
    state: &AppState,
    device: &Device,
    req: &PresentationCredentialsRequest,
) -> Result<Answer, ApiFailure> {
    // Credentials for keys the citizen agreed to (docs/adr/0017), not for any key the device
    // key file names. Checked first, so a proved passcode counts as a success whatever follows.
    crate::consent::check(
        state,
        device,
        req.consent.as_ref(),
        consent_action::PRESENTATION_CREDENTIALS,
        &presentation_credentials_digest(
            &consented_profile(&req.profile, req.dependant.as_deref()),
            &req.device_keys,
        ),
    )
    .await?;
    let profile = Profile::parse(&req.profile).ok_or(ApiFailure::invalid("unknown profile"))?;
    if req.device_keys.is_empty() || req.device_keys.len() > MAX_PRESENTATION_BATCH {
        return Err(ApiFailure::invalid("device_keys must hold 1 to 16 keys"));
    }
    let keys = fresh_device_keys(&req.device_keys)?;
    let [source, identity] = record_kinds(profile);
    let mut documents = Vec::new();
    if let Some(dependant) = &req.dependant {
        // A child's own records (docs/adr/0055): the guardian's child under 14, or 404.
        for record in
            crate::dependants::records(state, &device.account_id, dependant, &[source, identity])
                .await?
        {
            documents.push(open_record(state, &record)?);
        }
    }
    // The holder's records are read in the write transaction: a registry change is then
    // either seen or supersedes this batch (docs/adr/0062).
    let mut w = state.store.write().await?;
    if req.dependant.is_none() {
        for row in sqlx::query(crate::supersede::records_query(state, true))
            .bind(&device.account_id)
            .bind(source)
            .bind(identity)
            .fetch_all(&mut *w.tx)
            .await?
        {
            let record: Vec<u8> = row.try_get(0)?;
            documents.push(open_record(state, &record)?);
        }
    }
    let now = state.now();
    let fields = extract(profile, &documents, now)?;
    let issuer = state.keys.issuer(profile.source())?;
    // Validity from the start of the day: every credential issued that day carries the same
    // times, so they say nothing about the batch or the citizen (docs/adr/0020).
    let issued_at = now - now % VALIDITY_GRANULARITY;
    let mut credentials = Vec::with_capacity(keys.len());
    for key in &keys {
        let status_index = status_index::allocate(&mut w.tx).await?;
        let serial: [u8; 8] = random_bytes(8)?.try_into().map_err(|_| Error::Random)?;
        let bytes = present::issue_presentation_credential(
            &CredentialSpec {
                profile,
                fields: &fields,
                device_key: key,
                serial,
                issued_at,
                expires: issued_at + PRESENTATION_CREDENTIAL_LIFETIME,
                status_index,
            },
            issuer,
        )
        .map_err(Error::from)?;
        sqlx::query(
            "INSERT INTO presentation_credentials \
             (serial, device_id, profile, status_index, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hex::encode(serial))
        .bind(&device.id)
        .bind(profile.as_str())
        .bind(i64::from(status_index))
        .bind(state.now_i64())
        .execute(&mut *w.tx)
        .await?;
        credentials.push(B64(bytes));
    }
    let count = credentials.len();
    let answer = Answer::ok(&PresentationCredentialsIssued { credentials });
    crate::idempotency::record(&mut w.tx, &answer).await?;
    w.commit().await?;
    tracing::info!(profile = %profile, count, "presentation credentials issued");
    answer
}

/// The device keys of a batch request as SEC1 uncompressed points, each a P-256 point and none
/// repeated (a repeated key would link two presentations). The caller checks the count.
pub(crate) fn fresh_device_keys(device_keys: &[B64]) -> Result<Vec<Vec<u8>>, ApiFailure> {
    let mut keys: Vec<Vec<u8>> = Vec::with_capacity(device_keys.len());
    for k in device_keys {
        let key = VerifyingKey::from_sec1_bytes(&k.0)
            .map_err(|_| ApiFailure::invalid("a device key is not a P-256 point"))?
            .to_sec1_point(false)
            .as_bytes()
            .to_vec();
        if keys.contains(&key) {
            return Err(ApiFailure::invalid("a device key is repeated"));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// The registry record `record` opened, through the cache (for the other batch formats).
pub(crate) fn open_registry_record(state: &AppState, record: &[u8]) -> Result<Document, Error> {
    open_record(state, record)
}

// ---------------------------------------------------------------------------------------------
// POST /v1/admin/verifiers

/// Whether the request carries the configured admin token (compared in constant time, over
/// hashes so the length does not show either). No configured token: nobody is admin.
fn is_admin(state: &AppState, h: &HeaderMap) -> bool {
    state
        .config
        .admin_token
        .as_deref()
        .is_some_and(|expected| bearer_is(h, expected))
}

/// Whether the request's bearer token is `expected` (compared in constant time, over hashes so
/// the length does not show either).
pub(crate) fn bearer_is(h: &HeaderMap, expected: &str) -> bool {
    let Some(given) = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    Sha256::digest(given.trim().as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into()
}

/// Who works the queues of citizen submissions (docs/adr/0057): the operator with the admin
/// token (every authority), or one authority's clerk with that authority's own token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clerk {
    Operator,
    Of(String),
}

impl Clerk {
    /// Whether this clerk may see and decide `authority`'s submissions.
    pub(crate) fn serves(&self, authority: &str) -> bool {
        match self {
            Clerk::Operator => true,
            Clerk::Of(own) => own == authority,
        }
    }
}

/// The admin token, else an authority's token (every one compared, so the time does not tell
/// which matched); neither: 401.
pub(crate) fn require_clerk(state: &AppState, h: &HeaderMap) -> Result<Clerk, ApiFailure> {
    if is_admin(state, h) {
        return Ok(Clerk::Operator);
    }
    let mut found = None;
    for t in &state.config.authority_tokens {
        if bearer_is(h, &t.token) && found.is_none() {
            found = Some(Clerk::Of(t.authority.clone()));
        }
    }
    found.ok_or_else(|| {
        ApiFailure::new(
            ErrorCode::Unauthenticated,
            "the admin or authority token is missing or wrong",
        )
    })
}

pub async fn register_verifier(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    register_inner(&state, &headers, &body)
        .await
        .into_response()
}

async fn register_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer, ApiFailure> {
    require_admin(state, headers)?;
    let req: VerifierRegistration = parse(body)?;
    // Citizens see this name: NFC, and no bidirectional or zero-width character that would let
    // one desk's name pass for another's (eid_icao::text).
    let name = eid_icao::text::display_text(&req.name, MAX_VERIFIER_NAME).map_err(|_| {
        ApiFailure::invalid(
            "name must be 1 to 100 printable characters, without bidirectional or zero-width ones",
        )
    })?;
    let key = VerifyingKey::from_sec1_bytes(&req.public_key.0)
        .map_err(|_| ApiFailure::invalid("public_key is not a P-256 point"))?;
    let mut profiles = Vec::new();
    for p in &req.profiles {
        let profile = Profile::parse(p).ok_or(ApiFailure::invalid("unknown profile"))?;
        if !profiles.contains(&profile) {
            profiles.push(profile);
        }
    }
    if profiles.is_empty() {
        return Err(ApiFailure::invalid("a verifier needs at least one profile"));
    }
    let verifier_id = format!("VRF-{}", random_hex(8)?.to_ascii_uppercase());
    let names: Vec<&str> = profiles.iter().map(|p| p.as_str()).collect();
    let mut w = state.store.write().await?;
    sqlx::query(
        "INSERT INTO verifiers (id, name, public_key, profiles, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&verifier_id)
    .bind(&name)
    .bind(key.to_sec1_point(false).as_bytes().to_vec())
    .bind(names.join(","))
    .bind(state.now_i64())
    .execute(&mut *w.tx)
    .await?;
    w.commit().await?;
    tracing::info!(verifier = %verifier_id, profiles = %names.join(","), "verifier registered");
    Answer::ok(&VerifierRegistered { verifier_id })
}

/// The verifier `id`, from the cache or the database.
pub(crate) async fn verifier(
    state: &AppState,
    id: &str,
) -> Result<Option<Arc<Verifier>>, ApiFailure> {
    let cache = &state.presentation.verifiers;
    if let Some(v) = cache.read().ok().and_then(|c| c.get(id).cloned()) {
        state.presentation.verifier_counters.hits.inc();
        return Ok(Some(v));
    }
    state.presentation.verifier_counters.misses.inc();
    let Some(row) = sqlx::query("SELECT public_key, profiles, name FROM verifiers WHERE id = $1")
        .bind(id)
        .fetch_optional(state.store.pool())
        .await?
    else {
        return Ok(None);
    };
    let public_key: Vec<u8> = row.try_get(0)?;
    let profiles: String = row.try_get(1)?;
    let v = Arc::new(Verifier {
        key: VerifyingKey::from_sec1_bytes(&public_key)
            .map_err(|_| Error::Registry("verifier key".into()))?
            .to_sec1_point(false)
            .as_bytes()
            .to_vec(),
        profiles: profiles.split(',').filter_map(Profile::parse).collect(),
        name: row.try_get(2)?,
    });
    if let Ok(mut c) = cache.write() {
        c.insert(id.to_owned(), v.clone());
    }
    Ok(Some(v))
}

// ---------------------------------------------------------------------------------------------
// POST /v1/presentations/tokens

pub async fn register_token(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    let post = (Scope::Device, false);
    device_post(&state, &call, "token_register", post, register_token_inner).await
}

/// Registers an online token signed by this device, live, with the citizen's consent over its
/// text. The token names no account: the registration binds its id to this device (and so its
/// account) and to a digest of the whole token (profile, expiry, signature), which is how
/// redemption finds whose it is.
async fn register_token_inner(
    state: &AppState,
    device: &Device,
    req: &TokenRegistration,
) -> Result<Answer, ApiFailure> {
    let token = match QrPayload::parse(&req.token) {
        Ok(QrPayload::Token(t)) => t,
        _ => {
            return Err(ApiFailure::invalid(
                "token is not an online presentation token",
            ));
        }
    };
    if !token.signature_ok(&device.public_key) {
        return Err(ApiFailure::invalid("the token is not this device's"));
    }
    let now = state.now();
    if token.expires_at <= now || token.expires_at > now + TOKEN_LIFETIME + MAX_SKEW_SECONDS {
        return Err(ApiFailure::invalid(
            "the token is expired or lives too long",
        ));
    }
    crate::consent::check(
        state,
        device,
        req.consent.as_ref(),
        consent_action::PRESENTATION_TOKEN,
        &token_digest(&req.token),
    )
    .await?;
    // The canonical text: the same token registers and redeems under one digest however its
    // text was spaced.
    let digest = token_digest(&token.to_text()).to_vec();
    let mut w = state.store.write().await?;
    let inserted = sqlx::query(
        "INSERT INTO registered_tokens (token_id, account_id, device_id, token_digest, expires_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(token.id.to_vec())
    .bind(&device.account_id)
    .bind(&device.id)
    .bind(&digest)
    .bind(i64::try_from(token.expires_at).unwrap_or(i64::MAX))
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // A retry of the same registration is fine; another token under a taken id is not.
        let same = sqlx::query(
            "SELECT 1 FROM registered_tokens \
             WHERE token_id = $1 AND device_id = $2 AND token_digest = $3",
        )
        .bind(token.id.to_vec())
        .bind(&device.id)
        .bind(&digest)
        .fetch_optional(&mut *w.tx)
        .await?;
        if same.is_none() {
            return Err(ApiFailure::invalid("the token id is taken"));
        }
    }
    let answer = Answer::ok(&TokenRegistered {
        expires_at: token.expires_at,
    });
    crate::idempotency::record(&mut w.tx, &answer).await?;
    w.commit().await?;
    tracing::info!(profile = %token.profile, "online token registered");
    answer
}

// ---------------------------------------------------------------------------------------------
// POST /v1/presentations/redeem

pub async fn redeem(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    redeem_inner(&state, &call).await.into_response()
}

async fn redeem_inner(state: &AppState, call: &SignedCall) -> Result<Answer, ApiFailure> {
    let request = call.signed_request(state, headers::VERIFIER)?;
    let verifier_id = request.signer;
    let verifier = verifier(state, verifier_id)
        .await?
        .ok_or_else(ApiFailure::unauthenticated)?;
    if !request.verifies(&verifier.key) {
        return Err(ApiFailure::unauthenticated());
    }
    let req: TokenRedeem = parse(&call.body)?;
    let token = match QrPayload::parse(&req.token) {
        Ok(QrPayload::Token(t)) => t,
        _ => {
            return Err(ApiFailure::invalid(
                "token is not an online presentation token",
            ));
        }
    };
    let now = state.now();
    if token.expires_at <= now {
        return Err(ApiFailure::new(
            ErrorCode::TokenExpired,
            "the token expired",
        ));
    }
    // A wallet makes tokens that live TOKEN_LIFETIME; a longer-lived one is not one of them.
    if token.expires_at > now + TOKEN_LIFETIME + MAX_SKEW_SECONDS {
        return Err(ApiFailure::invalid(
            "the token lives longer than a token may",
        ));
    }
    if !verifier.profiles.contains(&token.profile) {
        return Err(ApiFailure::new(
            ErrorCode::NotAllowed,
            "this verifier may not receive this profile",
        ));
    }
    // Only tokens the wallet registered with the citizen's consent (docs/adr/0017). The token
    // names no account: the registration gives the account and the device that signed it, the
    // device only while it is the account's current one (not revoked). The registration's digest
    // covers the whole token, so a token with a registered id but another profile, expiry or
    // signature is not that registration's. Then the account, the device key and the records the
    // profile reads, in one query.
    let [source, identity] = record_kinds(token.profile);
    let rows = sqlx::query(
        "SELECT a.state, a.level, d.public_key, r.record, t.token_digest \
         FROM registered_tokens t \
         JOIN accounts a ON a.id = t.account_id \
         JOIN devices d ON d.id = t.device_id AND d.account_id = a.id AND d.revoked_at IS NULL \
         JOIN registry_records r ON r.id_number = a.id_number \
         WHERE t.token_id = $1 AND (r.kind = $2 OR r.kind = $3)",
    )
    .bind(token.id.to_vec())
    .bind(source)
    .bind(identity)
    .fetch_all(state.store.pool())
    .await?;
    // Not registered, registered as another token, no current device, or signed by another key
    // (a revoked device's, a forger's): one answer.
    let first = rows.first().ok_or_else(not_verified)?;
    // Rows registered before migration 0009 have no digest (and no device): they never redeem.
    let registered_digest: Option<Vec<u8>> = first.try_get(4)?;
    let digest = token_digest(&token.to_text());
    if !bool::from(
        registered_digest
            .unwrap_or_default()
            .as_slice()
            .ct_eq(digest.as_slice()),
    ) {
        return Err(not_verified());
    }
    let device_key: Vec<u8> = first.try_get(2)?;
    if !token.signature_ok(&device_key) {
        return Err(not_verified());
    }
    let account_state: String = first.try_get(0)?;
    if account_state == "locked" {
        return Err(ApiFailure::new(
            ErrorCode::AccountLocked,
            "the account is locked",
        ));
    }
    let level: i64 = first.try_get(1)?;
    let mut documents = Vec::with_capacity(rows.len());
    for row in &rows {
        let record: Vec<u8> = row.try_get(3)?;
        documents.push(open_record(state, &record)?);
    }
    let fields = extract(token.profile, &documents, now)?;
    if req
        .client_request_id
        .as_deref()
        .is_some_and(|id| !crate::input::is_client_request_id(id))
    {
        return Err(ApiFailure::invalid("client_request_id is malformed"));
    }
    // One-time: the primary key admits each token id once, however many redeem it at once. A
    // single statement is atomic on both databases: PostgreSQL runs it on its own (one round
    // trip), SQLite in the queued writer transaction.
    let inserted = state
        .store
        .execute_alone(
            sqlx::query(
                "INSERT INTO redeemed_tokens \
                 (token_id, verifier_id, expires_at, redeemed_at, client_request_id) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(token.id.to_vec())
            .bind(verifier_id)
            .bind(i64::try_from(token.expires_at).unwrap_or(i64::MAX))
            .bind(state.now_i64())
            .bind(req.client_request_id.clone()),
        )
        .await?;
    let redeemed_at = if inserted == 1 {
        now
    } else {
        // Redeemed before: only a retry of that very redemption (the same desk, the same
        // client_request_id) gets the fields again, with the first answer's time. Nothing of
        // the answer is stored: it is made afresh from the registry (docs/adr/0045).
        retried_redemption(
            state,
            &token.id,
            verifier_id,
            req.client_request_id.as_deref(),
        )
        .await?
        .ok_or_else(|| ApiFailure::new(ErrorCode::TokenUsed, "the token was already redeemed"))?
    };
    tracing::info!(verifier = %verifier_id, profile = %token.profile, "token redeemed");
    Answer::ok(&TokenRedeemed {
        profile: token.profile.as_str().to_owned(),
        fields: fields.to_json(),
        account_level: u8::try_from(level).unwrap_or(0),
        redeemed_at,
    })
}

/// When `token_id` was redeemed, if that redemption was `verifier_id`'s with
/// `client_request_id` (a retry of it); `None` for any other redemption.
async fn retried_redemption(
    state: &AppState,
    token_id: &[u8],
    verifier_id: &str,
    client_request_id: Option<&str>,
) -> Result<Option<u64>, ApiFailure> {
    let Some(id) = client_request_id else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT verifier_id, client_request_id, redeemed_at FROM redeemed_tokens \
         WHERE token_id = $1",
    )
    .bind(token_id.to_vec())
    .fetch_optional(state.store.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let first_verifier: String = row.try_get(0)?;
    let first_id: Option<String> = row.try_get(1)?;
    let same = first_verifier == verifier_id
        && first_id.is_some_and(|f| bool::from(f.as_bytes().ct_eq(id.as_bytes())));
    let at: i64 = row.try_get(2)?;
    Ok(same.then(|| u64::try_from(at).unwrap_or(0)))
}
