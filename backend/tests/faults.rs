//! Faults under load (issue 17, docs/adr/0034): PostgreSQL stopped and started again while two
//! instances serve.
//!
//! These tests stop and start a PostgreSQL cluster, so they run on one of their own, never the
//! shared test server: `EID_TEST_FAULT_POSTGRES_URL` (its URL) and `EID_TEST_FAULT_PG_STATE`
//! (its `PG_STATE_DIR`, for `pg_pause` / `pg_resume` of scripts/postgres-env.sh). scripts/test.sh
//! starts one and runs this file on its own, one test at a time; without them the tests are
//! skipped with a note.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // test helpers outside #[test] fns

mod common;

use axum::http::StatusCode;
use common::*;
use eid_backend::App;
use eid_core::api::{self, ActivationStart};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Longest any answer may take while the database is down (the pool's acquire timeout is 1 s;
/// the rest is room for a noisy shared machine).
const ANSWER_WITHIN: Duration = Duration::from_millis(2000);
/// A request not answered in this long hangs.
const HANG: Duration = Duration::from_secs(8);
/// How soon after PostgreSQL is back every instance answers 2xx again.
const RECOVER_WITHIN: Duration = Duration::from_secs(5);

/// The fault cluster: its URL and state directory, or `None` with a note.
fn fault_cluster() -> Option<(String, String)> {
    let url = std::env::var("EID_TEST_FAULT_POSTGRES_URL").ok();
    let state = std::env::var("EID_TEST_FAULT_PG_STATE").ok();
    match (url, state) {
        (Some(u), Some(s)) if !u.is_empty() && !s.is_empty() => Some((u, s)),
        _ => {
            eprintln!(
                "note: EID_TEST_FAULT_POSTGRES_URL / EID_TEST_FAULT_PG_STATE not set: the fault \
                 tests need a PostgreSQL cluster of their own (scripts/test.sh starts one); skipped"
            );
            None
        }
    }
}

/// Runs `pg_pause` or `pg_resume` of scripts/postgres-env.sh on the fault cluster.
fn pg(state_dir: &str, what: &str) {
    let env = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres-env.sh");
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(". '{env}' && {what}"))
        .env("PG_STATE_DIR", state_dir)
        .status()
        .unwrap();
    assert!(status.success(), "{what} failed");
}

/// A fresh database on the fault cluster.
async fn database(server: &str) -> String {
    let mut id = [0u8; 6];
    getrandom::fill(&mut id).unwrap();
    let name = format!("eid_fault_{}_{}", std::process::id(), hex::encode(id));
    eid_backend::db::create_postgres_database(server, &name)
        .await
        .unwrap()
}

/// One answer seen by the load: when it was sent (since the start), how long it took, its
/// status and whether it carried `Retry-After`.
#[derive(Debug, Clone, Copy)]
struct Seen {
    sent: Duration,
    took: Duration,
    status: Option<StatusCode>,
    retry_after: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_under_load_is_503_with_retry_after_then_recovers() {
    let Some((server, state_dir)) = fault_cluster() else {
        return;
    };
    let url = database(&server).await;
    let tune = |c: eid_backend::Config| {
        let mut c = unthrottled(c);
        c.starts_per_hour = 1_000_000;
        c
    };
    let mut instances = Vec::new();
    let mut served = Vec::new();
    for i in 0..2 {
        let app = App::open(tune(config(format!("{url}?application_name=eid_f{i}"))))
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let a = app.clone();
        served.push(tokio::spawn(async move {
            a.serve(listener, std::future::pending()).await
        }));
        instances.push(Arc::new(Harness::over_http(app, "postgres", addr)));
    }
    let device = Arc::new(instances[0].activate(&citizen(0)).await);

    // Load: activation starts (a write each) and device syncs on both instances.
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..8usize {
        let h = instances[worker % 2].clone();
        let (stop, device) = (stop.clone(), device.clone());
        load.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let sent = t0.elapsed();
                let started = Instant::now();
                let reply = if n % 2 == 0 {
                    let c = citizen(n % 5);
                    let body = ActivationStart {
                        client_request_id: request_id(),
                        id_number: c.id_number,
                        phone: c.phone,
                    };
                    tokio::time::timeout(HANG, h.post(api::paths::ACTIVATION_START, &body)).await
                } else {
                    let sync = h.signed(&device, "GET", api::paths::DOCUMENTS, Vec::new(), &[]);
                    tokio::time::timeout(HANG, sync).await
                };
                seen.push(Seen {
                    sent,
                    took: started.elapsed(),
                    status: reply.as_ref().ok().map(|r| r.status),
                    retry_after: reply
                        .as_ref()
                        .is_ok_and(|r| r.headers.contains_key(axum::http::header::RETRY_AFTER)),
                });
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            seen
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped_at = t0.elapsed();
    pg(&state_dir, "pg_pause");
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Down: both instances say they are not ready.
    for h in &instances {
        let r = tokio::time::timeout(ANSWER_WITHIN, h.get(eid_backend::READY))
            .await
            .expect("/v1/ready answers while the database is down");
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers.contains_key(axum::http::header::RETRY_AFTER));
    }
    let restarted_at = t0.elapsed();
    pg(&state_dir, "pg_resume");
    tokio::time::sleep(RECOVER_WITHIN + Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let mut seen = Vec::new();
    for l in load {
        seen.extend(l.await.unwrap());
    }

    // Never a hang, never anything but a 2xx or a 503 with Retry-After, always within the bound.
    for s in &seen {
        let status = s.status.unwrap_or_else(|| panic!("a request hung: {s:?}"));
        assert!(
            status.is_success() || (status == StatusCode::SERVICE_UNAVAILABLE && s.retry_after),
            "{s:?}"
        );
        assert!(s.took <= ANSWER_WITHIN, "{s:?}");
    }
    // The outage was seen: 503s while it was down.
    let during: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.sent > stopped_at + Duration::from_millis(500) && s.sent < restarted_at)
        .collect();
    assert!(!during.is_empty());
    assert!(
        during
            .iter()
            .all(|s| s.status == Some(StatusCode::SERVICE_UNAVAILABLE)),
        "answers while the database was down: {during:?}"
    );
    // Recovered by themselves: everything sent RECOVER_WITHIN after the restart is 2xx.
    let after: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.sent > restarted_at + RECOVER_WITHIN)
        .collect();
    assert!(after.len() >= 8, "{}", after.len());
    assert!(
        after
            .iter()
            .all(|s| s.status.is_some_and(|c| c.is_success())),
        "answers after the restart: {after:?}"
    );
    let recovered = seen
        .iter()
        .filter(|s| s.sent > restarted_at && !s.status.is_some_and(|c| c.is_success()))
        .map(|s| s.sent - restarted_at)
        .max()
        .unwrap_or_default();
    let slowest = seen.iter().map(|s| s.took).max().unwrap_or_default();
    eprintln!(
        "postgres down under load: {} answers, {} while down (all 503), last non-2xx {} ms \
         after the restart, slowest answer {} ms",
        seen.len(),
        during.len(),
        recovered.as_millis(),
        slowest.as_millis()
    );
    for h in &instances {
        assert_eq!(h.get(eid_backend::READY).await.status, StatusCode::OK);
    }
    // No instance stopped serving.
    for s in &served {
        assert!(!s.is_finished());
    }
}
