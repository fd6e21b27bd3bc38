//! `eid wallet ... present`, `eid verify`, `eid qr-sizes` and `eid demo` as a verifier desk and
//! a citizen would run them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::{Command, Output};

fn eid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(args)
        .env_remove("EID_PASSCODE")
        .output()
        .unwrap()
}

/// `eid verify --scan ARGS` with `typed` on standard input: its exit code and its verdict
/// lines.
fn scan(args: &[&str], typed: &str) -> (Option<i32>, Vec<Value>) {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(["verify", "--scan"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(typed.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code(), lines)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn present_then_verify_by_text_and_by_image() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w");
    let w = w.to_str().unwrap();
    let png = dir.path().join("airport.png");
    let seeded = eid(&[
        "fixtures",
        "seed-wallet",
        "--data-dir",
        w,
        "--passcode",
        "135790",
    ]);
    assert!(seeded.status.success());
    let out = eid(&[
        "wallet",
        "--data-dir",
        w,
        "--passcode",
        "135790",
        "present",
        "--profile",
        "airport",
        "--png",
        png.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = json(&out);
    let text = p["text"].as_str().unwrap();
    assert!(p["payload_bytes"].as_u64().unwrap() <= 330);
    assert!(p["qr_version"].as_u64().unwrap() <= 13);
    assert_eq!(p["ecc"], "M");
    assert!(p["expires_at"].as_u64().is_some());

    let v = eid(&["verify", "--dev", "--text", text, "--json"]);
    assert_eq!(v.status.code(), Some(0));
    let verdict = json(&v);
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["profile"], "airport");
    assert!(verdict["fields"]["full_name"].is_string());
    assert!(verdict["fields"].get("place_of_residence").is_none());
    assert!(verdict["checked_at"].as_u64().is_some());
    // The PNG encodes exactly the text.
    let img = eid(&[
        "verify",
        "--dev",
        "--image",
        png.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(img.status.code(), Some(0));
    assert_eq!(json(&img)["valid"], true);

    // One changed character: exit 1 with reasons.
    let mut chars: Vec<char> = text.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let bad: String = chars.into_iter().collect();
    let v = eid(&["verify", "--dev", "--text", &bad, "--json"]);
    assert_eq!(v.status.code(), Some(1));
    let verdict = json(&v);
    assert_eq!(verdict["valid"], false);
    assert!(!verdict["reasons"].as_array().unwrap().is_empty());
    assert_eq!(verdict["fields"], serde_json::json!({}));
    // A desk expecting another nonce refuses it.
    let v = eid(&[
        "verify", "--dev", "--text", text, "--nonce", "00112233", "--json",
    ]);
    assert_eq!(v.status.code(), Some(1));
    // A desk's scanner types each code and Enter: one verdict line each, blank lines skipped,
    // a line that cannot be checked (an online token at a desk without a backend) reported,
    // and the desk goes on to the end.
    let scanned = format!("{text}\n\n{bad}\nVNT2:not-a-token\n{text}\n");
    let (code, lines) = scan(&["--dev", "--json"], &scanned);
    assert_eq!(code, Some(1), "not every code was valid");
    let valid: Vec<&Value> = lines.iter().map(|v| &v["valid"]).collect();
    assert_eq!(valid, [true, false, false, true], "{lines:?}");
    assert_eq!(lines[0]["profile"], "airport");
    assert_eq!(lines[3]["fields"], lines[0]["fields"]);
    assert!(
        lines[1]["reasons"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    assert!(
        lines[2]["error"].as_str().unwrap().contains("online token"),
        "{}",
        lines[2]
    );
    let (code, lines) = scan(&["--dev", "--json"], &format!("{text}\n"));
    assert_eq!(code, Some(0));
    assert_eq!(lines.len(), 1);
    // No trust: the scanner desk refuses before it reads a line, like the one-code desk.
    let (code, lines) = scan(&["--json"], &format!("{text}\n"));
    assert_eq!(code, Some(1));
    assert!(lines.is_empty());
    // Wrong passcode: nothing is shown.
    let out = eid(&[
        "wallet",
        "--data-dir",
        w,
        "--passcode",
        "000000",
        "present",
        "--profile",
        "clinic",
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn sizes_and_demo() {
    let out = eid(&["qr-sizes", "--json"]);
    assert!(out.status.success());
    let rows = json(&out);
    let airport = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == "airport" && r["nonce"] == false)
        .unwrap();
    assert!(airport["payload_bytes"].as_u64().unwrap() <= 330);
    assert!(airport["qr_version"].as_u64().unwrap() <= 13);
    // The accommodation notice's QR (issue 18) is in the table and as small as the airport's.
    let accommodation = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == "accommodation" && r["nonce"] == false)
        .unwrap();
    assert!(accommodation["qr_version"].as_u64().unwrap() <= 13);

    let demo = eid(&["demo", "--no-qr"]);
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert_eq!(
        stdout.matches("VALID (offline airport)").count(),
        1,
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("VALID (offline clinic)").count(),
        1,
        "{stdout}"
    );
    assert!(stdout.contains("account active at level 2"));
    assert!(stdout.contains("demo finished"));
}
