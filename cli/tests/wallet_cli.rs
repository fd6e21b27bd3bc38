//! `eid fixtures seed-wallet` and `eid wallet ...`: documents, show, log, status, passcode errors,
//! and no plaintext personal data anywhere under the data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn eid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(args)
        .env_remove("EID_PASSCODE")
        .output()
        .unwrap()
}

fn ok_json(args: &[&str]) -> Value {
    let out = eid(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn seed(dir: &Path) {
    let out = eid(&[
        "fixtures",
        "seed-wallet",
        "--data-dir",
        dir.to_str().unwrap(),
        "--passcode",
        "135790",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn seeded_wallet_lists_shows_and_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    seed(&dir);
    let d = dir.to_str().unwrap();
    let list = ok_json(&[
        "wallet",
        "--data-dir",
        d,
        "--passcode",
        "135790",
        "list",
        "--json",
    ]);
    let rows = list.as_array().unwrap();
    // The first citizen is married: one document of each of the thirteen kinds.
    assert_eq!(rows.len(), 13);
    let mut kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "birth_certificate",
            "driving_licence",
            "e_health_book",
            "health_insurance",
            "health_record",
            "identity",
            "judicial_record",
            "marriage_certificate",
            "residence",
            "social_insurance_book",
            "tax_info",
            "vaccination",
            "vehicle_registration"
        ]
    );
    for r in rows {
        for k in ["id", "kind", "title", "holder", "valid_until", "status"] {
            assert!(r.get(k).is_some(), "{k}");
        }
        assert_eq!(r["status"], "valid");
        let id = r["id"].as_str().unwrap();
        let shown = ok_json(&[
            "wallet",
            "--data-dir",
            d,
            "--passcode",
            "135790",
            "show",
            id,
            "--json",
        ]);
        assert_eq!(shown["id"], r["id"]);
        assert!(shown["fields"].is_object());
    }
    let bhyt = rows
        .iter()
        .find(|r| r["kind"] == "health_insurance")
        .unwrap();
    let shown = ok_json(&[
        "wallet",
        "--data-dir",
        d,
        "--passcode",
        "135790",
        "show",
        bhyt["id"].as_str().unwrap(),
        "--json",
    ]);
    let code = shown["fields"]["code"].as_str().unwrap();
    assert_eq!(code.len(), 15);
    // The new kinds (issue 18): labelled fields in declaration order, Vietnamese labels.
    for (kind, first_labels) in [
        (
            "vehicle_registration",
            ["Số giấy đăng ký", "Biển số", "Loại xe"],
        ),
        (
            "vaccination",
            ["Họ và tên", "Ngày sinh", "Số định danh cá nhân"],
        ),
        ("judicial_record", ["Số phiếu", "Mẫu phiếu", "Họ và tên"]),
        // The civil kinds (ADR 0047).
        (
            "birth_certificate",
            ["Số đăng ký", "Nơi đăng ký", "Ngày đăng ký"],
        ),
        (
            "marriage_certificate",
            ["Số đăng ký", "Nơi đăng ký", "Ngày đăng ký"],
        ),
        (
            "social_insurance_book",
            ["Mã số BHXH", "Họ và tên", "Ngày sinh"],
        ),
        (
            "residence",
            ["Họ và tên", "Ngày sinh", "Số định danh cá nhân"],
        ),
        (
            "tax_info",
            ["Họ và tên", "Số định danh cá nhân", "Mã số thuế"],
        ),
    ] {
        let row = rows.iter().find(|r| r["kind"] == kind).unwrap();
        let shown = ok_json(&[
            "wallet",
            "--data-dir",
            d,
            "--passcode",
            "135790",
            "show",
            row["id"].as_str().unwrap(),
            "--json",
        ]);
        let labels: Vec<&str> = shown["labelled_fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["label_vi"].as_str().unwrap())
            .collect();
        assert_eq!(labels[..3], first_labels, "{kind}");
        assert!(shown["issuer"].is_string(), "{kind}");
        // Every shown field in declaration order.
        let names: Vec<&str> = shown["labelled_fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        let declared: Vec<&str> = eid_core::credential::DocumentKind::parse(kind)
            .unwrap()
            .declaration()
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| names.contains(n))
            .collect();
        assert_eq!(names, declared, "{kind}");
        assert!(names.len() >= 5, "{kind}");
        assert_eq!(row["holder"], rows[0]["holder"], "{kind}");
    }

    let log = ok_json(&[
        "wallet",
        "--data-dir",
        d,
        "--passcode",
        "135790",
        "log",
        "--json",
    ]);
    assert_eq!(log[0]["kind"], "account");
    let status = ok_json(&["wallet", "--data-dir", d, "status", "--json"]);
    assert_eq!(status["state"], "active");
    assert_eq!(status["level"], 2);
    assert_eq!(status["documents"], 13);
    assert!(
        status["last_sync"].is_null(),
        "a seeded wallet never synced"
    );

    // The passcode can come from the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args(["wallet", "--data-dir", d, "list"])
        .env("EID_PASSCODE", "135790")
        .output()
        .unwrap();
    assert!(out.status.success());

    let out = eid(&["wallet", "--data-dir", d, "--passcode", "000000", "list"]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "eid: wrong passcode (4 attempts left before the account locks)"
    );
    let out = eid(&["fixtures", "seed-wallet", "--data-dir", d]);
    assert!(!out.status.success(), "seeding twice is refused");
}

#[test]
fn no_personal_data_in_plaintext_after_seeding() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    seed(&dir);
    let d = dir.to_str().unwrap();
    let citizen = &ok_json(&["fixtures", "citizens", "--json"])[0];
    let list = ok_json(&[
        "wallet",
        "--data-dir",
        d,
        "--passcode",
        "135790",
        "list",
        "--json",
    ]);
    let bhyt = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "health_insurance")
        .unwrap();
    let shown = ok_json(&[
        "wallet",
        "--data-dir",
        d,
        "--passcode",
        "135790",
        "show",
        bhyt["id"].as_str().unwrap(),
        "--json",
    ]);
    let markers = [
        citizen["full_name"].as_str().unwrap().to_owned(),
        citizen["id"].as_str().unwrap().to_owned(),
        shown["fields"]["code"].as_str().unwrap().to_owned(),
    ];
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        for m in &markers {
            assert!(
                !bytes.windows(m.len()).any(|w| w == m.as_bytes()),
                "plaintext personal data in {}",
                path.display()
            );
        }
    }
    assert!(
        files >= 2,
        "the wallet database and the key store were scanned"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}

/// Issue 12: `eid wallet list` with one damaged document lists the other three and names the
/// damaged one by id; a zero-byte wallet.db is reported as damaged in one line, not as "no
/// wallet". Both failed on b40b263.
#[test]
fn list_names_a_damaged_document_and_an_empty_db_is_damaged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    seed(&dir);
    let d = dir.to_str().unwrap();
    let list = |json: bool| {
        let mut args = vec!["wallet", "--data-dir", d, "--passcode", "135790", "list"];
        if json {
            args.push("--json");
        }
        eid(&args)
    };
    let before: Value = serde_json::from_slice(&list(true).stdout).unwrap();
    let victim = before[0]["id"].as_str().unwrap().to_owned();
    {
        let db = rusqlite::Connection::open(dir.join("wallet.db")).unwrap();
        db.execute(
            "UPDATE documents SET summary = CAST(x'00' || summary AS BLOB) WHERE id = ?1",
            [&victim],
        )
        .unwrap();
    }
    let out = list(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 13);
    let damaged: Vec<&Value> = rows.iter().filter(|r| r["status"] == "damaged").collect();
    assert_eq!(damaged.len(), 1);
    assert_eq!(damaged[0]["id"], victim.as_str());
    assert!(damaged[0].get("holder").is_none());
    assert_eq!(rows.iter().filter(|r| r["status"] == "valid").count(), 12);
    let text = String::from_utf8(list(false).stdout).unwrap();
    assert_eq!(text.lines().count(), 13);
    assert!(
        text.lines()
            .any(|l| l.starts_with(&victim) && l.contains("damaged")),
        "{text}"
    );

    // Truncated to zero bytes: damaged, in one line.
    std::fs::write(dir.join("wallet.db"), b"").unwrap();
    for f in ["wallet.db-wal", "wallet.db-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    for args in [
        vec!["wallet", "--data-dir", d, "--passcode", "135790", "list"],
        vec!["wallet", "--data-dir", d, "status"],
    ] {
        let out = eid(&args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains("damaged") && !err.contains("no wallet"),
            "{err}"
        );
    }
}

/// `eid wallet show ID --json`: the labelled fields in the order of the kind's declaration, each
/// with its Vietnamese and English labels, type and value; `list --json` names each kind.
#[test]
fn show_gives_labelled_fields_in_declaration_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    seed(&dir);
    let d = dir.to_str().unwrap();
    let wallet = |more: &[&str]| {
        let mut args = vec!["wallet", "--data-dir", d, "--passcode", "135790"];
        args.extend_from_slice(more);
        ok_json(&args)
    };
    let list = wallet(&["list", "--json"]);
    for row in list.as_array().unwrap() {
        let kind = eid_core::credential::DocumentKind::parse(row["kind"].as_str().unwrap())
            .expect("a machine name");
        let declaration = kind.declaration();
        let shown = wallet(&["show", row["id"].as_str().unwrap(), "--json"]);
        let fields = shown["labelled_fields"].as_array().unwrap();
        let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
        let declared: Vec<&str> = declaration
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| names.contains(n))
            .collect();
        assert_eq!(names, declared, "{kind}");
        assert!(names.len() >= 2, "{kind}");
        for f in fields {
            let declared = declaration.field(f["name"].as_str().unwrap()).unwrap();
            assert_eq!(f["label_vi"], declared.label_vi.as_str());
            assert_eq!(f["label_en"], declared.label_en.as_str());
            assert_eq!(f["type"], declared.ty.name());
            assert!(!f["value"].is_null());
        }
        // Every required field is there.
        for f in declaration.fields.iter().filter(|f| f.required) {
            assert!(names.contains(&f.name.as_str()), "{kind}: {}", f.name);
        }
    }
    let identity = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "identity")
        .unwrap();
    let shown = wallet(&["show", identity["id"].as_str().unwrap(), "--json"]);
    let first = &shown["labelled_fields"][0];
    assert_eq!(first["name"], "id_number");
    assert_eq!(first["label_vi"], "Số định danh cá nhân");
    assert_eq!(first["value"], shown["fields"]["id_number"]);
    // The text form prints the labels.
    let out = eid(&[
        "wallet",
        "--data-dir",
        d,
        "--passcode",
        "135790",
        "show",
        identity["id"].as_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Số định danh cá nhân: "), "{text}");
    assert!(text.contains("Giới tính: N"), "{text}");
}
