//! `eid serve` + `eid wallet activate --sim` + `status` + `sync`, as a person would run them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn eid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(args)
        .env_remove("EID_PASSCODE")
        .env_remove("EID_BACKEND")
        .output()
        .unwrap()
}

/// Starts `eid serve` on a free port and returns it with its URL (from the line it prints).
fn serve(db: &str) -> (Server, String) {
    serve_with(db, &[])
}

fn serve_with(db: &str, extra: &[&str]) -> (Server, String) {
    serve_at(db, "127.0.0.1:0", extra)
}

/// [`serve_with`] on `addr`.
fn serve_at(db: &str, addr: &str, extra: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(["serve", "--dev", "--addr", addr, "--db", db])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("eid serve printed its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("listening on ") {
            break rest.trim().to_owned();
        }
    };
    (Server(child), url)
}

/// The fixtures' synthetic citizen `i`: (ID number, phone).
fn citizen(i: usize) -> (String, String) {
    let citizens: Value =
        serde_json::from_slice(&eid(&["fixtures", "citizens", "--json"]).stdout).unwrap();
    let field = |k: &str| citizens[i][k].as_str().unwrap().to_owned();
    (field("id"), field("phone"))
}

/// `eid wallet --data-dir DIR --backend URL --passcode PASSCODE ARGS...`
fn wallet(dir: &Path, url: &str, passcode: &str, args: &[&str]) -> Output {
    let base = [
        "wallet",
        "--data-dir",
        dir.to_str().unwrap(),
        "--backend",
        url,
    ];
    eid(&[&base[..], &["--passcode", passcode], args].concat())
}

/// Activates the wallet in `dir` for the citizen with the simulated card.
fn activate(dir: &Path, url: &str, passcode: &str, (id, phone): &(String, String)) -> Output {
    wallet(
        dir,
        url,
        passcode,
        &["activate", "--id", id, "--phone", phone, "--sim"],
    )
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A refused command whose standard error says `why`.
fn assert_fails_with(out: &Output, why: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(why), "{err}");
}

#[test]
fn serve_activate_status_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve(&db);
    let person = citizen(4);
    let (id, phone) = (person.0.as_str(), person.1.as_str());
    let dir = tmp.path().join("wallet");
    let d = dir.to_str().unwrap();

    let out = activate(&dir, &url, "112233", &person);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("level 2"));

    let status: Value =
        serde_json::from_slice(&eid(&["wallet", "--data-dir", d, "status", "--json"]).stdout)
            .unwrap();
    assert_eq!(status["state"], "active");
    assert_eq!(status["level"], 2);
    assert!(status["last_sync"].as_i64().unwrap() > 0);
    assert!(status["documents"].as_u64().unwrap() >= 4);

    let out = wallet(&dir, &url, "112233", &["sync", "--json"]);
    assert_ok(&out);
    let sync: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sync["report"]["revoked"], false);

    // A wrong code is refused with a clear line and the wallet stays as it was.
    let out = wallet(
        &tmp.path().join("other"),
        &url,
        "112233",
        &[
            "activate", "--id", id, "--phone", phone, "--sim", "--code", "000000",
        ],
    );
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "eid: the SMS code is wrong"
    );

    // Backend gone: sync fails cleanly, documents stay.
    drop(_server);
    let out = wallet(&dir, &url, "112233", &["sync"]);
    assert_fails_with(&out, "backend unreachable");
    let status: Value =
        serde_json::from_slice(&eid(&["wallet", "--data-dir", d, "status", "--json"]).stdout)
            .unwrap();
    assert!(status["documents"].as_u64().unwrap() >= 4);
    assert!(status["last_sync_error"].is_string());
}

/// Remote signing from the command line: enrol, list, sign; a wrong passcode signs nothing.
#[test]
fn signing_enrol_list_and_sign_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve(&db);
    let person = citizen(5);
    let id = person.0.as_str();
    let dir = tmp.path().join("wallet");
    let wallet = |passcode: &str, rest: &[&str]| wallet(&dir, &url, passcode, rest);
    assert_ok(&activate(&dir, &url, "112233", &person));
    let listed: Value =
        serde_json::from_slice(&wallet("112233", &["signing", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 0);
    let out = wallet("112233", &["signing", "enrol", "--json"]);
    assert_ok(&out);
    let enrolled: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(enrolled[0]["status"], "enabled");
    assert!(enrolled[0]["subject"].as_str().unwrap().contains(id));
    let listed: Value =
        serde_json::from_slice(&wallet("112233", &["signing", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["credential_id"], enrolled[0]["credential_id"]);

    let file = tmp.path().join("form.txt");
    std::fs::write(&file, b"to khai TEST").unwrap();
    let sig = tmp.path().join("form.p7s");
    let (f, s) = (file.to_str().unwrap(), sig.to_str().unwrap());
    let out = wallet("112233", &["sign", "--file", f, "--out", s]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("form.txt"));
    assert_eq!(std::fs::read(&sig).unwrap()[0], 0x30, "DER CMS");
    // A wrong passcode: refused, nothing written.
    let sig2 = tmp.path().join("again.p7s");
    let out = wallet(
        "999999",
        &["sign", "--file", f, "--out", sig2.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(!sig2.exists());
}

/// A clinic desk registers, a citizen shows an online token, the desk redeems it once.
#[test]
fn online_token_redeemed_once_by_a_registered_desk() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve_with(&db, &["--admin-token", "cli-admin"]);
    let w = tmp.path().join("wallet");
    assert_ok(&activate(&w, &url, "246810", &citizen(2)));
    let desk = tmp.path().join("desk");
    let desk = desk.to_str().unwrap();
    let reg = |token: &str| {
        eid(&[
            "verifier",
            "--dir",
            desk,
            "--backend",
            &url,
            "register",
            "--admin-token",
            token,
            "--name",
            "Clinic reception 1",
            "--profiles",
            "clinic",
        ])
    };
    assert!(!reg("wrong-token").status.success());
    assert_ok(&reg("cli-admin"));
    let shown = wallet(
        &w,
        &url,
        "246810",
        &["present", "--profile", "clinic", "--online", "--json"],
    );
    assert_ok(&shown);
    let text: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let text = text["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with("VNT2:"));
    let verify = || {
        eid(&[
            "verify",
            "--text",
            &text,
            "--backend",
            &url,
            "--verifier-dir",
            desk,
            "--json",
        ])
    };
    let first = verify();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let v: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["profile"], "clinic");
    assert!(v["fields"]["bhyt_code"].is_string());
    let second = verify();
    assert_eq!(second.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(
        v["reasons"][0]
            .as_str()
            .unwrap()
            .contains("already redeemed")
    );
}

/// A hotel registers as a host, a guest shows an accommodation QR, the hotel checks them in
/// (an airport QR is refused), and the guest's log shows the notice after sync (docs/adr/0048).
#[test]
fn a_hotel_checks_a_guest_in_and_the_guest_sees_it_in_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve_with(&db, &["--admin-token", "cli-admin"]);
    let w = tmp.path().join("wallet");
    let guest = citizen(5);
    assert_ok(&activate(&w, &url, "246810", &guest));
    let hotel = tmp.path().join("hotel");
    let hotel = hotel.to_str().unwrap();
    assert_ok(&eid(&[
        "host",
        "--dir",
        hotel,
        "--backend",
        &url,
        "register",
        "--admin-token",
        "cli-admin",
        "--name",
        "Khách sạn Sen",
    ]));
    let qr = |profile: &str| {
        let out = wallet(
            &w,
            &url,
            "246810",
            &["present", "--profile", profile, "--json"],
        );
        assert_ok(&out);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["text"].as_str().unwrap().to_owned()
    };
    let checkin = |text: &str| {
        let out = eid(&[
            "host",
            "checkin",
            "--dir",
            hotel,
            "--backend",
            &url,
            "--text",
            text,
            "--nights",
            "2",
            "--json",
        ]);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), v)
    };
    let (code, v) = checkin(&qr("airport"));
    assert_eq!(code, Some(1));
    assert_eq!(
        (v["recorded"].as_bool(), v["error"].as_str()),
        (Some(false), Some("qr_refused"))
    );
    assert!(v["reasons"][0].as_str().unwrap().contains("profile"), "{v}");
    let (code, v) = checkin(&qr("accommodation"));
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["recorded"], true);
    assert_eq!(v["host_name"], "Khách sạn Sen");
    assert_eq!(v["guest"]["id_number"], guest.0.as_str());
    assert_eq!(v["guest"].as_object().unwrap().len(), 4);
    let receipt_id = v["receipt_id"].as_str().unwrap().to_owned();

    assert_ok(&wallet(&w, &url, "246810", &["sync"]));
    let log = wallet(&w, &url, "246810", &["log", "--json"]);
    assert_ok(&log);
    let log: Value = serde_json::from_slice(&log.stdout).unwrap();
    let notices: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "accommodation")
        .collect();
    assert_eq!(notices.len(), 1, "{log}");
    assert_eq!(notices[0]["counterparty"], "Khách sạn Sen");
    assert!(notices[0]["detail"].as_str().unwrap().contains(&receipt_id));
}

/// A desk that fetched the lists with `--cache` keeps rejecting a revoked wallet's QR after the
/// backend goes away; without the cache the same QR would pass with "revocation not checked".
#[test]
fn desk_cache_keeps_revocation_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (server, url) = serve(&db);
    let person = citizen(5);
    let old_phone = tmp.path().join("old-phone");
    assert_ok(&activate(&old_phone, &url, "135790", &person));
    let shown = wallet(
        &old_phone,
        &url,
        "135790",
        &["present", "--profile", "airport", "--json"],
    );
    assert_ok(&shown);
    let text: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let text = text["text"].as_str().unwrap().to_owned();
    let cache = tmp.path().join("desk-cache");
    let verify = |extra: &[&str]| {
        let out = eid(&[&["verify", "--text", &text, "--json"], extra].concat());
        (
            out.status.code(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        )
    };
    let (code, v) = verify(&["--backend", &url, "--cache", cache.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{v}");
    assert!(cache.join("status-list.cose").is_file());

    // The citizen moves to a new phone: the old one's presentation credentials are revoked.
    assert_ok(&activate(
        &tmp.path().join("new-phone"),
        &url,
        "135790",
        &person,
    ));
    let (code, v) = verify(&["--backend", &url, "--cache", cache.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{v}");
    assert!(v["reasons"].to_string().contains("revoked"), "{v}");

    drop(server);
    let (code, v) = verify(&["--backend", &url, "--cache", cache.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{v}");
    assert!(v["reasons"].to_string().contains("revoked"), "{v}");
    assert!(v["status_list_age_s"].is_u64(), "{v}");
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("backend unreachable"), "{v}");
    assert!(warnings.contains("cache"), "{v}");

    // Without the cache and with the backend down, the desk has no trust list: it refuses to
    // check rather than fall back to the fixture issuers, whose keys anyone can sign with.
    // (Before ADR 0077 both checks below printed "valid", against the fixture keys.)
    for extra in [&["--backend", url.as_str()][..], &[]] {
        let out = eid(&[&["verify", "--text", &text, "--json"], extra].concat());
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty(), "no verdict: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no trust list"), "{err}");
        assert!(err.contains("--trust FILE"), "{err}");
    }
    // A development desk says so in its warnings.
    let (code, v) = verify(&["--dev"]);
    assert_eq!(
        code,
        Some(0),
        "without the cache nothing says it was revoked: {v}"
    );
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("revocation not checked"), "{v}");
    assert!(warnings.contains("public fixture issuers (--dev)"), "{v}");
}

const KEK: &str = "5ac0ffee5ac0ffee5ac0ffee5ac0ffee5ac0ffee5ac0ffee5ac0ffee5ac0ffee";

/// `eid serve` without --dev, with `env` set (and EID_KEK/EID_SIGNING_SEAL_KEY/EID_ADMIN_TOKEN
/// removed unless given).
fn serve_production(db: &str, env: &[(&str, &str)], extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eid"));
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--db", db])
        .args(extra)
        .env_remove("EID_KEK")
        .env_remove("EID_SIGNING_SEAL_KEY")
        .env_remove("EID_ADMIN_TOKEN")
        // A gateway that is never reached (no activation in these tests); `env` may clear it.
        .env("EID_SMS_GATEWAY", "http://127.0.0.1:9/sms");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// What a production start that must fail printed: exit status, standard error.
fn refused(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn production_refuses_to_start_without_what_it_needs_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("prod.db").display());
    // No key-encryption key.
    let err = refused(serve_production(&db, &[], &[]));
    assert!(err.contains("EID_KEK is not set"), "{err}");
    // A KEK that is not 32 bytes of hex.
    let err = refused(serve_production(&db, &[("EID_KEK", "abcd")], &[]));
    assert!(err.contains("EID_KEK"), "{err}");
    // A guessable admin token.
    let err = refused(serve_production(
        &db,
        &[("EID_KEK", KEK), ("EID_ADMIN_TOKEN", "short")],
        &[],
    ));
    assert!(err.contains("admin token"), "{err}");
    // No SMS gateway: activation codes could not reach anyone.
    let err = refused(serve_production(
        &db,
        &[("EID_KEK", KEK), ("EID_SMS_GATEWAY", "")],
        &[],
    ));
    assert!(err.contains("EID_SMS_GATEWAY"), "{err}");
    // A development database is never served with production settings.
    let dev_db = format!("sqlite://{}", dir.path().join("dev.db").display());
    drop(serve(&dev_db));
    let err = refused(serve_production(&dev_db, &[("EID_KEK", KEK)], &[]));
    assert!(err.contains("--dev"), "{err}");
    // --dev and the old --production contradict each other.
    let out = eid(&["serve", "--dev", "--production", "--db", &db]);
    assert!(!out.status.success());
}

/// The production default: keys of its own (listed as generated, none with a fixture key id),
/// no admin token printed; `eid keys rotate` adds an identity key that the
/// next start publishes next to the old one.
#[test]
fn production_serves_keys_of_its_own_and_rotates_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("prod.db").display());
    let mut child = serve_production(&db, &[("EID_KEK", KEK)], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    // No generated admin token in production: the first line is the address.
    let url = first
        .strip_prefix("listening on ")
        .unwrap()
        .trim()
        .to_owned();
    let server = Server(child);
    assert!(url.starts_with("http://127.0.0.1:"));
    drop(server);

    let keys = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_eid"))
            .args(["keys", "--db", &db])
            .args(extra)
            .env("EID_KEK", KEK)
            .output()
            .unwrap();
        assert_ok(&out);
        out
    };
    let listed: Value = serde_json::from_slice(&keys(&["list", "--json"]).stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(
        listed.len(),
        eid_core::credential::DocumentKind::ALL.len() + 1,
        "the root and one issuer per kind"
    );
    assert!(listed.iter().all(|k| k["origin"] == "generated"));
    // The same listing of a development database shows the fixtures' keys: the key ids differ.
    let dev_db = format!("sqlite://{}", dir.path().join("dev.db").display());
    drop(serve(&dev_db));
    let dev: Value = serde_json::from_slice(
        &Command::new(env!("CARGO_BIN_EXE_eid"))
            .args(["keys", "--db", &dev_db, "list", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let dev = dev.as_array().unwrap();
    assert!(dev.iter().all(|k| k["origin"] == "fixture"));
    for k in listed {
        assert!(dev.iter().all(|d| d["kid"] != k["kid"]), "{k}");
    }

    let out = keys(&["rotate", "--kind", "identity", "--from", "2099-01-01"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("new identity key"), "{text}");
    let listed: Value = serde_json::from_slice(&keys(&["list", "--json"]).stdout).unwrap();
    let identity: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["purpose"] == "issuer:identity")
        .collect();
    assert_eq!(identity.len(), 2);
    assert_eq!(identity[1]["signs_from"], 4_070_908_800u64);
    // Not a second time for the same date, and not without the KEK.
    let again = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args([
            "keys",
            "--db",
            &db,
            "rotate",
            "--kind",
            "identity",
            "--from",
            "2099-01-01",
        ])
        .env("EID_KEK", KEK)
        .output()
        .unwrap();
    assert!(!again.status.success());
    let no_kek = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args([
            "keys",
            "--db",
            &db,
            "rotate",
            "--kind",
            "identity",
            "--from",
            "2100-01-01",
        ])
        .env_remove("EID_KEK")
        .env_remove("EID_SIGNING_SEAL_KEY")
        .output()
        .unwrap();
    assert!(!no_kek.status.success());
    // The backend starts again with both identity keys.
    let mut child = serve_production(&db, &[("EID_KEK", KEK)], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    drop(Server(child));
    assert!(line.starts_with("listening on "), "{line}");
}

/// `eid serve` stops on SIGTERM (what service managers send) by draining, with exit status 0,
/// and a second `eid serve` on the same SQLite file is refused while the first runs
/// (docs/adr/0027).
#[test]
fn serve_stops_on_sigterm_and_sqlite_has_one_server() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("b.db").display());
    let (mut server, _url) = serve(&db);
    let second = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(["serve", "--dev", "--addr", "127.0.0.1:0", "--db", &db])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!second.status.success());
    // Refused before it announces an address a script would wait for.
    assert!(
        second.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("another process serves this SQLite"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

/// `eid serve --log-format json --metrics-addr`: an activation and a sync by the wallet leave
/// JSON lines with request ids and without the citizen's data; the metrics address counts them
/// and the API's address has no /metrics (docs/adr/0030).
#[test]
fn serve_logs_json_and_serves_metrics_on_its_own_address() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let log_path = tmp.path().join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(["serve", "--dev", "--addr", "127.0.0.1:0", "--db", &db])
        .args(["--log-format", "json", "--metrics-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut metrics = None;
    let url = loop {
        let line = lines
            .next()
            .expect("eid serve printed its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("metrics on http://") {
            metrics = Some(rest.trim_end_matches("/metrics").to_owned());
        }
        if let Some(rest) = line.strip_prefix("listening on ") {
            break rest.trim().to_owned();
        }
    };
    let server = Server(child);
    let get = |addr: &str, path: &str| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let person = citizen(5);
    let dir = tmp.path().join("wallet");
    assert_ok(&activate(&dir, &url, "246813", &person));
    assert_ok(&wallet(&dir, &url, "246813", &["sync", "--json"]));

    let api = url.trim_start_matches("http://");
    assert!(get(api, "/metrics").starts_with("HTTP/1.1 404"));
    let scraped = get(metrics.as_deref().expect("a metrics line"), "/metrics");
    assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
    assert!(scraped.contains("text/plain; version=0.0.4"));
    let completed = scraped
        .lines()
        .find(|l| {
            l.starts_with("eid_http_requests_total{")
                && l.contains("route=\"/v1/activation/complete\"")
                && l.contains("status=\"2xx\"")
        })
        .expect("activation completions counted");
    assert!(completed.ends_with(" 1"), "{completed}");
    drop(server);

    let log = std::fs::read_to_string(&log_path).unwrap();
    let mut requests = 0;
    for line in log.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v["fields"]["message"] == "request" {
            requests += 1;
            let id = v["fields"]["request_id"].as_str().expect("a request id");
            assert_eq!(v["span"]["request_id"], id, "{line}");
        }
    }
    assert!(requests >= 4, "{requests} request lines");
    let (id, phone) = &person;
    for secret in [id.as_str(), phone.as_str(), &phone[1..], "246813"] {
        assert!(!log.contains(secret), "the log holds {secret}");
    }
}

#[test]
fn mdoc_list_and_export() {
    use eid_core::mdoc::{
        DOCTYPES, IssuerSigned, MDL_DOCTYPE, PHOTO_ID_DOCTYPE, check_issuer_signed,
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve(&db);
    let dir = tmp.path().join("wallet");
    // The fixture mdocs' citizen, so the airport answers below compare like for like.
    assert_ok(&activate(&dir, &url, "112233", &citizen(0)));
    // Activation's first sync had the passcode: a batch of each docType held.
    let out = wallet(&dir, &url, "112233", &["mdoc", "list", "--json"]);
    assert_ok(&out);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = list.as_array().unwrap();
    let doctypes: Vec<&str> = rows
        .iter()
        .map(|r| r["doctype"].as_str().unwrap())
        .collect();
    assert_eq!(doctypes, DOCTYPES);
    assert!(rows.iter().all(|r| r["unused"] == 8), "{list}");
    assert!(
        rows.iter()
            .all(|r| r["valid_until"].as_u64() > r["valid_from"].as_u64())
    );

    let file = tmp.path().join("mdl.cbor");
    let f = file.to_str().unwrap();
    let out = wallet(
        &dir,
        &url,
        "112233",
        &["mdoc", "export", "--doctype", MDL_DOCTYPE, "--out", f],
    );
    assert_ok(&out);
    // What an outside tool does: decode, check against the IACA the backend publishes.
    let api = eid_core::client::BackendClient::new(&url, eid_core::client::RetryPolicy::default())
        .unwrap();
    let t = eid_core::runtime::block_on(api.trust_list())
        .unwrap()
        .unwrap();
    let mut iacas = eid_crypto::trust::TrustStore::new();
    iacas.add_der(&t.iaca[0].0).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let signed = IssuerSigned::parse(&bytes).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    check_issuer_signed(&signed, MDL_DOCTYPE, &iacas, now).unwrap();
    let mut tampered = bytes;
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let refused = IssuerSigned::parse(&tampered)
        .map_err(|e| e.to_string())
        .and_then(|s| check_issuer_signed(&s, MDL_DOCTYPE, &iacas, now).map_err(|e| e.to_string()));
    assert!(refused.is_err());
    // The exported one counts as used.
    let out = wallet(&dir, &url, "112233", &["mdoc", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[1]["unused"], 7);
    // An unknown docType: a clear refusal.
    let out = wallet(
        &dir,
        &url,
        "112233",
        &["mdoc", "export", "--doctype", "org.example.1", "--out", f],
    );
    assert_fails_with(&out, "no unused");
    // The development database's mdoc PKI: the fixtures' keys, listed apart from the issuers'.
    let out = eid(&["keys", "--db", &db, "list", "--mdoc", "--json"]);
    assert_ok(&out);
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    let purposes: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(purposes, ["mdoc:document_signer", "mdoc:iaca"]);
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| k["origin"] == "fixture")
    );

    // What an airport answer from an MSO the backend issued costs, part by part (the README's
    // second breakdown): the parts add up, the MSO digests every issued element and carries
    // the status list reference.
    let photo = tmp.path().join("photoid.cbor");
    let out = wallet(
        &dir,
        &url,
        "112233",
        &[
            "mdoc",
            "export",
            "--doctype",
            PHOTO_ID_DOCTYPE,
            "--out",
            photo.to_str().unwrap(),
        ],
    );
    assert_ok(&out);
    let issued = IssuerSigned::parse(&std::fs::read(&photo).unwrap()).unwrap();
    let elements: usize = issued.namespaces.iter().map(|(_, items)| items.len()).sum();
    let out = eid(&[
        "mdoc",
        "sizes",
        "--breakdown",
        "--json",
        "--issuer-signed",
        photo.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let parts: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let bytes = |p: &Value| p["bytes"].as_u64().unwrap();
    let top: u64 = parts.iter().filter(|p| p["depth"] == 1).map(bytes).sum();
    assert_eq!(top, bytes(&parts[0]));
    let names: Vec<&str> = parts.iter().map(|p| p["part"].as_str().unwrap()).collect();
    assert!(
        names.contains(&format!("valueDigests ({elements} digests)").as_str()),
        "{names:?}"
    );
    assert!(names.contains(&"status"), "{names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("item ")).count(), 5);
    // The fixture mdoc is issued the same way (eid_fixtures::mdoc): the same citizen's answer
    // differs only in the status reference (this backend's URL and a random index against the
    // fixture's production-shaped URI and fixed index) and the document signer certificate
    // (same names and profile, another validity and serial, a signature of 70-72 bytes), and
    // the parts holding them; every other part is byte for byte the same size.
    let fixture: Vec<Value> =
        serde_json::from_slice(&eid(&["mdoc", "sizes", "--breakdown", "--json"]).stdout).unwrap();
    let sized = |ps: &[Value]| -> Vec<(String, u64)> {
        ps.iter()
            .map(|p| (p["part"].as_str().unwrap().to_owned(), bytes(p)))
            .collect()
    };
    let (ours, theirs) = (sized(&parts), sized(&fixture));
    assert_eq!(
        ours.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        theirs.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    let holders = [
        "DeviceResponse",
        "issuerAuth (COSE_Sign1)",
        "unprotected header (x5chain)",
        "document signer certificate (DER)",
        "payload (MobileSecurityObjectBytes)",
        "MSO",
        "status",
    ];
    for ((name, a), (_, b)) in ours.iter().zip(&theirs) {
        if !holders.contains(&name.trim()) {
            assert_eq!(a, b, "{name}: backend {a} B, fixture {b} B");
        }
    }
    let (a, b) = (bytes(&parts[0]), bytes(&fixture[0]));
    assert!(a.abs_diff(b) <= 8, "backend {a} B, fixture {b} B");
}

/// A certificate as PEM (RFC 7468), written to `path`.
fn write_certificate_pem(path: &Path, der: &[u8]) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let b64 = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(
        path,
        format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n"),
    )
    .unwrap();
}

/// The backend's IACA (from its trust list) as a PEM file for `eid mdoc read --trust`.
fn iaca_pem(url: &str, path: &Path) {
    let api = eid_core::client::BackendClient::new(url, eid_core::client::RetryPolicy::default())
        .unwrap();
    let t = eid_core::runtime::block_on(api.trust_list())
        .unwrap()
        .unwrap();
    write_certificate_pem(path, &t.iaca[0].0);
}

/// One `eid wallet mdoc present --tcp` (with `present`) answered by one `eid mdoc read` (with
/// `read` after the engagement and address): the reader's output and what the holder showed
/// on standard error. The holder must end by itself, successfully.
fn present_to_reader(dir: &Path, present: &[&str], read: &[&str]) -> (Output, String) {
    let base = [
        "wallet",
        "--data-dir",
        dir.to_str().unwrap(),
        "--passcode",
        "112233",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(base)
        .args(["mdoc", "present", "--tcp", "127.0.0.1:0"])
        .args(present)
        .env_remove("EID_PASSCODE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut uri = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut uri)
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "holder ended early");
        if let Some(a) = line.trim().strip_prefix("listening on ") {
            break a.to_owned();
        }
    };
    let read = eid(&[
        &[
            "mdoc",
            "read",
            "--dev",
            "--engagement",
            uri.trim(),
            "--tcp",
            &addr,
        ][..],
        read,
    ]
    .concat());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!(
                "holder still waiting; reader said: {}",
                String::from_utf8_lossy(&read.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success());
    let mut shown = String::new();
    std::io::Read::read_to_string(&mut err, &mut shown).unwrap();
    (read, shown)
}

/// A spent batch does not leave the citizen stuck offline: with every PhotoID MSO used (here by
/// exports), `eid wallet mdoc present` shows the one used last again, says so, and logs it, as
/// QR credentials do (docs/adr/0013). Before, the holder said "(not held)" and answered nothing.
#[test]
fn a_spent_mdoc_batch_is_shown_again_and_said_so() {
    use eid_core::mdoc::PHOTO_ID_DOCTYPE;
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve(&db);
    let dir = tmp.path().join("wallet");
    assert_ok(&activate(&dir, &url, "112233", &citizen(3)));
    let pem = tmp.path().join("iaca.pem");
    iaca_pem(&url, &pem);
    let mut exported = 0;
    loop {
        let out_file = tmp.path().join(format!("mso-{exported}.cbor"));
        let args = [
            "mdoc",
            "export",
            "--doctype",
            PHOTO_ID_DOCTYPE,
            "--out",
            out_file.to_str().unwrap(),
        ];
        let out = wallet(&dir, &url, "112233", &args);
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("no unused"), "{err}");
            break;
        }
        exported += 1;
        assert!(exported <= 16, "the batch never ends");
    }
    assert_eq!(exported, eid_core::wallet::MDOC_BATCH);
    let read_args = [
        "--elements",
        "family_name,age_over_18",
        "--trust",
        pem.to_str().unwrap(),
        "--json",
    ];
    let (read, shown) = present_to_reader(&dir, &[], &read_args);
    assert_ok(&read);
    let v: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["elements"]["age_over_18"], true, "{v}");
    assert!(!shown.contains("(not held)"), "{shown}");
    // Told before consenting, on each element of the document, and again after.
    assert!(
        shown.contains(
            "org.iso.23220.1/family_name (shown before: the two presentations can be linked)"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "note: no unused {PHOTO_ID_DOCTYPE} MSO was left, one already shown was shown again"
        )),
        "{shown}"
    );
    let out = wallet(&dir, &url, "112233", &["log", "--json"]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("shown again (no unused MSO left): org.iso.23220.photoid.1"),
        "{log}"
    );
}

/// `eid wallet mdoc present` answers `eid mdoc read` (two processes, the TCP stand-in for BLE)
/// with an MSO the backend issued: the reader trusts only the backend's IACA; the presentation
/// takes one MSO and lands in the wallet's log; a decline discloses nothing and is logged too.
#[test]
fn mdoc_present_from_the_wallet_to_a_reader() {
    use eid_core::mdoc::PHOTO_ID_DOCTYPE;
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve(&db);
    let dir = tmp.path().join("wallet");
    assert_ok(&activate(&dir, &url, "112233", &citizen(2)));
    let pem = tmp.path().join("iaca.pem");
    iaca_pem(&url, &pem);
    let read_args = [
        "--elements",
        "family_name,birth_date,age_over_18",
        "--trust",
        pem.to_str().unwrap(),
        "--json",
    ];
    let present = |extra: &[&str]| present_to_reader(&dir, extra, &read_args);

    let (read, shown) = present(&[]);
    assert_ok(&read);
    let v: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["doctype"], PHOTO_ID_DOCTYPE);
    assert_eq!(v["elements"].as_object().unwrap().len(), 3, "{v}");
    assert_eq!(v["elements"]["age_over_18"], true);
    assert!(shown.contains("org.iso.23220.1/family_name"), "{shown}");
    // `--dev`: the backend's reader CA is the fixture one the default reader signs under.
    assert!(shown.contains("(reader authenticated)"), "{shown}");
    let out = wallet(&dir, &url, "112233", &["mdoc", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let photo = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["doctype"] == PHOTO_ID_DOCTYPE)
        .unwrap();
    assert_eq!(photo["unused"], 7, "{list}");
    assert_eq!(v["device_mac"], false, "signed by default: {v}");

    // A device MAC (the CLI wallet's keys are software-held): checked and valid.
    let (read, _) = present(&["--device-mac"]);
    assert_ok(&read);
    let v: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["device_mac"], true, "{v}");
    assert_eq!(v["elements"]["age_over_18"], true);

    let (read, _) = present(&["--decline"]);
    assert_eq!(read.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["elements"], Value::Object(Default::default()));

    let out = wallet(&dir, &url, "112233", &["log", "--json"]);
    assert_ok(&out);
    let log = String::from_utf8_lossy(&out.stdout);
    assert_eq!(log.matches("ISO 18013-5").count(), 3, "{log}");
    assert!(log.contains("org.iso.23220.photoid.1/org.iso.23220.1/birth_date"));
    assert!(!log.contains(&citizen(2).0), "no ID number in the log");

    // The DTC: the chip's SOD and data group as the card holds them, checked by ICAO passive
    // authentication against the CSCA a border desk trusts (or, without one, all but the chain).
    let csca = tmp.path().join("csca.pem");
    std::fs::write(&csca, eid(&["fixtures", "csca"]).stdout).unwrap();
    let dtc = |csca: &[&str]| {
        let args = [
            &[
                "--elements",
                "org.iso.23220.dtc.1/sod,org.iso.23220.dtc.1/dg1",
                "--trust",
                pem.to_str().unwrap(),
                "--json",
            ][..],
            csca,
        ]
        .concat();
        let (read, _) = present_to_reader(&dir, &[], &args);
        assert_ok(&read);
        serde_json::from_slice::<Value>(&read.stdout).unwrap()
    };
    let v = dtc(&["--csca", csca.to_str().unwrap()]);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["dtc_passive_authentication"]["status"], "valid", "{v}");
    assert!(v["elements"]["org.iso.23220.dtc.1/sod"].is_string(), "{v}");
    let v = dtc(&[]);
    assert_eq!(
        v["dtc_passive_authentication"]["status"], "not_checked",
        "{v}"
    );
    // A desk given the backend instead of files trusts the IACAs and CSCAs of its trust list.
    let args = [
        "--elements",
        "family_name,org.iso.23220.dtc.1/sod,org.iso.23220.dtc.1/dg1",
        "--backend",
        &url,
        "--json",
    ];
    let (read, _) = present_to_reader(&dir, &[], &args);
    assert_ok(&read);
    let v: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["dtc_passive_authentication"]["status"], "valid", "{v}");

    // The desk checks the status list each MSO names (fetched from the backend above, or a
    // copy saved earlier for a desk without network).
    let saved = tmp.path().join("status-list.cwt");
    let api = eid_core::client::BackendClient::new(&url, eid_core::client::RetryPolicy::default())
        .unwrap();
    std::fs::write(
        &saved,
        eid_core::runtime::block_on(api.status_list_cwt())
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    // The citizen activates another phone: this wallet's MSOs are revoked. Before its next
    // sync it still answers, and the desk says not valid, with the reason and no elements.
    assert_ok(&activate(
        &tmp.path().join("wallet-2"),
        &url,
        "445566",
        &citizen(2),
    ));
    let (read, _) = present(&[]);
    assert_eq!(read.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["reasons"], serde_json::json!(["MSO revoked"]), "{v}");
    assert_eq!(v["elements"], Value::Object(Default::default()));
    // The list saved before the revocation still says valid: an offline desk trusts its copy.
    let offline = [&read_args[..], &["--status-list", saved.to_str().unwrap()]].concat();
    let (read, _) = present_to_reader(&dir, &[], &offline);
    assert_ok(&read);
    let v: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    // A desk that keeps what it fetches (`--cache`) says revoked and keeps the trust list and
    // the status list; with the backend gone, it still knows, from its copies.
    let kept = tmp.path().join("desk-kept");
    let kept_read = || {
        let args = [
            "--elements",
            "family_name",
            "--backend",
            &url,
            "--cache",
            kept.to_str().unwrap(),
            "--json",
        ];
        let (read, _) = present_to_reader(&dir, &[], &args);
        assert_eq!(read.status.code(), Some(1));
        let v: Value = serde_json::from_slice(&read.stdout).unwrap();
        assert_eq!(v["reasons"], serde_json::json!(["MSO revoked"]), "{v}");
        String::from_utf8(read.stderr).unwrap()
    };
    let online = kept_read();
    assert!(!online.contains("this desk kept"), "{online}");
    drop(_server);
    let offline = kept_read();
    assert!(
        offline.contains("the trust list this desk kept, fetched"),
        "{offline}"
    );
    assert!(
        offline.contains("the status list did not come"),
        "{offline}"
    );
    // No list to be had (the backend is gone, nothing kept): the status is unknown, so not
    // valid.
    let (read, _) = present(&[]);
    assert_eq!(read.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(
        v["reasons"],
        serde_json::json!(["status list unavailable or invalid"]),
        "{v}"
    );
}

/// Reader authentication end to end (ISO/IEC 18013-5 §9.1.4, docs/adr/0040): a desk gets its
/// reader certificate from the backend's reader CA (`eid mdoc reader-cert`, key made locally,
/// mode 0600); the wallet, which synced the reader CA with the trust list, shows that reader
/// as authenticated with its name. A reader whose certificate another CA made is shown as
/// unauthenticated, and with `--require-reader-auth` refused: nothing disclosed, logged.
#[test]
fn mdoc_reader_authenticated_by_the_backend_reader_ca() {
    use p256::pkcs8::EncodePrivateKey;
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve_with(&db, &["--admin-token", "reader-admin"]);
    let dir = tmp.path().join("wallet");
    assert_ok(&activate(&dir, &url, "112233", &citizen(4)));
    let pem = tmp.path().join("iaca.pem");
    iaca_pem(&url, &pem);

    let key = tmp.path().join("desk.key");
    let cert = tmp.path().join("desk.pem");
    let reader_cert = |token: &str, key: &Path| {
        eid(&[
            "mdoc",
            "reader-cert",
            "--backend",
            &url,
            "--admin-token",
            token,
            "--name",
            "Quay an ninh T1",
            "--key-out",
            key.to_str().unwrap(),
            "--cert-out",
            cert.to_str().unwrap(),
        ])
    };
    // A wrong admin token: refused, and no key is left behind.
    let other_key = tmp.path().join("other.key");
    assert!(!reader_cert("wrong", &other_key).status.success());
    assert!(!other_key.exists());
    assert_ok(&reader_cert("reader-admin", &key));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    // An existing key file is never overwritten.
    assert!(!reader_cert("reader-admin", &key).status.success());

    // A reader certificate made by a CA the backend does not publish (the fixtures' rogue reader).
    let f = eid_fixtures::mdoc::MdocFixtures::new().unwrap();
    let rogue_key = tmp.path().join("rogue.key");
    let rogue_cert = tmp.path().join("rogue.pem");
    let secret = p256::SecretKey::from(f.rogue_reader.signing_key());
    let doc = secret.to_pkcs8_der().unwrap();
    std::fs::write(
        &rogue_key,
        p256::pkcs8::der::pem::encode_string(
            "PRIVATE KEY",
            p256::pkcs8::der::pem::LineEnding::LF,
            doc.as_bytes(),
        )
        .unwrap(),
    )
    .unwrap();
    write_certificate_pem(&rogue_cert, &f.rogue_reader.certificate);

    let read = |key: &Path, cert: &Path| {
        vec![
            "--elements".to_owned(),
            "family_name,age_over_18".to_owned(),
            "--trust".to_owned(),
            pem.to_str().unwrap().to_owned(),
            "--reader-key".to_owned(),
            key.to_str().unwrap().to_owned(),
            "--reader-cert".to_owned(),
            cert.to_str().unwrap().to_owned(),
            "--json".to_owned(),
        ]
    };
    let desk = read(&key, &cert);
    let desk: Vec<&str> = desk.iter().map(String::as_str).collect();
    let rogue = read(&rogue_key, &rogue_cert);
    let rogue: Vec<&str> = rogue.iter().map(String::as_str).collect();

    // The backend's reader: authenticated, its name shown, and accepted when required.
    let (out, shown) = present_to_reader(&dir, &["--require-reader-auth"], &desk);
    assert_ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["reader_authenticated"], true, "{v}");
    assert!(
        shown.contains("request from CN=Quay an ninh T1,C=VN (reader authenticated)"),
        "{shown}"
    );
    assert!(shown.contains("org.iso.23220.1/family_name"), "{shown}");

    // The rogue reader: shown as unauthenticated and why; the citizen may still answer.
    let (out, shown) = present_to_reader(&dir, &[], &rogue);
    assert_ok(&out);
    assert!(
        shown.contains(
            "request from an unauthenticated reader (reader certificate not issued by a trusted \
             reader CA)"
        ),
        "{shown}"
    );
    assert!(!shown.contains("(reader authenticated)"), "{shown}");

    // Required: the rogue reader is refused, nothing shown or disclosed.
    let (out, shown) = present_to_reader(&dir, &["--require-reader-auth"], &rogue);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["elements"], Value::Object(Default::default()), "{v}");
    assert!(
        shown.contains("refused: the reader did not authenticate"),
        "{shown}"
    );
    assert!(!shown.contains("family_name"), "{shown}");

    let out = wallet(&dir, &url, "112233", &["log", "--json"]);
    assert_ok(&out);
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mdoc: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["profile"] == "mdoc")
        .collect();
    assert_eq!(mdoc.len(), 3, "{log}");
    assert!(
        mdoc.iter()
            .any(|t| t["counterparty"] == "CN=Quay an ninh T1,C=VN" && t["outcome"] == "success"),
        "{log}"
    );
    let refused: Vec<_> = mdoc.iter().filter(|t| t["outcome"] == "refused").collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert_eq!(refused[0]["counterparty"], "unauthenticated reader");
    assert_eq!(refused[0]["fields"], Value::Array(Vec::new()), "{log}");

    // The admin revokes the desk's certificate (docs/adr/0053): after its next sync the wallet
    // holds the reader CA's CRL listing it, shows the desk as unauthenticated and why, and
    // refuses it when reader authentication is required.
    let revoke = |token: &str| {
        eid(&[
            "mdoc",
            "reader-revoke",
            "--backend",
            &url,
            "--admin-token",
            token,
            "--cert",
            cert.to_str().unwrap(),
        ])
    };
    assert!(!revoke("wrong").status.success());
    assert_ok(&revoke("reader-admin"));
    // Not yet synced: the wallet still holds the CRL without it.
    let (out, shown) = present_to_reader(&dir, &["--require-reader-auth"], &desk);
    assert_ok(&out);
    assert!(shown.contains("(reader authenticated)"), "{shown}");
    assert_ok(&wallet(&dir, &url, "112233", &["sync"]));
    let (out, shown) = present_to_reader(&dir, &[], &desk);
    assert_ok(&out);
    assert!(
        shown.contains(
            "request from an unauthenticated reader (reader certificate revoked by its reader CA)"
        ),
        "{shown}"
    );
    let (out, shown) = present_to_reader(&dir, &["--require-reader-auth"], &desk);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["elements"], Value::Object(Default::default()), "{v}");
    assert!(!shown.contains("family_name"), "{shown}");
}

/// `eid wallet sdjwt list/export` against `eid serve --dev` (docs/adr/0035): activation's sync
/// brings 8 PID SD-JWT VCs; one exported verifies with eid_core::sdjwt against the trust list
/// and is valid in the JWT status list; a lock shows the stock suspended, a new activation on
/// another phone invalid.
#[test]
fn sdjwt_list_export_and_status() {
    use eid_core::credential::TrustList;
    use eid_core::sdjwt::{self, PID_VCT, SdJwt, StatusReference};
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve(&db);
    let dir = tmp.path().join("wallet");
    let person = citizen(3);
    assert_ok(&activate(&dir, &url, "112233", &person));
    let list = |dir: &Path| -> Value {
        let out = wallet(dir, &url, "112233", &["sdjwt", "list", "--json"]);
        assert_ok(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let rows = list(&dir);
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["vct"], PID_VCT);
    assert_eq!(rows[0]["unused"], 8, "{rows}");
    assert_eq!(rows[0]["status"], "valid", "{rows}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(rows[0]["valid_until"].as_u64().unwrap() > now);

    let file = tmp.path().join("pid.sd-jwt");
    let f = file.to_str().unwrap();
    let out = wallet(
        &dir,
        &url,
        "112233",
        &["sdjwt", "export", "--vct", PID_VCT, "--out", f],
    );
    assert_ok(&out);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.ends_with('~'), "issued form, no KB-JWT");
    let sd = SdJwt::parse(&text).unwrap();
    assert!(sd.kb_jwt.is_none());
    assert_eq!(sd.disclosures.len(), 18);
    // What an outside verifier does: the trust list the backend publishes, the issuer's x5c.
    let api = eid_core::client::BackendClient::new(&url, eid_core::client::RetryPolicy::default())
        .unwrap();
    let t = eid_core::runtime::block_on(api.trust_list())
        .unwrap()
        .unwrap();
    let trust = TrustList::decode(&t.issuers.0).unwrap();
    let v = sdjwt::verify_pid(&text, &trust, now, None).unwrap();
    assert_eq!(
        v.claims["personal_administrative_number"],
        person.0.as_str()
    );
    assert_eq!(v.claims["vct"], PID_VCT);
    assert!(v.claims["cnf"]["jwk"].is_object());
    let mut tampered = text.clone().into_bytes();
    let at = text.find('.').unwrap() + 5;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(sdjwt::verify_pid(&tampered, &trust, now, None).is_err());
    // Its entry in the JWT Token Status List: valid.
    let status = StatusReference::from_claims(&v.claims).unwrap();
    assert!(status.uri.ends_with("/v1/status-list/jwt"));
    let jwt = eid_core::runtime::block_on(api.status_list_jwt())
        .unwrap()
        .unwrap();
    let statuses = sdjwt::verify_status_list_jwt(&jwt, &status.uri, &trust, now).unwrap();
    assert_eq!(statuses.get(status.idx), Some(0));
    // The exported one counts as used.
    assert_eq!(list(&dir)[0]["unused"], 7);
    // An unknown vct: a clear refusal.
    let out = wallet(
        &dir,
        &url,
        "112233",
        &["sdjwt", "export", "--vct", "urn:eudi:pid:1", "--out", f],
    );
    assert_fails_with(&out, "no unused");

    // Locked: the next sync (refused) still fetches the status list; the stock is suspended.
    assert_ok(&wallet(&dir, &url, "112233", &["lock-account"]));
    let _ = wallet(&dir, &url, "112233", &["sync"]);
    assert_eq!(list(&dir)[0]["status"], "suspended");
    assert_ok(&wallet(&dir, &url, "112233", &["unlock-account"]));
    assert_ok(&wallet(&dir, &url, "112233", &["sync"]));
    assert_eq!(list(&dir)[0]["status"], "valid");
    // Another phone activated: this one's SD-JWT VCs are revoked with its binding (the wallet
    // learns it at sync and no longer opens); the new phone holds a fresh, valid stock.
    let other = tmp.path().join("other");
    assert_ok(&activate(&other, &url, "112233", &person));
    let out = wallet(&dir, &url, "112233", &["sync"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("revoked"));
    let out = wallet(&dir, &url, "112233", &["sdjwt", "list", "--json"]);
    assert!(!out.status.success());
    let rows = list(&other);
    assert_eq!(
        (&rows[0]["unused"], &rows[0]["status"]),
        (&Value::from(8), &Value::from("valid"))
    );
    let jwt = eid_core::runtime::block_on(api.status_list_jwt())
        .unwrap()
        .unwrap();
    let statuses = sdjwt::verify_status_list_jwt(&jwt, &status.uri, &trust, now).unwrap();
    assert_eq!(statuses.get(status.idx), Some(sdjwt::INVALID));
}

/// A relying party's web server on loopback for `authorize`: serves request objects at
/// `/request/NAME` and keeps every body posted to `/response` (answering with a redirect).
#[derive(Default)]
struct RpState {
    objects: std::collections::HashMap<String, String>,
    responses: Vec<String>,
}

fn rp_server() -> (std::sync::Arc<std::sync::Mutex<RpState>>, String) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = std::sync::Arc::new(std::sync::Mutex::new(RpState::default()));
    let shared = state.clone();
    let done = format!("{base}/done");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let head_end = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(at + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < head_end + length {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
            let mut words = head.split_whitespace();
            let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            let (status, ctype, answer) = match (method, path) {
                ("GET", p) if p.starts_with("/request/") => {
                    match shared.lock().unwrap().objects.get(&p["/request/".len()..]) {
                        Some(jwt) => ("200 OK", "application/oauth-authz-req+jwt", jwt.clone()),
                        None => ("404 Not Found", "text/plain", String::new()),
                    }
                }
                ("GET", p) if p.starts_with("/redirect/") => {
                    let to = format!("/request/{}", &p["/redirect/".len()..]);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    continue;
                }
                ("POST", "/response") => {
                    shared.lock().unwrap().responses.push(body);
                    (
                        "200 OK",
                        "application/json",
                        serde_json::json!({ "redirect_uri": done }).to_string(),
                    )
                }
                _ => ("404 Not Found", "text/plain", String::new()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (state, base)
}

/// The SPKI PEM of an uncompressed P-256 point.
fn public_key_pem(point: &[u8]) -> String {
    use base64::Engine;
    let mut der = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    der.extend_from_slice(point);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let (a, b) = b64.split_at(64);
    format!("-----BEGIN PUBLIC KEY-----\n{a}\n{b}\n-----END PUBLIC KEY-----\n")
}

#[test]
fn authorize_answers_a_registered_bank_within_its_purpose_and_refuses_the_rest() {
    use eid_core::credential::TrustList;
    use eid_core::oid4vp::{
        self, DcqlQuery, Enc, MemoryNonceLedger, Oid4vpError, PendingRequest, RequestSpec,
        RequestUriMethod, ResponseMode, ResponsePolicy, RpSigner,
    };
    use eid_core::sdjwt::{self, PID_VCT, StatusList};
    use eid_fixtures::relying_parties::{BANK_DNS, CITY_DNS, RpPki};
    use serde_json::json;

    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve_with(&db, &["--admin-token", "authz-admin"]);
    let (rp, rp_base) = rp_server();
    let response_uri = format!("{rp_base}/response");
    let pki = RpPki::new().unwrap();
    // The bank registers with its own key; the hub's RP CA issues its access certificate.
    let key_pem = tmp.path().join("bank.pem");
    let point = eid_crypto::x509::p256_point(&pki.bank.certificate).unwrap();
    std::fs::write(&key_pem, public_key_pem(&point)).unwrap();
    let out = eid(&[
        "rp",
        "--backend",
        &url,
        "--admin-token",
        "authz-admin",
        "register",
        "--name",
        "Ngan hang Example",
        "--registration-number",
        "0101234567",
        "--dns",
        BANK_DNS,
        "--response-uri",
        &response_uri,
        "--purpose",
        "ekyc",
        "--purpose",
        "age_check",
        "--key-pem",
        key_pem.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let rec: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pem = rec["access_certificate_pem"].as_str().unwrap();
    let cert_der = {
        use base64::Engine;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    let client_id = format!("x509_san_dns:{BANK_DNS}");

    let dir = tmp.path().join("wallet");
    let person = citizen(2);
    assert_ok(&activate(&dir, &url, "112233", &person));
    assert_ok(&wallet(&dir, &url, "112233", &["sync"]));

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let enc_key = p256::SecretKey::from_slice(&[11u8; 32]).unwrap();
    let enc_point =
        p256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(&enc_key.public_key(), false);
    let query = |paths: &[&[&str]]| {
        let claims: Vec<_> = paths.iter().map(|p| json!({ "path": p })).collect();
        DcqlQuery::parse(&json!({"credentials": [{
            "id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]},
            "claims": claims
        }]}))
        .unwrap()
    };
    // The RP signs a request object, serves it under `name`, and gives the wallet's URI.
    let request = |name: &str,
                   signer: &RpSigner<'_>,
                   dcql: &DcqlQuery,
                   mode: ResponseMode|
     -> (String, PendingRequest) {
        let nonce = format!("nonce-{name}-0S6_WzA2Mj");
        let (jwt, pending) = oid4vp::request_object(
            signer,
            &RequestSpec {
                response_uri: &response_uri,
                response_mode: mode,
                nonce: &nonce,
                state: Some(name),
                dcql,
                encryption_key: Some(("rp-enc-1", enc_point.as_bytes())),
                enc_values: &[Enc::A128Gcm],
                wallet_nonce: None,
                issued_at: now,
                lifetime: 300,
            },
        )
        .unwrap();
        rp.lock().unwrap().objects.insert(name.to_owned(), jwt);
        let uri = oid4vp::authorization_uri(
            "openid4vp://",
            signer.client_id,
            &format!("{rp_base}/request/{name}"),
            RequestUriMethod::Get,
        );
        (uri, pending)
    };
    let bank_x5c = [cert_der];
    let bank = RpSigner {
        client_id: &client_id,
        key: pki.bank.signing_key(),
        x5c: &bank_x5c,
    };
    // What the RP trusts: the backend's issuers and its JWT status list.
    let api = eid_core::client::BackendClient::new(&url, eid_core::client::RetryPolicy::default())
        .unwrap();
    let t = eid_core::runtime::block_on(api.trust_list())
        .unwrap()
        .unwrap();
    let trust = TrustList::decode(&t.issuers.0).unwrap();
    let mut issuer_trust = eid_crypto::trust::TrustStore::new();
    for a in trust.anchors() {
        issuer_trust.add_der(a).unwrap();
    }
    let status_jwt = eid_core::runtime::block_on(api.status_list_jwt())
        .unwrap()
        .unwrap();
    let status_list = |uri: &str| -> Option<StatusList> {
        sdjwt::verify_status_list_jwt(&status_jwt, uri, &trust, now).ok()
    };
    let mut ledger = MemoryNonceLedger::default();
    let mut verify = |pending: &PendingRequest, body: &str| {
        oid4vp::verify_response(
            pending,
            body,
            &ResponsePolicy {
                issuer_trust: &issuer_trust,
                now,
                max_age: 300,
                status_list: &status_list,
                decryption_key: Some(&enc_key),
            },
            &mut ledger,
        )
    };
    let authorize = |uri: &str, extra: &[&str]| {
        wallet(
            &dir,
            &url,
            "112233",
            &[&["authorize", uri, "--json"], extra].concat(),
        )
    };

    // eKYC, encrypted answer: the RP gets exactly the asked claims.
    let (uri, pending) = request(
        "ekyc",
        &bank,
        &query(&[
            &["given_name"],
            &["family_name"],
            &["birthdate"],
            &["personal_administrative_number"],
        ]),
        ResponseMode::DirectPostJwt,
    );
    let out = authorize(&uri, &[]);
    assert_ok(&out);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["rp"]["legal_name"], "Ngan hang Example", "{shown}");
    assert_eq!(shown["rp"]["registration_number"], "0101234567");
    assert_eq!(shown["rp"]["client_id"], client_id.as_str());
    assert_eq!(shown["purpose"], "ekyc");
    assert_eq!(shown["sent"], true);
    assert_eq!(shown["redirect_uri"], format!("{rp_base}/done"));
    let paths: Vec<&str> = shown["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "given_name",
            "family_name",
            "birthdate",
            "personal_administrative_number"
        ]
    );
    assert_eq!(shown["claims"][0]["credential"], PID_VCT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Ngan hang Example") && stderr.contains("purpose: ekyc"),
        "{stderr}"
    );
    let body = rp.lock().unwrap().responses.pop().unwrap();
    assert!(
        body.starts_with("response="),
        "direct_post.jwt: only the JWE"
    );
    let got = verify(&pending, &body).unwrap();
    let claims = &got[0].claims;
    assert_eq!(claims["personal_administrative_number"], person.0.as_str());
    for hidden in [
        "address",
        "age_equal_or_over",
        "nationalities",
        "age_in_years",
    ] {
        assert!(!claims.contains_key(hidden), "{hidden} disclosed");
    }
    // Replayed to the RP: its ledger refuses the nonce again.
    assert_eq!(verify(&pending, &body).unwrap_err(), Oid4vpError::Replay);

    // Age check, plain direct_post: over 18 only.
    let (uri, pending) = request(
        "age",
        &bank,
        &query(&[&["age_equal_or_over", "18"]]),
        ResponseMode::DirectPost,
    );
    let out = authorize(&uri, &[]);
    assert_ok(&out);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["purpose"], "age_check", "{shown}");
    let body = rp.lock().unwrap().responses.pop().unwrap();
    let got = verify(&pending, &body).unwrap();
    let claims = &got[0].claims;
    assert!(claims["age_equal_or_over"]["18"].is_boolean());
    assert_eq!(claims["age_equal_or_over"].as_object().unwrap().len(), 1);
    assert!(!claims.contains_key("given_name") && !claims.contains_key("birthdate"));

    // Declined: access_denied, nothing disclosed.
    let (uri, pending) = request(
        "no",
        &bank,
        &query(&[&["given_name"]]),
        ResponseMode::DirectPost,
    );
    let out = authorize(&uri, &["--decline"]);
    assert_ok(&out);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["sent"], false);
    let body = rp.lock().unwrap().responses.pop().unwrap();
    assert!(
        body.contains("error=access_denied") && !body.contains("vp_token"),
        "{body}"
    );
    assert_eq!(verify(&pending, &body).unwrap_err(), Oid4vpError::Declined);

    // Refused with the reason, nothing sent: an RP not in the registry, a claim outside every
    // registered purpose, a certificate from a CA the hub does not run.
    let city_id = format!("x509_san_dns:{CITY_DNS}");
    let city_x5c = [pki.city.der.clone()];
    let city = RpSigner {
        client_id: &city_id,
        key: pki.city.signing_key(),
        x5c: &city_x5c,
    };
    let rogue_x5c = [pki.rogue_bank.der.clone()];
    let rogue = RpSigner {
        client_id: &client_id,
        key: pki.rogue_bank.signing_key(),
        x5c: &rogue_x5c,
    };
    // The fixtures' own certificate for the bank's name and key, from the same RP CA: it names
    // another organisation than the hub's registry (no registration number either).
    let fixture_x5c = [pki.bank.der.clone()];
    let unnamed = RpSigner {
        client_id: &client_id,
        key: pki.bank.signing_key(),
        x5c: &fixture_x5c,
    };
    for (name, signer, dcql, reason) in [
        ("city", &city, query(&[&["given_name"]]), "not registered"),
        (
            "unnamed",
            &unnamed,
            query(&[&["given_name"]]),
            "another organisation than the registry",
        ),
        (
            "scope",
            &bank,
            query(&[&["given_name"], &["phone_number"]]),
            "outside the relying party's registered scope",
        ),
        ("rogue", &rogue, query(&[&["given_name"]]), "not trusted"),
    ] {
        let (uri, _) = request(name, signer, &dcql, ResponseMode::DirectPost);
        let out = authorize(&uri, &[]);
        assert!(!out.status.success(), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{name}: {stderr}");
        assert!(
            rp.lock().unwrap().responses.is_empty(),
            "{name}: something was sent"
        );
    }

    // A request_uri that redirects (to a request the wallet would answer): not followed.
    let (uri, _) = request(
        "moved",
        &bank,
        &query(&[&["given_name"]]),
        ResponseMode::DirectPost,
    );
    let out = authorize(
        &uri.replace("%2Frequest%2Fmoved", "%2Fredirect%2Fmoved"),
        &[],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 302"), "{stderr}");
    assert!(
        rp.lock().unwrap().responses.is_empty(),
        "sent after a redirect"
    );

    // The log: every answer, decline and refusal, with the RP, purpose and claim paths, never
    // a value.
    let out = wallet(&dir, &url, "112233", &["log", "--json"]);
    assert_ok(&out);
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "presentation")
        .collect();
    assert_eq!(entries.len(), 8, "{log}");
    let counterparty = format!("Ngan hang Example ({client_id})");
    assert_eq!(entries[0]["counterparty"], counterparty.as_str());
    assert_eq!(entries[0]["profile"], "ekyc");
    assert_eq!(entries[0]["outcome"], "success");
    assert_eq!(entries[0]["fields"][3], "personal_administrative_number");
    assert_eq!(entries[1]["profile"], "age_check");
    assert_eq!(entries[1]["fields"], json!(["age_equal_or_over.18"]));
    assert_eq!(entries[2]["outcome"], "refused");
    assert_eq!(entries[2]["detail"], "declined by the citizen");
    assert_eq!(entries[3]["counterparty"], city_id.as_str());
    for e in &entries[3..] {
        assert_eq!(e["outcome"], "refused");
    }
    let text = log.to_string();
    assert!(!text.contains(&person.0), "no ID number in the log");
}

/// GET `url` (the test's own HTTP client).
fn http_get(url: &str) -> (u16, String) {
    use eid_core::platform::{HttpRequest, HttpTransport, Method};
    let r = eid_core::client::UreqTransport::new()
        .exchange(HttpRequest {
            method: Method::Get,
            url: url.to_owned(),
            headers: vec![],
            body: None,
            timeout: std::time::Duration::from_secs(10),
        })
        .unwrap();
    (r.status, String::from_utf8(r.body).unwrap())
}

/// The value of attribute `name` in an HTML text (`&amp;` and `&quot;` read back).
fn html_attribute(html: &str, name: &str) -> String {
    let start = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `eid rp serve` (with `extra` arguments) for a bank registered at the hub `url` for `ekyc`,
/// its keys and certificate under `tmp`: the running server and its base URL.
fn start_rp_serve(tmp: &Path, url: &str, extra: &[&str]) -> (Server, String) {
    use eid_fixtures::relying_parties::{BANK_DNS, RpPki};
    use p256::pkcs8::EncodePrivateKey;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let pki = RpPki::new().unwrap();
    let pub_pem = tmp.join("bank.pub.pem");
    let point = eid_crypto::x509::p256_point(&pki.bank.certificate).unwrap();
    std::fs::write(&pub_pem, public_key_pem(&point)).unwrap();
    let cert = tmp.join("bank.cert.pem");
    assert_ok(&eid(&[
        "rp",
        "--backend",
        url,
        "--admin-token",
        "authz-admin",
        "register",
        "--name",
        "Ngan hang Example",
        "--registration-number",
        "0101234567",
        "--dns",
        BANK_DNS,
        "--response-uri",
        &format!("{base}/response"),
        "--purpose",
        "ekyc",
        "--key-pem",
        pub_pem.to_str().unwrap(),
        "--out-cert",
        cert.to_str().unwrap(),
    ]));
    let key = tmp.join("bank.key.pem");
    let secret = p256::SecretKey::from_slice(&pki.bank.signing_key().to_bytes()).unwrap();
    let der = secret.to_pkcs8_der().unwrap();
    let b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(der.as_bytes())
    };
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    std::fs::write(
        &key,
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args([
            "rp",
            "--backend",
            url,
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .args([
            "--key",
            key.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let rp = Server(child);
    let announced = lines.next().unwrap().unwrap();
    assert_eq!(announced, format!("listening on {base}"));
    (rp, base)
}

#[test]
fn rp_serve_page_shows_the_claims_the_wallet_authorized() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve_with(&db, &["--admin-token", "authz-admin"]);
    let (_rp, base) = start_rp_serve(tmp.path(), &url, &[]);

    let dir = tmp.path().join("wallet");
    let person = citizen(1);
    assert_ok(&activate(&dir, &url, "112233", &person));
    // The bank's page: the QR as inline SVG, the URI in a data- attribute.
    let (status, html) = http_get(&format!("{base}/"));
    assert_eq!(status, 200);
    assert!(html.contains("<svg"), "{html}");
    let uri = html_attribute(&html, "data-openid4vp-uri");
    assert!(
        uri.starts_with("openid4vp://?client_id=x509_san_dns%3Abank.example.vn"),
        "{uri}"
    );
    let state = html_attribute(&html, "data-state");
    let (_, waiting) = http_get(&format!("{base}/result/{state}"));
    assert_eq!(
        serde_json::from_str::<Value>(&waiting).unwrap()["status"],
        "waiting"
    );
    let started = std::time::Instant::now();
    let out = wallet(&dir, &url, "112233", &["authorize", &uri, "--json"]);
    // The whole `eid wallet authorize` process: open and unlock the wallet (Argon2id), fetch and
    // check the request, present, encrypt, post, the RP's verification.
    eprintln!("authorize round trip: {:?}", started.elapsed());
    assert_ok(&out);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["sent"], true, "{shown}");
    assert_eq!(shown["redirect_uri"], format!("{base}/"));
    // What the page's polling shows: exactly the four claims, verified.
    let (_, result) = http_get(&format!("{base}/result/{state}"));
    let result: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(result["status"], "verified", "{result}");
    let claims = result["claims"].as_object().unwrap();
    assert_eq!(claims.len(), 4, "{result}");
    assert_eq!(claims["personal_administrative_number"], person.0.as_str());
    // The same request answered again: that session is no longer waiting, the RP refuses it.
    let out = wallet(&dir, &url, "112233", &["authorize", &uri, "--json"]);
    assert_fails_with(&out, "HTTP 400");
    // A new session, declined: the page shows the refusal, no claim.
    let (_, html) = http_get(&format!("{base}/"));
    let (uri, state) = (
        html_attribute(&html, "data-openid4vp-uri"),
        html_attribute(&html, "data-state"),
    );
    assert_ok(&wallet(
        &dir,
        &url,
        "112233",
        &["authorize", &uri, "--decline"],
    ));
    let (_, result) = http_get(&format!("{base}/result/{state}"));
    let result: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(result["status"], "refused", "{result}");
    assert!(result.get("claims").is_none());
}

#[test]
fn rp_serve_asks_for_mdoc_elements_and_the_wallet_discloses_exactly_those() {
    // One hub per response mode: a DNS name registers once.
    for mode in ["direct_post", "direct_post.jwt"] {
        let tmp = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
        let (_server, url) = serve_with(&db, &["--admin-token", "authz-admin"]);
        let (_rp, base) = start_rp_serve(
            tmp.path(),
            &url,
            &[
                "--format",
                "mso_mdoc",
                "--doctype",
                "org.iso.23220.photoid.1",
                "--claims",
                "org.iso.23220.1/family_name,org.iso.23220.1/document_number",
                "--intent-to-retain",
                "false",
                "--response-mode",
                mode,
            ],
        );
        let dir = tmp.path().join("wallet");
        let person = citizen(1);
        assert_ok(&activate(&dir, &url, "112233", &person));
        let (_, html) = http_get(&format!("{base}/"));
        assert!(
            html.contains("share: family_name, document_number"),
            "{html}"
        );
        let (uri, state) = (
            html_attribute(&html, "data-openid4vp-uri"),
            html_attribute(&html, "data-state"),
        );
        let started = std::time::Instant::now();
        let out = wallet(&dir, &url, "112233", &["authorize", &uri]);
        eprintln!(
            "mdoc authorize round trip ({mode}): {:?}",
            started.elapsed()
        );
        assert_ok(&out);
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(
            printed
                .contains("disclosed org.iso.23220.1/family_name  (from org.iso.23220.photoid.1)")
                && printed.contains("disclosed org.iso.23220.1/document_number"),
            "{printed}"
        );
        let (_, result) = http_get(&format!("{base}/result/{state}"));
        let result: Value = serde_json::from_str(&result).unwrap();
        assert_eq!(result["status"], "verified", "{mode}: {result}");
        let claims = result["claims"].as_object().unwrap();
        assert_eq!(claims.len(), 2, "{result}");
        assert_eq!(claims["org.iso.23220.1/document_number"], person.0.as_str());
    }
}

/// One HTTP exchange (the test's own client; redirects are answers, not followed): status,
/// headers, body.
fn http(
    method: eid_core::platform::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (u16, Vec<(String, String)>, String) {
    use eid_core::platform::{HttpRequest, HttpTransport};
    let r = eid_core::client::UreqTransport::new()
        .exchange(HttpRequest {
            method,
            url: url.to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.map(<[u8]>::to_vec),
            timeout: std::time::Duration::from_secs(10),
        })
        .unwrap();
    (r.status, r.headers, String::from_utf8(r.body).unwrap())
}

/// `DELETE` (the platform transport has GET and POST only): plain HTTP/1.1 to the loopback
/// backend; the status code.
fn http_delete(url: &str, authorization: &str) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "DELETE {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {authorization}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn header_of(headers: &[(String, String)], name: &str) -> String {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The query parameters of a URL.
fn query_of(url: &str) -> std::collections::BTreeMap<String, String> {
    eid_core::oid4vp::form_decode(url.split_once('?').map_or("", |(_, q)| q)).unwrap()
}

/// An OIDC client of the hub: a relying party registered (admin API) for `purposes`, made a
/// client with `redirect`; (client_id, client_secret).
fn oidc_client(url: &str, dns: &str, purposes: &[&str], redirect: &str) -> (String, String) {
    use eid_core::platform::Method;
    let key = p256::SecretKey::from_slice(&[dns.len() as u8 + 1; 32]).unwrap();
    let point = p256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(&key.public_key(), false);
    let body = serde_json::json!({
        "legal_name": format!("RP {dns}"),
        "registration_number": "0100000001",
        "dns_name": dns,
        "response_uris": [redirect],
        "purposes": purposes.iter().map(|p| serde_json::json!({"name": p})).collect::<Vec<_>>(),
        "public_key_pem": public_key_pem(point.as_bytes()),
    });
    let admin = [
        ("Authorization", "Bearer oidc-admin"),
        ("Content-Type", "application/json"),
    ];
    let (status, _, text) = http(
        Method::Post,
        &format!("{url}/v1/admin/relying-parties"),
        &admin,
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(status, 200, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // `eid rp oidc-client`: the client id and the secret, shown once.
    let out = eid(&[
        "rp",
        "--backend",
        url,
        "--admin-token",
        "oidc-admin",
        "oidc-client",
        "--id",
        &id,
        "--redirect-uri",
        redirect,
    ]);
    assert_ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["client_id"], id.as_str());
    (id, v["client_secret"].as_str().unwrap().to_owned())
}

/// PKCE S256 of `verifier` (RFC 7636 §4.2), computed here independently of the backend.
fn s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

#[test]
fn oidc_login_with_the_wallet_pairwise_subjects_and_refusals() {
    use eid_core::platform::Method;
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    // Port 0: the development public URL names the port the backend got.
    let (_server, url) = serve_with(&db, &["--admin-token", "oidc-admin"]);
    // Discovery: the issuer is the public URL, PKCE S256 and pairwise subjects only.
    let (status, _, text) = http(
        Method::Get,
        &format!("{url}/.well-known/openid-configuration"),
        &[],
        None,
    );
    assert_eq!(status, 200, "{text}");
    let meta: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(meta["issuer"], url.as_str());
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        meta["subject_types_supported"],
        serde_json::json!(["pairwise"])
    );
    let (_, _, jwks) = http(Method::Get, meta["jwks_uri"].as_str().unwrap(), &[], None);
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    let jwk = &jwks["keys"][0];
    let point = eid_core::sdjwt::point_from_jwk(jwk).unwrap();

    let bank_cb = "http://127.0.0.1:9/bank/cb";
    let city_cb = "http://localhost:9/city/cb";
    let (bank, bank_secret) = oidc_client(
        &url,
        "bank.example.vn",
        &["login", "ekyc", "age_check"],
        bank_cb,
    );
    let (city, city_secret) = oidc_client(&url, "city.example.vn", &["login"], city_cb);
    let dir = tmp.path().join("wallet");
    let person = citizen(1);
    assert_ok(&activate(&dir, &url, "112233", &person));
    let authorize_url = |client: &str, redirect: &str, scope: &str, challenge: &str| {
        format!(
            "{}?{}",
            meta["authorization_endpoint"].as_str().unwrap(),
            eid_core::oid4vp::form_encode(&[
                ("response_type", "code"),
                ("client_id", client),
                ("redirect_uri", redirect),
                ("scope", scope),
                ("state", "st-1"),
                ("nonce", "n-0S6_WzA2Mj"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ])
        )
    };
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-the-test-verifier";
    // One whole login: authorize (JSON), the wallet answers, the browser's poll gets the code.
    let login = |client: &str, redirect: &str, scope: &str| -> String {
        let (status, _, text) = http(
            Method::Get,
            &authorize_url(client, redirect, scope, &s256(verifier)),
            &[("Accept", "application/json")],
            None,
        );
        assert_eq!(status, 200, "{text}");
        let started: Value = serde_json::from_str(&text).unwrap();
        let uri = started["openid4vp_uri"].as_str().unwrap();
        assert!(
            uri.starts_with("openid4vp://?client_id=x509_san_dns%3A"),
            "{uri}"
        );
        let poll = started["poll_uri"].as_str().unwrap();
        let (_, _, waiting) = http(Method::Get, poll, &[], None);
        assert_eq!(
            serde_json::from_str::<Value>(&waiting).unwrap()["status"],
            "waiting"
        );
        let started_at = std::time::Instant::now();
        let out = wallet(&dir, &url, "112233", &["authorize", uri, "--json"]);
        assert_ok(&out);
        // The citizen is shown the relying party behind the hub, its purpose and what it gets,
        // as the hub's signed request names them and the synced registry confirms them.
        let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
        let dns = if client == bank.as_str() {
            "bank.example.vn"
        } else {
            "city.example.vn"
        };
        let behind = &shown["on_behalf_of"];
        assert_eq!(
            behind["client_id"],
            format!("x509_san_dns:{dns}"),
            "{shown}"
        );
        assert_eq!(behind["legal_name"], format!("RP {dns}"));
        assert_eq!(behind["registration_number"], "0100000001");
        assert_eq!(
            shown["shown_as"],
            format!("RP {dns} (via Cong dang nhap e-ID)")
        );
        assert_eq!(shown["rp"]["legal_name"], "Cong dang nhap e-ID");
        let (purpose, passed): (&str, &[&str]) = match scope {
            "openid" => ("login", &[]),
            "openid ekyc" => (
                "ekyc",
                &[
                    "family_name",
                    "given_name",
                    "birthdate",
                    "personal_administrative_number",
                ],
            ),
            _ => ("age_check", &["age_equal_or_over.18"]),
        };
        assert_eq!(shown["purpose"], purpose);
        assert_eq!(behind["purpose"], purpose);
        assert_eq!(behind["claims"], serde_json::json!(passed));
        let (_, _, done) = http(Method::Get, poll, &[], None);
        // The wallet process (unlock, fetch and check the hub's request, present, post) and the
        // hub's verification, until the page's poll has the code.
        eprintln!("oidc: wallet answer to code: {:?}", started_at.elapsed());
        let done: Value = serde_json::from_str(&done).unwrap();
        let to = done["redirect_uri"].as_str().unwrap().to_owned();
        assert!(to.starts_with(&format!("{redirect}?code=")), "{to}");
        assert_eq!(query_of(&to)["state"], "st-1");
        // The code is handed out once.
        let (_, _, again) = http(Method::Get, poll, &[], None);
        assert!(
            serde_json::from_str::<Value>(&again)
                .unwrap()
                .get("redirect_uri")
                .is_none()
        );
        query_of(&to)["code"].clone()
    };
    let token_url = meta["token_endpoint"].as_str().unwrap().to_owned();
    let exchange = |auth: &str, code: &str, redirect: &str, verifier: &str| {
        let body = eid_core::oid4vp::form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ]);
        let (status, _, text) = http(
            Method::Post,
            &token_url,
            &[
                ("Authorization", auth),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(body.as_bytes()),
        );
        (status, serde_json::from_str::<Value>(&text).unwrap())
    };
    // The ID token: ES256 under the JWKS key, iss, aud, nonce, fresh exp; a login has sub only.
    let id_token = |answer: &Value, client: &str| -> serde_json::Map<String, Value> {
        let jws = eid_core::sdjwt::Jws::parse(answer["id_token"].as_str().unwrap()).unwrap();
        jws.verify(&point).unwrap();
        assert_eq!(jws.header["alg"], "ES256");
        assert_eq!(jws.header["kid"], jwk["kid"]);
        let c = jws.payload;
        assert_eq!(c["iss"], url.as_str());
        assert_eq!(c["aud"], client);
        assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(c["exp"].as_u64().unwrap() > now);
        assert!(c["iat"].as_u64().unwrap() <= now + 5);
        c
    };

    let code = login(&bank, bank_cb, "openid");
    let bank_basic = basic(&bank, &bank_secret);
    // Refusals at the token endpoint, each burning nothing but the attempt's own code.
    let (status, e) = exchange(&basic(&bank, "wrong-secret"), &code, bank_cb, verifier);
    assert_eq!(
        (status, e["error"].as_str().unwrap()),
        (401, "invalid_client")
    );
    let (status, e) = exchange(&basic("RP-UNKNOWN", &bank_secret), &code, bank_cb, verifier);
    assert_eq!(
        (status, e["error"].as_str().unwrap()),
        (401, "invalid_client")
    );
    // The code survived the unauthenticated attempts; redeemed now.
    let (status, answer) = exchange(&bank_basic, &code, bank_cb, verifier);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["token_type"], "Bearer");
    let claims = id_token(&answer, &bank);
    let login_token = answer["access_token"].as_str().unwrap().to_owned();
    let bank_sub = claims["sub"].as_str().unwrap().to_owned();
    assert_eq!(bank_sub.len(), 43);
    assert!(!bank_sub.contains(&person.0));
    for c in [
        "given_name",
        "family_name",
        "birthdate",
        "personal_administrative_number",
    ] {
        assert!(claims.get(c).is_none(), "a login releases no claim: {c}");
    }
    // Replay: refused, nothing issued twice.
    let (status, e) = exchange(&bank_basic, &code, bank_cb, verifier);
    assert_eq!(
        (status, e["error"].as_str().unwrap()),
        (400, "invalid_grant")
    );
    assert!(e.get("id_token").is_none());

    // Stable for one RP, unrelated at another.
    let code = login(&bank, bank_cb, "openid");
    let (_, answer) = exchange(&bank_basic, &code, bank_cb, verifier);
    assert_eq!(id_token(&answer, &bank)["sub"], bank_sub.as_str());
    let code = login(&city, city_cb, "openid");
    let (status, answer) = exchange(&basic(&city, &city_secret), &code, city_cb, verifier);
    assert_eq!(status, 200, "{answer}");
    let city_sub = id_token(&answer, &city)["sub"].as_str().unwrap().to_owned();
    assert_ne!(city_sub, bank_sub);

    // eKYC: the identity claims in the ID token.
    let code = login(&bank, bank_cb, "openid ekyc");
    let (_, answer) = exchange(&bank_basic, &code, bank_cb, verifier);
    let claims = id_token(&answer, &bank);
    assert_eq!(claims["sub"], bank_sub.as_str());
    assert_eq!(claims["personal_administrative_number"], person.0.as_str());
    assert!(claims["family_name"].is_string());

    // UserInfo (OIDC Core §5.3) with the access token: the ID token's sub and the scope's
    // claims, by GET or POST; a login's token gives the sub only.
    let userinfo_url = meta["userinfo_endpoint"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_url, format!("{url}/v1/oidc/userinfo"));
    let userinfo = |method: Method, token: &str| {
        let (status, headers, text) = http(
            method,
            &userinfo_url,
            &[("Authorization", &format!("Bearer {token}"))],
            (method == Method::Post).then_some(b"".as_slice()),
        );
        (status, header_of(&headers, "www-authenticate"), text)
    };
    let ekyc_token = answer["access_token"].as_str().unwrap().to_owned();
    for method in [Method::Get, Method::Post] {
        let (status, _, text) = userinfo(method, &ekyc_token);
        assert_eq!(status, 200, "{text}");
        let info: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(info["sub"], bank_sub.as_str());
        for c in [
            "family_name",
            "given_name",
            "birthdate",
            "personal_administrative_number",
        ] {
            assert_eq!(info[c], claims[c], "{c}");
        }
        assert_eq!(info.len(), 5, "sub and the eKYC claims only: {text}");
    }
    let (status, _, text) = userinfo(Method::Get, &login_token);
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        serde_json::json!({ "sub": bank_sub })
    );
    // A wrong token, no token, an expired token (its row aged in place): 401, Bearer.
    let (status, challenge, _) = userinfo(Method::Get, &format!("{ekyc_token}x"));
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""));
    let (status, headers, _) = http(Method::Get, &userinfo_url, &[], None);
    assert_eq!(status, 401);
    assert_eq!(
        header_of(&headers, "www-authenticate"),
        "Bearer realm=\"eid\""
    );
    let aged = rusqlite::Connection::open(tmp.path().join("backend.db"))
        .unwrap()
        .execute(
            "UPDATE oidc_access_tokens SET expires_at = 1 WHERE rp_id = ?1",
            [&bank],
        )
        .unwrap();
    assert!(aged >= 2, "{aged}");
    for token in [&ekyc_token, &login_token] {
        let (status, challenge, _) = userinfo(Method::Get, token);
        assert_eq!(status, 401);
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
    // The city never registered eKYC.
    let (status, headers, _) = http(
        Method::Get,
        &authorize_url(&city, city_cb, "openid ekyc", &s256(verifier)),
        &[],
        None,
    );
    assert_eq!(status, 303);
    assert!(header_of(&headers, "location").contains("error=invalid_scope"));

    // A wrong verifier, a wrong redirect URI, another client's code: refused and the code dies.
    let code = login(&bank, bank_cb, "openid");
    let (status, e) = exchange(&bank_basic, &code, bank_cb, "x".repeat(43).as_str());
    assert_eq!(
        (status, e["error"].as_str().unwrap()),
        (400, "invalid_grant")
    );
    let (status, _) = exchange(&bank_basic, &code, bank_cb, verifier);
    assert_eq!(status, 400, "a failed attempt burns the code");
    let code = login(&bank, bank_cb, "openid");
    let (status, e) = exchange(
        &bank_basic,
        &code,
        "http://127.0.0.1:9/bank/other",
        verifier,
    );
    assert_eq!(
        (status, e["error"].as_str().unwrap()),
        (400, "invalid_grant")
    );
    let code = login(&bank, bank_cb, "openid");
    let (status, e) = exchange(&basic(&city, &city_secret), &code, bank_cb, verifier);
    assert_eq!(
        (status, e["error"].as_str().unwrap()),
        (400, "invalid_grant")
    );

    // An expired code (its row aged in place, as time would): refused.
    let code = login(&bank, bank_cb, "openid");
    let aged = rusqlite::Connection::open(tmp.path().join("backend.db"))
        .unwrap()
        .execute(
            "UPDATE oidc_sessions SET expires_at = 1 WHERE status = 'code_issued'",
            [],
        )
        .unwrap();
    assert_eq!(aged, 1);
    let (status, e) = exchange(&bank_basic, &code, bank_cb, verifier);
    assert_eq!(
        (status, e["error_description"].as_str().unwrap()),
        (400, "the code expired")
    );

    // An age check: over 18 and nothing else, under the same subject. The eight logins so far
    // spent the wallet's batch of SD-JWT VCs: a sync refills it.
    assert_ok(&wallet(&dir, &url, "112233", &["sync"]));
    let code = login(&bank, bank_cb, "openid age_check");
    let (status, answer) = exchange(&bank_basic, &code, bank_cb, verifier);
    assert_eq!(status, 200, "{answer}");
    let claims = id_token(&answer, &bank);
    assert_eq!(claims["sub"], bank_sub.as_str());
    assert_eq!(claims["age_equal_or_over"], serde_json::json!({"18": true}));
    for c in [
        "given_name",
        "family_name",
        "birthdate",
        "personal_administrative_number",
        "age_in_years",
        "age_birth_year",
    ] {
        assert!(claims.get(c).is_none(), "an age check releases no {c}");
    }
    // The city never registered it.
    let (status, headers, _) = http(
        Method::Get,
        &authorize_url(&city, city_cb, "openid age_check", &s256(verifier)),
        &[],
        None,
    );
    assert_eq!(status, 303);
    assert!(header_of(&headers, "location").contains("error=invalid_scope"));

    // At the authorization endpoint: an unknown client or a redirect URI not registered are
    // shown, never redirected; missing or plain PKCE goes back as invalid_request.
    let (status, headers, _) = http(
        Method::Get,
        &authorize_url("RP-NOBODY", bank_cb, "openid", &s256(verifier)),
        &[],
        None,
    );
    assert_eq!(status, 400);
    assert!(header_of(&headers, "location").is_empty());
    let (status, headers, _) = http(
        Method::Get,
        &authorize_url(&bank, "http://127.0.0.1:9/evil", "openid", &s256(verifier)),
        &[],
        None,
    );
    assert_eq!(status, 400);
    assert!(header_of(&headers, "location").is_empty());
    let plain = authorize_url(&bank, bank_cb, "openid", verifier).replace("S256", "plain");
    let no_pkce = authorize_url(&bank, bank_cb, "openid", "")
        .replace("&code_challenge=&code_challenge_method=S256", "");
    for bad in [plain, no_pkce] {
        let (status, headers, _) = http(Method::Get, &bad, &[], None);
        assert_eq!(status, 303, "{bad}");
        let to = header_of(&headers, "location");
        assert!(to.starts_with(bank_cb), "{to}");
        assert_eq!(query_of(&to)["error"], "invalid_request");
        assert_eq!(query_of(&to)["state"], "st-1");
    }
    // The browser page: the QR code and the wallet URI.
    let (status, _, html) = http(
        Method::Get,
        &authorize_url(&bank, bank_cb, "openid", &s256(verifier)),
        &[],
        None,
    );
    assert_eq!(status, 200);
    assert!(html.contains("<svg"));
    assert!(html_attribute(&html, "data-openid4vp-uri").starts_with("openid4vp://"));

    // Billing: every completed login counted (5 logins, 1 eKYC), no claim value stored.
    let (status, _, report) = http(
        Method::Get,
        &format!("{url}/v1/admin/metering"),
        &[("Authorization", "Bearer oidc-admin")],
        None,
    );
    assert_eq!(status, 200, "{report}");
    assert!(!report.contains(&person.0));
    let report: Value = serde_json::from_str(&report).unwrap();
    let count_of = |kind: &str, client: &str, purpose: &str| -> u64 {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["client_id"] == client && r["purpose"] == purpose && r["kind"] == kind)
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    };
    let count = |client: &str, purpose: &str| count_of("login", client, purpose);
    // Every presentation the hub verified for a relying party is counted too, redeemed or not
    // (six bank logins, of which four codes were refused or expired at the token endpoint).
    let verified =
        |client: &str, purpose: &str| count_of("presentation_verification", client, purpose);
    assert_eq!(
        verified("x509_san_dns:bank.example.vn", "login"),
        6,
        "{report}"
    );
    assert_eq!(
        verified("x509_san_dns:bank.example.vn", "ekyc"),
        1,
        "{report}"
    );
    assert_eq!(
        verified("x509_san_dns:bank.example.vn", "age_check"),
        1,
        "{report}"
    );
    assert_eq!(
        verified("x509_san_dns:city.example.vn", "login"),
        1,
        "{report}"
    );
    assert_eq!(
        count("x509_san_dns:bank.example.vn", "login"),
        2,
        "{report}"
    );
    assert_eq!(count("x509_san_dns:bank.example.vn", "ekyc"), 1, "{report}");
    assert_eq!(
        count("x509_san_dns:city.example.vn", "login"),
        1,
        "{report}"
    );

    // The citizen's disclosure history (docs/adr/0050): the hub's records of the eight logins
    // synced before the age check, and the age check from the wallet's own log until the next
    // sync brings the hub's record of it; names, never values.
    let history = |expect: usize| -> Vec<Value> {
        let out = wallet(&dir, &url, "112233", &["disclosures", "--json"]);
        assert_ok(&out);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains(&person.0), "no claim value in the history");
        let list: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(list.len(), expect, "{text}");
        list
    };
    let bank_id = "x509_san_dns:bank.example.vn";
    let list = history(9);
    let from = |source: &str| list.iter().filter(|d| d["source"] == source).count();
    assert_eq!((from("hub"), from("wallet")), (8, 1));
    let last = list.last().unwrap();
    assert_eq!(
        (&last["source"], &last["client_id"], &last["purpose"]),
        (
            &Value::from("wallet"),
            &Value::from(bank_id),
            &Value::from("age_check")
        )
    );
    assert_ok(&wallet(&dir, &url, "112233", &["sync"]));
    let list = history(9);
    assert!(
        list.iter()
            .all(|d| d["source"] == "hub" && d["via"] == "oidc")
    );
    let of = |client: &str, purpose: &str| -> Vec<&Value> {
        list.iter()
            .filter(|d| d["client_id"] == client && d["purpose"] == purpose)
            .collect()
    };
    let logins = of(bank_id, "login");
    assert_eq!(logins.len(), 6);
    assert!(logins.iter().all(
        |d| d["claims"] == serde_json::json!([]) && d["relying_party"] == "RP bank.example.vn"
    ));
    assert_eq!(of("x509_san_dns:city.example.vn", "login").len(), 1);
    assert_eq!(
        of(bank_id, "ekyc")[0]["claims"],
        serde_json::json!([
            "family_name",
            "given_name",
            "birthdate",
            "personal_administrative_number"
        ])
    );
    assert_eq!(
        of(bank_id, "age_check")[0]["claims"],
        serde_json::json!(["age_equal_or_over.18"])
    );
    let times: Vec<i64> = list.iter().map(|d| d["at_ms"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");

    // The city is suspended while a login for it waits: the wallet, synced, refuses to answer
    // the hub for it (a suspended relying party is out of the registry), nothing is sent.
    let (status, _, text) = http(
        Method::Get,
        &authorize_url(&city, city_cb, "openid", &s256(verifier)),
        &[("Accept", "application/json")],
        None,
    );
    assert_eq!(status, 200, "{text}");
    let started: Value = serde_json::from_str(&text).unwrap();
    let status = http_delete(
        &format!("{url}/v1/admin/relying-parties/{city}"),
        "Bearer oidc-admin",
    );
    assert_eq!(status, 200);
    assert_ok(&wallet(&dir, &url, "112233", &["sync"]));
    let out = wallet(
        &dir,
        &url,
        "112233",
        &[
            "authorize",
            started["openid4vp_uri"].as_str().unwrap(),
            "--json",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("relying party behind the intermediary refused")
            && stderr.contains("unknown or suspended"),
        "{stderr}"
    );
    let (_, _, still) = http(
        Method::Get,
        started["poll_uri"].as_str().unwrap(),
        &[],
        None,
    );
    assert_eq!(
        serde_json::from_str::<Value>(&still).unwrap()["status"],
        "waiting"
    );
}

/// A login across two instances on one PostgreSQL (sessions live in the database): B takes the
/// authorization request, A serves the hub's request object and verifies the wallet's answer,
/// B hands out the code and redeems it. Runs when EID_TEST_POSTGRES_URL is set (scripts/test.sh).
#[test]
fn oidc_login_across_two_instances_on_postgresql() {
    use eid_core::platform::Method;
    let Ok(server) = std::env::var("EID_TEST_POSTGRES_URL") else {
        return;
    };
    let name = format!("eid_oidc_{}", std::process::id());
    let db = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(eid_backend::db::create_postgres_database(&server, &name))
        .unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (pa, pb) = (free(), free());
    let public = format!("http://127.0.0.1:{pa}");
    let extra = [
        "--admin-token",
        "oidc-admin",
        "--public-url",
        public.as_str(),
    ];
    let (_a, a) = serve_at(&db, &format!("127.0.0.1:{pa}"), &extra);
    let (_b, b) = serve_at(&db, &format!("127.0.0.1:{pb}"), &extra);
    assert_eq!(a, public);
    let cb = "http://127.0.0.1:9/cb";
    let (client, secret) = oidc_client(&b, "bank.example.vn", &["login"], cb);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wallet");
    assert_ok(&activate(&dir, &a, "112233", &citizen(1)));
    let verifier = "a-verifier-of-forty-three-characters-or-more-0123";
    let query = eid_core::oid4vp::form_encode(&[
        ("response_type", "code"),
        ("client_id", &client),
        ("redirect_uri", cb),
        ("scope", "openid"),
        ("code_challenge", &s256(verifier)),
        ("code_challenge_method", "S256"),
    ]);
    let (status, _, text) = http(
        Method::Get,
        &format!("{b}/v1/oidc/authorize?{query}"),
        &[("Accept", "application/json")],
        None,
    );
    assert_eq!(status, 200, "{text}");
    let started: Value = serde_json::from_str(&text).unwrap();
    let uri = started["openid4vp_uri"].as_str().unwrap();
    assert!(uri.contains(&format!("127.0.0.1%3A{pa}")), "{uri}");
    assert_ok(&wallet(&dir, &a, "112233", &["authorize", uri, "--json"]));
    let poll = started["poll_uri"].as_str().unwrap().replace(&a, &b);
    let (_, _, done) = http(Method::Get, &poll, &[], None);
    let done: Value = serde_json::from_str(&done).unwrap();
    let code = query_of(done["redirect_uri"].as_str().unwrap())["code"].clone();
    let body = eid_core::oid4vp::form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", cb),
        ("code_verifier", verifier),
    ]);
    let auth = basic(&client, &secret);
    let (status, _, text) = http(
        Method::Post,
        &format!("{b}/v1/oidc/token"),
        &[("Authorization", &auth)],
        Some(body.as_bytes()),
    );
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let jws = eid_core::sdjwt::Jws::parse(answer["id_token"].as_str().unwrap()).unwrap();
    // Signed with the key both instances publish.
    let (_, _, jwks) = http(Method::Get, &format!("{a}/v1/oidc/jwks"), &[], None);
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    jws.verify(&eid_core::sdjwt::point_from_jwk(&jwks["keys"][0]).unwrap())
        .unwrap();
    assert_eq!(jws.payload["iss"], public.as_str());
    // Replayed at the other instance: refused.
    let (status, _, _) = http(
        Method::Post,
        &format!("{a}/v1/oidc/token"),
        &[("Authorization", &auth)],
        Some(body.as_bytes()),
    );
    assert_eq!(status, 400);
}

/// Bank eKYC by chip (docs/adr/0054): `eid rp ekyc` at a bank's desk reads the simulated card
/// with the backend's challenge and prints the verified result: the purpose's fields only; a
/// purpose the bank did not register and a wrong secret are refused; `eid rp report` bills each
/// answered check as a `chip_check`.
#[test]
fn a_bank_desk_checks_a_chip_with_eid_rp_ekyc() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve_with(&db, &["--admin-token", "oidc-admin"]);
    let (bank, secret) = oidc_client(
        &url,
        "bank.example.vn",
        &["ekyc", "age_check"],
        "http://127.0.0.1:9/bank/cb",
    );
    let ekyc = |purpose: &str, secret: &str| {
        eid(&[
            "rp",
            "--backend",
            &url,
            "ekyc",
            "--client-id",
            &bank,
            "--client-secret",
            secret,
            "--purpose",
            purpose,
            "--chip-fixture",
            "0",
            "--json",
        ])
    };
    let out = ekyc("ekyc", &secret);
    assert_ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["genuine"], true);
    assert_eq!(v["registry_match"], true);
    assert_eq!(v["not_revoked"], true);
    assert_eq!(v["rp_id"], bank.as_str());
    assert_eq!(
        v["fields"]["personal_administrative_number"],
        citizen(0).0.as_str()
    );
    let over_18 = v["fields"]["age_in_years"].as_u64().unwrap() >= 18;

    let out = ekyc("age_check", &secret);
    assert_ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["fields"],
        serde_json::json!({"age_equal_or_over": {"18": over_18}})
    );

    let out = ekyc("login", &secret);
    assert_fails_with(&out, "not registered this purpose");
    let out = ekyc("ekyc", "wrong-secret");
    assert_fails_with(&out, "client authentication failed");

    let out = eid(&[
        "rp",
        "--backend",
        &url,
        "--admin-token",
        "oidc-admin",
        "report",
        "--json",
    ]);
    assert_ok(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut rows: Vec<(String, String, u64)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["purpose"].as_str().unwrap().to_owned(),
                r["kind"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("age_check".into(), "chip_check".into(), 1),
            ("ekyc".into(), "chip_check".into(), 1),
        ]
    );
}

/// Dependants (docs/adr/0055): citizen 7's wallet lists the children's documents after its own,
/// each with the child's name, and `present --profile clinic --dependant 1` gives a QR that
/// `eid verify` shows with the youngest child's name and BHYT card; the log says so.
#[test]
fn a_parent_lists_and_presents_a_childs_documents() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve(&db);
    let w = tmp.path().join("wallet");
    let parent = citizen(7);
    assert_ok(&activate(&w, &url, "246810", &parent));
    let list = wallet(&w, &url, "246810", &["list", "--json"]);
    assert_ok(&list);
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    let rows = list.as_array().unwrap();
    let first_child = rows
        .iter()
        .position(|r| !r["dependant"].is_null())
        .expect("the children's documents are listed");
    assert!(first_child > 0, "the holder's own first");
    assert!(
        rows[first_child..]
            .iter()
            .all(|r| !r["dependant"].is_null())
    );
    let youngest = rows[first_child]["dependant"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        rows[first_child..]
            .iter()
            .any(|r| r["kind"] == "health_insurance"
                && r["dependant"]["name"] == youngest.as_str()
                && r["holder"] == youngest.as_str())
    );
    let names: std::collections::BTreeSet<_> = rows[first_child..]
        .iter()
        .map(|r| r["dependant"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "two children under 14");

    let shown = wallet(
        &w,
        &url,
        "246810",
        &[
            "present",
            "--profile",
            "clinic",
            "--dependant",
            "1",
            "--json",
        ],
    );
    assert_ok(&shown);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let text = shown["text"].as_str().unwrap();
    let out = eid(&["verify", "--text", text, "--backend", &url, "--json"]);
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{verdict}");
    assert_eq!(verdict["profile"], "clinic");
    assert_eq!(verdict["fields"]["full_name"], youngest.as_str());
    assert!(
        verdict["fields"]["bhyt_code"]
            .as_str()
            .unwrap()
            .starts_with("TE1"),
        "{verdict}"
    );
    let unknown = wallet(
        &w,
        &url,
        "246810",
        &["present", "--profile", "clinic", "--dependant", "9"],
    );
    assert!(!unknown.status.success());
    let log = wallet(&w, &url, "246810", &["log", "--json"]);
    assert_ok(&log);
    let log: Value = serde_json::from_slice(&log.stdout).unwrap();
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "presentation"
                && e["detail"].as_str().is_some_and(|d| d.contains(&youngest))),
        "{log}"
    );
}

/// `POST /v1/admin/registry/changes` with the admin token `token`; the HTTP status.
fn registry_change(url: &str, token: &str, body: &Value) -> u16 {
    use eid_core::platform::HttpTransport as _;
    eid_core::client::UreqTransport::new()
        .exchange(eid_core::platform::HttpRequest {
            method: eid_core::platform::Method::Post,
            url: format!("{url}{}", eid_core::api::paths::ADMIN_REGISTRY_CHANGES),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("authorization".into(), format!("Bearer {token}")),
            ],
            body: Some(serde_json::to_vec(body).unwrap()),
            timeout: std::time::Duration::from_secs(10),
        })
        .unwrap()
        .status
}

/// Issue 18 (docs/adr/0056) as a person runs it: points deducted and the licence suspended at
/// the backend; after `sync`, `history ID` shows points 12 → 9 with both labels and the time,
/// and `list --json` shows the licence suspended.
#[test]
fn wallet_history_and_a_suspended_licence() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve_with(&db, &["--admin-token", "cli-admin"]);
    let w = tmp.path().join("wallet");
    let who = citizen(2);
    assert_ok(&activate(&w, &url, "135246", &who));
    let licence_row = |w: &Path| {
        let out = wallet(w, &url, "135246", &["list", "--json"]);
        assert_ok(&out);
        let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "driving_licence")
            .unwrap()
            .clone()
    };
    let deduct = serde_json::json!({"type": "licence_points", "id_number": who.0,
        "deduct": 3, "reason": "Vượt đèn đỏ"});
    assert_eq!(registry_change(&url, "wrong", &deduct), 401);
    assert_eq!(registry_change(&url, "cli-admin", &deduct), 200);
    assert_ok(&wallet(&w, &url, "135246", &["sync"]));
    let licence = licence_row(&w);
    let id = licence["id"].as_str().unwrap();
    assert_eq!(licence["status"], "valid");
    let out = wallet(&w, &url, "135246", &["history", id, "--json"]);
    assert_ok(&out);
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = history.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{history}");
    assert!(entries[0]["at"].as_str().unwrap().ends_with(" UTC"));
    let change = &entries[0]["changes"][0];
    assert_eq!(change["field"], "points");
    let points = |k: &str| change[k].as_str().unwrap().parse::<u8>().unwrap();
    let (old, new) = (points("old"), points("new"));
    assert_eq!(new, old - 3, "{change}");
    assert!(!change["label_vi"].as_str().unwrap().is_empty());
    let out = wallet(&w, &url, "135246", &["history", id]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("{old} → {new}")), "{text}");

    let suspend = serde_json::json!({"type": "licence_suspend", "id_number": who.0,
        "until": "2099-01-31", "reason": "Tước GPLX"});
    assert_eq!(registry_change(&url, "cli-admin", &suspend), 200);
    assert_ok(&wallet(&w, &url, "135246", &["sync"]));
    assert_eq!(licence_row(&w)["status"], "suspended");
}

/// `eid rp suspend` / `eid rp resume` (docs/adr/0036): a suspended relying party's logins
/// (authorization and token endpoints) and eKYC checks are refused saying it is suspended, it
/// leaves the signed registry; resumed, it is back and its checks and logins work again. A
/// reason longer than allowed, the hub's own registration and an unknown id are refused.
#[test]
fn an_admin_suspends_and_resumes_a_relying_party_with_eid_rp() {
    use eid_core::platform::Method;
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve_with(&db, &["--admin-token", "oidc-admin"]);
    let redirect = "http://127.0.0.1:9/bank/cb";
    let (bank, secret) = oidc_client(&url, "bank.example.vn", &["login", "ekyc"], redirect);
    let admin = |args: &[&str]| {
        let mut all = vec!["rp", "--backend", &url, "--admin-token", "oidc-admin"];
        all.extend_from_slice(args);
        eid(&all)
    };
    let ekyc = || {
        eid(&[
            "rp",
            "--backend",
            &url,
            "ekyc",
            "--client-id",
            &bank,
            "--client-secret",
            &secret,
            "--purpose",
            "ekyc",
            "--chip-fixture",
            "3",
            "--json",
        ])
    };
    let authorize = || {
        let query = eid_core::oid4vp::form_encode(&[
            ("response_type", "code"),
            ("client_id", &bank),
            ("redirect_uri", redirect),
            ("scope", "openid"),
            ("state", "s"),
            ("nonce", "n"),
            (
                "code_challenge",
                &s256("a-verifier-of-the-bank-long-enough-for-pkce-43"),
            ),
            ("code_challenge_method", "S256"),
        ]);
        let (status, _, text) = http(
            Method::Get,
            &format!("{url}/v1/oidc/authorize?{query}"),
            &[("Accept", "application/json")],
            None,
        );
        (status, text)
    };
    let token = || {
        let body = eid_core::oid4vp::form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", "made-up-code"),
            ("redirect_uri", redirect),
            (
                "code_verifier",
                "a-verifier-of-the-bank-long-enough-for-pkce-43",
            ),
        ]);
        let (status, _, text) = http(
            Method::Post,
            &format!("{url}/v1/oidc/token"),
            &[
                ("Authorization", &basic(&bank, &secret)),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(body.as_bytes()),
        );
        (status, text)
    };
    let registry_has_bank = || {
        let (status, _, text) = http(Method::Get, &format!("{url}/v1/relying-parties"), &[], None);
        assert_eq!(status, 200, "{text}");
        // A COSE_Sign1 (base64 in JSON): the bank's DNS name is in its payload when listed.
        let bytes = serde_json::from_str::<eid_core::api::RpRegistryResponse>(&text)
            .unwrap()
            .signed
            .0;
        bytes
            .windows(b"bank.example.vn".len())
            .any(|w| w == b"bank.example.vn")
    };

    // Active: the check and the authorization work, a made-up code is a wrong grant.
    assert_ok(&ekyc());
    assert_eq!(authorize().0, 200);
    let (status, text) = token();
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid_grant"), "{text}");
    assert!(registry_has_bank());

    let out = admin(&["suspend", &bank, "--reason", "contract ended"]);
    assert_ok(&out);
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["id"], bank.as_str());
    assert_eq!(record["status"], "suspended");
    // Suspending again changes nothing and says so.
    let out = admin(&["suspend", &bank]);
    assert_ok(&out);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["status"],
        "suspended"
    );

    let out = ekyc();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the relying party is suspended"),
        "{stderr}"
    );
    let (status, text) = authorize();
    assert_eq!(status, 403, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"], "unauthorized_client");
    assert_eq!(
        v["error_description"],
        "the relying party is suspended by the hub"
    );
    let (status, text) = token();
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("suspended"), "{text}");
    assert!(!registry_has_bank());
    let out = admin(&["list"]);
    assert_ok(&out);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = list["relying_parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == bank.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["status"], "suspended");

    let out = admin(&["resume", &bank]);
    assert_ok(&out);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["status"],
        "active"
    );
    let out = ekyc();
    assert_ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["registry_match"], true);
    assert_eq!(authorize().0, 200);
    assert!(token().1.contains("invalid_grant"));
    assert!(registry_has_bank());

    // Refusals: a reason too long, the hub itself, an unknown relying party, no admin token.
    let long = "x".repeat(201);
    let out = admin(&["suspend", &bank, "--reason", &long]);
    assert_fails_with(&out, "at most 200 characters");
    let out = admin(&["suspend", "RP-HUB"]);
    assert_fails_with(&out, "cannot be suspended");
    let out = admin(&["resume", "RP-NOSUCH"]);
    assert_fails_with(&out, "no such relying party");
    let out = eid(&["rp", "--backend", &url, "suspend", &bank]);
    assert!(!out.status.success());
    assert_eq!(authorize().0, 200);
}

/// Issue 18 (docs/adr/0057) as a citizen and a clerk run it: `eid wallet submit` refuses a
/// field that breaks the declaration, an unknown kind, an oversize attachment and an unreachable
/// backend with words that say so; a vaccination given abroad with a photo goes to the health
/// queue (`eid authority queue`), the clerk saves the photo (`show --out-dir`) and verifies it,
/// a temporary residence is rejected with a reason; `eid wallet submissions` shows both states
/// and the reason, and after `sync` the wallet holds the new vaccination record.
#[test]
fn a_citizen_submits_and_a_clerk_decides() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve_with(
        &db,
        &[
            "--admin-token",
            "admin-token",
            "--authority-token",
            "health=health-clerk-token",
        ],
    );
    let w = tmp.path().join("wallet");
    assert_ok(&activate(&w, &url, "246810", &citizen(3)));
    let vaccination_row = || {
        let out = wallet(&w, &url, "246810", &["list", "--json"]);
        assert_ok(&out);
        let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "vaccination")
            .unwrap()
            .clone()
    };
    let before = vaccination_row();
    let id = before["id"].as_str().unwrap();
    let out = wallet(&w, &url, "246810", &["show", id, "--json"]);
    assert_ok(&out);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let doses = shown["fields"]["doses"].as_array().unwrap().clone();
    let next = doses
        .iter()
        .filter(|d| d["vaccine"] == "03")
        .filter_map(|d| d["dose_number"].as_i64())
        .max()
        .unwrap_or(0)
        + 1;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let given = eid_core::credential::Date::from_unix(now - 60 * 86_400);
    let dose = serde_json::json!({"doses": [{"vaccine": "03", "dose_number": next,
        "date": given.to_string(), "facility": "Klinik Charité, Berlin"}]});
    let fields = tmp.path().join("dose.json");
    std::fs::write(&fields, dose.to_string()).unwrap();
    let photo = tmp.path().join("certificate.jpg");
    let photo_bytes = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[9u8; 3000]].concat();
    std::fs::write(&photo, &photo_bytes).unwrap();
    let (f, p) = (fields.to_str().unwrap(), photo.to_str().unwrap());
    let submit = |args: &[&str]| wallet(&w, &url, "246810", &[&["submit"][..], args].concat());
    let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();

    // Clear refusals.
    let mut bad = dose.clone();
    bad["doses"][0]["dose_number"] = serde_json::json!(0);
    let bad_file = tmp.path().join("bad.json");
    std::fs::write(&bad_file, bad.to_string()).unwrap();
    let out = submit(&[
        "--kind",
        "vaccination",
        "--fields-json",
        bad_file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("invalid field doses[")
            && stderr(&out).contains("].dose_number: must be 1 to 10"),
        "{}",
        stderr(&out)
    );
    let out = submit(&["--kind", "passport", "--fields-json", f]);
    assert!(
        stderr(&out).contains("unknown document kind; citizens submit vaccination, residence"),
        "{}",
        stderr(&out)
    );
    let big = tmp.path().join("big.jpg");
    std::fs::write(
        &big,
        [&[0xFF, 0xD8, 0xFF][..], &vec![1u8; 1024 * 1024]].concat(),
    )
    .unwrap();
    let out = submit(&[
        "--kind",
        "vaccination",
        "--fields-json",
        f,
        "--attach",
        big.to_str().unwrap(),
    ]);
    assert!(stderr(&out).contains("is too large"), "{}", stderr(&out));
    let out = eid(&[
        "wallet",
        "--data-dir",
        w.to_str().unwrap(),
        "--backend",
        "http://127.0.0.1:9",
        "--passcode",
        "246810",
        "submit",
        "--kind",
        "vaccination",
        "--fields-json",
        f,
    ]);
    assert!(
        stderr(&out).contains("backend unreachable"),
        "{}",
        stderr(&out)
    );

    // Submitted, queued for health, the photo saved by the clerk, verified.
    let out = submit(&[
        "--kind",
        "vaccination",
        "--fields-json",
        f,
        "--attach",
        p,
        "--json",
    ]);
    assert_ok(&out);
    let sent: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (sent["state"].as_str(), sent["authority"].as_str()),
        (Some("pending"), Some("health"))
    );
    let sent_id = sent["id"].as_str().unwrap();
    let clerk = |args: &[&str]| {
        eid(&[
            &[
                "authority",
                "--backend",
                &url,
                "--token",
                "health-clerk-token",
            ][..],
            args,
        ]
        .concat())
    };
    // The health clerk's own token: the health queue, without naming it; not the police's.
    let out = clerk(&["queue", "--json"]);
    assert_ok(&out);
    let queue: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 1, "{queue}");
    assert_eq!(queue[0]["id"], sent_id);
    assert_eq!(queue[0]["fields"], dose);
    let out = clerk(&["queue", "--authority", "police", "--json"]);
    assert_fails_with(&out, "its own authority's queue only");
    let saved = tmp.path().join("evidence");
    assert_ok(&clerk(&[
        "show",
        sent_id,
        "--out-dir",
        saved.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read(saved.join("attachment-1.jpg")).unwrap(),
        photo_bytes
    );
    let out = eid(&[
        "authority",
        "--backend",
        &url,
        "--admin-token",
        "wrong",
        "queue",
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("admin"),
        "{}",
        stderr(&out)
    );
    let out = clerk(&["decide", sent_id, "--verify"]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified (1 credential(s) re-issued)"));

    // A temporary residence, rejected with a reason.
    let residence = serde_json::json!({"temporary": {"address": {"street": "Thôn 3",
        "commune": "Xã Tân Lập", "province": "Tỉnh Đắk Lắk"}, "start_date": eid_core::credential::Date::from_unix(now).to_string(),
        "valid_until": eid_core::credential::Date::from_unix(now + 200 * 86_400).to_string()}});
    let res_file = tmp.path().join("residence.json");
    std::fs::write(&res_file, residence.to_string()).unwrap();
    let out = submit(&[
        "--kind",
        "residence",
        "--fields-json",
        res_file.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("pending (residence, authority police)"),
        "{text}"
    );
    let res_id = text.split_whitespace().next().unwrap().to_owned();
    let reason = "Thiếu giấy tờ chứng minh chỗ ở hợp pháp";
    // The police's submission is none of the health clerk's; the operator's token decides it.
    let out = clerk(&["decide", &res_id, "--reject", reason]);
    assert!(
        stderr(&out).contains("no submission with this id"),
        "{}",
        stderr(&out)
    );
    assert_ok(&eid(&[
        "authority",
        "--backend",
        &url,
        "--admin-token",
        "admin-token",
        "decide",
        &res_id,
        "--reject",
        reason,
    ]));

    // The wallet: both states, the reason; the new vaccination record after sync.
    let out = wallet(&w, &url, "246810", &["submissions", "--json"]);
    assert_ok(&out);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["state"], "rejected");
    assert_eq!(list[0]["reason"], reason);
    assert_eq!(list[1]["state"], "verified");
    assert!(list[1]["created"].as_str().unwrap().ends_with(" UTC"));
    let out = wallet(&w, &url, "246810", &["submissions"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(reason));
    assert_ok(&wallet(&w, &url, "246810", &["sync"]));
    let after = vaccination_row();
    assert_ne!(after["id"], before["id"]);
    let out = wallet(
        &w,
        &url,
        "246810",
        &["show", after["id"].as_str().unwrap(), "--json"],
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        shown["fields"]["doses"].as_array().unwrap().len(),
        doses.len() + 1
    );
}

/// A kind no release knows (docs/adr/0060): `eid serve --kinds` declares a fishing licence and
/// issues one at sync; `eid wallet list --json` lists it by its machine name and `show --json`
/// gives its labelled fields in declaration order.
#[test]
fn a_kind_declared_as_data_is_listed_and_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let person = citizen(4);
    let declaration: Value =
        serde_json::from_str(include_str!("../../fixtures/kinds/fishing_licence.json")).unwrap();
    let kinds = tmp.path().join("kinds.json");
    let file = serde_json::json!([{
        "declaration": declaration,
        "documents": [{"id_number": person.0, "doc": {
            "licence_number": "0042/2026/GPKTTS",
            "holder_name": "Chủ tàu",
            "id_number": person.0,
            "vessel_number": "KG-91234-TS",
            "fishing_area": "coastal",
            "issue_date": "2026-03-02",
            "valid_until": "2031-03-01",
        }}],
    }]);
    std::fs::write(&kinds, serde_json::to_vec(&file).unwrap()).unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve_with(&db, &["--kinds", kinds.to_str().unwrap()]);
    let dir = tmp.path().join("wallet");
    assert_ok(&activate(&dir, &url, "112233", &person));
    assert_ok(&wallet(&dir, &url, "112233", &["sync"]));

    let out = wallet(&dir, &url, "112233", &["list", "--json"]);
    assert_ok(&out);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "fishing_licence")
        .expect("listed by its machine name");
    assert_eq!(row["title"], "Giấy phép khai thác thủy sản");
    assert_eq!(row["holder"], "Chủ tàu");
    assert_eq!(row["valid_until"], "2031-03-01");
    assert_eq!(row["status"], "valid");

    let out = wallet(
        &dir,
        &url,
        "112233",
        &["show", row["id"].as_str().unwrap(), "--json"],
    );
    assert_ok(&out);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["kind"], "fishing_licence");
    assert_eq!(shown["title_en"], "Fishing licence");
    let names: Vec<&str> = shown["labelled_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let declared: Vec<&str> = declaration["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, declared);
    let area = &shown["labelled_fields"][4];
    assert_eq!(area["label_vi"], "Vùng khai thác");
    assert_eq!(area["value"], "coastal");
    assert_eq!(area["value_label_vi"], "Vùng ven bờ");
    assert_eq!(shown["fields"]["id_number"], person.0.as_str());
}
