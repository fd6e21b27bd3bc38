//! Level-2 activation: ID number + phone → SMS code and chip challenge; then code + chip
//! evidence + device key → account, device binding and the account credential.

use crate::error::{ApiFailure, Error};
use crate::evidence::{self, RegistryChip};
use crate::http::{Answer, idempotent_post, random_bytes, random_hex};
use crate::input;
use crate::issue;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use eid_core::api::{
    ActivationComplete, ActivationCompleted, ActivationStart, ActivationStarted, B64, ErrorCode,
};
use eid_core::credential::{AccountLevel, Document, DocumentKind, EidAccount};
use p256::ecdsa::VerifyingKey;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// SMS code and challenge lifetime.
pub const CODE_LIFETIME: u64 = 300;
/// Wrong codes after which an activation is void.
pub const MAX_WRONG_CODES: i64 = 5;
/// Rate limit window for starts per ID number and per phone.
pub const RATE_WINDOW: u64 = 3600;

/// What is stored instead of the code: bound to the activation so equal codes hash apart.
fn code_hash(activation_id: &str, code: &str) -> Vec<u8> {
    Sha256::new()
        .chain_update(activation_id.as_bytes())
        .chain_update(b":")
        .chain_update(code.as_bytes())
        .finalize()
        .to_vec()
}

/// Six uniformly random digits (rejection sampling, no modulo bias).
fn sms_code() -> Result<String, Error> {
    loop {
        let b = random_bytes(4)?;
        let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        // 4_294_000_000 is the largest multiple of 10^6 below 2^32.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// The `rate_keys` row of an (ID number, phone) pair: a hash, so the table holds no numbers.
fn rate_key(id_number: &str, phone: &str) -> Vec<u8> {
    Sha256::new()
        .chain_update(b"pair:")
        .chain_update(id_number.as_bytes())
        .chain_update(b":")
        .chain_update(phone.as_bytes())
        .finalize()
        .to_vec()
}

/// "***" and the last three digits: enough for support, not a phone number.
pub fn masked_phone(phone: &str) -> String {
    let tail = phone.get(phone.len().saturating_sub(3)..).unwrap_or("");
    format!("***{tail}")
}

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
    let window_start = now - RATE_WINDOW as i64;
    let mut w = state.store.write().await?;
    // Check and insert atomically: lock the pair's row first, so a concurrent start for the same
    // pair waits here until this one commits and then counts it.
    sqlx::query(
        "INSERT INTO rate_keys (key, touched_at) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET touched_at = excluded.touched_at",
    )
    .bind(rate_key(&req.id_number, &phone))
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    // Per (ID number, phone) pair, whether or not it matches the registry (the same answer for
    // both): starts with other phones for an ID, or other IDs for a phone, never block the
    // citizen's own pair, and the limit says nothing about whether a pair matches. Floods of
    // pairs are the per-client and global throttles' job (docs/adr/0019).
    let row = sqlx::query(
        "SELECT COUNT(*), MIN(created_at) FROM activations \
         WHERE id_number = $1 AND phone = $2 AND created_at > $3",
    )
    .bind(&req.id_number)
    .bind(&phone)
    .bind(window_start)
    .fetch_one(&mut *w.tx)
    .await?;
    let count: i64 = row.try_get(0)?;
    let oldest: Option<i64> = row.try_get(1)?;
    if count >= state.config.starts_per_hour {
        let retry = oldest.map_or(RATE_WINDOW as i64, |o| o + RATE_WINDOW as i64 - now);
        return Err(ApiFailure::rate_limited(u64::try_from(retry).unwrap_or(1)));
    }
    let matched = sqlx::query("SELECT 1 FROM citizens WHERE id_number = $1 AND phone = $2")
        .bind(&req.id_number)
        .bind(&phone)
        .fetch_optional(&mut *w.tx)
        .await?
        .is_some();
    let activation_id = random_hex(16)?;
    let challenge = random_bytes(8)?;
    let code = sms_code()?;
    // Unknown ID or phone: an activation whose code nobody knows, so completing it is
    // indistinguishable from a wrong code.
    let stored_hash = if matched {
        code_hash(&activation_id, &code)
    } else {
        random_bytes(32)?
    };
    let expires_at = now + CODE_LIFETIME as i64;
    sqlx::query(
        "INSERT INTO activations (id, id_number, phone, matched, code_hash, challenge, \
         created_at, expires_at, failed_attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
    )
    .bind(&activation_id)
    .bind(&req.id_number)
    .bind(&phone)
    .bind(i64::from(matched))
    .bind(&stored_hash)
    .bind(&challenge)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *w.tx)
    .await?;
    if matched {
        state.sms.record(&mut w.tx, &phone, &code, now).await?;
    }
    w.commit().await?;
    if matched {
        state.sms.deliver(&phone, &code);
    }
    Answer::ok(&ActivationStarted {
        activation_id,
        chip_challenge: B64(challenge),
        expires_at: u64::try_from(expires_at).unwrap_or(0),
    })
}

pub async fn complete(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    idempotent_post(&state, "activation_complete", "", &body, complete_inner).await
}

fn wrong_code() -> ApiFailure {
    ApiFailure::new(ErrorCode::WrongCode, "the SMS code is wrong")
}

/// What a try at an activation needs once it is counted.
struct Claimed {
    id_number: String,
    matched: bool,
    code_hash: Vec<u8>,
    challenge: Vec<u8>,
}

/// Counts this try against the activation before its code is looked at: one atomic UPDATE that
/// only succeeds while the activation is unused, unexpired and below [`MAX_WRONG_CODES`] tries.
/// On PostgreSQL it takes the row lock until the transaction ends, so concurrent tries queue and
/// each sees the count the previous ones left: at most [`MAX_WRONG_CODES`] codes are ever
/// checked. A try that turns out right gives its count back (see `complete_inner`); a try whose
/// transaction rolls back (bad chip evidence) never counted.
async fn claim_try(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    activation_id: &str,
    now: i64,
) -> Result<Claimed, ApiFailure> {
    let claimed = sqlx::query(
        "UPDATE activations SET failed_attempts = failed_attempts + 1 \
         WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND failed_attempts < $3 \
         RETURNING id_number, matched, code_hash, challenge",
    )
    .bind(activation_id)
    .bind(now)
    .bind(MAX_WRONG_CODES)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = claimed {
        return Ok(Claimed {
            id_number: row.try_get(0)?,
            matched: row.try_get::<i64, _>(1)? != 0,
            code_hash: row.try_get(2)?,
            challenge: row.try_get(3)?,
        });
    }
    // Why not: unknown (a wrong code, as for an activation nobody can complete), used, or
    // expired / out of tries.
    let row = sqlx::query("SELECT used_at FROM activations WHERE id = $1")
        .bind(activation_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        return Err(wrong_code());
    };
    let used_at: Option<i64> = row.try_get(0)?;
    Err(if used_at.is_some() {
        ApiFailure::new(ErrorCode::CodeUsed, "the SMS code was already used")
    } else {
        ApiFailure::new(ErrorCode::CodeExpired, "the SMS code expired; start again")
    })
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
        code_hash: stored_hash,
        challenge,
    } = claim_try(&mut w.tx, &req.activation_id, now).await?;
    let given = code_hash(&req.activation_id, &req.sms_code);
    let code_ok: bool = given.ct_eq(&stored_hash).into();
    if !code_ok || !matched {
        // The try stays counted.
        w.commit().await?;
        return Err(wrong_code());
    }

    // The code is right: now the chip.
    let citizen = sqlx::query("SELECT dg1, dg13, dg15 FROM citizens WHERE id_number = $1")
        .bind(&id_number)
        .fetch_one(&mut *w.tx)
        .await?;
    let registry = RegistryChip {
        dg1: citizen.try_get(0)?,
        dg13: citizen.try_get(1)?,
        dg15: citizen.try_get(2)?,
    };
    evidence::check(&req.chip, &registry, &challenge, &state.keys.chip_trust)?;
    // Attestation chains are platform-specific (Android Key Attestation, Apple App Attest);
    // until their roots are configured, a chain that is sent must at least be certificates.
    if let Some(chain) = &req.attestation
        && chain
            .iter()
            .any(|c| <x509_cert::Certificate as der::Decode>::from_der(&c.0).is_err())
    {
        return Err(ApiFailure::invalid(
            "attestation is not a certificate chain",
        ));
    }
    let device_key = VerifyingKey::from_sec1_bytes(&req.device_public_key.0)
        .map_err(|_| ApiFailure::invalid("device_public_key is not a P-256 point"))?
        .to_sec1_point(false)
        .as_bytes()
        .to_vec();

    // All checks passed: one transaction binds the device and revokes the others.
    // Used, and the right try is not a failed one.
    let used = sqlx::query(
        "UPDATE activations SET used_at = $1, failed_attempts = failed_attempts - 1 \
         WHERE id = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(&req.activation_id)
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    if used != 1 {
        return Err(ApiFailure::new(
            ErrorCode::CodeUsed,
            "the SMS code was already used",
        ));
    }
    // Create the account unless it exists; ON CONFLICT because a concurrent activation of the
    // same citizen may have created it since (PostgreSQL), then both use that one.
    sqlx::query(
        "INSERT INTO accounts (id, id_number, level, state, created_at, updated_at) \
         VALUES ($1, $2, 2, 'active', $3, $3) ON CONFLICT (id_number) DO NOTHING",
    )
    .bind(format!("VNEID-{}", random_hex(8)?.to_ascii_uppercase()))
    .bind(&id_number)
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    let account_id: String = sqlx::query("SELECT id FROM accounts WHERE id_number = $1")
        .bind(&id_number)
        .fetch_one(&mut *w.tx)
        .await?
        .try_get(0)?;
    // A fresh level-2 proof (chip + SMS) also lifts a lock set from a lost phone. On
    // PostgreSQL this row lock also queues concurrent activations of one citizen, so the next
    // one sees (and revokes) the device bound by the first.
    sqlx::query("UPDATE accounts SET state = 'active', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&account_id)
        .execute(&mut *w.tx)
        .await?;
    // One device at a time (Decree 69/2024): older bindings and their documents go.
    let old_devices: Vec<String> =
        sqlx::query("SELECT id FROM devices WHERE account_id = $1 AND revoked_at IS NULL")
            .bind(&account_id)
            .fetch_all(&mut *w.tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
    for old in &old_devices {
        let seq = crate::db::next_counter(&mut w.tx, "seq").await?;
        sqlx::query("UPDATE devices SET revoked_at = $1 WHERE id = $2")
            .bind(now)
            .bind(old)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query(
            "UPDATE documents SET removed_seq = $1 WHERE device_id = $2 AND removed_seq IS NULL",
        )
        .bind(seq)
        .bind(old)
        .execute(&mut *w.tx)
        .await?;
    }
    let device_id = random_hex(16)?;
    sqlx::query(
        "INSERT INTO devices (id, account_id, public_key, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&device_id)
    .bind(&account_id)
    .bind(&device_key)
    .bind(now)
    .execute(&mut *w.tx)
    .await?;

    // The account credential: the citizen's identity card with the account, for this device.
    let record: Vec<u8> =
        sqlx::query("SELECT record FROM registry_records WHERE id_number = $1 AND kind = $2")
            .bind(&id_number)
            .bind(DocumentKind::Identity.as_str())
            .fetch_one(&mut *w.tx)
            .await?
            .try_get(0)?;
    let Document::Identity(card) = state.keys.open_record(&record, state.now())? else {
        return Err(Error::Registry("identity record of another kind".into()).into());
    };
    let doc = Document::Identity(card.with_account(EidAccount {
        id: account_id.clone(),
        level: AccountLevel::Level2,
    }));
    let credential = issue::store_new(state, &mut w.tx, &device_id, &device_key, &doc).await?;
    // The citizen's passcode for consent (docs/adr/0017): the answer for this binding's record.
    let consent_registration = crate::consent::activation_response(
        state,
        &mut w.tx,
        &device_id,
        req.consent_registration.as_ref(),
    )
    .await?;
    w.commit().await?;
    crate::auth::invalidate(state, &account_id);
    for old in &old_devices {
        crate::documents::invalidate(state, old);
    }
    // Old devices' credentials are revoked, a lock is lifted.
    crate::lists::invalidate_status(state);
    tracing::info!(revoked_devices = old_devices.len(), "activation completed");
    Answer::ok(&ActivationCompleted {
        account_id,
        level: AccountLevel::Level2 as u8,
        account_credential: B64(credential),
        consent_registration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_codes() {
        let c = sms_code().unwrap();
        assert!(c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(masked_phone("0912345678"), "***678");
        assert_ne!(code_hash("a", "123456"), code_hash("b", "123456"));
    }
}
