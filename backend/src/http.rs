//! Cross-cutting HTTP: request ids and request logging, every error as an `ErrorBody`, request
//! bodies within size and time limits, JSON bodies, idempotent POSTs.

use crate::error::{ApiFailure, REQUEST_ID, code_of_status, failure_with_status, json_response};
use crate::input::is_client_request_id as is_plain_id;
use crate::limits::Limits;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use eid_core::api::headers;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// Random bytes as lower-case hex (ids, nonces).
pub fn random_hex(n: usize) -> Result<String, crate::error::Error> {
    Ok(hex::encode(random_bytes(n)?))
}

pub fn random_bytes(n: usize) -> Result<Vec<u8>, crate::error::Error> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|_| crate::error::Error::Random)?;
    Ok(b)
}

/// Gives every request an id (the client's `x-request-id` when plain, else a new one), puts it
/// on the response, runs the request in a `request` span holding the id (so every line logged
/// while it runs carries it), logs method, route, status and latency, and counts it for
/// `/metrics`. The route template is logged, never the query string or an unmatched path, so no
/// personal data reaches the log.
pub async fn request_context(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let id = req
        .headers()
        .get(headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| is_sane_request_id(s))
        .map(str::to_owned)
        .or_else(|| random_hex(8).ok())
        .unwrap_or_else(|| "-".to_owned());
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let route_text = route.as_deref().unwrap_or("<unmatched>");
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();
    let mut resp = REQUEST_ID
        .scope(
            id.clone(),
            async { as_error_body(next.run(req).await) }.instrument(span.clone()),
        )
        .await;
    let elapsed = started.elapsed();
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(headers::REQUEST_ID, v);
    }
    state.metrics.request(
        method.as_str(),
        route.as_deref(),
        resp.status(),
        elapsed.as_secs_f64(),
    );
    span.in_scope(|| {
        tracing::info!(
            request_id = %id,
            method = %method,
            route = %route_text,
            status = resp.status().as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        )
    });
    resp
}

/// An incoming request id the backend takes over: what a client request id may be (1–64
/// letters, digits, `-`, `_`), not only digits and with no run of 9 or more digits, so an ID
/// number (12 digits, 9 for the old CMND) or a phone sent in a request id never reaches the
/// log (a new id is made instead).
fn is_sane_request_id(s: &str) -> bool {
    let longest_digit_run = s
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    is_plain_id(s) && !s.bytes().all(|b| b.is_ascii_digit()) && longest_digit_run < 9
}

/// Every error in the API's shape: an error answer that is not JSON (axum's own refusals, such
/// as 405 for a wrong method) gets an `ErrorBody` for its status; the status and other headers
/// (`Allow`, `Retry-After`) stay.
fn as_error_body(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (code, message) = code_of_status(status);
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(ApiFailure::new(code, message).body()))
}

/// Reads the whole request body before the handler runs, at most `max_body_bytes` (else 413)
/// within `body_read_timeout` of the head (else 408), so a slow or endless upload holds nothing
/// past those limits. A citizen's submission with its attachments may reach
/// `eid_core::api::MAX_SUBMISSION_BODY` (docs/adr/0057).
pub async fn read_body(limits: Limits, req: Request, next: Next) -> Response {
    let too_large = || failure_with_status(StatusCode::PAYLOAD_TOO_LARGE);
    let (parts, body) = req.into_parts();
    let mut limits = limits;
    if parts.method == axum::http::Method::POST
        && parts.uri.path() == eid_core::api::paths::SUBMISSIONS
    {
        limits.max_body_bytes = limits
            .max_body_bytes
            .max(eid_core::api::MAX_SUBMISSION_BODY);
    }
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return too_large();
    }
    let read = Limited::new(body, limits.max_body_bytes).collect();
    let bytes = match tokio::time::timeout(limits.body_read_timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Ok(Err(_)) => return ApiFailure::invalid("the body could not be read").into_response(),
        Err(_) => return failure_with_status(StatusCode::REQUEST_TIMEOUT),
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Unknown routes answer in the API's error shape.
pub async fn not_found() -> Response {
    ApiFailure::new(eid_core::api::ErrorCode::NotFound, "no such endpoint").into_response()
}

/// Parses a JSON body; a body that does not fit the contract is `invalid_request`.
/// The strong ETag of a public document: the first 16 bytes of its SHA-256, quoted.
pub fn etag_of(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", hex::encode(&Sha256::digest(body)[..16]))
}

/// A public, cacheable JSON document: see [`cacheable`].
pub fn cacheable_json(
    headers: &axum::http::HeaderMap,
    body: Vec<u8>,
    etag: &str,
    max_age: u64,
) -> Response {
    cacheable(headers, "application/json", body.into(), etag, max_age)
}

/// A public, cacheable document: 304 (no body) when `If-None-Match` names `etag`, else 200
/// with `body` as `content_type`; `Cache-Control: public, max-age` and the ETag either way.
pub fn cacheable(
    headers: &axum::http::HeaderMap,
    content_type: &'static str,
    body: axum::body::Bytes,
    etag: &str,
    max_age: u64,
) -> Response {
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            body,
        )
            .into_response()
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiFailure> {
    serde_json::from_slice(body).map_err(|_| ApiFailure::invalid("the body does not parse"))
}

/// An encoded answer: status and JSON bytes.
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok<T: serde::Serialize>(value: &T) -> Result<Answer, ApiFailure> {
        let body = serde_json::to_vec(value)
            .map_err(|_| ApiFailure::new(eid_core::api::ErrorCode::Internal, "encoding"))?;
        Ok(Answer {
            status: StatusCode::OK,
            body,
        })
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        json_response(self.status, self.body, None)
    }
}

/// A POST body that carries the client's `client_request_id` (idempotent retries).
pub trait ClientRequest {
    fn client_request_id(&self) -> &str;
}

macro_rules! client_requests {
    ($($t:ty),*) => {$(
        impl ClientRequest for $t {
            fn client_request_id(&self) -> &str {
                &self.client_request_id
            }
        }
    )*};
}

client_requests!(
    eid_core::api::ActivationStart,
    eid_core::api::ActivationComplete,
    eid_core::api::AccountLockRequest,
    eid_core::api::PresentationCredentialsRequest,
    eid_core::api::CredentialBatchRequest,
    eid_core::api::TokenRegistration,
    eid_core::api::ConsentRegister,
    eid_core::api::ConsentStart,
    eid_core::api::CheckInRequest,
    eid_core::api::SubmissionRequest
);

/// Every idempotent POST: the parsed body (else 400), then `run` over it at most once per
/// `(endpoint, scope, client_request_id)` (see `idempotency`): a repeated id gets the stored
/// first answer; the same id with another body is refused. Answers that a retry could change
/// (5xx, 429) are not stored.
pub async fn idempotent_post<T: DeserializeOwned + ClientRequest>(
    state: &AppState,
    endpoint: &'static str,
    scope: &str,
    body: &[u8],
    run: impl AsyncFnOnce(&AppState, &T) -> Result<Answer, ApiFailure>,
) -> Response {
    let req: T = match parse(body) {
        Ok(r) => r,
        Err(f) => return f.into_response(),
    };
    let id = req.client_request_id();
    crate::idempotency::once(state, endpoint, scope, id, body, run(state, &req))
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_that_could_be_personal_data_are_not_taken_over() {
        assert!(is_sane_request_id("a1b2-c3_d4"));
        assert!(is_sane_request_id("req-7"));
        // An ID number or a phone, a path, too long.
        assert!(!is_sane_request_id("001099012345"));
        assert!(!is_sane_request_id("0912345678"));
        assert!(!is_sane_request_id("+84912345678"));
        // ... also inside a longer id.
        assert!(!is_sane_request_id("req-001099012345"));
        assert!(!is_sane_request_id("a0912345678"));
        assert!(is_sane_request_id("req-12345678-b"));
        assert!(!is_sane_request_id("a/b"));
        assert!(!is_sane_request_id(&"a".repeat(65)));
        assert!(!is_sane_request_id(""));
    }
}
