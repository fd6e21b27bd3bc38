//! The e-health book on the command line (ADR 0051): `eid fixtures seed-wallet` holds one,
//! `eid wallet show ID --json` gives its summary fields labelled, and `eid wallet fhir export ID
//! --out FILE` writes its FHIR R4 Bundle: the holder's Patient, owner-only, never over a file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use serde_json::Value;
use std::process::{Command, Output};

const PASS: &str = "246801";

fn eid<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(args)
        .env_remove("EID_PASSCODE")
        .output()
        .unwrap()
}

fn ok_json<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> Value {
    let out = eid(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_seeded_e_health_book_is_shown_and_exported_as_fhir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let d = dir.to_str().unwrap();
    let seeded = eid(&[
        "fixtures",
        "seed-wallet",
        "--data-dir",
        d,
        "--passcode",
        PASS,
    ]);
    assert!(seeded.status.success());
    let wallet = |rest: &[&str]| -> Vec<String> {
        ["wallet", "--data-dir", d, "--passcode", PASS]
            .iter()
            .chain(rest)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let rows = ok_json(&wallet(&["list", "--json"]));
    let id_of = |kind: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let book = id_of("e_health_book");
    let shown = ok_json(&wallet(&["show", &book, "--json"]));
    assert_eq!(shown["title"], "Sổ sức khỏe điện tử");
    assert_eq!(shown["status"], "valid");
    let labelled = shown["labelled_fields"].as_array().unwrap();
    let label = |name: &str| {
        labelled
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["label_vi"].as_str().unwrap())
    };
    assert_eq!(label("allergy_count"), Some("Số dị ứng đã ghi nhận"));
    assert_eq!(label("last_encounter"), Some("Lần khám gần nhất"));
    assert_eq!(label("as_of"), Some("Cập nhật đến ngày"));
    let fields = &shown["fields"];

    // The export: the bundle the signed document carries, as FHIR JSON.
    let out = tmp.path().join("book.json");
    let o = out.to_str().unwrap();
    let written = ok_json(&wallet(&["fhir", "export", &book, "--out", o, "--json"]));
    assert_eq!(written["kind"], "e_health_book");
    assert!(
        written["data_elements"].as_u64().unwrap() >= 80,
        "{written}"
    );
    assert_eq!(written["resources"]["Patient"], 1);
    assert!(written["resources"]["Observation"].as_u64().unwrap() >= 5);
    let bundle: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(bundle.to_string(), fields["bundle"].as_str().unwrap());
    assert_eq!(bundle["resourceType"], "Bundle");
    let entries = bundle["entry"].as_array().unwrap();
    let total: u64 = written["resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(entries.len() as u64, total);
    let patient = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .unwrap();
    assert_eq!(
        patient["resource"]["identifier"][0]["value"],
        fields["id_number"]
    );
    assert_eq!(patient["resource"]["birthDate"], fields["birth_date"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Never over an existing file; never from a document without a bundle.
    let again = eid(&wallet(&["fhir", "export", &book, "--out", o]));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
    let identity = id_of("identity");
    let other = tmp.path().join("identity.json");
    let refused = eid(&wallet(&[
        "fhir",
        "export",
        &identity,
        "--out",
        other.to_str().unwrap(),
    ]));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("carries no FHIR bundle"));
    assert!(!other.exists());
    // The health record's patient summary exports too.
    let ips = tmp.path().join("ips.json");
    let record = id_of("health_record");
    let written = ok_json(&wallet(&[
        "fhir",
        "export",
        &record,
        "--out",
        ips.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(written["resources"]["Composition"], 1);
}
