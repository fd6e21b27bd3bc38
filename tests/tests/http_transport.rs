//! `BackendClient` over a transport that is not ureq's own (as the mobile apps give theirs):
//! failures it reports drive the retry policy exactly as ureq's did. Requests that never left
//! are sent again even when not replay-safe; a request that may have reached the backend is sent
//! again only when that is harmless.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use eid_core::api::{B64, VerifierRegistered, VerifierRegistration};
use eid_core::client::VerifierKey;
use eid_core::client::{BackendClient, ClientError, RetryPolicy, UreqTransport};
use eid_core::platform::{HttpRequest, HttpResponse, HttpTransport, TransportFailure};
use eid_core::runtime::block_on;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the scripted transport does with one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Fails before sending: the backend sees nothing.
    NotSent,
    /// Sends the request, then reports the answer lost: the backend did the work.
    LoseAnswer,
}

/// Forwards to ureq, following a script of failures, and records what it was asked.
#[derive(Debug, Default)]
struct Scripted {
    inner: UreqTransport,
    script: Mutex<VecDeque<Step>>,
    /// (method, path) of every exchange, and whether it reached the backend.
    seen: Mutex<Vec<(String, bool)>>,
}

impl Scripted {
    fn with(script: &[Step]) -> Arc<Scripted> {
        let t = Scripted::default();
        t.script.lock().unwrap().extend(script);
        Arc::new(t)
    }

    fn seen(&self) -> Vec<(String, bool)> {
        self.seen.lock().unwrap().clone()
    }
}

impl HttpTransport for Scripted {
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let what = format!(
            "{} {}",
            request.method.as_str(),
            request.url.rsplit_once("/v1/").map_or("", |(_, p)| p)
        );
        let step = self.script.lock().unwrap().pop_front();
        self.seen
            .lock()
            .unwrap()
            .push((what, step != Some(Step::NotSent)));
        match step {
            Some(Step::NotSent) => Err(TransportFailure::NotSent("connection refused".into())),
            Some(Step::LoseAnswer) => {
                let answer = self.inner.exchange(request)?;
                assert!(
                    answer.status < 300,
                    "the backend answered {}",
                    answer.status
                );
                Err(TransportFailure::MaybeSent("timed out".into()))
            }
            None => self.inner.exchange(request),
        }
    }
}

fn client(url: &str, transport: Arc<Scripted>) -> BackendClient {
    let policy = RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(10),
    };
    BackendClient::with_transport(url, policy, transport)
}

/// Registers a new desk through a transport following `script`: the outcome, and the exchanges.
fn register(
    url: &str,
    token: &str,
    script: &[Step],
) -> (Result<VerifierRegistered, ClientError>, Vec<(String, bool)>) {
    let t = Scripted::with(script);
    let registration = VerifierRegistration {
        name: "desk".into(),
        public_key: B64(VerifierKey::generate().public_key()),
        profiles: vec!["airport".into()],
    };
    let api = client(url, t.clone());
    let outcome = block_on(api.register_verifier(token, &registration)).unwrap();
    (outcome, t.seen())
}

#[test]
fn not_sent_is_retried_even_for_a_call_that_is_not_replay_safe() {
    let server = common::backend();
    let (registered, seen) = register(
        &server.url,
        common::ADMIN_TOKEN,
        &[Step::NotSent, Step::NotSent],
    );
    assert!(!registered.unwrap().verifier_id.is_empty());
    let post = "POST admin/verifiers".to_owned();
    assert_eq!(
        seen,
        [(post.clone(), false), (post.clone(), false), (post, true)],
        "two refused connections, then the one that reached the backend"
    );
}

#[test]
fn maybe_sent_is_not_retried_for_a_call_that_is_not_replay_safe() {
    let server = common::backend();
    let (lost, seen) = register(&server.url, common::ADMIN_TOKEN, &[Step::LoseAnswer]);
    assert_eq!(lost.unwrap_err(), ClientError::Network("timed out".into()));
    assert_eq!(
        seen,
        [("POST admin/verifiers".to_owned(), true)],
        "sent once: a second registration could register the desk twice"
    );
}

#[test]
fn maybe_sent_is_retried_for_a_replay_safe_call_and_answers_flow_through() {
    let server = common::backend();
    let t = Scripted::with(&[Step::LoseAnswer]);
    let api = client(&server.url, t.clone());
    let trust = block_on(api.trust_list()).unwrap().unwrap();
    assert!(!trust.issuers.0.is_empty());
    let get = "GET trust-list".to_owned();
    assert_eq!(t.seen(), [(get.clone(), true), (get, true)]);

    // An error status is an answer, not a failure: no retry, the backend's error decoded.
    let (refused, seen) = register(&server.url, "not-the-token", &[]);
    let refused = refused.unwrap_err();
    assert!(
        matches!(refused, ClientError::Api { status: 401, .. }),
        "{refused:?}"
    );
    assert_eq!(seen.len(), 1);
}
