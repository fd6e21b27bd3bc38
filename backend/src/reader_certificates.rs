//! POST /v1/admin/reader-certificates (docs/adr/0040): a verifier desk or reader app sends its
//! P-256 public key and the name citizens should see; the reader CA certifies it for ISO/IEC
//! 18013-5 reader authentication. Admin only (the admin token, like the relying parties'
//! registration); the private key never leaves the desk.

use crate::error::ApiFailure;
use crate::http::{Answer, parse};
use crate::presentation::require_admin;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use eid_core::api::{B64, ReaderCertificateIssued, ReaderCertificateRequest};
use p256::ecdsa::VerifyingKey;
use std::sync::Arc;

/// The longest reader name (characters): what a phone shows on one line or two.
const MAX_NAME: usize = 64;

/// POST /v1/admin/reader-certificates
pub async fn issue(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    issue_inner(&state, &headers, &body).await.into_response()
}

async fn issue_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer, ApiFailure> {
    require_admin(state, headers)?;
    let req: ReaderCertificateRequest = parse(body)?;
    let name = eid_icao::text::display_text(&req.name, MAX_NAME).map_err(|_| {
        ApiFailure::invalid(
            "name must be 1 to 64 printable characters, without bidirectional or zero-width ones",
        )
    })?;
    let key = VerifyingKey::from_sec1_bytes(&req.public_key.0)
        .map_err(|_| ApiFailure::invalid("public_key is not a P-256 point (SEC1)"))?;
    let point = key.to_sec1_point(false).as_bytes().to_vec();
    let issued = state.reader_ca.issue(&name, &point, state.now())?;
    crate::reader_crl::record_issued(state, &issued.serial, issued.not_after).await?;
    tracing::info!("reader certificate issued");
    Answer::ok(&ReaderCertificateIssued {
        certificate: B64(issued.certificate),
        reader_ca: B64(state.reader_ca.certificate.clone()),
    })
}
