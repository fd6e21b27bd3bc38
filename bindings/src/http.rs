//! The app's network stack (Android HttpURLConnection/OkHttp, iOS URLSession), written by the
//! app and adapted here to the core's `HttpTransport`: the library carries no HTTP or TLS code of
//! its own (docs/adr/0016). Requests are device-signed and answers issuer-signed in the core, so
//! the transport only carries bytes.

use crate::error::to_transport_failure;
use eid_core::client::{BackendClient, RetryPolicy};
use eid_core::platform as core;
use std::collections::HashMap;
use std::sync::Arc;

// `HttpRequest` and `HttpResponse` are mapped by hand (`ForeignHttp` below), not
// `uniffi::remote`: the core's headers are an ordered list of pairs (UniFFI has no tuples), its
// method an enum and its timeout a `Duration`, where the apps see a map, "GET"/"POST" and
// `timeout_ms`.

/// One request to the backend. Header names are lower case; `body` is JSON when present. It
/// carries signatures and personal data: never log it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    pub url: String,
    pub headers: HashMap<String, String>,
    pub body: Option<Vec<u8>>,
    /// For the whole exchange, answer included.
    pub timeout_ms: u64,
}

/// The backend's answer, whatever its status: return 4xx/5xx answers too, with their body.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// Why an exchange brought no answer. `reason` names the kind of failure only (an exception's
/// class, say): never the URL, headers or body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum HttpTransportError {
    /// The request cannot have reached the backend: name not resolved, connection refused or
    /// unreachable, connect timeout, TLS handshake (certificate refused, pin mismatch).
    #[error("not sent: {reason}")]
    NotSent { reason: String },
    /// It may have: a timeout or a cut connection after sending, an answer cut off.
    #[error("maybe sent: {reason}")]
    MaybeSent { reason: String },
}

/// Carries the wallet's HTTP exchanges, implemented by the app with the platform's network
/// stack (trust store, Network Security Config or ATS, pinning, proxies). Blocking: the library
/// calls it on a worker thread, never on the main thread. HTTP error statuses are answers, not
/// errors; throw `HttpTransportError` only when no answer came.
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, HttpTransportError>;
}

/// The app's transport as the core sees it.
struct ForeignHttp(Arc<dyn HttpTransport>);

impl std::fmt::Debug for ForeignHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignHttp")
    }
}

impl core::HttpTransport for ForeignHttp {
    fn exchange(&self, r: core::HttpRequest) -> Result<core::HttpResponse, core::TransportFailure> {
        let request = HttpRequest {
            method: r.method.as_str().to_owned(),
            url: r.url,
            headers: r.headers.into_iter().collect(),
            body: r.body,
            timeout_ms: u64::try_from(r.timeout.as_millis()).unwrap_or(u64::MAX),
        };
        let resp = self.0.exchange(request).map_err(to_transport_failure)?;
        Ok(core::HttpResponse {
            status: resp.status,
            headers: resp.headers.into_iter().collect(),
            body: resp.body,
        })
    }
}

/// The app's transport as the core's (for exchanges with relying parties).
pub(crate) fn transport(http: Arc<dyn HttpTransport>) -> Arc<dyn core::HttpTransport> {
    Arc::new(ForeignHttp(http))
}

/// A client of `backend_url` over the app's transport.
pub(crate) fn client(backend_url: &str, http: Arc<dyn HttpTransport>) -> BackendClient {
    client_over(backend_url, transport(http))
}

/// A client of `backend_url` over the app's transport already adapted (`transport`).
pub(crate) fn client_over(backend_url: &str, http: Arc<dyn core::HttpTransport>) -> BackendClient {
    BackendClient::with_transport(backend_url, RetryPolicy::default(), http)
}
