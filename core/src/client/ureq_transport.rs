//! [`HttpTransport`] over ureq (HTTP/1.1) and rustls on ring, certificates checked by the
//! platform verifier: the CLI, the tests and desktop builds (`http-ureq` feature). The mobile
//! library leaves it out and uses the app's network stack (docs/adr/0015, 0016).

use crate::platform::http::{HttpRequest, HttpResponse, HttpTransport, Method, TransportFailure};
use std::sync::Arc;

/// The largest answer read (a page of documents with photos is well below it).
const MAX_ANSWER: u64 = 64 * 1024 * 1024;

/// A ureq agent: connections are pooled (keep-alive) across exchanges.
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl UreqTransport {
    pub fn new() -> Self {
        // TLS: rustls on ring (the crypto the core already uses), the platform's verifier.
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            // Error statuses are answers: the body says why (ErrorBody).
            .http_status_as_error(false)
            // Redirects are answers too: the backend API has none, and a wallet must not follow
            // one from a relying party's request_uri (OpenID4VP 1.0 §13.8).
            .max_redirects(0)
            .user_agent(concat!("eid-wallet-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        UreqTransport { agent }
    }
}

fn failure(e: &ureq::Error) -> TransportFailure {
    use std::io::ErrorKind as K;
    use ureq::Timeout as T;
    let not_sent = |why: &str| TransportFailure::NotSent(why.into());
    match e {
        ureq::Error::Timeout(T::Resolve | T::Connect) => not_sent("timed out"),
        ureq::Error::Timeout(_) => TransportFailure::MaybeSent("timed out".into()),
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Tls(_)
        | ureq::Error::Rustls(_) => not_sent("connection failed"),
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::AddrNotAvailable
                    | K::NetworkUnreachable
                    | K::HostUnreachable
            ) =>
        {
            not_sent("connection failed")
        }
        _ => TransportFailure::MaybeSent("connection failed".into()),
    }
}

impl HttpTransport for UreqTransport {
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let mut req = ureq::http::Request::builder()
            .method(match request.method {
                Method::Get => ureq::http::Method::GET,
                Method::Post => ureq::http::Method::POST,
            })
            .uri(request.url);
        for (name, value) in &request.headers {
            req = req.header(name, value);
        }
        let timeout = request.timeout;
        let sent = match request.body {
            Some(b) => req.body(b).map(|r| run(&self.agent, r, timeout)),
            None => req.body(()).map(|r| run(&self.agent, r, timeout)),
        };
        // Not a valid HTTP request (a URL that does not parse): it never left.
        let sent = sent.map_err(|_| TransportFailure::NotSent("invalid request".into()))?;
        let mut resp = sent.map_err(|e| failure(&e))?;
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(|_| TransportFailure::MaybeSent("answer cut off".into()))?;
        Ok(HttpResponse {
            status: resp.status().as_u16(),
            headers,
            body,
        })
    }
}

/// One exchange with the request's own timeout for the whole of it, answer included.
fn run<S: ureq::AsSendBody>(
    agent: &ureq::Agent,
    request: ureq::http::Request<S>,
    timeout: std::time::Duration,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let request = agent
        .configure_request(request)
        .timeout_global(Some(timeout))
        .build();
    agent.run(request)
}
