//! Level-2 activation: ID number + phone → SMS code and chip challenge; then code + chip
//! evidence + device key → account, device binding and the account credential.
//!
//! The flow is here: which checks and which statements, in which order, inside one write
//! transaction. The rules it applies are in [`rules`] (values only); the statements it runs are
//! in [`repo`] (rows only).

mod repo;
mod rules;

use crate::coherence::{self, Change};
use crate::error::ApiFailure;
use crate::evidence;
use crate::http::{Answer, idempotent_post, random_bytes, random_hex};
use crate::idempotency;
use crate::input;
use crate::issue;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use eid_core::api::{
    ActivationComplete, ActivationCompleted, ActivationStart, ActivationStarted, B64,
};
use eid_core::credential::AccountLevel;
use repo::{Claimed, NewActivation};
use std::sync::Arc;

pub use rules::{CODE_LIFETIME, MAX_WRONG_CODES, RATE_WINDOW, masked_phone};

pub async fn start(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    idempotent_post(&state, "activation_start", "", &body, start_inner).await
}

async fn start_inner(state: &AppState, req: &ActivationStart) -> Result<Answer, ApiFailure> {
    if !input::is_id_number(&req.id_number) {
        return Err(ApiFailure::invalid("id_number must be 12 digits"));
    }
    // `+84…` and `0…` are one phone: the registry's `0…` form from here on.
    let Some(phone) = input::normalise_phone(&req.phone) else {
        return Err(ApiFailure::invalid("phone is not a mobile number"));
    };
    let now = state.now_i64();
    let mut w = state.store.write().await?;
    // Check and insert atomically: lock the pair's row first, so a concurrent start for the same
    // pair waits here until this one commits and then counts it.
    repo::touch_rate_key(&mut w.tx, &rules::rate_key(&req.id_number, &phone), now).await?;
    // Per (ID number, phone) pair, whether or not it matches the registry (the same answer for
    // both): starts with other phones for an ID, or other IDs for a phone, never block the
    // citizen's own pair, and the limit says nothing about whether a pair matches. Floods of
    // pairs are the per-client and global throttles' job (docs/adr/0019).
    let window_start = now - RATE_WINDOW as i64;
    let (count, oldest) =
        repo::starts_since(&mut w.tx, &req.id_number, &phone, window_start).await?;
    rules::check_start_rate(count, oldest, state.config.starts_per_hour, now)?;
    let matched = repo::citizen_matches(&mut w.tx, &req.id_number, &phone).await?;
    let activation_id = random_hex(16)?;
    let challenge = random_bytes(8)?;
    let code = rules::sms_code()?;
    let expires_at = now + CODE_LIFETIME as i64;
    repo::insert_activation(
        &mut w.tx,
        &NewActivation {
            id: &activation_id,
            id_number: &req.id_number,
            phone: &phone,
            matched,
            code_hash: &rules::stored_code_hash(matched, &activation_id, &code)?,
            challenge: &challenge,
            created_at: now,
            expires_at,
        },
    )
    .await?;
    if matched {
        state.sms.record(&mut w.tx, &phone, &code, now).await?;
    }
    // The answer commits with the activation (docs/adr/0034): a retry after a crash replays it.
    let answer = Answer::ok(&ActivationStarted {
        activation_id,
        chip_challenge: B64(challenge),
        expires_at: u64::try_from(expires_at).unwrap_or(0),
    });
    idempotency::record(&mut w.tx, &answer).await?;
    w.commit().await?;
    if matched {
        state.sms.deliver(&phone, &code);
    }
    answer
}

pub async fn complete(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    idempotent_post(&state, "activation_complete", "", &body, complete_inner).await
}

/// Counts this try against the activation before its code is looked at (see
/// [`repo::claim_try`]): at most [`MAX_WRONG_CODES`] codes are ever checked. A try that turns
/// out right gives its count back ([`repo::mark_used`]); a try whose transaction rolls back
/// (bad chip evidence) never counted.
async fn claim_try(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    activation_id: &str,
    now: i64,
) -> Result<Claimed, ApiFailure> {
    if let Some(claimed) = repo::claim_try(tx, activation_id, now).await? {
        return Ok(claimed);
    }
    // Why not: unknown, used, or expired / out of tries.
    Err(rules::unclaimed(repo::used_at(tx, activation_id).await?))
}

async fn complete_inner(state: &AppState, req: &ActivationComplete) -> Result<Answer, ApiFailure> {
    if !input::is_sms_code(&req.sms_code) {
        return Err(ApiFailure::invalid("sms_code must be 6 digits"));
    }
    let now = state.now_i64();
    let mut w = state.store.write().await?;
    let Claimed {
        id_number,
        matched,
        code_hash,
        challenge,
    } = claim_try(&mut w.tx, &req.activation_id, now).await?;
    if let Err(wrong) = rules::check_code(&req.activation_id, &req.sms_code, &code_hash, matched) {
        // The try stays counted, and the answer with it.
        let answer = Err(wrong);
        idempotency::record(&mut w.tx, &answer).await?;
        w.commit().await?;
        return answer;
    }

    // The code is right: now the chip.
    let registry = repo::registry_chip(&mut w.tx, &id_number).await?;
    evidence::check(&req.chip, &registry, &challenge, &state.keys.chip_trust)?;
    rules::check_attestation(req.attestation.as_deref())?;
    let device_key = rules::device_key(&req.device_public_key.0)?;

    // All checks passed: one transaction binds the device and revokes the others.
    // Used, and the right try is not a failed one.
    if repo::mark_used(&mut w.tx, &req.activation_id, now).await? != 1 {
        return Err(rules::code_used());
    }
    let account_id =
        repo::ensure_account(&mut w.tx, &rules::new_account_id()?, &id_number, now).await?;
    // A fresh level-2 proof (chip + SMS) also lifts a lock set from a lost phone. On
    // PostgreSQL this row lock also queues concurrent activations of one citizen, so the next
    // one sees (and revokes) the device bound by the first.
    repo::activate_account(&mut w.tx, &account_id, now).await?;
    // One device at a time (Decree 69/2024): older bindings and their documents go.
    let old_devices = repo::active_devices(&mut w.tx, &account_id).await?;
    for old in &old_devices {
        repo::revoke_device(&mut w.tx, old, now).await?;
    }
    let device_id = random_hex(16)?;
    repo::insert_device(&mut w.tx, &device_id, &account_id, &device_key, now).await?;

    // The account credential: the citizen's identity card with the account, for this device.
    let record = repo::identity_record(&mut w.tx, &id_number).await?;
    let doc =
        rules::account_credential(state.keys.open_record(&record, state.now())?, &account_id)?;
    let credential = issue::store_new(state, &mut w.tx, &device_id, &device_key, &doc).await?;
    // The citizen's passcode for consent (docs/adr/0017): the answer for this binding's record.
    let consent_registration = crate::consent::activation_response(
        state,
        &mut w.tx,
        &device_id,
        req.consent_registration.as_ref(),
    )
    .await?;
    // The account's devices changed, the old devices' pages went; their credentials are
    // revoked and a lock is lifted (the status list): in every instance's caches.
    let mut changes = vec![Change::Account(&account_id), Change::StatusList];
    changes.extend(old_devices.iter().map(|old| Change::Pages(old)));
    let answer = Answer::ok(&ActivationCompleted {
        account_id: account_id.clone(),
        level: AccountLevel::Level2 as u8,
        account_credential: B64(credential),
        consent_registration,
    });
    idempotency::record(&mut w.tx, &answer).await?;
    coherence::commit(state, w, &changes).await?;
    tracing::info!(revoked_devices = old_devices.len(), "activation completed");
    answer
}
