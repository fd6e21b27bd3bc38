//! The authorization endpoint (OpenID Connect Core 1.0 §3.1.2, RFC 7636): checks the client, its
//! exact redirect URI, `response_type=code`, the `openid` scope and its purpose, and PKCE with
//! S256 (required; `plain` refused), then opens a login: the hub's signed OpenID4VP request to
//! the citizen's wallet (cross device). The browser gets a page with the QR code of the
//! `openid4vp://` URI that polls until the wallet answered and then goes to the redirect URI
//! with `code` and `state`; `Accept: application/json` gets the same as JSON (tests, apps).
//!
//! Until the redirect URI is known to be the client's, errors are shown here (never
//! redirected, RFC 6749 §4.1.2.1); after that they go back to it as `error` and `state`.

use crate::error::OAuthFailure;
use crate::oidc::{clients, paths, session};
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use eid_core::oid4vp::purposes;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A PKCE S256 challenge: base64url of a SHA-256, 43 characters.
fn s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The redirect back to the client with `error` (and its `state`).
pub fn error_redirect(redirect_uri: &str, state: Option<&str>, error: &str) -> String {
    let mut pairs = vec![("error", error)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    with_query(redirect_uri, &eid_core::oid4vp::form_encode(&pairs))
}

/// `uri` with `query` appended to its own query, if any.
pub fn with_query(uri: &str, query: &str) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

/// The purpose the scope asks for: `openid` alone is a login, `openid ekyc` an eKYC, `openid
/// age_check` an age check.
fn purpose_of(scope: &str) -> Option<&'static str> {
    let words: Vec<&str> = scope.split(' ').filter(|w| !w.is_empty()).collect();
    if !words.contains(&"openid") {
        return None;
    }
    let rest: Vec<&&str> = words.iter().filter(|w| **w != "openid").collect();
    match rest.as_slice() {
        [] => Some(purposes::LOGIN),
        [w] if **w == purposes::EKYC => Some(purposes::EKYC),
        [w] if **w == purposes::AGE_CHECK => Some(purposes::AGE_CHECK),
        _ => None,
    }
}

/// GET /v1/oidc/authorize
pub async fn authorize(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    match start(&state, query.as_deref().unwrap_or("")).await {
        Ok(Started::Login { uri, poll }) => {
            let poll_path = format!("{}/{poll}", paths::POLL);
            if json {
                axum::Json(json!({
                    "openid4vp_uri": uri,
                    "poll_uri": format!("{}{poll_path}", super::discovery::issuer(&state)),
                    "expires_in": session::LOGIN_LIFETIME,
                }))
                .into_response()
            } else {
                page(&uri, &poll_path)
            }
        }
        Ok(Started::Refused(location)) => Redirect::to(&location).into_response(),
        Err(e) => e.into_response(),
    }
}

enum Started {
    Login {
        uri: String,
        poll: String,
    },
    /// An error for the client, at its redirect URI.
    Refused(String),
}

async fn start(state: &AppState, query: &str) -> Result<Started, OAuthFailure> {
    let params: BTreeMap<String, String> = eid_core::oid4vp::form_decode(query)
        .map_err(|_| OAuthFailure::invalid_request("parameters are malformed or repeated"))?;
    let get = |k: &str| params.get(k).map(String::as_str);
    let client_id = get("client_id").ok_or(OAuthFailure::invalid_request("client_id missing"))?;
    let client = clients::find(state, client_id)
        .await?
        .ok_or(OAuthFailure::invalid_request("unknown client_id"))?;
    // Shown, never redirected: the relying party is not to be sent anyone while suspended.
    if !client.active {
        return Err(OAuthFailure::suspended());
    }
    let redirect_uri =
        get("redirect_uri").ok_or(OAuthFailure::invalid_request("redirect_uri missing"))?;
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err(OAuthFailure::invalid_request(
            "redirect_uri is not one registered for this client",
        ));
    }
    let rp_state = get("state");
    let refuse = |error: &str| {
        Ok(Started::Refused(error_redirect(
            redirect_uri,
            rp_state,
            error,
        )))
    };
    if get("response_type") != Some("code") {
        return refuse("unsupported_response_type");
    }
    if get("request").is_some() || get("request_uri").is_some() {
        return refuse("request_not_supported");
    }
    let Some(purpose) = get("scope").and_then(purpose_of) else {
        return refuse("invalid_scope");
    };
    if !client.purposes.iter().any(|p| p == purpose) {
        return refuse("invalid_scope");
    }
    // PKCE S256 only (RFC 7636 §4.2; `plain` would put the verifier in the URL).
    match (get("code_challenge"), get("code_challenge_method")) {
        (Some(c), Some("S256")) if s256_challenge(c) => {}
        _ => return refuse("invalid_request"),
    }
    let code_challenge = get("code_challenge").unwrap_or_default();
    let nonce = get("nonce");
    if rp_state.is_some_and(|s| s.len() > 512) || nonce.is_some_and(|n| n.len() > 512) {
        return refuse("invalid_request");
    }
    let (uri, poll) = session::open(
        state,
        &session::NewLogin {
            rp_id: &client.rp_id,
            rp_client_id: &crate::relying_parties::client_id_of(&client.dns_name),
            purpose,
            redirect_uri,
            rp_state,
            rp_nonce: nonce,
            code_challenge,
        },
    )
    .await?;
    Ok(Started::Login { uri, poll })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The login page: the QR code, the URI for a wallet on this device, polling until done.
fn page(uri: &str, poll_path: &str) -> Response {
    let svg =
        eid_core::present::QrImage::encode(uri).map_or_else(|_| String::new(), |q| q.to_svg(4));
    let (uri, poll) = (escape(uri), escape(poll_path));
    let html = format!(
        r#"<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Log in with e-ID</title></head>
<body>
<h1>Log in with e-ID</h1>
<p>Scan with your e-ID wallet.</p>
<div id="qr" data-openid4vp-uri="{uri}" data-poll="{poll}">{svg}</div>
<p><a href="{uri}">Open the wallet on this device</a></p>
<p id="status">Waiting for the wallet…</p>
<script>
async function poll() {{
  const r = await fetch("{poll}", {{cache: "no-store"}});
  const j = await r.json();
  if (j.redirect_uri) {{ window.location.replace(j.redirect_uri); }}
  else if (j.status === "waiting") {{ setTimeout(poll, 1000); }}
  else {{ document.getElementById("status").textContent = "The login ended."; }}
}}
poll();
</script>
</body></html>
"#
    );
    let mut resp = (StatusCode::OK, Html(html)).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_a_purpose() {
        assert_eq!(purpose_of("openid"), Some("login"));
        assert_eq!(purpose_of("ekyc openid"), Some("ekyc"));
        assert_eq!(purpose_of("ekyc"), None);
        assert_eq!(purpose_of("openid age_check"), Some("age_check"));
        assert_eq!(purpose_of("openid profile"), None);
        assert_eq!(purpose_of("openid ekyc age_check"), None);
    }

    #[test]
    fn only_s256_challenges_and_error_redirects_keep_the_query() {
        assert!(s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!s256_challenge("short"));
        assert!(!s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
        assert_eq!(
            error_redirect("https://rp.example.vn/cb?x=1", Some("a b"), "invalid_scope"),
            "https://rp.example.vn/cb?x=1&error=invalid_scope&state=a+b"
        );
    }
}
