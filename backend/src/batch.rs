//! POST /v1/credential-batches (device-signed; docs/adr/0031): single-use credentials of one
//! type in one standard format, one per fresh device key, each with its own validity, random
//! salts and status list entry, like the QR presentation batches (`presentation`). The batch
//! machinery (consent, keys, status entries, the record of what was issued) is the format's
//! neighbour: `mso_mdoc` (`mdoc_issue`) and `dc+sd-jwt` (`sdjwt_issue`, docs/adr/0035).
//!
//! What was issued is recorded in `presentation_credentials` with the profile
//! `<format>:<type>`, so the status lists revoke it with the device binding and suspend it with
//! the account, exactly as the presentation credentials.

use crate::auth::{Device, Scope, device_post};
use crate::error::ApiFailure;
use crate::http::{Answer, random_bytes};
use crate::presentation::{VALIDITY_GRANULARITY, fresh_device_keys};
use crate::state::AppState;
use crate::{mdoc_issue, sdjwt_issue, status_index};
use axum::extract::State;
use axum::response::Response;
use eid_core::api::{
    B64, CredentialBatchIssued, CredentialBatchRequest, MAX_PRESENTATION_BATCH, consent_action,
    credential_batch_digest, credential_format,
};
use std::sync::Arc;

/// Batch credentials are valid 30 days from the start of their UTC day, like presentation
/// credentials: every credential issued that day carries the same times (docs/adr/0020).
pub const BATCH_CREDENTIAL_LIFETIME: u64 = 30 * 86_400;

pub async fn issue(State(state): State<Arc<AppState>>, call: crate::auth::SignedCall) -> Response {
    let post = (Scope::Device, false);
    device_post(&state, &call, "credential_batch", post, issue_inner).await
}

async fn issue_inner(
    state: &AppState,
    device: &Device,
    req: &CredentialBatchRequest,
) -> Result<Answer, ApiFailure> {
    // Credentials for keys the citizen agreed to (docs/adr/0017), checked first.
    crate::consent::check(
        state,
        device,
        req.consent.as_ref(),
        consent_action::CREDENTIAL_BATCH,
        &credential_batch_digest(&req.format, &req.credential_type, &req.device_keys),
    )
    .await?;
    let credential_type = match req.format.as_str() {
        credential_format::MSO_MDOC => mdoc_issue::doc_type(&req.credential_type),
        credential_format::SD_JWT_VC => sdjwt_issue::vct(&req.credential_type),
        _ => return Err(ApiFailure::invalid("unknown credential format")),
    }
    .ok_or(ApiFailure::invalid("unknown credential type"))?;
    if req.device_keys.is_empty() || req.device_keys.len() > MAX_PRESENTATION_BATCH {
        return Err(ApiFailure::invalid("device_keys must hold 1 to 16 keys"));
    }
    let keys = fresh_device_keys(&req.device_keys)?;
    let now = state.now();
    // The records are read in the write transaction: a registry change is then either seen or
    // supersedes this batch (docs/adr/0062).
    let mut w = state.store.write().await?;
    let source = if req.format == credential_format::SD_JWT_VC {
        Source::SdJwt(sdjwt_issue::pid(state, &mut w.tx, &device.account_id, now).await?)
    } else {
        Source::Mdoc(
            mdoc_issue::elements(state, &mut w.tx, &device.account_id, credential_type, now)
                .await?,
        )
    };
    let issued_at = now - now % VALIDITY_GRANULARITY;
    // Never past the document's own validity: a credential of an expiring card ends with the
    // card.
    let valid_until = source
        .document_end()
        .map_or(issued_at + BATCH_CREDENTIAL_LIFETIME, |end| {
            end.min(issued_at + BATCH_CREDENTIAL_LIFETIME)
        });
    if valid_until <= now {
        return Err(ApiFailure::new(
            eid_core::api::ErrorCode::NotFound,
            "the citizen's document has expired",
        ));
    }
    let profile = format!("{}:{credential_type}", req.format);
    let mut credentials = Vec::with_capacity(keys.len());
    for key in &keys {
        let status_index = status_index::allocate(&mut w.tx).await?;
        let serial = hex::encode(random_bytes(8)?);
        let validity = (issued_at, valid_until);
        let bytes = match &source {
            Source::Mdoc(m) => mdoc_issue::sign(
                state,
                credential_type,
                &m.elements,
                key,
                validity,
                status_index,
            )?,
            Source::SdJwt(pid) => sdjwt_issue::sign(state, pid, key, validity, status_index)?,
        };
        sqlx::query(
            "INSERT INTO presentation_credentials \
             (serial, device_id, profile, status_index, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&serial)
        .bind(&device.id)
        .bind(&profile)
        .bind(i64::from(status_index))
        .bind(state.now_i64())
        .execute(&mut *w.tx)
        .await?;
        credentials.push(B64(bytes));
    }
    w.commit().await?;
    tracing::info!(format = %req.format, credential_type, count = credentials.len(), "credential batch issued");
    Answer::ok(&CredentialBatchIssued {
        format: req.format.clone(),
        credential_type: credential_type.to_owned(),
        credentials,
    })
}

/// What one batch's credentials are made of, per format.
enum Source {
    Mdoc(mdoc_issue::Source),
    SdJwt(sdjwt_issue::Pid),
}

impl Source {
    fn document_end(&self) -> Option<u64> {
        match self {
            Source::Mdoc(m) => m.document_end,
            Source::SdJwt(p) => p.document_end,
        }
    }
}
