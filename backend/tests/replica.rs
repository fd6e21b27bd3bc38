//! A PostgreSQL streaming replica for the public lists (docs/adr/0030): the status list is read
//! there (counted by pg_stat_statements on the replica) and still shows a revocation committed
//! just before; activation, sync and account reads never touch it; a replica that is down is
//! skipped. Needs `. scripts/postgres-env.sh; pg_start; pg_start_replica` (EID_TEST_POSTGRES_URL
//! and EID_TEST_POSTGRES_REPLICA_URL, as scripts/test.sh does); skipped with a note without.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use eid_backend::App;
use eid_core::api;
use eid_core::credential::{self, TrustList};
use http_body_util::BodyExt;
use sqlx::{Connection, Row};
use std::sync::atomic::{AtomicUsize, Ordering};
use tower::ServiceExt;

static N: AtomicUsize = AtomicUsize::new(0);

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `url` with its database replaced by `db`.
fn with_db(url: &str, db: &str) -> String {
    format!("{}/{db}", url.rsplit_once('/').unwrap().0)
}

/// A fresh database on the primary and a backend on it reading public lists from `replica`
/// (a server URL; the database name is replaced).
async fn backend(primary: &str, replica: &str) -> (Harness, String) {
    let name = format!(
        "eid_r_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let db = eid_backend::db::create_postgres_database(primary, &name)
        .await
        .unwrap();
    let mut config = unthrottled(config(db));
    config.replica_url = Some(with_db(replica, &name));
    let app = App::open(config).await.unwrap();
    (Harness::from_app(app, "postgres"), name)
}

/// Statements the replica ran in database `db` (whose text contains `like`).
async fn replica_statements(replica: &str, db: &str, like: &str) -> i64 {
    let mut c = sqlx::PgConnection::connect(&with_db(replica, "postgres"))
        .await
        .unwrap();
    let n: i64 = sqlx::query(
        "SELECT COALESCE(SUM(s.calls), 0)::bigint FROM pg_stat_statements s \
         JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 AND s.query LIKE $2",
    )
    .bind(db)
    .bind(format!("%{like}%"))
    .fetch_one(&mut c)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    c.close().await.unwrap();
    n
}

async fn metrics(h: &Harness) -> String {
    let resp = h
        .app
        .metrics_router()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The status list entries of the credentials `device` syncs.
async fn status_indices(h: &Harness, device: &DeviceKey) -> Vec<u32> {
    let list: api::TrustListResponse = h.get(api::paths::TRUST_LIST).await.json();
    let trust = TrustList::decode(&list.issuers.0).unwrap();
    let page: api::DocumentsPage = h
        .signed(device, "GET", api::paths::DOCUMENTS, Vec::new(), &[])
        .await
        .json();
    let now = h.app.clock().now();
    page.documents
        .iter()
        .map(|d| {
            credential::verify(&d.credential.0, &trust, now)
                .unwrap()
                .status
                .index
        })
        .collect()
}

#[tokio::test]
async fn the_status_list_is_read_on_the_replica_and_nothing_else_is() {
    let (Some(primary), Some(replica)) = (
        env("EID_TEST_POSTGRES_URL"),
        env("EID_TEST_POSTGRES_REPLICA_URL"),
    ) else {
        eprintln!(
            "skipped: no EID_TEST_POSTGRES_REPLICA_URL (. scripts/postgres-env.sh; pg_start; \
             pg_start_replica)"
        );
        return;
    };
    let (h, db) = backend(&primary, &replica).await;
    let before = replica_statements(&replica, &db, "").await;
    // Writes, device-signed reads, the trust list (from memory): none reaches the replica.
    let device = h.activate(&citizen(0)).await;
    let indices = status_indices(&h, &device).await;
    assert!(!indices.is_empty());
    let account = h
        .signed(&device, "GET", api::paths::ACCOUNT, Vec::new(), &[])
        .await;
    assert_eq!(account.status, StatusCode::OK);
    assert_eq!(replica_statements(&replica, &db, "").await, before);
    let m = metrics(&h).await;
    for state in ["idle", "in_use"] {
        let series = format!("eid_db_pool_connections{{pool=\"replica\",state=\"{state}\"}}");
        assert_eq!(metric(&m, &series), Some(0.0), "{series}");
    }

    // A new device for the citizen revokes the old one's credentials; the status list fetched
    // right after is read on the replica and shows the revocation.
    let status_reads = replica_statements(&replica, &db, "status_index").await;
    let new = h.activate(&citizen(0)).await;
    let (revoked, _) = status_bits(&h).await;
    for i in &indices {
        assert!(
            bit(&revoked, *i),
            "index {i} not revoked in the replica's list"
        );
    }
    assert!(replica_statements(&replica, &db, "status_index").await >= status_reads + 3);
    let m = metrics(&h).await;
    assert_eq!(
        metric(&m, "eid_public_reads_total{source=\"replica\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(&m, "eid_public_reads_total{source=\"primary_fallback\"}"),
        None
    );

    // Nothing else went there since: another sync and an account read.
    let after = replica_statements(&replica, &db, "").await;
    assert!(!status_indices(&h, &new).await.is_empty());
    let account = h
        .signed(&new, "GET", api::paths::ACCOUNT, Vec::new(), &[])
        .await;
    assert_eq!(account.status, StatusCode::OK);
    assert_eq!(replica_statements(&replica, &db, "").await, after);
}

#[tokio::test]
async fn a_replica_that_is_down_is_skipped() {
    let Some(primary) = env("EID_TEST_POSTGRES_URL") else {
        eprintln!("skipped: no EID_TEST_POSTGRES_URL");
        return;
    };
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (h, _) = backend(&primary, &format!("postgres://eid@127.0.0.1:{port}/x")).await;
    let started = std::time::Instant::now();
    let (revoked, _) = status_bits(&h).await;
    assert!(revoked.iter().all(|b| *b == 0));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let m = metrics(&h).await;
    assert_eq!(
        metric(&m, "eid_public_reads_total{source=\"primary_fallback\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(&m, "eid_public_reads_total{source=\"replica\"}"),
        None
    );
}

#[tokio::test]
async fn a_replica_needs_a_postgresql_primary() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(format!("sqlite://{}", dir.path().join("b.db").display()));
    config.replica_url = Some("postgres://eid@127.0.0.1:1/x".into());
    let e = App::open(config).await.unwrap_err();
    assert!(e.to_string().contains("PostgreSQL primary"), "{e}");
}
