//! GET /v1/relying-parties (docs/adr/0036): the registry of active relying parties wallets
//! sync, a COSE_Sign1 by the current identity (police) issuer key, like the status list, over
//! the JSON of `eid_core::api::RpRegistryDocument`. Public and cacheable (ETag); signed once
//! per change (a registration or suspension on any instance drops it,
//! `coherence::Change::RelyingParties`) and again when [`RESIGN_AFTER`] old, so what a wallet
//! holds stays usable for most of [`REGISTRY_LIFETIME`].

use crate::cache::Cache;
use crate::error::{ApiFailure, Error};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use eid_core::api::{B64, RpPublic, RpRegistryDocument, RpRegistryResponse};
use eid_core::credential::IssuerKey;
use eid_core::verify::rp_registry::{RP_REGISTRY_CONTENT_TYPE, RP_REGISTRY_URI};
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
    let issued_at = state.now();
    let mut conn = state.store.pool().acquire().await?;
    let relying_parties = crate::relying_parties::all(&mut conn, true)
        .await?
        .into_iter()
        .map(|r| RpPublic {
            client_id: r.client_id,
            name: r.legal_name,
            registration_number: r.registration_number,
            logo_url: r.logo_url,
            response_uris: r.response_uris,
            purposes: r.purposes,
        })
        .collect();
    let doc = RpRegistryDocument {
        registry: RP_REGISTRY_URI.into(),
        issued_at,
        expires_at: issued_at + REGISTRY_LIFETIME,
        relying_parties,
    };
    let signed = sign_registry(state.keys.status_signer(issued_at)?, &doc)?;
    let body = serde_json::to_vec(&RpRegistryResponse {
        signed: B64(signed),
    })
    .map_err(|_| Error::Registry("registry encoding".into()))?;
    let etag = crate::http::etag_of(&body);
    Ok(SignedRegistry {
        body,
        etag,
        issued_at,
    })
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
