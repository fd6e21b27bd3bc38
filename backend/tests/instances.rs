//! Several backend instances on one PostgreSQL database (issue 17, docs/adr/0027): three `App`s
//! served on their own ports, with a round-robin TCP proxy in front (a few lines below). What
//! one instance commits, the others must answer from the next moment on (within a second):
//! a device change, an account lock in the status list, a redeemed token; and an instance whose
//! notification connection dies must not keep serving what it missed.
//!
//! PostgreSQL only (SQLite is single-process): skipped, with a note, when
//! `EID_TEST_POSTGRES_URL` is not set (scripts/test.sh sets it).

#![allow(clippy::unwrap_used, clippy::print_stderr)] // test helpers outside #[test] fns

mod common;

use axum::http::StatusCode;
use common::*;
use eid_backend::App;
use eid_backend::Config;
use eid_backend::limits::Rate;
use eid_core::api::{self, ErrorCode};
use eid_core::credential::{self, TrustList};
use eid_core::present::Profile;
use sqlx::{Connection, Row};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// How soon another instance must answer what one instance committed.
const PROMPTLY: Duration = Duration::from_secs(1);

struct Cluster {
    /// One harness per instance (requests go to that instance only).
    instances: Vec<Harness>,
    /// Requests through the round-robin proxy (each on its own connection, so the next
    /// instance in turn).
    proxy: Harness,
    /// The database all instances share.
    url: String,
    /// Its name, and the URL of the server's own test database (to alter this one from).
    name: String,
    server: String,
}

/// `n` unthrottled instances on a fresh database, or `None` (with a note) without a PostgreSQL
/// server.
async fn cluster(n: usize) -> Option<Cluster> {
    cluster_with(n, unthrottled).await
}

/// `n` instances whose configuration `tune` sets, on a fresh database.
async fn cluster_with(n: usize, tune: impl Fn(Config) -> Config) -> Option<Cluster> {
    let Some(server) = std::env::var("EID_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "note: EID_TEST_POSTGRES_URL is not set: the many-instances test needs PostgreSQL \
             (scripts/test.sh starts one); skipped"
        );
        return None;
    };
    let mut id = [0u8; 6];
    getrandom::fill(&mut id).unwrap();
    let name = format!("eid_inst_{}_{}", std::process::id(), hex::encode(id));
    let url = eid_backend::db::create_postgres_database(&server, &name)
        .await
        .unwrap_or_else(|e| panic!("EID_TEST_POSTGRES_URL is set but does not answer: {e}"));
    let mut instances = Vec::new();
    let mut addrs = Vec::new();
    for i in 0..n {
        // Each instance names its connections, so the test can find its listener's.
        let app = App::open(tune(config(format!("{url}?application_name=eid_{i}"))))
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = app.clone();
        tokio::spawn(async move { served.serve(listener, std::future::pending()).await });
        instances.push(Harness::over_http(app, "postgres", addr));
        addrs.push(addr);
    }
    let proxy = round_robin(addrs).await;
    let first = instances[0].app.clone();
    Some(Cluster {
        instances,
        proxy: Harness::over_http(first, "postgres", proxy),
        url,
        name,
        server,
    })
}

async fn documents(h: &Harness, device: &DeviceKey) -> Reply {
    h.signed(device, "GET", api::paths::DOCUMENTS, Vec::new(), &[])
        .await
}

/// Polls `check` until it holds, at most `deadline`; how long it took, or `None`.
async fn within<F: AsyncFnMut() -> bool>(deadline: Duration, mut check: F) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if check().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The status list entries of the credentials `device` syncs.
async fn status_indices(h: &Harness, device: &DeviceKey) -> Vec<u32> {
    let list: api::TrustListResponse = h.get(api::paths::TRUST_LIST).await.json();
    let trust = TrustList::decode(&list.issuers.0).unwrap();
    let page: api::DocumentsPage = documents(h, device).await.json();
    page.documents
        .iter()
        .map(|d| {
            credential::verify(&d.credential.0, &trust, h.app.clock().now())
                .unwrap()
                .status
                .index
        })
        .collect()
}

/// The server process of instance `i`'s notification listener, if it has one.
async fn listener_pid(url: &str, i: usize) -> Option<i32> {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let pid = sqlx::query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(format!("eid_{i}-listener"))
    .fetch_optional(&mut c)
    .await
    .unwrap()
    .map(|r| r.try_get::<i32, _>(0).unwrap());
    c.close().await.unwrap();
    pid
}

/// SQLite has no channel between processes: a second server on the same file is refused.
#[tokio::test]
async fn sqlite_is_served_by_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("backend.db").display());
    let first = App::open(config(url.clone())).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let serving = tokio::spawn(async move {
        first
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
    });
    // The first server holds the file once it serves.
    let second = App::open(config(url.clone())).await.unwrap();
    let refused = within(Duration::from_secs(5), async || {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let served = tokio::time::timeout(
            Duration::from_millis(200),
            second.serve(listener, std::future::pending()),
        )
        .await;
        matches!(served, Ok(Err(e)) if e.kind() == std::io::ErrorKind::AddrInUse)
    })
    .await;
    assert!(refused.is_some(), "a second server on one SQLite file");
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    // Once the first stopped, another may serve.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = tokio::time::timeout(
        Duration::from_millis(300),
        second.serve(listener, std::future::pending()),
    )
    .await;
    assert!(
        served.is_err(),
        "serving after the first stopped: {served:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_change_on_one_instance_is_refused_on_the_others_within_a_second() {
    let Some(cl) = cluster(3).await else { return };
    let [a, b, c] = &cl.instances[..] else {
        unreachable!()
    };
    let citizen = citizen(0);
    let first = a.activate(&citizen).await;
    let indices = status_indices(a, &first).await;
    // B and C hold the first device's keys and pages in memory (the second answer of each came
    // from there), and their signed status lists.
    for h in [b, c] {
        for _ in 0..2 {
            assert_eq!(documents(h, &first).await.status, StatusCode::OK);
        }
        let (revoked, _) = status_bits(h).await;
        assert!(indices.iter().all(|i| !bit(&revoked, *i)));
    }
    let second = a.activate(&citizen).await;
    let changed = Instant::now();
    let mut took = Vec::new();
    for (name, h) in [("B", b), ("C", c)] {
        let refused = within(PROMPTLY, async || {
            let r = documents(h, &first).await;
            r.status == StatusCode::FORBIDDEN && r.error() == ErrorCode::Revoked
        })
        .await;
        let Some(_) = refused else {
            panic!("instance {name} still serves the replaced device after {PROMPTLY:?}")
        };
        took.push((name, changed.elapsed()));
    }
    eprintln!("cross-instance invalidation (device change committed on A -> refused): {took:?}");
    assert!(took.iter().all(|(_, t)| *t < PROMPTLY), "{took:?}");
    for h in [b, c] {
        // The new device is known everywhere, and the old credentials are revoked in every list.
        assert_eq!(documents(h, &second).await.status, StatusCode::OK);
        let (revoked, _) = status_bits(h).await;
        assert!(indices.iter().all(|i| bit(&revoked, *i)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_on_one_instance_shows_in_the_status_list_of_another() {
    let Some(cl) = cluster(2).await else { return };
    let [a, b] = &cl.instances[..] else {
        unreachable!()
    };
    let device = a.activate(&citizen(1)).await;
    let index = status_indices(a, &device).await[0];
    let (_, suspended) = status_bits(b).await;
    assert!(!bit(&suspended, index));
    assert_eq!(documents(b, &device).await.status, StatusCode::OK);
    let lock = serde_json::to_vec(&api::AccountLockRequest {
        client_request_id: request_id(),
        consent: None,
    })
    .unwrap();
    let r = a
        .signed(&device, "POST", api::paths::ACCOUNT_LOCK, lock, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let suspended = within(PROMPTLY, async || bit(&status_bits(b).await.1, index)).await;
    eprintln!("cross-instance invalidation (lock on A -> B's status list): {suspended:?}");
    assert!(suspended.is_some(), "B's status list misses the lock");
    let r = documents(b, &device).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::LOCKED, ErrorCode::AccountLocked)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_redeemed_once_across_instances() {
    let Some(cl) = cluster(3).await else { return };
    let [a, b, _] = &cl.instances[..] else {
        unreachable!()
    };
    let verifier = register_verifier(a, &[Profile::AgeOver18]).await;
    let device = a.activate(&citizen(2)).await;
    let expires = a.app.clock().now() + 60;
    let token = a
        .registered_token(&device, Profile::AgeOver18, expires)
        .await;
    assert_eq!(redeem(a, &verifier, &token).await.status, StatusCode::OK);
    let r = redeem(b, &verifier, &token).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::CONFLICT, ErrorCode::TokenUsed)
    );
    // Many verifiers' retries at once, spread over the instances: one redemption.
    let token = b
        .registered_token(&device, Profile::AgeOver18, expires)
        .await;
    let tries = (0..12).map(|_| redeem(&cl.proxy, &verifier, &token));
    let replies = futures_join_all(tries).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        replies
            .iter()
            .filter(|r| r.status != StatusCode::OK)
            .all(|r| r.error() == ErrorCode::TokenUsed)
    );
}

/// Runs the futures at once (as tasks would, without `'static`).
async fn futures_join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in pinned.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_id_runs_once_across_instances() {
    let Some(cl) = cluster(3).await else { return };
    let c = citizen(4);
    // A client's retries of one start, at once, landing on every instance.
    let req = api::ActivationStart {
        client_request_id: request_id(),
        id_number: c.id_number.clone(),
        phone: c.phone.clone(),
    };
    let replies =
        futures_join_all((0..9).map(|_| cl.proxy.post(api::paths::ACTIVATION_START, &req))).await;
    for r in &replies {
        r.assert_ok("");
        assert_eq!(r.body, replies[0].body);
    }
    let sent = cl.instances[1].outbox(&c.phone).await.messages.len();
    assert_eq!(sent, 1, "one start, one SMS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_listener_died_serves_nothing_it_missed() {
    let Some(cl) = cluster(2).await else { return };
    let [a, b] = &cl.instances[..] else {
        unreachable!()
    };
    let citizen = citizen(3);
    let device = a.activate(&citizen).await;
    for _ in 0..2 {
        assert_eq!(documents(b, &device).await.status, StatusCode::OK);
    }
    // A change B is never told about (as if its notification came while B's listener was
    // down): B's memory is stale now.
    let mut db = sqlx::PgConnection::connect(&cl.url).await.unwrap();
    sqlx::query("UPDATE accounts SET state = 'locked' WHERE id = $1")
        .bind(&device.account)
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(
        documents(b, &device).await.status,
        StatusCode::OK,
        "B answers from memory"
    );
    let before = listener_pid(&cl.url, 1)
        .await
        .expect("instance B has a notification listener connection");
    let killed: bool = sqlx::query("SELECT pg_terminate_backend($1, 5000)")
        .bind(before)
        .fetch_one(&mut db)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(killed);
    // B notices, forgets what it held, and from then on answers the database's state.
    let fresh = within(PROMPTLY, async || {
        documents(b, &device).await.status == StatusCode::LOCKED
    })
    .await;
    eprintln!("listener killed -> B answers fresh after {fresh:?}");
    assert!(fresh.is_some(), "B still serves what it missed");
    let back = within(Duration::from_secs(5), async || {
        listener_pid(&cl.url, 1).await.is_some_and(|p| p != before)
    })
    .await;
    assert!(back.is_some(), "B's listener did not come back");
    for _ in 0..20 {
        assert_eq!(documents(b, &device).await.status, StatusCode::LOCKED);
    }
    // And it listens again: a device change on A is refused on B promptly.
    let second = a.activate(&citizen).await;
    let refused = within(PROMPTLY, async || {
        let r = documents(b, &device).await;
        r.status == StatusCode::FORBIDDEN && r.error() == ErrorCode::Revoked
    })
    .await;
    assert!(
        refused.is_some(),
        "B missed a change after its listener came back"
    );
    assert_eq!(documents(b, &second).await.status, StatusCode::OK);
    db.close().await.unwrap();
}

/// GET /v1/ready of `h`: the status and, when ready, the caches' state.
async fn ready(h: &Harness) -> (StatusCode, Option<String>) {
    let r = h.get(eid_backend::READY).await;
    let caches = (r.status == StatusCode::OK).then(|| r.json::<eid_backend::Ready>().caches);
    if r.status != StatusCode::OK {
        assert_eq!(r.headers["retry-after"], "1");
    }
    (r.status, caches)
}

/// Readiness follows the database: 503 (within its 2 s bound) while the database refuses
/// connections, and ready again by itself, caches on, once it accepts them (issue 17 "Faults").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_and_recovers_by_itself() {
    let Some(cl) = cluster(1).await else { return };
    let a = &cl.instances[0];
    let device = a.activate(&citizen(5)).await;
    assert_eq!(ready(a).await, (StatusCode::OK, Some("on".into())));
    let mut admin = sqlx::PgConnection::connect(&cl.server).await.unwrap();
    let allow = |on: bool| format!("ALTER DATABASE {} ALLOW_CONNECTIONS {on}", cl.name);
    sqlx::raw_sql(sqlx::AssertSqlSafe(allow(false)))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&cl.name)
    .execute(&mut admin)
    .await
    .unwrap();
    let started = Instant::now();
    let down = within(Duration::from_secs(5), async || {
        ready(a).await.0 == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    eprintln!("database refused -> not ready after {down:?}");
    assert!(down.is_some(), "still ready without a database");
    assert!(started.elapsed() < Duration::from_secs(5));
    sqlx::raw_sql(sqlx::AssertSqlSafe(allow(true)))
        .execute(&mut admin)
        .await
        .unwrap();
    let back = within(Duration::from_secs(10), async || {
        ready(a).await == (StatusCode::OK, Some("on".into()))
    })
    .await;
    eprintln!("database back -> ready, caches on, after {back:?}");
    assert!(back.is_some(), "did not recover");
    assert_eq!(documents(a, &device).await.status, StatusCode::OK);
    admin.close().await.unwrap();
}

/// The activation throttles, shared by the instances (docs/adr/0052).
fn throttled(client: Rate, global: Rate) -> impl Fn(Config) -> Config {
    move |mut c| {
        c.limits.client_throttle = client;
        c.limits.global_throttle = global;
        c
    }
}

/// Activation starts for `count` citizens from `first` on, all at once through the proxy: how
/// many got through the throttles (any answer but 429), and the 429s' Retry-After.
async fn starts(cl: &Cluster, first: usize, count: usize) -> (usize, Vec<Option<String>>) {
    let people = eid_fixtures::citizens::population(first + count);
    let replies = futures_join_all(people[first..].iter().map(|c| {
        let req = api::ActivationStart {
            client_request_id: request_id(),
            id_number: c.id_number.clone(),
            phone: c.phone.clone(),
        };
        async move { cl.proxy.post(api::paths::ACTIVATION_START, &req).await }
    }))
    .await;
    let refused: Vec<_> = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .inspect(|r| assert_eq!(r.error(), ErrorCode::RateLimited))
        .map(|r| {
            r.headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .collect();
    (replies.len() - refused.len(), refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_throttles_hold_across_instances() {
    // One client (the test's address) at 4 a minute: 4 starts in all, not 4 per instance, even
    // when 12 arrive at once spread over three instances.
    let per_client = Rate {
        per_minute: 4,
        burst: 4,
    };
    let Some(cl) = cluster_with(3, throttled(per_client, Rate::OFF)).await else {
        return;
    };
    let (through, refused) = starts(&cl, 0, 12).await;
    assert_eq!((through, refused.len()), (4, 8));
    // 4 a minute: the next token in 15 s (rounded up, never 0).
    for r in &refused {
        let secs: u64 = r.as_deref().unwrap().parse().unwrap();
        assert!((1..=15).contains(&secs), "Retry-After {secs}");
    }
    // The same on each instance alone: the bucket is empty for all of them.
    for h in &cl.instances {
        let c = citizen(7);
        let r = h
            .post(
                api::paths::ACTIVATION_START,
                &api::ActivationStart {
                    client_request_id: request_id(),
                    id_number: c.id_number.clone(),
                    phone: c.phone.clone(),
                },
            )
            .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    }

    // All clients together at 6: again 6 in all over three instances.
    let global = Rate {
        per_minute: 6,
        burst: 6,
    };
    let Some(cl) = cluster_with(3, throttled(Rate::OFF, global)).await else {
        return;
    };
    let (through, refused) = starts(&cl, 0, 15).await;
    assert_eq!((through, refused.len()), (6, 9));
}
