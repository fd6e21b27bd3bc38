//! From the URI the wallet was opened with to a verified request, with the HTTP injected: the
//! caller's `fetch(request_uri, post_body)` GETs the request URI (`post_body` `None`) or POSTs the
//! form body (`request_uri_method=post`, with the policy's `wallet_nonce`) and gives the response
//! body (`application/oauth-authz-req+jwt`). It must not follow redirects (§13.8 of 1.0).

use super::error::Oid4vpError;
use super::request::{AuthorizationRequest, WalletPolicy, unsigned_request, verify_request_object};
use super::uri::{RequestSource, RequestUriMethod, parse_authorization_uri, request_uri_post_body};

/// The caller's HTTP: `(request_uri, Some(form body) for POST / None for GET)` → response body.
pub type FetchRequest<'a> = dyn FnMut(&str, Option<&str>) -> Result<String, Oid4vpError> + 'a;

/// Parses the URI, fetches the request object if it is by reference, and verifies the request.
pub fn resolve_request(
    uri: &str,
    policy: &WalletPolicy<'_>,
    fetch: &mut FetchRequest<'_>,
) -> Result<AuthorizationRequest, Oid4vpError> {
    let parsed = parse_authorization_uri(uri)?;
    // The wallet nonce is only sent, and so only expected back, with a POST.
    let without_nonce = WalletPolicy {
        wallet_nonce: None,
        ..*policy
    };
    match &parsed.source {
        RequestSource::Object(jwt) => verify_request_object(jwt, &parsed.client_id, &without_nonce),
        RequestSource::Reference {
            request_uri,
            method: RequestUriMethod::Post,
        } => {
            let body = request_uri_post_body(policy.wallet_nonce, None);
            let jwt = fetch(request_uri, Some(&body))?;
            verify_request_object(&jwt, &parsed.client_id, policy)
        }
        RequestSource::Reference {
            request_uri,
            method: RequestUriMethod::Get,
        } => {
            let jwt = fetch(request_uri, None)?;
            verify_request_object(&jwt, &parsed.client_id, &without_nonce)
        }
        RequestSource::Parameters(params) => unsigned_request(params, &without_nonce),
    }
}
