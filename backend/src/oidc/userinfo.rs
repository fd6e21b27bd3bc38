//! The UserInfo endpoint (OpenID Connect Core 1.0 §5.3, docs/adr/0050) and the access tokens
//! it takes (RFC 6750 Bearer, `Authorization` header): issued by the token endpoint with the ID
//! token, 256 random bits, stored only as their SHA-256 with the client, the pairwise `sub` and
//! the claims of the login's scope sealed under the facade's key (associated data: the token's
//! hash), for [`ACCESS_TOKEN_LIFETIME`]; expired rows are deleted at the next issue and by the
//! pruning. The answer is `sub` (the ID token's) and those claims, nothing else; an unknown or
//! expired token, or one of a suspended client, is `401` with
//! `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).

use crate::error::{Error, OAuthFailure};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value};
use sqlx::Row;
use std::sync::Arc;

/// Seconds an access token is valid (the ID token's lifetime: UserInfo right after the login).
pub const ACCESS_TOKEN_LIFETIME: u64 = super::token::ID_TOKEN_LIFETIME;

fn seal_purpose(hash: &[u8]) -> String {
    format!(
        "oidc-access/{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash)
    )
}

/// Issues an access token for `rp_id` carrying `result` (`{"sub", "claims"}` of the login), in
/// the token endpoint's transaction; the token to hand out.
pub async fn issue(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    rp_id: &str,
    result: &Value,
    now: u64,
) -> Result<String, Error> {
    let token =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::http::random_bytes(32)?);
    let hash = super::session::sha256(&token);
    let plain = serde_json::to_vec(&serde_json::json!({
        "sub": result["sub"],
        "claims": result["claims"],
    }))
    .map_err(|_| Error::Config("encoding".into()))?;
    let sealed = state.oidc.seal.seal(&seal_purpose(&hash), &plain)?;
    let at = i64::try_from(now).unwrap_or(i64::MAX);
    sqlx::query("DELETE FROM oidc_access_tokens WHERE expires_at <= $1")
        .bind(at)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO oidc_access_tokens (token_hash, rp_id, sealed, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&hash)
    .bind(rp_id)
    .bind(sealed)
    .bind(at)
    .bind(at + ACCESS_TOKEN_LIFETIME as i64)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// GET or POST /v1/oidc/userinfo
pub async fn userinfo(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match answer(&state, &headers).await {
        Ok(v) => {
            let mut resp = axum::Json(v).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn answer(state: &AppState, headers: &HeaderMap) -> Result<Value, OAuthFailure> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(OAuthFailure::no_bearer_token())?;
    let hash = super::session::sha256(token);
    let row = sqlx::query(
        "SELECT t.sealed, t.expires_at FROM oidc_access_tokens t \
         JOIN relying_parties r ON r.id = t.rp_id \
         WHERE t.token_hash = $1 AND r.status = 'active'",
    )
    .bind(&hash)
    .fetch_optional(state.store.pool())
    .await?
    .ok_or(OAuthFailure::invalid_token())?;
    let (sealed, expires_at): (Vec<u8>, i64) = (row.try_get(0)?, row.try_get(1)?);
    if state.now_i64() >= expires_at {
        return Err(OAuthFailure::invalid_token());
    }
    let opened = state.oidc.seal.open(&seal_purpose(&hash), &sealed)?;
    let stored: Value =
        serde_json::from_slice(&opened).map_err(|_| Error::Config("stored access".into()))?;
    let mut out = Map::new();
    out.insert("sub".into(), stored["sub"].clone());
    if let Some(claims) = stored["claims"].as_object() {
        for (k, v) in claims {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Ok(Value::Object(out))
}
