//! Lifecycle (issue 18, docs/adr/0056), end to end on SQLite and PostgreSQL: the registry
//! authority deducts licence points, renews the BHYT card and suspends the licence through the
//! admin API; the wallet's next sync replaces the documents, records what changed (old → new,
//! when) in its sealed history, shows the suspended licence as suspended from the synced status
//! list (offline too), and a verifier desk with a fresh status list finds the licence QR
//! suspended. An unauthorised change and one for an unknown ID number are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eid_core::api::paths;
use eid_core::credential::{DocumentKind, TrustList};
use eid_core::platform::{HttpRequest, HttpTransport as _, Method};
use eid_core::present::{Profile, QrPayload};
use eid_core::runtime::block_on;
use eid_core::verify::{Reason, StatusList, Verifier};
use eid_core::wallet::{Consent, DocumentInfo, DocumentStatus, Wallet};
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;
use std::time::Duration;

/// POSTs a registry change; the status and the JSON answer.
fn change(url: &str, body: serde_json::Value, token: Option<&str>) -> (u16, serde_json::Value) {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(t) = token {
        headers.push(("authorization".into(), format!("Bearer {t}")));
    }
    let r = eid_core::client::UreqTransport::new()
        .exchange(HttpRequest {
            method: Method::Post,
            url: format!("{url}{}", paths::ADMIN_REGISTRY_CHANGES),
            headers,
            body: Some(serde_json::to_vec(&body).unwrap()),
            timeout: Duration::from_secs(10),
        })
        .unwrap();
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null),
    )
}

fn held(w: &Wallet, kind: DocumentKind) -> DocumentInfo {
    w.documents()
        .unwrap()
        .into_iter()
        .find(|d| d.kind == kind)
        .expect("the kind held")
}

fn field(w: &Wallet, id: &str, name: &str) -> serde_json::Value {
    let (_, v) = w.document(id).unwrap();
    v.document.fields_json()[name].clone()
}

#[test]
fn registry_changes_reach_the_wallet_with_their_history() {
    for (db, b) in common::backends() {
        let api = common::client(&b.url);
        let c = citizens::citizens().remove(0);
        let dir = tempfile::tempdir().unwrap();
        let w = common::wallet(dir.path());
        common::activate(&w, &api, &c, Faults::default()).unwrap();
        block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        let licence = held(&w, DocumentKind::DrivingLicence);
        assert_eq!(field(&w, &licence.id, "points"), 12, "{db}");
        assert!(w.history(&licence.id).unwrap().is_empty(), "{db}");

        // Refused: no admin token, a wrong one, an unknown ID number.
        let deduct = serde_json::json!({"type": "licence_points", "id_number": c.id_number,
            "deduct": 3, "reason": "Không chấp hành tín hiệu đèn giao thông"});
        assert_eq!(change(&b.url, deduct.clone(), None).0, 401, "{db}");
        assert_eq!(change(&b.url, deduct.clone(), Some("nope")).0, 401, "{db}");
        let unknown = serde_json::json!({"type": "licence_points", "id_number": "001099999999",
            "deduct": 3, "reason": "x"});
        let (status, body) = change(&b.url, unknown, Some(common::ADMIN_TOKEN));
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{db}: {body}"
        );

        // 3 points deducted: after sync the licence holds 9, and its history says 12 → 9.
        let before_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let (status, body) = change(&b.url, deduct, Some(common::ADMIN_TOKEN));
        assert_eq!(status, 200, "{db}: {body}");
        let report = block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        assert_eq!((report.updated, report.removed), (1, 1), "{db}");
        let now_licence = held(&w, DocumentKind::DrivingLicence);
        assert_ne!(now_licence.id, licence.id, "{db}");
        assert_eq!(field(&w, &now_licence.id, "points"), 9, "{db}");
        let history = w.history(&now_licence.id).unwrap();
        assert_eq!(history.len(), 1, "{db}");
        let e = &history[0];
        assert_eq!(
            (e.previous_id.as_str(), e.kind),
            (licence.id.as_str(), DocumentKind::DrivingLicence)
        );
        assert!(e.at_ms >= before_ms, "{db}");
        assert_eq!(e.changes.len(), 1, "{db}: {:?}", e.changes);
        let p = &e.changes[0];
        assert_eq!(p.field, "points", "{db}");
        assert_eq!(
            (p.old.as_deref(), p.new.as_deref()),
            (Some("12"), Some("9")),
            "{db}"
        );
        assert!(!p.label_vi.is_empty() && !p.label_en.is_empty(), "{db}");
        assert_eq!(w.status_of(&now_licence), DocumentStatus::Valid, "{db}");

        // BHYT renewed for a new year: new end date, one history entry on the card.
        let card = held(&w, DocumentKind::HealthInsurance);
        let old_end = card.valid_until.clone().unwrap();
        let new_end = eid_core::credential::Date::parse_iso(&old_end)
            .unwrap()
            .plus_years(1)
            .to_string();
        let (status, body) = change(
            &b.url,
            serde_json::json!({"type": "bhyt_renew", "id_number": c.id_number,
                "valid_until": new_end}),
            Some(common::ADMIN_TOKEN),
        );
        assert_eq!(status, 200, "{db}: {body}");
        block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        let renewed = held(&w, DocumentKind::HealthInsurance);
        assert_eq!(
            renewed.valid_until.as_deref(),
            Some(new_end.as_str()),
            "{db}"
        );
        let h = w.history(&renewed.id).unwrap();
        assert_eq!(h.len(), 1, "{db}");
        assert!(
            h[0].changes
                .iter()
                .any(|c| c.old.as_deref() == Some(old_end.as_str())
                    && c.new.as_deref() == Some(new_end.as_str())),
            "{db}: {:?}",
            h[0].changes
        );
        // The licence's history is its own.
        assert_eq!(w.history(&now_licence.id).unwrap().len(), 1, "{db}");

        // Suspended (tước GPLX): after sync the list shows it suspended, the others not; the
        // wallet keeps saying so offline (the synced list).
        let (status, body) = change(
            &b.url,
            serde_json::json!({"type": "licence_suspend", "id_number": c.id_number,
                "until": "2099-06-30", "reason": "Tước GPLX 2 tháng"}),
            Some(common::ADMIN_TOKEN),
        );
        assert_eq!(status, 200, "{db}: {body}");
        assert_eq!(
            w.status_of(&now_licence),
            DocumentStatus::Valid,
            "{db}: not synced yet"
        );
        block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        let licence = held(&w, DocumentKind::DrivingLicence);
        assert_eq!(w.status_of(&licence), DocumentStatus::Suspended, "{db}");
        assert_eq!(
            w.status_of(&held(&w, DocumentKind::Identity)),
            DocumentStatus::Valid,
            "{db}"
        );
        // A verifier desk refreshes its lists while online.
        let t = block_on(api.trust_list()).unwrap().unwrap();
        let desk_trust = TrustList::decode(&t.issuers.0).unwrap();
        let s = block_on(api.status_list()).unwrap().unwrap();
        let desk_status =
            StatusList::from_signed(&s.signed.0, &desk_trust, b.app.clock().now()).unwrap();
        drop(b); // offline from here
        assert_eq!(w.status_of(&licence), DocumentStatus::Suspended, "{db}");

        // The licence QR, checked by a desk holding the current status list: suspended.
        let shown = w
            .present(
                Profile::Driving,
                None,
                Consent::Passcode(&common::pass()),
                "traffic police",
            )
            .unwrap();
        let QrPayload::Offline(p) = QrPayload::parse(&shown.text).unwrap() else {
            panic!("{db}")
        };
        let desk = Verifier::new(desk_trust).with_status_list(desk_status);
        let verdict = desk.verify_offline(&shown.text, p.created_at, None, None);
        assert!(!verdict.valid, "{db}");
        assert!(
            verdict.reasons.contains(&Reason::Suspended),
            "{db}: {:?}",
            verdict.reasons
        );
    }
}
