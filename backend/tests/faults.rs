//! Faults under load (issue 17, docs/adr/0034): PostgreSQL stopped and started again while two
//! instances serve.
//!
//! These tests stop and start a PostgreSQL cluster, so they run on one of their own, never the
//! shared test server: `EID_TEST_FAULT_POSTGRES_URL` (its URL) and `EID_TEST_FAULT_PG_STATE`
//! (its `PG_STATE_DIR`, for `pg_pause` / `pg_resume` of scripts/postgres-env.sh). scripts/test.sh
//! starts one and runs this file on its own, one test at a time; without them the tests are
//! skipped with a note.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::print_stdout
)] // test helpers outside #[test] fns

mod common;

use axum::http::StatusCode;
use common::*;
use eid_backend::App;
use eid_core::api::{self, ActivationStart};
use eid_core::present::Profile;
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
    let mut instances = Vec::new();
    let mut served = Vec::new();
    for i in 0..2 {
        let app = App::open(child_config(config(format!(
            "{url}?application_name=eid_f{i}"
        ))))
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
                let reply = if n.is_multiple_of(2) {
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

// ---------------------------------------------------------------------------------------------
// Instances in processes of their own (they are killed): this test binary run again as
// `child_server`, serving the database `EID_FAULT_CHILD_DB` on a free port it prints.

/// Not a test: the server process the fault tests start and kill (run by [`Child::start`]).
#[test]
#[ignore = "the server process of the fault tests, started by them"]
fn child_server() {
    let Ok(url) = std::env::var("EID_FAULT_CHILD_DB") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = App::open(child_config(config(url))).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{CHILD_ADDR}{}", listener.local_addr().unwrap());
        app.serve(listener, std::future::pending()).await.unwrap();
    });
}

const CHILD_ADDR: &str = "EID_FAULT_CHILD_ADDR=";

fn child_config(c: eid_backend::Config) -> eid_backend::Config {
    let mut c = unthrottled(c);
    c.starts_per_hour = 1_000_000;
    c
}

/// A backend instance in a process of its own.
struct Child {
    process: std::process::Child,
    addr: std::net::SocketAddr,
}

impl Child {
    /// Starts an instance on `url` named `name`, with `env` set (fault hooks).
    fn start(url: &str, name: &str, env: &[(&str, &str)]) -> Child {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["child_server", "--exact", "--ignored", "--nocapture"])
            .env(
                "EID_FAULT_CHILD_DB",
                format!("{url}?application_name={name}"),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut process = cmd.spawn().unwrap();
        let stdout = process.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(a) = line.strip_prefix(CHILD_ADDR) {
                    let _ = tx.send(a.parse::<std::net::SocketAddr>().unwrap());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the child instance serves");
        Child { process, addr }
    }

    /// Whether the process is still running.
    fn alive(&mut self) -> bool {
        self.process.try_wait().unwrap().is_none()
    }

    /// SIGKILL.
    fn kill(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request on a connection of its own; an `Err` when the connection fails or the
/// server dies before it answers.
async fn try_send(
    addr: std::net::SocketAddr,
    req: axum::http::Request<axum::body::Body>,
) -> Result<Reply, String> {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body,
    })
}

async fn count(url: &str, sql: &'static str, arg: &str) -> i64 {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let row = sqlx::query(sql)
        .bind(arg)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    row.try_get::<i64, _>(0).unwrap()
}

/// The gap of docs/adr/0034: the process dies after an idempotent POST committed its effect and
/// before its answer went out. The client's retry, on another instance, must get the first
/// answer (replayed) and apply nothing twice: one activation started, one device bound.
#[cfg(feature = "fault-injection")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_crash_between_commit_and_answer_gets_the_same_answer() {
    let Some((server, _)) = fault_cluster() else {
        return;
    };
    let url = database(&server).await;
    // The migrations and the seeded registry, before the instances start.
    let app = App::open(child_config(config(url.clone()))).await.unwrap();
    let mut dies_after_start = Child::start(
        &url,
        "eid_crash_a",
        &[("EID_FAULT_EXIT_AFTER", "activation_start")],
    );
    let mut dies_after_complete = Child::start(
        &url,
        "eid_crash_c",
        &[("EID_FAULT_EXIT_AFTER", "activation_complete")],
    );
    let survivor = Child::start(&url, "eid_crash_b", &[]);
    let h = Harness::over_http(app, "postgres", survivor.addr);
    let c = citizen(1);

    let start = ActivationStart {
        client_request_id: request_id(),
        id_number: c.id_number.clone(),
        phone: c.phone.clone(),
    };
    let died = try_send(
        dies_after_start.addr,
        post_json(api::paths::ACTIVATION_START, &start),
    )
    .await;
    assert!(died.is_err(), "{:?}", died.map(|r| r.status));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!dies_after_start.alive());
    let retry = try_send(
        survivor.addr,
        post_json(api::paths::ACTIVATION_START, &start),
    )
    .await
    .unwrap();
    retry.assert_ok("");
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    let started: api::ActivationStarted = retry.json();
    let activations = "SELECT COUNT(*) FROM activations WHERE id_number = $1";
    assert_eq!(count(&url, activations, &c.id_number).await, 1);

    let code = h.code(&c.phone).await;
    let device = DeviceKey::new();
    let complete = api::ActivationComplete {
        client_request_id: request_id(),
        activation_id: started.activation_id.clone(),
        sms_code: code,
        chip: evidence(&c, &started.chip_challenge.0),
        device_public_key: api::B64(device.public_key()),
        attestation: None,
        consent_registration: None,
    };
    let died = try_send(
        dies_after_complete.addr,
        post_json(api::paths::ACTIVATION_COMPLETE, &complete),
    )
    .await;
    assert!(died.is_err(), "{:?}", died.map(|r| r.status));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!dies_after_complete.alive());
    let retry = try_send(
        survivor.addr,
        post_json(api::paths::ACTIVATION_COMPLETE, &complete),
    )
    .await
    .unwrap();
    retry.assert_ok("");
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    let done: api::ActivationCompleted = retry.json();
    let devices = "SELECT COUNT(*) FROM devices WHERE account_id = $1";
    assert_eq!(count(&url, devices, &done.account_id).await, 1);
}

/// Tries that got no answer (the killed instance's), over all [`until_answered`].
static UNANSWERED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sends what `request` makes (a fresh one each try: signed requests carry a new nonce) to
/// `addr` until it is answered with neither 5xx nor 429, as a client that retries on another
/// instance does (the proxy hands each new connection to the next one). The answer and
/// whether some earlier try got no answer at all.
async fn until_answered(
    addr: std::net::SocketAddr,
    request: impl Fn() -> axum::http::Request<axum::body::Body>,
) -> (Reply, bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lost = false;
    loop {
        assert!(Instant::now() < deadline, "no answer within 60 s");
        match try_send(addr, request()).await {
            Ok(r) if !(r.status.is_server_error() || r.status == StatusCode::TOO_MANY_REQUESTS) => {
                return (r, lost);
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => {
                UNANSWERED.fetch_add(1, Ordering::SeqCst);
                lost = true;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

fn post_json<T: serde::Serialize>(path: &str, body: &T) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post(path)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// One citizen's activation through the proxy, each POST retried with its idempotency key
/// until answered: the account id.
async fn activate_retrying(
    proxy: std::net::SocketAddr,
    c: &eid_fixtures::citizens::Citizen,
) -> String {
    let start = ActivationStart {
        client_request_id: request_id(),
        id_number: c.id_number.clone(),
        phone: c.phone.clone(),
    };
    let (r, _) = until_answered(proxy, || post_json(api::paths::ACTIVATION_START, &start)).await;
    r.assert_ok("");
    let started: api::ActivationStarted = r.json();
    let outbox = format!("{}?phone={}", api::paths::DEV_OUTBOX, c.phone);
    let (r, _) = until_answered(proxy, || {
        axum::http::Request::get(&outbox)
            .body(axum::body::Body::empty())
            .unwrap()
    })
    .await;
    let code = r
        .json::<api::DevOutbox>()
        .messages
        .last()
        .unwrap()
        .code
        .clone();
    let device = DeviceKey::new();
    let complete = api::ActivationComplete {
        client_request_id: request_id(),
        activation_id: started.activation_id.clone(),
        sms_code: code,
        chip: evidence(c, &started.chip_challenge.0),
        device_public_key: api::B64(device.public_key()),
        attestation: None,
        consent_registration: None,
    };
    let (r, _) = until_answered(proxy, || {
        post_json(api::paths::ACTIVATION_COMPLETE, &complete)
    })
    .await;
    r.assert_ok("");
    r.json::<api::ActivationCompleted>().account_id
}

/// kill -9 of one of three instances behind a round-robin proxy while citizens activate and
/// verifiers redeem: clients retry on the others with their idempotency keys; afterwards the
/// database holds each activation once (one started, one account, one device per citizen)
/// and each token redeemed once, its fields answered to the desk even when the try that
/// redeemed it lost its answer with the instance (the retry carries the same client_request_id,
/// docs/adr/0045).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_killed_under_load_loses_nothing_and_applies_nothing_twice() {
    let Some((server, _)) = fault_cluster() else {
        return;
    };
    let url = database(&server).await;
    let mut seeding = child_config(config(url.clone()));
    seeding.population = 40;
    let app = App::open(seeding).await.unwrap();
    let mut children: Vec<Child> = (0..3)
        .map(|i| Child::start(&url, &format!("eid_kill_{i}"), &[]))
        .collect();
    let proxy = round_robin(children.iter().map(|c| c.addr).collect()).await;
    let h = Harness::over_http(app, "postgres", children[0].addr);

    // Tokens to redeem: 4 citizens' devices, 6 registered tokens each.
    let population = eid_fixtures::citizens::population(40);
    let verifier = Arc::new(register_verifier(&h, &[Profile::Airport]).await);
    let expires = h.app.clock().now() + 60;
    let mut tokens = Vec::new();
    for c in &population[..4] {
        let device = h.activate(c).await;
        for _ in 0..6 {
            tokens.push(h.registered_token(&device, Profile::Airport, expires).await);
        }
    }

    // Load: 24 activations and the redemptions, 12 at a time; one instance killed meanwhile.
    let work = Arc::new(tokio::sync::Semaphore::new(12));
    let mut activations = Vec::new();
    for c in population[8..32].iter().cloned() {
        let work = work.clone();
        activations.push(tokio::spawn(async move {
            let _slot = work.acquire().await.unwrap();
            let account = activate_retrying(proxy, &c).await;
            (c.id_number, account)
        }));
    }
    let mut redemptions = Vec::new();
    for (i, token) in tokens.iter().cloned().enumerate() {
        let (work, verifier) = (work.clone(), verifier.clone());
        let now = h.app.clock().now();
        redemptions.push(tokio::spawn(async move {
            let _slot = work.acquire().await.unwrap();
            let id = format!("redeem-{i}");
            let (r, lost) = until_answered(proxy, || {
                redeem_request_with_id(&verifier, &token, now, Some(&id))
            })
            .await;
            (token, r, lost)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    children[1].kill();
    let killed_at = Instant::now();

    let mut accounts = Vec::new();
    for a in activations {
        accounts.push(a.await.unwrap());
    }
    let mut redeemed = 0;
    let mut retried = 0;
    for r in redemptions {
        let (token, reply, lost) = r.await.unwrap();
        // Every desk gets its fields, also when the try that redeemed the token lost its
        // answer with the killed instance and a retry asked again.
        reply.assert_ok(&format!("{token}: "));
        redeemed += 1;
        retried += usize::from(lost);
    }
    // Each activation once: one started, one account, one device.
    for (id_number, account) in &accounts {
        let n = "SELECT COUNT(*) FROM activations WHERE id_number = $1";
        assert_eq!(count(&url, n, id_number).await, 1, "activations");
        let n = "SELECT COUNT(*) FROM accounts WHERE id_number = $1";
        assert_eq!(count(&url, n, id_number).await, 1, "accounts");
        let n = "SELECT COUNT(*) FROM devices WHERE account_id = $1";
        assert_eq!(count(&url, n, account).await, 1, "devices");
    }
    // Each token redeemed once, none lost from the database.
    let n = "SELECT COUNT(*) FROM redeemed_tokens WHERE verifier_id = $1";
    assert_eq!(
        count(&url, n, &verifier.verifier_id).await,
        i64::try_from(tokens.len()).unwrap()
    );
    assert_eq!(redeemed, tokens.len());
    // The kill met the load: some tries went unanswered and were retried.
    let unanswered = UNANSWERED.load(Ordering::SeqCst);
    assert!(unanswered > 0);
    eprintln!(
        "kill -9 under load: {unanswered} tries unanswered and retried; {} activations, {} \
         redemptions (all {} answered, {} after a retry), done {} ms after the kill",
        accounts.len(),
        tokens.len(),
        redeemed,
        retried,
        killed_at.elapsed().as_millis()
    );
    assert!(!children[1].alive());
    assert!(children[0].alive() && children[2].alive());
}

/// A device-signed POST of `body` to `path` on `addr` (no retry).
#[cfg(feature = "fault-injection")]
async fn signed_post<T: serde::Serialize>(
    h: &Harness,
    addr: std::net::SocketAddr,
    device: &DeviceKey,
    path: &str,
    body: &T,
) -> Result<Reply, String> {
    let body = serde_json::to_vec(body).unwrap();
    let now = h.app.clock().now();
    let nonce = api::new_nonce();
    let signature = device.sign(&api::signing_input("POST", path, now, &nonce, &body));
    let req = axum::http::Request::post(path)
        .header(api::headers::ACCOUNT, &device.account)
        .header(api::headers::TIMESTAMP, now.to_string())
        .header(api::headers::NONCE, nonce)
        .header(api::headers::SIGNATURE, signature)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    try_send(addr, req).await
}

/// Remote signing through the same gap: the instance dies after signHash committed the used SAD
/// and its signatures; the retry (same `client_request_id`) on another instance gets the same
/// signatures, and the SAD was used once.
#[cfg(feature = "fault-injection")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_retried_after_a_crash_gets_the_same_signatures() {
    use eid_core::signing::{self as csc, paths};
    use sha2::Digest as _;
    let Some((server, _)) = fault_cluster() else {
        return;
    };
    let url = database(&server).await;
    let app = App::open(child_config(config(url.clone()))).await.unwrap();
    let mut dies = Child::start(&url, "eid_sign_a", &[("EID_FAULT_EXIT_AFTER", "sign_hash")]);
    let survivor = Child::start(&url, "eid_sign_b", &[]);
    let h = Harness::over_http(app, "postgres", survivor.addr);
    let device = h.activate(&citizen(2)).await;
    let ok = |r: Result<Reply, String>| {
        let r = r.unwrap();
        r.assert_ok("");
        r
    };

    let enrol = csc::EnrolRequest {
        client_request_id: request_id(),
    };
    let info: csc::CredentialInfo =
        ok(signed_post(&h, survivor.addr, &device, paths::ENROL, &enrol).await).json();
    let credential = csc::CredentialRef {
        client_request_id: request_id(),
        credential_id: info.credential_id.clone(),
    };
    let challenge: csc::Challenge = ok(signed_post(
        &h,
        survivor.addr,
        &device,
        paths::CREDENTIALS_CHALLENGE,
        &credential,
    )
    .await)
    .json();
    let hashes = vec![sha2::Sha256::digest(b"to-khai.pdf").to_vec()];
    let message = csc::authorization_input(
        &info.credential_id,
        &challenge.challenge.0,
        &hashes,
        challenge.expires_at,
    );
    let device_signature: p256::ecdsa::Signature =
        p256::ecdsa::signature::Signer::sign(&device.signing_key(), &message);
    let consent = h
        .consent(
            &device,
            api::consent_action::SIGNING_AUTHORIZE,
            &api::signing_authorization_digest(&message),
        )
        .await;
    let authorize = csc::AuthorizeRequest {
        client_request_id: request_id(),
        credential_id: info.credential_id.clone(),
        challenge: challenge.challenge,
        hashes: hashes.iter().cloned().map(api::B64).collect(),
        expires_at: challenge.expires_at,
        device_signature: api::B64(device_signature.normalize_s().to_der().as_bytes().to_vec()),
        consent: Some(consent),
    };
    let sad: csc::Sad = ok(signed_post(
        &h,
        survivor.addr,
        &device,
        paths::CREDENTIALS_AUTHORIZE,
        &authorize,
    )
    .await)
    .json();

    let sign = csc::SignHashRequest {
        client_request_id: request_id(),
        credential_id: info.credential_id.clone(),
        sad: sad.sad.clone(),
        hashes: hashes.iter().cloned().map(api::B64).collect(),
        sign_algo: csc::SIGN_ALGO.into(),
    };
    let died = signed_post(&h, dies.addr, &device, paths::SIGN_HASH, &sign).await;
    assert!(died.is_err(), "{:?}", died.map(|r| r.status));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!dies.alive());
    let retry = ok(signed_post(&h, survivor.addr, &device, paths::SIGN_HASH, &sign).await);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    let signatures: csc::Signatures = retry.json();
    assert_eq!(signatures.signatures.len(), 1);
    // The same signature the dead instance made: the one committed with the used SAD.
    let stored = "SELECT COUNT(*) FROM idempotency WHERE endpoint = 'sign_hash' AND scope <> $1";
    assert_eq!(count(&url, stored, "").await, 1);
    let used = "SELECT COUNT(*) FROM signing_sads WHERE used_at IS NOT NULL AND credential_id = $1";
    assert_eq!(count(&url, used, &info.credential_id).await, 1);
    // A new request id with the used SAD: refused (the SAD was used once).
    let again = csc::SignHashRequest {
        client_request_id: request_id(),
        ..sign
    };
    let r = signed_post(&h, survivor.addr, &device, paths::SIGN_HASH, &again)
        .await
        .unwrap();
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}
