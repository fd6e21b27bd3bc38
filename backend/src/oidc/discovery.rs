//! The provider's metadata (OpenID Connect Discovery 1.0 §3, at
//! `/.well-known/openid-configuration`) and its keys (`jwks_uri`, RFC 7517): the ID token key
//! as a P-256 JWK with its RFC 7638 thumbprint as `kid`.

use crate::oidc::{paths, purpose_scopes};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};
use sha2::Digest;
use std::sync::Arc;

/// The issuer identifier: the backend's public URL.
pub fn issuer(state: &AppState) -> String {
    state.config.public_url.trim_end_matches('/').to_owned()
}

/// RFC 7638 thumbprint of a P-256 key (SEC1 uncompressed), base64url.
pub fn thumbprint(point: &[u8]) -> Option<String> {
    let jwk = eid_core::sdjwt::jwk_from_point(point)?;
    let (x, y) = (jwk["x"].as_str()?, jwk["y"].as_str()?);
    // The required members in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical)))
}

/// The metadata document.
pub fn metadata(state: &AppState) -> Value {
    let iss = issuer(state);
    let mut scopes = vec!["openid"];
    scopes.extend(purpose_scopes());
    json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}{}", paths::AUTHORIZE),
        "token_endpoint": format!("{iss}{}", paths::TOKEN),
        "jwks_uri": format!("{iss}{}", paths::JWKS),
        "userinfo_endpoint": format!("{iss}{}", paths::USERINFO),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce",
            "family_name", "given_name", "birthdate", "personal_administrative_number",
            "age_equal_or_over"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    })
}

/// GET /.well-known/openid-configuration
pub async fn configuration(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let body = serde_json::to_vec(&metadata(&state)).unwrap_or_default();
    let etag = crate::http::etag_of(&body);
    crate::http::cacheable_json(&headers, body, &etag, 3600)
}

/// GET /v1/oidc/jwks
pub async fn jwks(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let keys = &state.oidc;
    let mut jwk = eid_core::sdjwt::jwk_from_point(&keys.id_token_point()).unwrap_or(Value::Null);
    jwk["kid"] = keys.id_token_kid().into();
    jwk["use"] = "sig".into();
    jwk["alg"] = "ES256".into();
    let body = serde_json::to_vec(&json!({ "keys": [jwk] })).unwrap_or_default();
    let etag = crate::http::etag_of(&body);
    crate::http::cacheable_json(&headers, body, &etag, 3600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::sec1::ToSec1Point;

    #[test]
    fn thumbprint_of_rfc_7638_shape() {
        // RFC 7638's example is an RSA key; for EC the canonical form is crv, kty, x, y: check
        // the digest is over exactly that text.
        let point = p256::SecretKey::from_slice(&[1u8; 32])
            .unwrap()
            .public_key()
            .to_sec1_point(false);
        let jwk = eid_core::sdjwt::jwk_from_point(point.as_bytes()).unwrap();
        let text = format!(
            "{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{}\",\"y\":\"{}\"}}",
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        let want =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(text));
        assert_eq!(thumbprint(point.as_bytes()).unwrap(), want);
        assert!(thumbprint(&[4u8; 10]).is_none());
    }
}
