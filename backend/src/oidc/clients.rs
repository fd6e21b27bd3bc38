//! OIDC clients (docs/adr/0042): a registered relying party becomes one when the admin gives
//! it redirect URIs; `client_id` is its registration id, and its `client_secret` (256 random
//! bits, base64url, shown once) is kept as a SHA-256 digest and checked in constant time
//! (`client_secret_basic`, RFC 6749 §2.3.1). Asking again rotates the secret.
//!
//! POST /v1/admin/relying-parties/{id}/oidc `{"redirect_uris": [...]}` (admin token) →
//! `{"client_id", "client_secret", "redirect_uris"}`.

use crate::error::{ApiFailure, Error, OAuthFailure};
use crate::http::{Answer, parse};
use crate::presentation::require_admin;
use crate::relying_parties::{ACTIVE, uri};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use eid_core::api::{ErrorCode, OidcClient, OidcClientRequest};
use sha2::Digest;
use sqlx::Row;
use std::sync::Arc;

const MAX_REDIRECT_URIS: usize = 8;

/// A client of a login: its relying party's id, DNS name (the pairwise sector), purposes and
/// redirect URIs.
#[derive(Debug, Clone)]
pub struct Client {
    pub rp_id: String,
    pub dns_name: String,
    pub purposes: Vec<String>,
    pub redirect_uris: Vec<String>,
    /// Its relying party is active (not suspended by the admin).
    pub active: bool,
    secret_hash: Vec<u8>,
}

fn digest(secret: &str) -> Vec<u8> {
    sha2::Sha256::digest(secret.as_bytes()).to_vec()
}

/// POST /v1/admin/relying-parties/{id}/oidc
pub async fn register(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let run = async {
        require_admin(&state, &headers)?;
        let req: OidcClientRequest = parse(&body)?;
        if req.redirect_uris.is_empty() || req.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(ApiFailure::invalid("redirect_uris: 1 to 8"));
        }
        let mut redirect_uris = Vec::new();
        for u in &req.redirect_uris {
            let u = uri(u, state.config.dev_mode)?;
            if !redirect_uris.contains(&u) {
                redirect_uris.push(u);
            }
        }
        let secret =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::http::random_bytes(32)?);
        let mut w = state.store.write().await?;
        let status: Option<String> =
            sqlx::query("SELECT status FROM relying_parties WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut *w.tx)
                .await
                .map_err(Error::from)?
                .map(|r| r.try_get(0))
                .transpose()
                .map_err(Error::from)?;
        if status.as_deref() != Some(ACTIVE) || id == super::hub::HUB_ID {
            return Err(ApiFailure::new(
                ErrorCode::NotFound,
                "no such active relying party",
            ));
        }
        sqlx::query(
            "INSERT INTO oidc_clients (rp_id, redirect_uris, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (rp_id) DO UPDATE SET \
             redirect_uris = excluded.redirect_uris, secret_hash = excluded.secret_hash",
        )
        .bind(&id)
        .bind(serde_json::to_string(&redirect_uris).unwrap_or_default())
        .bind(digest(&secret))
        .bind(state.now_i64())
        .execute(&mut *w.tx)
        .await
        .map_err(Error::from)?;
        w.commit().await?;
        tracing::info!(rp = %id, "OIDC client secret issued");
        Answer::ok(&OidcClient {
            client_id: id.clone(),
            client_secret: secret,
            redirect_uris,
        })
    };
    run.await.into_response()
}

/// The client `client_id`, active or suspended, if any.
pub async fn find(state: &AppState, client_id: &str) -> Result<Option<Client>, Error> {
    let row = sqlx::query(
        "SELECT c.rp_id, r.dns_name, r.purposes, c.redirect_uris, c.secret_hash, r.status \
         FROM oidc_clients c JOIN relying_parties r ON r.id = c.rp_id WHERE c.rp_id = $1",
    )
    .bind(client_id)
    .fetch_optional(state.store.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let corrupt = || Error::Registry("stored OIDC client".into());
    let purposes: Vec<eid_core::api::RpPurpose> =
        serde_json::from_str(&row.try_get::<String, _>(2)?).map_err(|_| corrupt())?;
    Ok(Some(Client {
        rp_id: row.try_get(0)?,
        dns_name: row.try_get(1)?,
        purposes: purposes.into_iter().map(|p| p.name).collect(),
        redirect_uris: serde_json::from_str(&row.try_get::<String, _>(3)?)
            .map_err(|_| corrupt())?,
        secret_hash: row.try_get(4)?,
        active: row.try_get::<String, _>(5)? == ACTIVE,
    }))
}

/// `client_secret_basic`: the active client named and proven by the `Authorization: Basic`
/// header (id and secret form-urlencoded, RFC 6749 §2.3.1), or `invalid_client`; a client
/// whose relying party is suspended, once proven, is told so (`unauthorized_client`).
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Client, OAuthFailure> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(OAuthFailure::invalid_client())?;
    let (id, secret) = basic
        .split_once(':')
        .ok_or(OAuthFailure::invalid_client())?;
    let decoded = eid_core::oid4vp::form_decode(&format!("i={id}&s={secret}"))
        .map_err(|_| OAuthFailure::invalid_client())?;
    let (Some(id), Some(secret)) = (decoded.get("i"), decoded.get("s")) else {
        return Err(OAuthFailure::invalid_client());
    };
    let client = find(state, id)
        .await?
        .ok_or(OAuthFailure::invalid_client())?;
    if !eid_crypto::ct_eq(&digest(secret), &client.secret_hash) {
        return Err(OAuthFailure::invalid_client());
    }
    if !client.active {
        return Err(OAuthFailure::suspended());
    }
    Ok(client)
}
