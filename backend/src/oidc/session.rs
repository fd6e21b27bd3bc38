//! Login sessions in the database (`oidc_sessions`, so any instance serves any step): opening
//! one with the hub's signed OpenID4VP request, serving that request object by reference, and
//! the [`PendingRequest`] its answer is verified against.
//!
//! A session is `waiting` until the wallet answers (`answered`) or declines (`refused`); the
//! browser's poll then takes the code once (`code_issued`); the token endpoint redeems it once
//! (`redeemed`, its sealed result deleted).

use crate::error::{Error, OAuthFailure};
use crate::oidc::{hub, paths};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use eid_core::oid4vp::{
    self, DcqlQuery, Enc, PendingRequest, RequestSpec, RequestUriMethod, ResponseMode, RpSigner,
    purposes,
};
use eid_core::sdjwt::ClaimPath;
use sha2::Digest;
use sqlx::Row;
use std::sync::Arc;

/// Seconds the citizen has to answer with the wallet (the request object's lifetime too).
pub const LOGIN_LIFETIME: u64 = 300;
/// The `kid` of the hub's response encryption key.
pub const ENC_KID: &str = "hub-enc";

/// The claim paths the hub asks the wallet for, per purpose of the client: the ID number always
/// (the subject is made of it and it never leaves the hub), and what the purpose releases: an
/// eKYC the identity, an age check over 18 only.
pub fn asked_claims(purpose: &str) -> &'static [&'static [&'static str]] {
    match purpose {
        purposes::EKYC => &[
            &["family_name"],
            &["given_name"],
            &["birthdate"],
            &["personal_administrative_number"],
        ],
        purposes::AGE_CHECK => &[&["personal_administrative_number"], AGE_OVER_18],
        _ => &[&["personal_administrative_number"]],
    }
}

/// Over 18 in the PID: `age_equal_or_over.18` (the other thresholds stay undisclosed).
pub const AGE_OVER_18: &[&str] = &["age_equal_or_over", "18"];

/// The top-level claims of a purpose that go into the ID token (a login: none, only `sub`); of
/// `age_equal_or_over` only what was disclosed, `{"18": true|false}`.
pub fn released_claims(purpose: &str) -> &'static [&'static str] {
    match purpose {
        purposes::EKYC => &[
            "family_name",
            "given_name",
            "birthdate",
            "personal_administrative_number",
        ],
        purposes::AGE_CHECK => &["age_equal_or_over"],
        _ => &[],
    }
}

/// The claim paths the hub passes on to the client (what `released_claims` puts in the ID
/// token), named in the request's `verifier_info` so the wallet checks them against the
/// client's registered purpose (docs/adr/0050).
pub fn released_paths(purpose: &str) -> Vec<ClaimPath> {
    match purpose {
        purposes::AGE_CHECK => vec![ClaimPath::keys(AGE_OVER_18)],
        _ => released_claims(purpose)
            .iter()
            .map(|c| ClaimPath::keys(&[c]))
            .collect(),
    }
}

pub fn sha256(s: &str) -> Vec<u8> {
    sha2::Sha256::digest(s.as_bytes()).to_vec()
}

/// The client's authorization request, checked.
pub struct NewLogin<'a> {
    pub rp_id: &'a str,
    /// The client's registered client id (`x509_san_dns:...`), named to the wallet.
    pub rp_client_id: &'a str,
    pub purpose: &'a str,
    pub redirect_uri: &'a str,
    pub rp_state: Option<&'a str>,
    pub rp_nonce: Option<&'a str>,
    pub code_challenge: &'a str,
}

/// The pending request of session `id` asked with `vp_nonce` for `purpose`.
pub fn pending(
    state: &AppState,
    id: &str,
    vp_nonce: &str,
    purpose: &str,
) -> Result<PendingRequest, OAuthFailure> {
    Ok(PendingRequest {
        client_id: hub::client_id(state),
        nonce: vp_nonce.to_owned(),
        state: Some(id.to_owned()),
        dcql: query(purpose)?,
        response_mode: ResponseMode::DirectPostJwt,
        kid: Some(ENC_KID.to_owned()),
    })
}

fn query(purpose: &str) -> Result<DcqlQuery, OAuthFailure> {
    oid4vp::pid_query(asked_claims(purpose))
        .map_err(|_| OAuthFailure::from(Error::Config("the OIDC DCQL query".into())))
}

/// Opens a session: the `openid4vp://` URI for the wallet and the browser's poll token.
pub async fn open(
    state: &AppState,
    login: &NewLogin<'_>,
) -> Result<(String, String), OAuthFailure> {
    let mut rng = eid_crypto::OsRng;
    let id = oid4vp::fresh_nonce(&mut rng);
    let poll = oid4vp::fresh_nonce(&mut rng);
    let vp_nonce = oid4vp::fresh_nonce(&mut rng);
    let now = state.now();
    let client_id = hub::client_id(state);
    let enc_point = p256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(
        &state.oidc.decryption.public_key(),
        false,
    );
    let x5c = [hub::certificate(state)?];
    let dcql = query(login.purpose)?;
    let response_uri = hub::response_uri(state);
    let behind = oid4vp::on_behalf_of_info(
        login.rp_client_id,
        login.purpose,
        &released_paths(login.purpose),
    );
    let (jwt, _) = oid4vp::request_object_with(
        &RpSigner {
            client_id: &client_id,
            key: &state.oidc.request,
            x5c: &x5c,
        },
        &RequestSpec {
            response_uri: &response_uri,
            response_mode: ResponseMode::DirectPostJwt,
            nonce: &vp_nonce,
            state: Some(&id),
            dcql: &dcql,
            encryption_key: Some((ENC_KID, enc_point.as_bytes())),
            enc_values: &[Enc::A128Gcm],
            wallet_nonce: None,
            issued_at: now,
            lifetime: LOGIN_LIFETIME,
        },
        &[behind],
    )
    .map_err(|_| OAuthFailure::from(Error::Config("signing the request object".into())))?;
    let at = i64::try_from(now).unwrap_or(i64::MAX);
    let mut w = state.store.write().await?;
    sqlx::query(
        "INSERT INTO oidc_sessions (id, poll_hash, rp_id, purpose, redirect_uri, rp_state, \
         rp_nonce, code_challenge, request_jwt, vp_nonce, status, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'waiting', $11, $12)",
    )
    .bind(&id)
    .bind(sha256(&poll))
    .bind(login.rp_id)
    .bind(login.purpose)
    .bind(login.redirect_uri)
    .bind(login.rp_state)
    .bind(login.rp_nonce)
    .bind(login.code_challenge)
    .bind(&jwt)
    .bind(&vp_nonce)
    .bind(at)
    .bind(at + LOGIN_LIFETIME as i64)
    .execute(&mut *w.tx)
    .await?;
    w.commit().await?;
    let request_uri = format!("{}{}/{id}", super::discovery::issuer(state), paths::REQUEST);
    let uri = oid4vp::authorization_uri(
        "openid4vp://",
        &client_id,
        &request_uri,
        RequestUriMethod::Get,
    );
    Ok((uri, poll))
}

/// GET /v1/oidc/request/{id}: the signed request object of a waiting session.
pub async fn request_object(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Response {
    let run = async {
        let row = sqlx::query(
            "SELECT request_jwt FROM oidc_sessions \
             WHERE id = $1 AND status = 'waiting' AND expires_at > $2",
        )
        .bind(&id)
        .bind(state.now_i64())
        .fetch_optional(state.store.pool())
        .await?
        .ok_or(OAuthFailure::not_found("no such waiting login"))?;
        let jwt: String = row.try_get(0)?;
        Ok::<_, OAuthFailure>(
            (
                [(header::CONTENT_TYPE, oid4vp::REQUEST_OBJECT_CONTENT_TYPE)],
                jwt,
            )
                .into_response(),
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}
