//! GET /v1/relying-parties (docs/adr/0036): the registry of active relying parties wallets
//! sync, a COSE_Sign1 by the current identity (police) issuer key, like the status list, over
//! the JSON of `eid_core::api::RpRegistryDocument`. Public and cacheable (ETag); signed once
//! per change (a registration or suspension on any instance drops it,
//! `coherence::Change::RelyingParties`) and again when [`RESIGN_AFTER`] old, so what a wallet
//! holds stays usable for most of [`REGISTRY_LIFETIME`]. The signed bytes are kept in the
//! database (`rp_registry_signed`) with a hash of what they were signed over: every instance and
//! every start serves the same bytes (one ETag) until the content changes (docs/adr/0050).

use crate::cache::Cache;
use crate::error::{ApiFailure, Error};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use eid_core::api::{B64, RpPublic, RpRegistryDocument, RpRegistryResponse};
use eid_core::credential::IssuerKey;
use eid_core::verify::rp_registry::{RP_REGISTRY_CONTENT_TYPE, RP_REGISTRY_URI};
use sqlx::Row;
use std::sync::Arc;

/// A wallet uses a registry this long after it was signed; a suspension reaches every wallet
/// within it even if it never syncs.
pub const REGISTRY_LIFETIME: u64 = 7 * 86_400;
/// Re-signed on the next request once this old, even with no change.
pub const RESIGN_AFTER: u64 = 86_400;
/// The HTTP max-age of the answer.
const MAX_AGE: u64 = 300;

/// The signed registry as sent, its ETag and when it was signed.
#[derive(Debug)]
pub struct SignedRegistry {
    body: Vec<u8>,
    etag: String,
    issued_at: u64,
}

/// The last signed registry (one entry, key `()`).
pub type RegistryCache = Cache<(), SignedRegistry>;

/// Signs `doc` with `key` (COSE_Sign1, tagged, x5chain the key's certificate). Public so tests
/// can sign registries the backend would never make.
pub fn sign_registry(key: &IssuerKey, doc: &RpRegistryDocument) -> Result<Vec<u8>, Error> {
    let payload =
        serde_json::to_vec(doc).map_err(|_| Error::Registry("registry encoding".into()))?;
    crate::lists::police_signed(key, RP_REGISTRY_CONTENT_TYPE, payload, "registry")
}

async fn sign_current(state: &AppState) -> Result<SignedRegistry, Error> {
    let now = state.now();
    let mut conn = state.store.pool().acquire().await?;
    let relying_parties: Vec<RpPublic> = crate::relying_parties::all(&mut conn, true)
        .await?
        .into_iter()
        .map(|r| RpPublic {
            intermediary: r.id == crate::oidc::hub::HUB_ID,
            client_id: r.client_id,
            name: r.legal_name,
            registration_number: r.registration_number,
            logo_url: r.logo_url,
            response_uris: r.response_uris,
            purposes: r.purposes,
        })
        .collect();
    drop(conn);
    let signer = state.keys.status_signer(now)?;
    let content_hash = content_hash(&relying_parties, signer.certificate())?;
    // What another instance (or an earlier start) signed over the same content: served as is.
    let stored =
        sqlx::query("SELECT content_hash, body, issued_at FROM rp_registry_signed WHERE id = 1")
            .fetch_optional(state.store.pool())
            .await?;
    if let Some(row) = stored {
        let (hash, body, issued_at): (Vec<u8>, Vec<u8>, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let issued_at = u64::try_from(issued_at).unwrap_or(u64::MAX);
        if hash == content_hash && issued_at <= now && now - issued_at < RESIGN_AFTER {
            let etag = crate::http::etag_of(&body);
            return Ok(SignedRegistry {
                body,
                etag,
                issued_at,
            });
        }
    }
    let doc = RpRegistryDocument {
        registry: RP_REGISTRY_URI.into(),
        issued_at: now,
        expires_at: now + REGISTRY_LIFETIME,
        relying_parties,
    };
    let signed = sign_registry(signer, &doc)?;
    let body = serde_json::to_vec(&RpRegistryResponse {
        signed: B64(signed),
    })
    .map_err(|_| Error::Registry("registry encoding".into()))?;
    // Kept for the other instances; serving it does not depend on the write.
    if let Err(e) = store(state, &content_hash, &body, now).await {
        tracing::warn!(error = %e, "the signed relying-party registry was not stored");
    }
    let etag = crate::http::etag_of(&body);
    Ok(SignedRegistry {
        body,
        etag,
        issued_at: now,
    })
}

/// What a registry is signed over, hashed: the active relying parties and the signer.
fn content_hash(relying_parties: &[RpPublic], signer: &[u8]) -> Result<Vec<u8>, Error> {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(relying_parties)
        .map_err(|_| Error::Registry("registry encoding".into()))?;
    let mut h = Sha256::new();
    h.update((json.len() as u64).to_be_bytes());
    h.update(&json);
    h.update(signer);
    Ok(h.finalize().to_vec())
}

async fn store(state: &AppState, hash: &[u8], body: &[u8], now: u64) -> Result<(), Error> {
    let mut w = state.store.write().await?;
    sqlx::query(
        "INSERT INTO rp_registry_signed (id, content_hash, body, issued_at) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET content_hash = excluded.content_hash, \
         body = excluded.body, issued_at = excluded.issued_at",
    )
    .bind(hash)
    .bind(body)
    .bind(i64::try_from(now).unwrap_or(i64::MAX))
    .execute(&mut *w.tx)
    .await?;
    w.commit().await
}

async fn current(state: &AppState) -> Result<Arc<SignedRegistry>, Error> {
    let now = state.now();
    let (cached, generation) = state.rp_registry.get(&());
    match cached.filter(|r| now.saturating_sub(r.issued_at) < RESIGN_AFTER) {
        Some(r) => Ok(r),
        None => {
            let r = Arc::new(sign_current(state).await?);
            state.rp_registry.insert((), r.clone(), generation);
            Ok(r)
        }
    }
}

/// GET /v1/relying-parties
pub async fn registry(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let signed = match current(&state).await {
        Ok(s) => s,
        Err(e) => return ApiFailure::from(e).into_response(),
    };
    crate::http::cacheable_json(&headers, signed.body.clone(), &signed.etag, MAX_AGE)
}
