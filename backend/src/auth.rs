//! Device-signed requests (`eid_core::api::signing_input`): the account header names the
//! account, the signature must verify with one of its device keys, the timestamp must be
//! within ±`MAX_SKEW_SECONDS`. Verifier-signed requests (`crate::presentation`) use the same
//! [`SignedRequest`] with the verifier header.

use crate::AppState;
use crate::error::ApiFailure;
use axum::http::{HeaderMap, Method, Uri};
use base64::Engine;
use eid_core::api::{ErrorCode, MAX_SKEW_SECONDS, headers, signing_input};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sqlx::Row;

/// The device that signed a request.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    pub account_id: String,
    pub public_key: Vec<u8>,
    /// Another device activated the account since.
    pub revoked: bool,
    pub account_locked: bool,
    pub level: u8,
}

impl Device {
    /// Refuses a revoked device (403) and, unless `allow_locked`, a locked account (423).
    pub fn require_active(&self, allow_locked: bool) -> Result<(), ApiFailure> {
        if self.revoked {
            return Err(ApiFailure::new(
                ErrorCode::Revoked,
                "this device's binding was revoked",
            ));
        }
        if self.account_locked && !allow_locked {
            return Err(ApiFailure::new(
                ErrorCode::AccountLocked,
                "the account is locked",
            ));
        }
        Ok(())
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Result<&'a str, ApiFailure> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiFailure::unauthenticated)
}

/// The parts of a signed request (`eid_core::api::signing_input`), shared by device- and
/// verifier-signed requests: who claims to sign (the value of the id header), the message and
/// the signature. Missing headers, a stale timestamp or a malformed signature are 401.
pub struct SignedRequest<'a> {
    pub signer: &'a str,
    message: Vec<u8>,
    signature: Signature,
}

impl<'a> SignedRequest<'a> {
    pub fn parse(
        state: &AppState,
        method: &Method,
        uri: &Uri,
        h: &'a HeaderMap,
        body: &[u8],
        id_header: &str,
    ) -> Result<SignedRequest<'a>, ApiFailure> {
        let signer = header(h, id_header)?;
        let timestamp: u64 = header(h, headers::TIMESTAMP)?
            .parse()
            .map_err(|_| ApiFailure::unauthenticated())?;
        if state.now().abs_diff(timestamp) > MAX_SKEW_SECONDS {
            return Err(ApiFailure::unauthenticated());
        }
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header(h, headers::SIGNATURE)?.trim_end_matches('='))
            .ok()
            .and_then(|der| Signature::from_der(&der).ok())
            .ok_or_else(ApiFailure::unauthenticated)?;
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        Ok(SignedRequest {
            signer,
            message: signing_input(method.as_str(), path, timestamp, body),
            signature,
        })
    }

    /// Whether `key` made the signature.
    pub fn verifies_with(&self, key: &VerifyingKey) -> bool {
        key.verify(&self.message, &self.signature).is_ok()
    }

    /// Whether the key of SEC1 `public_key` made the signature.
    pub fn verifies(&self, public_key: &[u8]) -> bool {
        VerifyingKey::from_sec1_bytes(public_key).is_ok_and(|k| self.verifies_with(&k))
    }
}

pub async fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    h: &HeaderMap,
    body: &[u8],
) -> Result<Device, ApiFailure> {
    let request = SignedRequest::parse(state, method, uri, h, body, headers::ACCOUNT)?;
    let account_id = request.signer;
    let rows = sqlx::query(
        "SELECT d.id, d.public_key, d.revoked_at, a.state, a.level FROM devices d \
         JOIN accounts a ON a.id = d.account_id WHERE d.account_id = $1 \
         ORDER BY d.created_at DESC",
    )
    .bind(account_id)
    .fetch_all(state.store.pool())
    .await?;
    for row in rows {
        let public_key: Vec<u8> = row.try_get(1)?;
        if !request.verifies(&public_key) {
            continue;
        }
        let revoked_at: Option<i64> = row.try_get(2)?;
        let account_state: String = row.try_get(3)?;
        let level: i64 = row.try_get(4)?;
        return Ok(Device {
            id: row.try_get(0)?,
            account_id: account_id.to_owned(),
            public_key,
            revoked: revoked_at.is_some(),
            account_locked: account_state == "locked",
            level: u8::try_from(level).unwrap_or(0),
        });
    }
    Err(ApiFailure::unauthenticated())
}
