//! `eid rp register`, `eid rp list`, `eid rp report` against `eid serve --dev` (docs/adr/0036).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

/// A relying party's P-256 public key (its private half was never kept).
const RP_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Phf+Pu5Ut7atpj0WGBbcozDBMAt
/damP11sMWznLyebm9B4lZkzRBhBZFyHH1LbrnUyJXYT8ribUIroeb7ZxA==
-----END PUBLIC KEY-----
";

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
        .env_remove("EID_BACKEND")
        .env_remove("EID_ADMIN_TOKEN")
        .output()
        .unwrap()
}

fn serve(db: &str) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(["serve", "--dev", "--addr", "127.0.0.1:0", "--db", db])
        .args(["--admin-token", "rp-admin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
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

fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn an_admin_registers_lists_and_reports_relying_parties() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("backend.db").display());
    let (_server, url) = serve(&db);
    let key = tmp.path().join("rp.pem");
    std::fs::write(&key, RP_PUBLIC_KEY).unwrap();
    let cert = tmp.path().join("rp-cert.pem");
    let register = |token: &str, purpose: &str| {
        eid(&[
            "rp",
            "--backend",
            &url,
            "--admin-token",
            token,
            "register",
            "--name",
            "Ngan hang Example",
            "--registration-number",
            "0101234567",
            "--dns",
            "bank.example.vn",
            "--response-uri",
            "https://bank.example.vn/oid4vp/response",
            "--purpose",
            "login",
            "--purpose",
            purpose,
            "--key-pem",
            key.to_str().unwrap(),
            "--out-cert",
            cert.to_str().unwrap(),
        ])
    };
    // A wrong token and an unknown purpose are refused, with the backend's reason.
    let refused = register("wrong", "age_check");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("admin token"));
    let refused = register("rp-admin", "marketing");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown purpose"));
    let rec = ok(&register("rp-admin", "sim=given_name,address.formatted"));
    assert_eq!(rec["client_id"], "x509_san_dns:bank.example.vn");
    assert_eq!(
        rec["purposes"][1]["claims"][1],
        serde_json::json!(["address", "formatted"])
    );
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(pem, rec["access_certificate_pem"].as_str().unwrap());
    let list = ok(&eid(&[
        "rp",
        "--backend",
        &url,
        "--admin-token",
        "rp-admin",
        "list",
    ]));
    // The bank and the hub itself (the verifier of "Log in with e-ID", docs/adr/0042).
    let listed = list["relying_parties"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|r| r["id"] == "RP-HUB"));
    // Nothing billed yet: an empty report over the default range.
    let report = ok(&eid(&[
        "rp",
        "--backend",
        &url,
        "--admin-token",
        "rp-admin",
        "report",
        "--json",
    ]));
    assert_eq!(report["rows"], serde_json::json!([]));
    let text = eid(&[
        "rp",
        "--backend",
        &url,
        "--admin-token",
        "rp-admin",
        "report",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-31",
    ]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("metering 2026-01-01 .. 2026-01-31") && text.contains("total 0"),
        "{text}"
    );
    // The RP CA is a backend key of its own: the development one.
    let keys = ok(&eid(&["keys", "--db", &db, "list", "--rp", "--json"]));
    assert_eq!(keys[0]["purpose"], "rp:ca");
    assert_eq!(keys[0]["origin"], "fixture");
    assert_eq!(keys.as_array().unwrap().len(), 1);
}
