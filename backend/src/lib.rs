//! eid-backend: the reference verification backend (issue "Reference backend, level-2
//! activation and sync"): a synthetic population registry, level-2 activation with chip
//! evidence, document sync, trust and status lists, account lock. The wire contract is
//! `eid_core::api`; the OpenAPI document (`openapi.json`) describes it for other clients.

mod accommodation;
mod account;
mod activation;
mod app;
mod auth;
mod batch;
mod ca_row;
mod cache;
mod clock;
mod coherence;
mod config;
mod consent;
pub mod db;
mod dependants;
mod disclosures;
mod documents;
mod ekyc;
pub mod error;
mod evidence;
mod faults;
mod health;
mod http;
mod idempotency;
pub mod input;
mod issue;
pub mod keys;
pub mod kinds;
mod lifecycle;
pub mod limits;
pub mod lists;
pub mod logs;
mod mdoc_issue;
pub mod mdoc_keys;
mod meta;
pub mod metering;
mod metrics;
pub mod oidc;
mod presentation;
pub mod reader_certificates;
pub mod reader_crl;
pub mod reader_keys;
pub mod registry;
pub mod relying_parties;
mod replica;
pub mod rp_keys;
pub mod rp_registry;
mod sdjwt_issue;
mod sealed_setup;
mod server;
pub mod signing;
pub mod sms;
mod state;
mod status_index;
mod submissions;
mod supersede;
mod throttle;

use axum::Router;
use axum::routing::{MethodRouter, delete, get, post};
use eid_core::api::paths;
use eid_core::signing::paths as signing_paths;
use std::sync::Arc;

pub use activation::{CODE_LIFETIME, MAX_WRONG_CODES, RATE_WINDOW};
pub use app::{App, RETENTION};
pub use clock::Clock;
pub use config::{AuthorityToken, Config};
pub use error::Error;
pub use meta::{Health, READY, Ready};
pub use state::AppState;

/// The OpenAPI 3.1 document of the API (checked in next to this crate's Cargo.toml).
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Every route: method and path. The router is built from the same table as the tests that
/// check it against the OpenAPI document.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", paths::HEALTH),
    ("get", meta::READY),
    ("post", paths::ACTIVATION_START),
    ("post", paths::ACTIVATION_COMPLETE),
    ("get", paths::DOCUMENTS),
    ("get", paths::TRUST_LIST),
    ("get", paths::STATUS_LIST),
    ("get", paths::ACCOUNT),
    ("post", paths::ACCOUNT_LOCK),
    ("post", paths::ACCOUNT_UNLOCK),
    ("post", paths::PRESENTATION_CREDENTIALS),
    // Credential batches in standard formats and their CWT status list (docs/adr/0031).
    ("post", paths::CREDENTIAL_BATCHES),
    ("get", paths::STATUS_LIST_CWT),
    // SD-JWT VC batches name the JWT form (docs/adr/0035).
    ("get", paths::STATUS_LIST_JWT),
    ("post", paths::TOKEN_REDEEM),
    ("post", paths::ADMIN_VERIFIERS),
    // Accommodation notices (docs/adr/0048).
    ("post", paths::ACCOMMODATION_CHECK_INS),
    ("get", paths::ACCOMMODATION_NOTICES),
    // The relying-party hub (issue 16, docs/adr/0036).
    ("post", paths::ADMIN_RELYING_PARTIES),
    ("get", paths::ADMIN_RELYING_PARTIES),
    ("get", paths::ADMIN_RELYING_PARTY),
    ("delete", paths::ADMIN_RELYING_PARTY),
    ("post", paths::ADMIN_RP_SUSPEND),
    ("post", paths::ADMIN_RP_RESUME),
    ("get", paths::ADMIN_METERING),
    ("get", paths::RELYING_PARTIES),
    // The kinds issued, as signed declarations (docs/adr/0060).
    ("get", paths::KINDS),
    ("get", paths::DISCLOSURES),
    // Bank eKYC by chip (docs/adr/0054).
    ("post", paths::EKYC_CHALLENGES),
    ("post", paths::EKYC_CHECKS),
    // Reader authentication certificates for verifier desks (docs/adr/0040).
    ("post", paths::ADMIN_READER_CERTIFICATES),
    // Their revocation and the reader CA's CRL (docs/adr/0053).
    ("post", paths::ADMIN_READER_CERTIFICATES_REVOKE),
    ("get", paths::READER_CA_CRL),
    // Registry changes pushed to wallets (issue 18, docs/adr/0056).
    ("post", paths::ADMIN_REGISTRY_CHANGES),
    // Citizen-entered data (issue 18, docs/adr/0057).
    ("post", paths::SUBMISSIONS),
    ("get", paths::SUBMISSIONS),
    ("get", paths::ADMIN_SUBMISSIONS),
    ("get", paths::ADMIN_SUBMISSION),
    ("post", paths::ADMIN_SUBMISSION_DECISION),
    // Citizen consent (docs/adr/0017).
    ("post", paths::CONSENT_REGISTER),
    ("post", paths::CONSENT_START),
    ("post", paths::PRESENTATION_TOKENS),
    ("get", paths::DEV_OUTBOX),
    ("get", paths::OPENAPI),
    // Remote signing (issue 6).
    ("post", signing_paths::ENROL),
    ("get", signing_paths::CA_PEM),
    ("post", signing_paths::CREDENTIALS_LIST),
    ("post", signing_paths::CREDENTIALS_INFO),
    ("post", signing_paths::CREDENTIALS_CHALLENGE),
    ("post", signing_paths::CREDENTIALS_AUTHORIZE),
    ("post", signing_paths::SIGN_HASH),
];

/// The HTTP routes of the backend: exactly [`ROUTES`], so the table the OpenAPI test checks is
/// the router itself. The unauthenticated ones are throttled; every body is read within the size
/// and time limits before a handler sees it; every answer carries the request id and every error
/// is an `ErrorBody`.
fn router(state: Arc<AppState>) -> Router {
    let limits = state.config.limits.clone();
    ROUTES
        .iter()
        .filter_map(|(method, path)| handler(method, path).map(|h| (*path, h)))
        .map(|(path, h)| {
            if THROTTLED.contains(&path) {
                let guard = axum::middleware::from_fn_with_state(state.clone(), throttle::guard);
                (path, h.route_layer(guard))
            } else {
                (path, h)
            }
        })
        .fold(Router::new(), |router, (path, h)| router.route(path, h))
        // "Log in with e-ID": standard OIDC endpoints, described by their discovery document.
        .merge(oidc::router(state.clone()))
        .fallback(http::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            health::guard,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            http::read_body(limits.clone(), req, next)
        }))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::request_context,
        ))
        .with_state(state)
}

/// The routes anyone may call without a device or verifier signature, throttled per client and
/// globally (redeem is verifier-signed, the GETs are cached public lists).
const THROTTLED: &[&str] = &[paths::ACTIVATION_START, paths::ACTIVATION_COMPLETE];

/// The handler of each entry of [`ROUTES`].
fn handler(method: &str, path: &str) -> Option<MethodRouter<Arc<AppState>>> {
    Some(match (method, path) {
        ("get", paths::HEALTH) => get(meta::health),
        ("get", meta::READY) => get(meta::ready),
        ("post", paths::ACTIVATION_START) => post(activation::start),
        ("post", paths::ACTIVATION_COMPLETE) => post(activation::complete),
        ("get", paths::DOCUMENTS) => get(documents::list),
        ("get", paths::TRUST_LIST) => get(lists::trust_list),
        ("get", paths::STATUS_LIST) => get(lists::status_list),
        ("get", paths::ACCOUNT) => get(account::get),
        ("post", paths::ACCOUNT_LOCK) => post(account::lock),
        ("post", paths::ACCOUNT_UNLOCK) => post(account::unlock),
        ("post", paths::PRESENTATION_CREDENTIALS) => post(presentation::issue_credentials),
        ("post", paths::CREDENTIAL_BATCHES) => post(batch::issue),
        ("get", paths::STATUS_LIST_CWT) => get(lists::status_list_cwt),
        ("get", paths::STATUS_LIST_JWT) => get(lists::status_list_jwt),
        ("post", paths::TOKEN_REDEEM) => post(presentation::redeem),
        ("post", paths::ADMIN_VERIFIERS) => post(presentation::register_verifier),
        ("post", paths::ACCOMMODATION_CHECK_INS) => post(accommodation::check_in),
        ("get", paths::ACCOMMODATION_NOTICES) => get(accommodation::notices),
        ("post", paths::ADMIN_RELYING_PARTIES) => post(relying_parties::register),
        ("get", paths::ADMIN_RELYING_PARTIES) => get(relying_parties::list),
        ("get", paths::ADMIN_RELYING_PARTY) => get(relying_parties::get),
        ("delete", paths::ADMIN_RELYING_PARTY) => delete(relying_parties::suspend),
        ("post", paths::ADMIN_RP_SUSPEND) => post(relying_parties::suspend_with_reason),
        ("post", paths::ADMIN_RP_RESUME) => post(relying_parties::resume),
        ("get", paths::ADMIN_METERING) => get(metering::metering),
        ("get", paths::RELYING_PARTIES) => get(rp_registry::registry),
        ("get", paths::KINDS) => get(kinds::list),
        ("get", paths::DISCLOSURES) => get(disclosures::list),
        ("post", paths::EKYC_CHALLENGES) => post(ekyc::challenge),
        ("post", paths::EKYC_CHECKS) => post(ekyc::check),
        ("post", paths::ADMIN_READER_CERTIFICATES) => post(reader_certificates::issue),
        ("post", paths::ADMIN_READER_CERTIFICATES_REVOKE) => post(reader_crl::revoke),
        ("get", paths::READER_CA_CRL) => get(reader_crl::crl),
        ("post", paths::ADMIN_REGISTRY_CHANGES) => post(lifecycle::change),
        ("post", paths::SUBMISSIONS) => post(submissions::submit),
        ("get", paths::SUBMISSIONS) => get(submissions::list),
        ("get", paths::ADMIN_SUBMISSIONS) => get(submissions::queue),
        ("get", paths::ADMIN_SUBMISSION) => get(submissions::get),
        ("post", paths::ADMIN_SUBMISSION_DECISION) => post(submissions::decide),
        ("post", paths::CONSENT_REGISTER) => post(consent::register),
        ("post", paths::CONSENT_START) => post(consent::start),
        ("post", paths::PRESENTATION_TOKENS) => post(presentation::register_token),
        ("get", paths::DEV_OUTBOX) => get(meta::dev_outbox),
        ("get", paths::OPENAPI) => get(meta::openapi),
        ("post", signing_paths::ENROL) => post(signing::enrol),
        ("get", signing_paths::CA_PEM) => get(signing::ca_pem),
        ("post", signing_paths::CREDENTIALS_LIST) => post(signing::list),
        ("post", signing_paths::CREDENTIALS_INFO) => post(signing::info),
        ("post", signing_paths::CREDENTIALS_CHALLENGE) => post(signing::challenge),
        ("post", signing_paths::CREDENTIALS_AUTHORIZE) => post(signing::authorize),
        ("post", signing_paths::SIGN_HASH) => post(signing::sign_hash),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_handler_once() {
        for (i, (method, path)) in ROUTES.iter().enumerate() {
            assert!(handler(method, path).is_some(), "{method} {path}");
            assert!(
                !ROUTES[..i].contains(&(*method, *path)),
                "{method} {path} twice"
            );
        }
    }
}
