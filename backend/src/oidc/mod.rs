//! "Log in with e-ID" (issue 16, docs/adr/0042): an OpenID Connect provider facade of the
//! relying-party hub for relying parties that speak OIDC only. Behind it the hub runs
//! OpenID4VP with the citizen's wallet (eid-core's request builder and `verify_response`), and
//! the relying party gets a pairwise subject and the claims of its registered purpose.
//!
//! One job per file: `discovery` (metadata, JWKS), `clients` (client registration and
//! `client_secret_basic`), `authorize` (the authorization endpoint and login page), `session`
//! (login rows, the hub's request object), `response` (the wallet's answer, the browser's poll
//! and the code), `token` (the code exchange and ID token), `userinfo` (access tokens, UserInfo), `subject` (pairwise subjects),
//! `hub` (the hub's own registration and access certificate), `keys` (its sealed secrets).
//! These endpoints are described by the discovery document (OIDC Discovery), not by our
//! OpenAPI contract; errors are OAuth's (`error::OAuthFailure`).

pub mod authorize;
pub mod clients;
pub mod discovery;
pub mod hub;
pub mod keys;
pub mod response;
pub mod session;
pub mod subject;
pub mod token;
pub mod userinfo;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

/// The facade's paths (the issuer is the backend's public URL).
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const JWKS: &str = "/v1/oidc/jwks";
    pub const AUTHORIZE: &str = "/v1/oidc/authorize";
    pub const TOKEN: &str = "/v1/oidc/token";
    pub const USERINFO: &str = "/v1/oidc/userinfo";
    /// `/{id}`: the hub's OpenID4VP request object (by reference).
    pub const REQUEST: &str = "/v1/oidc/request";
    /// The hub's OpenID4VP response URI.
    pub const RESPONSE: &str = eid_core::api::paths::OIDC_RESPONSE;
    /// `/{token}`: the browser's poll.
    pub const POLL: &str = "/v1/oidc/poll";
    /// Admin: a relying party's OIDC client registration.
    pub const ADMIN_CLIENT: &str = eid_core::api::paths::ADMIN_RP_OIDC_CLIENT;
}

/// The scopes besides `openid`, one per purpose beyond a login.
pub fn purpose_scopes() -> [&'static str; 2] {
    [
        eid_core::oid4vp::purposes::EKYC,
        eid_core::oid4vp::purposes::AGE_CHECK,
    ]
}

/// The facade's routes (merged into the backend's router, under its layers). The authorization
/// endpoint, which anyone may call and which writes a session and signs a request, is throttled
/// like activation (per client and globally).
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let throttled = axum::middleware::from_fn_with_state(state, crate::throttle::guard);
    Router::new()
        .route(paths::DISCOVERY, get(discovery::configuration))
        .route(paths::JWKS, get(discovery::jwks))
        .route(
            paths::AUTHORIZE,
            get(authorize::authorize).route_layer(throttled),
        )
        .route(paths::TOKEN, post(token::token))
        .route(
            paths::USERINFO,
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(
            &format!("{}/{{id}}", paths::REQUEST),
            get(session::request_object),
        )
        .route(paths::RESPONSE, post(response::response))
        .route(&format!("{}/{{token}}", paths::POLL), get(response::poll))
        .route(paths::ADMIN_CLIENT, post(clients::register))
}
