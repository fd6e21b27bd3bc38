//! Device-signed requests (`eid_core::api::signing_input`): the account header names the
//! account, the signature must verify with one of its device keys, the timestamp must be
//! within ±`MAX_SKEW_SECONDS`.
//!
//! [`authenticate`] is the one check of every device-signed endpoint. The account's device keys
//! and state come from an in-memory cache (one query on a miss); every write that changes them
//! (activation, lock, unlock) commits with `coherence::Change::Account`, so a revoked device or
//! a locked account is refused from the next request on, on every instance (docs/adr/0027).
//!
//! Verifier-signed requests (`crate::presentation`) use the same [`SignedRequest`] with the
//! verifier header.
//!
//! Replay (issue 12, docs/adr/0020): every signed request carries a random nonce inside the
//! signed message; a device-signed request that changes state is refused when its nonce was
//! seen before ([`SignedRequest::consume_nonce`]). Token redemption, the one verifier-signed
//! call, is single-use by the token itself.

use crate::cache::Cache;
use crate::error::ApiFailure;
use crate::http::{Answer, ClientRequest, idempotent_post};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use eid_core::api::{ErrorCode, MAX_SKEW_SECONDS, headers, is_valid_nonce, signing_input};
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use serde::de::DeserializeOwned;
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

/// What authentication needs of one account: its state and its devices, newest first.
#[derive(Debug)]
pub struct AccountKeys {
    locked: bool,
    level: u8,
    devices: Vec<KnownDevice>,
}

#[derive(Debug)]
struct KnownDevice {
    id: String,
    /// Uncompressed SEC1 point (activation stores it so).
    public_key: Vec<u8>,
    revoked: bool,
}

/// How long a seen nonce is kept: a request is accepted while its timestamp is within
/// ±[`MAX_SKEW_SECONDS`] of the backend's clock, so a replay comes at most twice that after the
/// first arrival.
pub const NONCE_RETENTION: u64 = 2 * MAX_SKEW_SECONDS + 60;

/// Device keys and state per account id.
pub type AccountCache = Cache<String, AccountKeys>;

fn header<'a>(h: &'a HeaderMap, name: &str) -> Result<&'a str, ApiFailure> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiFailure::unauthenticated)
}

/// The account's keys and state: cached, or read with one query (an unknown account is not
/// cached, so made-up ids cannot fill the cache).
async fn account_keys(
    state: &AppState,
    account_id: &str,
) -> Result<std::sync::Arc<AccountKeys>, ApiFailure> {
    let (hit, generation) = state.accounts.get(account_id);
    if let Some(keys) = hit {
        return Ok(keys);
    }
    let rows = sqlx::query(
        "SELECT d.id, d.public_key, d.revoked_at, a.state, a.level FROM devices d \
         JOIN accounts a ON a.id = d.account_id WHERE d.account_id = $1 \
         ORDER BY d.created_at DESC",
    )
    .bind(account_id)
    .fetch_all(state.store.pool())
    .await?;
    let mut keys = AccountKeys {
        locked: false,
        level: 0,
        devices: Vec::with_capacity(rows.len()),
    };
    for row in &rows {
        let revoked_at: Option<i64> = row.try_get(2)?;
        keys.locked = row.try_get::<String, _>(3)? == "locked";
        keys.level = u8::try_from(row.try_get::<i64, _>(4)?).unwrap_or(0);
        keys.devices.push(KnownDevice {
            id: row.try_get(0)?,
            public_key: row.try_get(1)?,
            revoked: revoked_at.is_some(),
        });
    }
    let keys = std::sync::Arc::new(keys);
    if !keys.devices.is_empty() {
        state
            .accounts
            .insert(account_id.to_owned(), keys.clone(), generation);
    }
    Ok(keys)
}

/// Checks a device-signed request over `body` and returns the device that signed it (revoked
/// or not: callers decide with [`Device::require_active`]).
/// The parts of a signed request (`eid_core::api::signing_input`), shared by device- and
/// verifier-signed requests: who claims to sign (the value of the id header), the message and
/// the signature. Missing headers, a stale timestamp or a malformed signature are 401.
pub struct SignedRequest<'a> {
    pub signer: &'a str,
    /// The request's nonce (`x-eid-nonce`), part of the signed message.
    nonce: &'a str,
    message: Vec<u8>,
    /// DER ECDSA signature, low-S (checked by `parse`); ring parses it strictly when verifying.
    signature: Vec<u8>,
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
        let nonce = header(h, headers::NONCE)?;
        if !is_valid_nonce(nonce) {
            return Err(ApiFailure::unauthenticated());
        }
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header(h, headers::SIGNATURE)?.trim_end_matches('='))
            .map_err(|_| ApiFailure::unauthenticated())?;
        // One encoding per signature: the high-S twin of a valid signature is refused.
        if !eid_crypto::es256::der_is_low_s(&signature) {
            return Err(ApiFailure::unauthenticated());
        }
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        Ok(SignedRequest {
            signer,
            nonce,
            message: signing_input(method.as_str(), path, timestamp, nonce, body),
            signature,
        })
    }

    /// Records the nonce of a verified request; a nonce this signer used before is a replay
    /// (401). The primary key decides, so a replay sent to another instance at the same moment
    /// is refused too. Rows outlive the timestamp window (`App::prune` keeps
    /// [`NONCE_RETENTION`]), after which the timestamp check refuses the request anyway.
    pub async fn consume_nonce(&self, state: &AppState) -> Result<(), ApiFailure> {
        let inserted = state
            .store
            .execute_alone(
                sqlx::query(
                    "INSERT INTO request_nonces (signer, nonce, seen_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(self.signer)
                .bind(self.nonce)
                .bind(state.now_i64()),
            )
            .await?;
        if inserted == 0 {
            return Err(ApiFailure::new(
                ErrorCode::Unauthenticated,
                "this signed request was already received",
            ));
        }
        Ok(())
    }

    /// Whether the key of SEC1 `public_key` (uncompressed) made the signature: ring's P-256,
    /// several times faster than the p256 crate's on this hot path.
    pub fn verifies(&self, public_key: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key)
            .verify(&self.message, &self.signature)
            .is_ok()
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
    let keys = account_keys(state, account_id).await?;
    let Some(device) = keys
        .devices
        .iter()
        .find(|d| request.verifies(&d.public_key))
    else {
        return Err(ApiFailure::unauthenticated());
    };
    // Reads may be repeated; a request that changes state is taken once (docs/adr/0020).
    if method != Method::GET && method != Method::HEAD {
        request.consume_nonce(state).await?;
    }
    Ok(Device {
        id: device.id.clone(),
        account_id: account_id.to_owned(),
        public_key: device.public_key.clone(),
        revoked: device.revoked,
        account_locked: keys.locked,
        level: keys.level,
    })
}

/// Whose retries an idempotent device-signed POST recognises (`http::idempotent_post`'s scope).
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Device,
    Account,
}

/// What a device- or verifier-signed POST brings: the method, the path and query, the headers
/// and the body, which the signature covers (`eid_core::api::signing_input`). The one extractor
/// of every signed POST handler.
pub struct SignedCall {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for SignedCall {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let (method, uri, headers) = (
            parts.method.clone(),
            parts.uri.clone(),
            parts.headers.clone(),
        );
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(SignedCall {
            method,
            uri,
            headers,
            body,
        })
    }
}

impl SignedCall {
    /// This call's signature, by the signer the header `id_header` names (see
    /// [`SignedRequest::parse`]).
    pub fn signed_request(
        &self,
        state: &AppState,
        id_header: &str,
    ) -> Result<SignedRequest<'_>, ApiFailure> {
        SignedRequest::parse(
            state,
            &self.method,
            &self.uri,
            &self.headers,
            &self.body,
            id_header,
        )
    }

    /// The device that signed this call (see [`authenticate`]).
    pub async fn device(&self, state: &AppState) -> Result<Device, ApiFailure> {
        authenticate(state, &self.method, &self.uri, &self.headers, &self.body).await
    }
}

/// Every device-signed, idempotent POST: the signing device (an active binding; a locked account
/// only when `allow_locked`), the parsed body, then `run` at most once per `client_request_id`.
pub async fn device_post<T: DeserializeOwned + ClientRequest>(
    state: &AppState,
    call: &SignedCall,
    endpoint: &'static str,
    (scope, allow_locked): (Scope, bool),
    run: impl AsyncFnOnce(&AppState, &Device, &T) -> Result<Answer, ApiFailure>,
) -> Response {
    let device = match call.device(state).await {
        Ok(d) => d,
        Err(f) => return f.into_response(),
    };
    if let Err(f) = device.require_active(allow_locked) {
        return f.into_response();
    }
    let scope = match scope {
        Scope::Device => &device.id,
        Scope::Account => &device.account_id,
    };
    idempotent_post(
        state,
        endpoint,
        scope,
        &call.body,
        async |state, req: &T| run(state, &device, req).await,
    )
    .await
}
