//! Citizen consent for remote actions (docs/adr/0017), the backend's side of OPAQUE (RFC 9807):
//!
//! - the `ServerSetup`, made on first start and kept sealed in the database;
//! - POST /v1/consent/register (device-signed): the passcode's record, once per device binding
//!   and only within [`REGISTRATION_WINDOW`] of its activation, replaced only with a consent
//!   proof for a passcode change;
//! - POST /v1/consent/start (device-signed): counts the attempt first, then answers KE2 and
//!   keeps the login state (sealed, single use, [`CONSENT_LIFETIME`]);
//! - [`check`]: what the consented actions call before they act; [`check_detached`]: the same
//!   for an answer to the hub, posted without a device signature (docs/adr/0058).
//!
//! Five logins started and not finished correctly lock remote consent for the account with the
//! local lockout's backoff (1 min, doubling, 24 h cap): 429 `rate_limited` with Retry-After.

use crate::auth::{Device, Scope, SignedCall, device_post};
use crate::db::Store;
use crate::error::{ApiFailure, Error};
use crate::http::{Answer, random_hex};
use crate::signing::seal::SealKey;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use eid_core::account::lock_ms;
use eid_core::api::{
    B64, CONSENT_LIFETIME, ConsentProof, ConsentRegister, ConsentRegistered, ConsentStart,
    ConsentStarted, ErrorCode, MAX_CONSENT_FAILURES, consent_action, consent_mac_ok,
    registration_digest,
};
use eid_core::consent::{CONTEXT, Suite, SysRng};
use opaque_ke::{
    CredentialFinalization, CredentialRequest, Identifiers, RegistrationRequest,
    RegistrationUpload, ServerLogin, ServerLoginParameters, ServerRegistration, ServerSetup,
};
use sqlx::Row;
use std::sync::Arc;

/// Purpose of the sealed login state (associated data; the setup's is
/// `sealed_setup::CONSENT_SETUP`'s, so one cannot stand in for the other).
const SEAL_LOGIN: &str = "consent-login";

/// The consent service of a running backend.
pub struct Consent {
    setup: ServerSetup<Suite>,
    seal: Arc<SealKey>,
}

impl std::fmt::Debug for Consent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Consent(..)")
    }
}

fn params() -> ServerLoginParameters<'static, 'static> {
    ServerLoginParameters {
        context: Some(CONTEXT),
        identifiers: Identifiers::default(),
    }
}

/// The OPAQUE credential identifier of generation `generation` of a device's record: fresh
/// per device binding and per passcode change, so no OPRF key is ever used twice.
fn credential_id(device_id: &str, generation: i64) -> Vec<u8> {
    format!("{device_id}/{generation}").into_bytes()
}

fn required(message: &'static str) -> ApiFailure {
    ApiFailure::new(ErrorCode::ConsentRequired, message)
}

fn stored(what: &'static str) -> impl FnOnce(opaque_ke::errors::ProtocolError) -> ApiFailure {
    move |_| ApiFailure::from(Error::Config(format!("stored {what} does not decode")))
}

impl Consent {
    /// The service with its setup (made on first start and stored sealed under the backend's
    /// key-encryption key, docs/adr/0018).
    pub async fn open(store: &Store, seal: Arc<SealKey>, now: u64) -> Result<Consent, Error> {
        let make = || {
            Ok(zeroize::Zeroizing::new(
                ServerSetup::<Suite>::new(&mut SysRng).serialize().to_vec(),
            ))
        };
        let plain = crate::sealed_setup::open_or_make(
            store,
            &seal,
            &crate::sealed_setup::CONSENT_SETUP,
            now,
            make,
        )
        .await?;
        let setup = ServerSetup::<Suite>::deserialize(&plain)
            .map_err(|_| Error::Config("the consent setup does not decode".into()))?;
        Ok(Consent { setup, seal })
    }

    /// The `RegistrationResponse` to a device's `RegistrationRequest` for `generation`.
    fn registration_response(
        &self,
        device_id: &str,
        generation: i64,
        request: &[u8],
    ) -> Result<Vec<u8>, ApiFailure> {
        let request = RegistrationRequest::<Suite>::deserialize(request)
            .map_err(|_| ApiFailure::invalid("the consent registration request is malformed"))?;
        let answer = ServerRegistration::<Suite>::start(
            &self.setup,
            request,
            &credential_id(device_id, generation),
        )
        .map_err(|_| ApiFailure::invalid("the consent registration request is malformed"))?;
        Ok(answer.message.serialize().to_vec())
    }
}

/// Seconds after activation within which the binding's first record must be uploaded.
pub const REGISTRATION_WINDOW: u64 = 300;

/// At activation (inside its transaction): the answer to the wallet's registration request for
/// the new device binding's first record, and the registration window it opens. `None` when the
/// wallet sent none: then the binding can never register.
pub async fn activation_response(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    device_id: &str,
    request: Option<&B64>,
) -> Result<Option<B64>, ApiFailure> {
    let Some(r) = request else {
        return Ok(None);
    };
    let response = state.consent.registration_response(device_id, 1, &r.0)?;
    sqlx::query("INSERT INTO consent_pending (device_id, expires_at) VALUES ($1, $2)")
        .bind(device_id)
        .bind(state.now_i64() + REGISTRATION_WINDOW as i64)
        .execute(&mut **tx)
        .await?;
    Ok(Some(B64(response)))
}

// ---------------------------------------------------------------------------------------------
// POST /v1/consent/register

pub async fn register(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    let post = (Scope::Device, false);
    device_post(&state, &call, "consent_register", post, register_inner).await
}

async fn register_inner(
    state: &AppState,
    device: &Device,
    req: &ConsentRegister,
) -> Result<Answer, ApiFailure> {
    let upload = RegistrationUpload::<Suite>::deserialize(&req.upload.0)
        .map_err(|_| ApiFailure::invalid("the consent registration upload is malformed"))?;
    let record = ServerRegistration::<Suite>::finish(upload)
        .serialize()
        .to_vec();
    let now = state.now_i64();
    let (mut w, generation) = match &req.consent {
        // The first record of this device binding: accepted once, so a later copy of the device
        // key cannot register a passcode of its own.
        None => {
            let mut w = state.store.write().await?;
            // The window the activation opened, used once: OPAQUE cannot tie the upload to the
            // activation's request, so a late upload could be anyone's with the device key.
            let open = sqlx::query(
                "DELETE FROM consent_pending WHERE device_id = $1 AND expires_at > $2 \
                 RETURNING device_id",
            )
            .bind(&device.id)
            .bind(now)
            .fetch_optional(&mut *w.tx)
            .await?;
            if open.is_none() {
                return Err(ApiFailure::new(
                    ErrorCode::NotAllowed,
                    "no passcode registration is open for this device (activate it again)",
                ));
            }
            let n = sqlx::query(
                "INSERT INTO consent_records (device_id, generation, record, updated_at) \
                 VALUES ($1, 1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(&device.id)
            .bind(&record)
            .bind(now)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
            // The window is used either way.
            let registered = (n == 1).then_some(1).ok_or(ApiFailure::new(
                ErrorCode::NotAllowed,
                "a passcode is already registered for this device; change it with the old one",
            ));
            (w, registered)
        }
        // A passcode change: consent with the old passcode over exactly this upload.
        Some(proof) => {
            let generation = check(
                state,
                device,
                Some(proof),
                consent_action::PASSCODE_CHANGE,
                &registration_digest(&req.upload.0),
            )
            .await?
            .ok_or(required(
                "the consent login was not started for a passcode change",
            ))?;
            let mut w = state.store.write().await?;
            let n = sqlx::query(
                "UPDATE consent_records SET generation = $1, record = $2, updated_at = $3 \
                 WHERE device_id = $4 AND generation = $5",
            )
            .bind(generation)
            .bind(&record)
            .bind(now)
            .bind(&device.id)
            .bind(generation - 1)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
            let changed = (n == 1)
                .then_some(generation)
                .ok_or(required("the passcode was changed in the meantime"));
            (w, changed)
        }
    };
    // The answer commits with the record (docs/adr/0034).
    let answer = generation.and_then(|generation| {
        Answer::ok(&ConsentRegistered {
            generation: u32::try_from(generation).unwrap_or(u32::MAX),
        })
    });
    crate::idempotency::record(&mut w.tx, &answer).await?;
    w.commit().await?;
    if answer.is_ok() {
        tracing::info!("consent record registered");
    }
    answer
}

// ---------------------------------------------------------------------------------------------
// POST /v1/consent/start

pub async fn start(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    // A locked account may still log in: unlocking is one of the consented actions.
    let post = (Scope::Device, true);
    device_post(&state, &call, "consent_start", post, start_inner).await
}

async fn start_inner(
    state: &AppState,
    device: &Device,
    req: &ConsentStart,
) -> Result<Answer, ApiFailure> {
    let consent = &state.consent;
    let row = sqlx::query("SELECT generation, record FROM consent_records WHERE device_id = $1")
        .bind(&device.id)
        .fetch_optional(state.store.pool())
        .await?
        .ok_or(required("no passcode is registered for this device"))?;
    let generation: i64 = row.try_get(0)?;
    let record = ServerRegistration::<Suite>::deserialize(&row.try_get::<Vec<u8>, _>(1)?)
        .map_err(stored("consent record"))?;
    let ke1 = CredentialRequest::<Suite>::deserialize(&req.credential_request.0)
        .map_err(|_| ApiFailure::invalid("the consent request is malformed"))?;
    // Checked before counting, so a malformed request costs nothing; evaluated after.
    if let Some(r) = &req.registration_request {
        RegistrationRequest::<Suite>::deserialize(&r.0)
            .map_err(|_| ApiFailure::invalid("the registration request is malformed"))?;
    }
    // Each KE2 lets its holder test one passcode offline: the attempt counts before the answer.
    let attempts_left = count_attempt(state, &device.account_id).await?;
    let login = ServerLogin::start(
        &mut SysRng,
        &consent.setup,
        Some(record),
        ke1,
        &credential_id(&device.id, generation),
        params(),
    )
    .map_err(|_| ApiFailure::invalid("the consent request is malformed"))?;
    let change_generation = req.registration_request.as_ref().map(|_| generation + 1);
    let registration_response = match (&req.registration_request, change_generation) {
        (Some(r), Some(g)) => Some(B64(consent.registration_response(&device.id, g, &r.0)?)),
        _ => None,
    };
    let consent_id = random_hex(16)?;
    let expires_at = state.now() + CONSENT_LIFETIME;
    let sealed = consent.seal.seal(SEAL_LOGIN, &login.state.serialize())?;
    let mut w = state.store.write().await?;
    sqlx::query(
        "INSERT INTO consent_sessions \
         (id, device_id, account_id, state, change_generation, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&consent_id)
    .bind(&device.id)
    .bind(&device.account_id)
    .bind(sealed)
    .bind(change_generation)
    .bind(i64::try_from(expires_at).unwrap_or(i64::MAX))
    .execute(&mut *w.tx)
    .await?;
    let answer = Answer::ok(&ConsentStarted {
        consent_id,
        credential_response: B64(login.message.serialize().to_vec()),
        attempts_left,
        expires_at,
        registration_response,
    });
    crate::idempotency::record(&mut w.tx, &answer).await?;
    w.commit().await?;
    answer
}

/// Counts one consent attempt for the account, or refuses while remote consent is locked.
/// Returns the attempts left should this one fail. One atomic `UPDATE ... RETURNING` on a
/// row that concurrent starts queue on (PostgreSQL row lock; SQLite's single writer), so N
/// parallel starts count N and none passes a lock set by another.
async fn count_attempt(state: &AppState, account_id: &str) -> Result<u32, ApiFailure> {
    let now = state.now_i64();
    let mut w = state.store.write().await?;
    sqlx::query(
        "INSERT INTO consent_attempts (account_id, failures, locked_until) VALUES ($1, 0, 0) \
         ON CONFLICT DO NOTHING",
    )
    .bind(account_id)
    .execute(&mut *w.tx)
    .await?;
    let counted = sqlx::query(
        "UPDATE consent_attempts SET failures = failures + 1 \
         WHERE account_id = $1 AND locked_until <= $2 RETURNING failures",
    )
    .bind(account_id)
    .bind(now)
    .fetch_optional(&mut *w.tx)
    .await?;
    let Some(row) = counted else {
        let until: i64 =
            sqlx::query("SELECT locked_until FROM consent_attempts WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&mut *w.tx)
                .await?
                .try_get(0)?;
        w.commit().await?;
        tracing::info!("consent refused: remote consent locked");
        return Err(ApiFailure::rate_limited(
            u64::try_from(until - now).unwrap_or(1),
        ));
    };
    let failures = u32::try_from(row.try_get::<i64, _>(0)?).unwrap_or(u32::MAX);
    if let Some(ms) = lock_ms(failures) {
        sqlx::query("UPDATE consent_attempts SET locked_until = $1 WHERE account_id = $2")
            .bind(now + ms / 1000)
            .bind(account_id)
            .execute(&mut *w.tx)
            .await?;
    }
    w.commit().await?;
    Ok(MAX_CONSENT_FAILURES.saturating_sub(failures))
}

/// The check of every consented action: `proof` must finish a login this device started (not
/// expired; used up whatever the outcome) and carry the MAC over `action` and `params_digest`.
/// On success the account's attempt counter starts again. Returns the generation a passcode
/// change may register, when the login was started for one.
pub async fn check(
    state: &AppState,
    device: &Device,
    proof: Option<&ConsentProof>,
    action: &str,
    params_digest: &[u8],
) -> Result<Option<i64>, ApiFailure> {
    let proof = proof.ok_or(required(
        "this action needs the citizen's consent (passcode)",
    ))?;
    let done = finish(state, Some(&device.id), proof, action, params_digest).await?;
    Ok(done.change_generation)
}

/// Who gave a consent checked outside a device-signed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consenter {
    pub device_id: String,
    pub account_id: String,
}

/// The check of an answer to the hub (docs/adr/0058), which the wallet posts to the response
/// URI without a device signature: the proof must finish a login some device started with its
/// device-signed `/v1/consent/start` (so the device key and the passcode both took part), with
/// the MAC over `action` and `params_digest`; single use and counted like every other consent.
/// Returns the device and account that consented, for the caller to match with the citizen
/// presented.
pub async fn check_detached(
    state: &AppState,
    proof: &ConsentProof,
    action: &str,
    params_digest: &[u8],
) -> Result<Consenter, ApiFailure> {
    let done = finish(state, None, proof, action, params_digest).await?;
    if done.change_generation.is_some() {
        // A login started for a passcode change proves nothing else.
        return Err(required("the consent is unknown, used, expired or wrong"));
    }
    Ok(done.consenter)
}

struct Finished {
    consenter: Consenter,
    change_generation: Option<i64>,
}

/// Finishes the login of `proof` (of `device_id`'s, when given): deleted first (single use
/// whatever follows), not expired, KE3 valid, the MAC over `action` and `params_digest`
/// compared in constant time; then the account's failures are reset.
async fn finish(
    state: &AppState,
    device_id: Option<&str>,
    proof: &ConsentProof,
    action: &str,
    params_digest: &[u8],
) -> Result<Finished, ApiFailure> {
    let consent = &state.consent;
    let now = state.now_i64();
    // Single use: the login goes first, whatever follows.
    let mut w = state.store.write().await?;
    let row = match device_id {
        Some(device) => {
            sqlx::query(
                "DELETE FROM consent_sessions WHERE id = $1 AND device_id = $2 \
                 RETURNING state, expires_at, change_generation, device_id, account_id",
            )
            .bind(&proof.consent_id)
            .bind(device)
            .fetch_optional(&mut *w.tx)
            .await?
        }
        None => {
            sqlx::query(
                "DELETE FROM consent_sessions WHERE id = $1 \
                 RETURNING state, expires_at, change_generation, device_id, account_id",
            )
            .bind(&proof.consent_id)
            .fetch_optional(&mut *w.tx)
            .await?
        }
    };
    w.commit().await?;
    let refused = || required("the consent is unknown, used, expired or wrong");
    let row = row.ok_or_else(refused)?;
    let (sealed, expires_at): (Vec<u8>, i64) = (row.try_get(0)?, row.try_get(1)?);
    let change_generation: Option<i64> = row.try_get(2)?;
    let consenter = Consenter {
        device_id: row.try_get(3)?,
        account_id: row.try_get(4)?,
    };
    if expires_at <= now {
        return Err(refused());
    }
    let login = ServerLogin::<Suite>::deserialize(&consent.seal.open(SEAL_LOGIN, &sealed)?)
        .map_err(stored("consent login"))?;
    let ke3 = CredentialFinalization::<Suite>::deserialize(&proof.finalization.0)
        .map_err(|_| refused())?;
    let done = login.finish(ke3, params()).map_err(|_| refused())?;
    if !consent_mac_ok(&done.session_key, action, params_digest, &proof.mac.0) {
        return Err(refused());
    }
    let mut w = state.store.write().await?;
    sqlx::query("UPDATE consent_attempts SET failures = 0, locked_until = 0 WHERE account_id = $1")
        .bind(&consenter.account_id)
        .execute(&mut *w.tx)
        .await?;
    w.commit().await?;
    tracing::info!(action, "citizen consent verified");
    Ok(Finished {
        consenter,
        change_generation,
    })
}
