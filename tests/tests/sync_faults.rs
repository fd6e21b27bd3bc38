//! Sync through a faulty network: a proxy in front of the backend answers 500, stalls past the
//! client's timeout, or cuts the response body in half; and the backend stops. Each time the
//! wallet keeps its data and reports the error, and the next sync completes with nothing lost or
//! duplicated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // test helpers outside #[test] fns

mod common;

use common::{Backend, activate, backends};
use eid_core::client::{BackendClient, ClientError, RetryPolicy};
use eid_core::runtime::{block_on, runtime};
use eid_core::wallet::WalletError;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens::citizens;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PASS: u8 = 0;
const ERROR_500: u8 = 1;
const STALL: u8 = 2;
const CUT_BODY: u8 = 3;

/// Reads one HTTP/1.1 request (headers and a Content-Length body).
async fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf);
        }
    }
}

/// One request per connection, forwarded with `Connection: close` so the answer ends at EOF.
async fn forward(request: &[u8], upstream: &str) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).await.ok()?;
    let line_end = request.windows(2).position(|w| w == b"\r\n")?;
    let mut rewritten = request[..line_end + 2].to_vec();
    rewritten.extend_from_slice(b"connection: close\r\n");
    rewritten.extend_from_slice(&request[line_end + 2..]);
    up.write_all(&rewritten).await.ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).await.ok()?;
    Some(answer)
}

/// The proxy: returns its URL; `mode` picks the fault for every request.
fn proxy(upstream: String, mode: Arc<AtomicU8>) -> String {
    let listener = block_on(TcpListener::bind("127.0.0.1:0")).unwrap().unwrap();
    let addr = listener.local_addr().unwrap();
    runtime().unwrap().spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            let (upstream, mode) = (upstream.clone(), mode.clone());
            tokio::spawn(async move {
                let Some(request) = read_request(&mut client).await else { return };
                match mode.load(Ordering::SeqCst) {
                    ERROR_500 => {
                        let body = br#"{"error":{"code":"internal","message":"injected fault","request_id":"proxy"}}"#;
                        let head = format!("HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                        let _ = client.write_all(head.as_bytes()).await;
                        let _ = client.write_all(body).await;
                    }
                    STALL => tokio::time::sleep(Duration::from_secs(5)).await,
                    CUT_BODY => {
                        if let Some(answer) = forward(&request, &upstream).await {
                            let body_start = answer.windows(4).position(|w| w == b"\r\n\r\n").map_or(0, |p| p + 4);
                            let cut = body_start + (answer.len() - body_start) / 2;
                            let _ = client.write_all(&answer[..cut]).await;
                        }
                    }
                    _ => {
                        if let Some(answer) = forward(&request, &upstream).await {
                            let _ = client.write_all(&answer).await;
                        }
                    }
                }
                let _ = client.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

fn fast_client(url: &str) -> BackendClient {
    let policy = RetryPolicy {
        attempts: 2,
        first_backoff: Duration::from_millis(20),
        timeout: Duration::from_millis(800),
    };
    BackendClient::new(url, policy).unwrap()
}

#[test]
fn faults_during_sync_lose_and_duplicate_nothing() {
    for (db, server) in backends() {
        eprintln!("faults_during_sync_lose_and_duplicate_nothing on {db}");
        faults_during_sync_lose_and_duplicate_nothing_on(server);
    }
}

fn faults_during_sync_lose_and_duplicate_nothing_on(server: Backend) {
    let c = citizens().remove(6);
    let dir = tempfile::tempdir().unwrap();
    let w = common::wallet(dir.path());
    activate(&w, &common::client(&server.url), &c, Faults::default()).unwrap();
    let after_activation = w.documents().unwrap();
    assert_eq!(after_activation.len(), 1, "the account credential");

    let mode = Arc::new(AtomicU8::new(PASS));
    let upstream = server.url.trim_start_matches("http://").to_owned();
    let via_proxy = fast_client(&proxy(upstream, mode.clone()));

    for (fault, name) in [
        (ERROR_500, "500"),
        (STALL, "timeout"),
        (CUT_BODY, "cut body"),
    ] {
        mode.store(fault, Ordering::SeqCst);
        let err = block_on(w.sync(&via_proxy, None, Some(&common::pass())))
            .unwrap()
            .unwrap_err();
        match (fault, &err) {
            (ERROR_500, WalletError::Backend(ClientError::Api { status: 500, .. })) => {}
            (STALL, WalletError::Backend(ClientError::Network(_))) => {}
            (CUT_BODY, WalletError::Backend(ClientError::Network(_) | ClientError::Decode(_))) => {}
            _ => panic!("{name}: unexpected {err:?}"),
        }
        assert_eq!(
            w.documents().unwrap(),
            after_activation,
            "{name}: the wallet keeps what it had"
        );
        assert!(
            w.sync_state().unwrap().last_error.is_some(),
            "{name}: the error is reported"
        );
    }

    mode.store(PASS, Ordering::SeqCst);
    let report = block_on(w.sync(&via_proxy, None, Some(&common::pass())))
        .unwrap()
        .unwrap();
    assert!(report.updated >= 4, "{report:?}");
    let synced = w.documents().unwrap();
    let mut ids: Vec<_> = synced.iter().map(|d| d.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), synced.len(), "no duplicates");
    assert!(w.sync_state().unwrap().last_error.is_none());

    // The backend stops: the wallet still shows everything, and syncs again once it is back.
    let url = server.url.clone();
    drop(server);
    std::thread::sleep(Duration::from_millis(200));
    let err = block_on(w.sync(&fast_client(&url), None, Some(&common::pass())))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, WalletError::Backend(ClientError::Network(_))),
        "{err:?}"
    );
    assert_eq!(w.documents().unwrap(), synced);
}
