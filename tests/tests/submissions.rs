//! Citizen-entered data (issue 18, docs/adr/0057), end to end on SQLite and PostgreSQL: the
//! wallet submits a vaccination given abroad with a photo of the certificate, the health
//! authority's clerk finds it in the health queue (not the police's), verifies it, and the
//! wallet's next sync holds the new vaccination record, signed by the vaccination issuer, with
//! the dose; a temporary residence goes to the police, is rejected with a reason, and the
//! wallet shows the reason. The wallet refuses a field that breaks the kind's rules before
//! sending anything, and says so when the backend is down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eid_core::api::{B64, SubmissionAttachment, SubmissionDecision, SubmissionState};
use eid_core::credential::{Date, DocumentKind};
use eid_core::runtime::block_on;
use eid_core::wallet::{DocumentInfo, Wallet, WalletError};
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;
use serde_json::json;

fn held(w: &Wallet, kind: DocumentKind) -> DocumentInfo {
    w.documents()
        .unwrap()
        .into_iter()
        .find(|d| d.kind == kind)
        .expect("the kind held")
}

fn today() -> Date {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Date::from_unix(now)
}

#[test]
fn a_vaccination_given_abroad_is_verified_and_a_residence_rejected() {
    for (db, b) in common::backends() {
        let api = common::client(&b.url);
        let pass = common::pass();
        let c = citizens::citizens().remove(0);
        let dir = tempfile::tempdir().unwrap();
        let w = common::wallet(dir.path());
        common::activate(&w, &api, &c, Faults::default()).unwrap();
        block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        let before = held(&w, DocumentKind::Vaccination);
        let (_, v) = w.document(&before.id).unwrap();
        let doses = v.document.fields_json()["doses"].as_array().unwrap().len();

        // A COVID-19 booster in Paris last month (numbered after the record's own doses).
        let next = v.document.fields_json()["doses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["vaccine"] == "213")
            .filter_map(|d| d["dose_number"].as_i64())
            .max()
            .unwrap_or(0)
            + 1;
        let given = Date::from_unix(today().unix_seconds() - 30 * 86_400);
        let dose = json!({"doses": [{"vaccine": "213", "dose_number": next,
            "date": given.to_string(), "facility": "Centre de vaccination, Paris 14e"}]});
        let photo = SubmissionAttachment {
            media_type: "image/jpeg".into(),
            content: B64([&[0xFF, 0xD8, 0xFF, 0xE0][..], &[7u8; 5000]].concat()),
        };

        // Refused by the wallet itself: the field and the rule, nothing sent (no consent asked).
        let mut bad = dose.clone();
        bad["doses"][0]["date"] = json!("2999-01-01");
        let err = block_on(w.submit(&api, "vaccination", &bad, vec![], &pass))
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&err, WalletError::InvalidInput(m) if m.starts_with("invalid field doses")),
            "{db}: {err}"
        );
        // The backend down: said so, nothing changed.
        let down = common::client("http://127.0.0.1:9");
        let err = block_on(w.submit(&down, "vaccination", &dose, vec![], &pass))
            .unwrap()
            .unwrap_err();
        assert!(
            err.to_string().starts_with("backend unreachable"),
            "{db}: {err}"
        );
        assert!(
            block_on(w.submissions(&api)).unwrap().unwrap().is_empty(),
            "{db}"
        );

        // A wrong passcode is no consent: nothing sent.
        let wrong = eid_core::account::Passcode::new("000000").unwrap();
        let err = block_on(w.submit(&api, "vaccination", &dose, vec![], &wrong))
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("passcode"), "{db}: {err}");
        assert!(
            block_on(w.submissions(&api)).unwrap().unwrap().is_empty(),
            "{db}"
        );

        let sent = block_on(w.submit(&api, "vaccination", &dose, vec![photo.clone()], &pass))
            .unwrap()
            .unwrap();
        assert_eq!(
            (sent.state, sent.authority.as_str()),
            (SubmissionState::Pending, "health"),
            "{db}"
        );
        let residence = json!({"temporary": {
            "address": {"street": "Số 5 ngõ 12 Trần Phú", "commune": "Phường Ba Đình", "province": "Thành phố Hà Nội"},
            "start_date": today().to_string(), "valid_until": today().plus_years(1).to_string()}});
        let temp = block_on(w.submit(&api, "residence", &residence, vec![], &pass))
            .unwrap()
            .unwrap();
        assert_eq!(temp.authority, "police", "{db}");

        // The health clerk: the vaccination, with the photo; the police's queue has the other.
        let token = common::ADMIN_TOKEN;
        let health =
            block_on(api.submission_queue(token, Some("health"), SubmissionState::Pending))
                .unwrap()
                .unwrap();
        assert_eq!(health.submissions.len(), 1, "{db}");
        assert_eq!(health.submissions[0].id, sent.id, "{db}");
        assert_eq!(health.submissions[0].id_number, c.id_number, "{db}");
        let detail = block_on(api.submission(token, &sent.id)).unwrap().unwrap();
        assert_eq!(detail.attachments, vec![photo], "{db}");
        let police =
            block_on(api.submission_queue(token, Some("police"), SubmissionState::Pending))
                .unwrap()
                .unwrap();
        assert_eq!(
            police.submissions.iter().map(|s| &s.id).collect::<Vec<_>>(),
            vec![&temp.id],
            "{db}"
        );

        let verified = block_on(api.decide_submission(
            token,
            &sent.id,
            &SubmissionDecision {
                decision: SubmissionState::Verified,
                reason: None,
            },
        ))
        .unwrap()
        .unwrap();
        assert_eq!(verified.reissued, 1, "{db}");
        let reason = "Giấy xác nhận tạm trú thiếu chữ ký của chủ hộ";
        block_on(api.decide_submission(
            token,
            &temp.id,
            &SubmissionDecision {
                decision: SubmissionState::Rejected,
                reason: Some(reason.into()),
            },
        ))
        .unwrap()
        .unwrap();

        // The next sync: the new vaccination record, signed by the vaccination issuer.
        let report = block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        assert_eq!((report.updated, report.removed), (1, 1), "{db}");
        let after = held(&w, DocumentKind::Vaccination);
        assert_ne!(after.id, before.id, "{db}");
        assert_eq!(after.issuer, before.issuer, "{db}");
        assert!(
            after.issuer.contains("Tiem chung"),
            "{db}: {}",
            after.issuer
        );
        let (_, v) = w.document(&after.id).unwrap();
        let fields = v.document.fields_json();
        assert_eq!(fields["doses"].as_array().unwrap().len(), doses + 1, "{db}");
        assert!(
            fields["doses"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["facility"] == "Centre de vaccination, Paris 14e"),
            "{db}"
        );
        // What changed is in the document's history (docs/adr/0056).
        assert_eq!(w.history(&after.id).unwrap().len(), 1, "{db}");

        // The wallet's list: the rejection with its reason, the verification.
        let list = block_on(w.submissions(&api)).unwrap().unwrap();
        let states: Vec<_> = list
            .iter()
            .map(|s| (s.kind.as_str(), s.state, s.reason.as_deref()))
            .collect();
        assert_eq!(
            states,
            vec![
                ("residence", SubmissionState::Rejected, Some(reason)),
                ("vaccination", SubmissionState::Verified, None)
            ],
            "{db}"
        );
        // The residence record is unchanged: no temporary residence was added.
        let (_, r) = w.document(&held(&w, DocumentKind::Residence).id).unwrap();
        assert_ne!(
            r.document.fields_json()["temporary"]["address"]["street"],
            "Số 5 ngõ 12 Trần Phú",
            "{db}"
        );
    }
}
