//! The HTTP exchange under the backend client (`crate::client::BackendClient`): one blocking
//! request/answer, implemented by ureq for the CLI, tests and desktop (`http-ureq` feature,
//! `crate::client::UreqTransport`) and by the app's own network stack on mobile
//! (OkHttp/HttpURLConnection, URLSession; docs/adr/0016). The client signs requests, retries and
//! decodes; a transport only carries bytes.

use std::time::Duration;

/// The two methods the backend API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One request. Header names are lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    /// Absolute `http(s)://` URL.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// For the whole exchange, answer included.
    pub timeout: Duration,
}

/// An answer, whatever its status: error statuses are answers too (the body says why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why an exchange brought no answer. The reason names the kind of failure only (no URL, no
/// header, no body: requests carry personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportFailure {
    /// The request cannot have reached the backend: name not resolved, connection refused or
    /// unreachable, connect timeout, TLS handshake. Always retried.
    #[error("{0}")]
    NotSent(String),
    /// It may have: a timeout or a connection cut after sending, an answer cut off. Retried only
    /// for replay-safe calls.
    #[error("{0}")]
    MaybeSent(String),
}

/// Carries one exchange, blocking; the client calls it on the core runtime's blocking pool.
pub trait HttpTransport: Send + Sync + std::fmt::Debug {
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure>;
}
