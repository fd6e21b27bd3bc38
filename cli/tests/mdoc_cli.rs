//! `eid mdoc read` against `eid dev mdoc-holder` as two processes over the TCP stand-in for BLE,
//! and `eid mdoc sizes`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

fn eid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(args)
        .output()
        .unwrap()
}

/// Starts the holder; returns it, its engagement URI and its address.
fn holder(extra: &[&str]) -> (Child, String, String, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(["dev", "mdoc-holder", "--tcp", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut uri = String::new();
    out.read_line(&mut uri).unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "holder ended early");
        if let Some(a) = line.trim().strip_prefix("listening on ") {
            break a.to_owned();
        }
    };
    (child, uri.trim().to_owned(), addr, err)
}

fn rest(mut err: BufReader<std::process::ChildStderr>) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut err, &mut s).unwrap();
    s
}

#[test]
fn read_a_holder_in_another_process_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("engagement.png");
    let (mut child, uri, addr, err) =
        holder(&["--require-reader-auth", "--qr-png", png.to_str().unwrap()]);
    assert!(uri.starts_with("mdoc:"), "{uri}");
    let png_bytes = std::fs::read(&png).unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
    let v = read_json(
        &uri,
        &addr,
        &["--elements", "family_name,birth_date,age_over_18"],
    );
    assert_eq!(v["valid"], true);
    assert_eq!(v["doctype"], "org.iso.23220.photoid.1");
    assert_eq!(v["reader_authenticated"], true);
    assert_eq!(v["reasons"], Value::Array(vec![]));
    assert_eq!(v["not_returned"], Value::Array(vec![]));
    let e = v["elements"].as_object().unwrap();
    assert_eq!(e.len(), 3);
    assert_eq!(e["age_over_18"], true);
    // ISO/IEC 23220-2: birth_date is a map holding the full-date "YYYY-MM-DD".
    assert_eq!(e["birth_date"].as_object().unwrap().len(), 1);
    assert!(e["birth_date"]["birth_date"].as_str().unwrap().len() == 10);
    assert!(child.wait().unwrap().success());
    let shown = rest(err);
    assert!(
        shown.contains("request from CN=Noi Bai Airport Border Desk TEST"),
        "{shown}"
    );
    assert!(shown.contains("org.iso.23220.1/birth_date"));
}

#[test]
fn an_element_the_mdoc_does_not_hold_is_named_not_returned() {
    // The fixture PhotoID holds no eye colour: the citizen is told it will not be sent, the
    // desk that the valid answer is shorter than its request. Nor age_over_20: age_over_21
    // answers it (ISO 18013-5 §7.2.5; the citizen was born in 1969), and the citizen is told.
    let (mut child, uri, addr, err) = holder(&[]);
    let v = read_json(
        &uri,
        &addr,
        &[
            "--elements",
            "family_name,eye_colour,org.iso.23220.dtc.1/dg2,age_over_20",
        ],
    );
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["elements"].as_object().unwrap().len(), 2, "{v}");
    assert!(v["elements"]["family_name"].is_string());
    assert_eq!(v["elements"]["age_over_21"], true);
    assert_eq!(
        v["not_returned"],
        serde_json::json!(["eye_colour", "org.iso.23220.dtc.1/dg2"])
    );
    assert!(child.wait().unwrap().success());
    let shown = rest(err);
    assert!(
        shown.contains("org.iso.23220.1/eye_colour (not in your document: not sent)"),
        "{shown}"
    );
    assert!(
        !shown.contains("family_name (not in your document"),
        "{shown}"
    );
    assert!(
        shown.contains("org.iso.23220.1/age_over_20 (answered with age_over_21: sent instead)"),
        "{shown}"
    );
}

#[test]
fn an_unauthenticated_reader_is_refused_and_a_decline_is_not_valid() {
    let (mut child, uri, addr, err) = holder(&["--require-reader-auth"]);
    let out = eid(&[
        "mdoc",
        "read",
        "--dev",
        "--engagement",
        &uri,
        "--tcp",
        &addr,
        "--elements",
        "family_name",
        "--no-reader-auth",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["reader_authenticated"], false);
    assert_eq!(v["elements"], Value::Object(Default::default()));
    assert!(!v["reasons"].as_array().unwrap().is_empty());
    assert!(child.wait().unwrap().success());
    assert!(rest(err).contains("ReaderRefused(Unsigned)"));

    let (mut child, uri, addr, err) = holder(&["--decline"]);
    let out = eid(&[
        "mdoc",
        "read",
        "--dev",
        "--engagement",
        &uri,
        "--tcp",
        &addr,
        "--elements",
        "family_name",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["reasons"][0].as_str().unwrap().contains("declined"));
    assert!(rest(err).contains("answer: Decline"));
    assert!(child.wait().unwrap().success());
}

#[test]
fn an_iaca_the_desk_does_not_trust_makes_the_answer_not_valid() {
    // The CSCA of the simulated chips is a real certificate, but not the mdocs' IACA.
    let dir = tempfile::tempdir().unwrap();
    let pem = fixtures_pem(dir.path(), "csca");
    let (mut child, uri, addr, err) = holder(&[]);
    let out = eid(&[
        "mdoc",
        "read",
        "--dev",
        "--engagement",
        &uri,
        "--tcp",
        &addr,
        "--elements",
        "family_name",
        "--trust",
        pem.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(
        v["reasons"][0],
        "document signer not issued by a trusted IACA"
    );
    assert_eq!(v["elements"], Value::Object(Default::default()));
    assert!(child.wait().unwrap().success());
    drop(err);
}

#[test]
fn a_desk_trusts_no_fixture_key_unless_told_dev() {
    // Before ADR 0077 a desk without --trust trusted the fixture IACA, and one without
    // --reader-key signed with the fixture reader key: keys anyone can sign with.
    let dir = tempfile::tempdir().unwrap();
    let pem = fixtures_pem(dir.path(), "iaca");
    let pem = pem.to_str().unwrap();
    let (mut child, uri, addr, err) = holder(&[]);
    let base = [
        "mdoc",
        "read",
        "--engagement",
        &uri,
        "--tcp",
        &addr,
        "--elements",
        "family_name",
        "--json",
    ];
    let refused = |extra: &[&str], says: &str| {
        let out = eid(&[&base[..], extra].concat());
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty(), "no verdict");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
    };
    refused(&[], "no IACA to trust: give --trust FILE");
    refused(&["--trust", pem], "no reader key: give --reader-key");
    // The holder was never engaged: it still answers the next desk, one given the fixture
    // IACA and no reader key, without --dev. That desk fetches the status list the MSO names,
    // as a real one does, rather than take the fixtures' own: here it cannot be had, and that
    // is the one thing wrong with the answer.
    let out = eid(&[&base[..], &["--trust", pem, "--no-reader-auth"]].concat());
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["reasons"],
        serde_json::json!(["status list unavailable or invalid"]),
        "{v}"
    );
    assert_eq!(v["reader_authenticated"], false);
    assert!(child.wait().unwrap().success());
    drop(err);
}

/// `eid fixtures WHICH` (a certificate as PEM) written to `WHICH.pem` in `dir`.
fn fixtures_pem(dir: &std::path::Path, which: &str) -> std::path::PathBuf {
    let out = eid(&["fixtures", which]);
    assert!(out.status.success());
    let path = dir.join(format!("{which}.pem"));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// `eid ARGS`, which must succeed: its standard output as JSON.
fn eid_json(args: &[&str]) -> Value {
    let out = eid(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `eid mdoc read --engagement URI --tcp ADDR ARGS --json`, which must succeed: the verdict.
fn read_json(uri: &str, addr: &str, args: &[&str]) -> Value {
    let base = [
        "mdoc",
        "read",
        "--dev",
        "--engagement",
        uri,
        "--tcp",
        addr,
        "--json",
    ];
    eid_json(&[&base[..], args].concat())
}

/// `eid mdoc sizes ARGS --json`, which must succeed: its rows.
fn sizes_json(args: &[&str]) -> Vec<Value> {
    match eid_json(&[&["mdoc", "sizes", "--json"][..], args].concat()) {
        Value::Array(rows) => rows,
        other => panic!("not rows: {other}"),
    }
}

#[test]
fn sizes_table() {
    let rows = sizes_json(&[]);
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["request"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["airport", "hotel", "age", "licence", "clinic"]);
    for r in &rows {
        assert!(r["engagement_qr_version"].as_u64().unwrap() <= 10);
        assert!(r["ble_modelled_seconds"].as_f64().unwrap() > 0.0);
        assert!(r["nfc_apdus_extended"].as_u64().unwrap() < r["nfc_apdus_short"].as_u64().unwrap());
    }
    // BLE target: the airport request and answer within 0.3 s at 20 KB/s, MTU 185.
    assert!(rows[0]["ble_modelled_seconds"].as_f64().unwrap() <= 0.3);
    // The licence carries the portrait: by far the largest answer.
    assert!(
        rows[3]["device_response_bytes"].as_u64().unwrap()
            > 5 * rows[0]["device_response_bytes"].as_u64().unwrap()
    );
}

#[test]
fn sizes_breakdown_adds_up_and_shows_16_byte_salts() {
    let parts = sizes_json(&["--breakdown"]);
    let bytes = |p: &Value| p["bytes"].as_u64().unwrap();
    let part = |name: &str| {
        parts
            .iter()
            .find(|p| p["part"].as_str().unwrap().starts_with(name))
            .unwrap_or_else(|| panic!("no part {name}"))
    };
    let total = bytes(&parts[0]);
    assert_eq!(parts[0]["part"], "DeviceResponse");
    // The top-level parts are the whole response, byte for byte.
    let top: u64 = parts.iter().filter(|p| p["depth"] == 1).map(bytes).sum();
    assert_eq!(top, total);
    // The airport answer: five items, each with the 16-byte minimum salt (ISO 18013-5 §9.1.2.5).
    let items: Vec<&Value> = parts
        .iter()
        .filter(|p| p["part"].as_str().unwrap().starts_with("item "))
        .collect();
    assert_eq!(items.len(), 5);
    assert!(
        items
            .iter()
            .all(|p| p["part"].as_str().unwrap().ends_with("(random 16 B)"))
    );
    assert!(items.iter().map(|p| bytes(p)).sum::<u64>() < bytes(part("issuerSigned.nameSpaces")));
    // issuerAuth: x5chain with the Annex B document signer certificate (its extended key usage,
    // issuer alternative name and CRL distribution point make it larger than the 464-byte
    // issuer certificate the fixtures used before), an MSO with the digests of all 33 elements
    // the backend issues in a PhotoID, and the status list reference.
    assert!(bytes(part("document signer certificate")) > 550);
    assert!(part("valueDigests (33 digests)")["bytes"].as_u64().unwrap() > 33 * 32);
    assert!(bytes(part("status")) > 40);
    // The same size as the table's airport row.
    let rows = sizes_json(&[]);
    assert_eq!(rows[0]["device_response_bytes"].as_u64().unwrap(), total);
}

#[test]
fn sizes_floor_builds_each_smaller_answer_and_only_the_standard_ones_verify() {
    let table = sizes_json(&[]);
    for preset in ["airport", "licence", "clinic"] {
        let rows = sizes_json(&["--floor", "--preset", preset]);
        assert_eq!(rows.len(), 6);
        let bytes: Vec<u64> = rows.iter().map(|r| r["bytes"].as_u64().unwrap()).collect();
        // Each way is smaller than the one before.
        assert!(bytes.windows(2).all(|w| w[1] < w[0]), "{preset}: {bytes:?}");
        // A device MAC is the same size whatever the mdoc: COSE_Mac0 (HMAC-SHA-256, 32 bytes)
        // in place of a COSE_Sign1 (ES256, 64 bytes).
        assert_eq!(bytes[0] - bytes[1], bytes[2] - bytes[3], "{preset}");
        // The first row is the table's answer to the same preset.
        let row = table.iter().find(|r| r["request"] == preset).unwrap();
        assert_eq!(row["device_response_bytes"].as_u64().unwrap(), bytes[0]);
        // Every answer within ISO 18013-5 verifies under the fixture IACA; without x5chain no
        // reader can find the document signer.
        let verified: Vec<bool> = rows
            .iter()
            .map(|r| r["verified"].as_bool().unwrap())
            .collect();
        assert_eq!(verified, [true, true, true, true, true, false], "{preset}");
        assert!(rows[5]["allowed"].as_str().unwrap().starts_with("no"));
    }
    // An unknown preset is an error naming the presets.
    let out = eid(&["mdoc", "sizes", "--floor", "--preset", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("airport, hotel, age, licence, clinic"));
}

/// `--breakdown --preset licence`: the portrait is most of the licence's answer, so no
/// reshaping of the rest brings it near the BLE target.
#[test]
fn sizes_breakdown_of_the_licence_shows_the_portrait() {
    let parts = sizes_json(&["--breakdown", "--preset", "licence"]);
    let total = parts[0]["bytes"].as_u64().unwrap();
    let portrait = parts
        .iter()
        .find(|p| p["part"].as_str().unwrap().starts_with("item portrait"))
        .unwrap()["bytes"]
        .as_u64()
        .unwrap();
    assert!(portrait * 4 > total * 3, "{portrait} of {total}");
}

/// The licence and the BHYT card too, each to its own holder process: bare identifiers are
/// looked up in the docType's own namespace, and the answer shows them bare.
#[test]
fn read_the_licence_and_the_bhyt_card_over_tcp() {
    for (doc_type, elements) in [
        ("org.iso.18013.5.1.mDL", "family_name,driving_privileges"),
        ("vn.gov.bhyt.1", "card_number,benefit_level,valid_to"),
    ] {
        let (mut child, uri, addr, _err) = holder(&[]);
        let v = read_json(
            &uri,
            &addr,
            &["--doctype", doc_type, "--elements", elements],
        );
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["doctype"], doc_type);
        let e = v["elements"].as_object().unwrap();
        let mut names: Vec<&str> = e.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut asked: Vec<&str> = elements.split(',').collect();
        asked.sort_unstable();
        assert_eq!(names, asked, "{v}");
        if doc_type == "vn.gov.bhyt.1" {
            // The benefit level is a number from 1 to 5 (Decision 1351/QĐ-BHXH).
            assert!(
                (1..=5).contains(&e["benefit_level"].as_u64().unwrap()),
                "{v}"
            );
        }
        assert!(child.wait().unwrap().success());
    }
}

/// What a desk sees for a QR code that is not an engagement, and for a holder that is gone.
#[test]
fn a_wrong_engagement_or_an_unreachable_holder_is_a_clear_error() {
    for uri in ["https://example.invalid/", "mdoc:***", "mdoc:AAAA"] {
        let out = eid(&[
            "mdoc",
            "read",
            "--dev",
            "--engagement",
            uri,
            "--tcp",
            "127.0.0.1:9",
            "--elements",
            "family_name",
            "--json",
        ]);
        assert!(!out.status.success(), "{uri}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the engagement (the holder's QR code): "),
            "{uri}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // A real engagement whose holder is not listening.
    let (mut child, uri, _addr, _err) = holder(&[]);
    child.kill().unwrap();
    child.wait().unwrap();
    let out = eid(&[
        "mdoc",
        "read",
        "--dev",
        "--engagement",
        &uri,
        "--tcp",
        "127.0.0.1:9",
        "--elements",
        "family_name",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("connecting to 127.0.0.1:9"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
