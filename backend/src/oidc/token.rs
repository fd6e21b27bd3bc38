//! The token endpoint (RFC 6749 §4.1.3, OpenID Connect Core 1.0 §3.1.3): `client_secret_basic`,
//! `grant_type=authorization_code`, the code redeemed once (consumed before any other check,
//! so a replayed or guessed-at code is dead either way), then bound to the client, the exact
//! redirect URI, its lifetime and the PKCE verifier (S256, RFC 7636 §4.6). The answer: an ID
//! token (ES256; `iss`, `sub` pairwise, `aud`, `exp`, `iat`, `nonce`, and the purpose's claims)
//! and a bearer access token for UserInfo (`userinfo`). Each login is one billable event, counted in the same
//! transaction that redeems the code.

use crate::error::{Error, OAuthFailure};
use crate::metering::{self, BillableKind};
use crate::oidc::{clients, discovery, response, session};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::Digest;
use sqlx::Row;
use std::sync::Arc;

/// Seconds an ID token is valid.
pub const ID_TOKEN_LIFETIME: u64 = 300;

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn verifier_ok(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) equals the challenge.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier));
    verifier_ok(verifier) && eid_crypto::ct_eq(computed.as_bytes(), challenge.as_bytes())
}

/// POST /v1/oidc/token
pub async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    match exchange(&state, &headers, &body).await {
        Ok(v) => {
            let mut resp = axum::Json(v).into_response();
            let h = resp.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn exchange(
    state: &AppState,
    headers: &HeaderMap,
    body: &str,
) -> Result<Value, OAuthFailure> {
    let client = clients::authenticate(state, headers).await?;
    let form = eid_core::oid4vp::form_decode(body)
        .map_err(|_| OAuthFailure::invalid_request("parameters are malformed or repeated"))?;
    let get = |k: &str| form.get(k).map(String::as_str);
    if get("grant_type") != Some("authorization_code") {
        return Err(OAuthFailure::new(
            "unsupported_grant_type",
            "only authorization_code",
        ));
    }
    let code = get("code").ok_or(OAuthFailure::invalid_request("code missing"))?;
    let now = state.now();
    let mut w = state.store.write().await?;
    let row = sqlx::query(
        "SELECT id, rp_id, purpose, redirect_uri, rp_nonce, code_challenge, expires_at, \
         sealed_result FROM oidc_sessions WHERE code_hash = $1 AND status = 'code_issued'",
    )
    .bind(session::sha256(code))
    .fetch_optional(&mut *w.tx)
    .await?;
    let Some(row) = row else {
        drop(w);
        return Err(OAuthFailure::invalid_grant(
            "the code is unknown or was used",
        ));
    };
    let id: String = row.try_get(0)?;
    // Consumed first: whatever follows, this code never works again.
    let consumed = sqlx::query(
        "UPDATE oidc_sessions SET status = 'redeemed', sealed_result = NULL \
         WHERE id = $1 AND status = 'code_issued'",
    )
    .bind(&id)
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    let (rp_id, purpose, redirect_uri, nonce, challenge, expires_at): (
        String,
        String,
        String,
        Option<String>,
        String,
        i64,
    ) = (
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        row.try_get(5)?,
        row.try_get(6)?,
    );
    let sealed: Option<Vec<u8>> = row.try_get(7)?;
    let refusal = if consumed != 1 {
        Some(OAuthFailure::invalid_grant(
            "the code is unknown or was used",
        ))
    } else if !eid_crypto::ct_eq(rp_id.as_bytes(), client.rp_id.as_bytes()) {
        Some(OAuthFailure::invalid_grant(
            "the code was issued to another client",
        ))
    } else if get("redirect_uri") != Some(redirect_uri.as_str()) {
        Some(OAuthFailure::invalid_grant(
            "redirect_uri differs from the authorization request's",
        ))
    } else if i64::try_from(now).unwrap_or(i64::MAX) >= expires_at {
        Some(OAuthFailure::invalid_grant("the code expired"))
    } else if !get("code_verifier").is_some_and(|v| pkce_matches(v, &challenge)) {
        Some(OAuthFailure::invalid_grant(
            "the PKCE code_verifier does not match",
        ))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        // The code dies with the failed attempt (committed), nothing is issued.
        w.commit().await?;
        return Err(refusal);
    }
    let opened = state
        .oidc
        .seal
        .open(&response::seal_purpose(&id), &sealed.unwrap_or_default())?;
    let result: Value =
        serde_json::from_slice(&opened).map_err(|_| Error::Config("stored login".into()))?;
    metering::record_in(&mut w.tx, &rp_id, &purpose, BillableKind::Login, now).await?;
    let access_token = super::userinfo::issue(state, &mut w.tx, &rp_id, &result, now).await?;
    w.commit().await?;

    let mut claims = Map::new();
    claims.insert("iss".into(), discovery::issuer(state).into());
    claims.insert("sub".into(), result["sub"].clone());
    claims.insert("aud".into(), rp_id.clone().into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + ID_TOKEN_LIFETIME).into());
    if let Some(n) = nonce {
        claims.insert("nonce".into(), n.into());
    }
    if let Some(extra) = result["claims"].as_object() {
        for (k, v) in extra {
            claims.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let mut header = Map::new();
    header.insert("typ".into(), "JWT".into());
    header.insert("kid".into(), state.oidc.id_token_kid().into());
    let id_token = eid_core::sdjwt::sign_jws(header, &claims, &state.oidc.id_token)
        .map_err(|_| Error::Config("signing the ID token".into()))?;
    tracing::info!(rp = %rp_id, purpose = %purpose, "OIDC login completed");
    let mut scope = "openid".to_owned();
    if purpose != eid_core::oid4vp::purposes::LOGIN {
        scope.push(' ');
        scope.push_str(&purpose);
    }
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": super::userinfo::ACCESS_TOKEN_LIFETIME,
        "id_token": id_token,
        "scope": scope,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_of_rfc_7636_appendix_b() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(challenge, challenge));
        assert!(!pkce_matches("short", challenge));
    }
}
