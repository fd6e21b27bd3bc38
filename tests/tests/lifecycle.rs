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
use eid_core::mdoc::{self, MsoStatus};
use eid_core::platform::{HttpRequest, HttpTransport as _, Method};
use eid_core::present::{Disclosed, Field, FieldValue, Profile, QrPayload};
use eid_core::runtime::block_on;
use eid_core::sdjwt::{self, PID_VCT};
use eid_core::verify::{Reason, StatusList, Verifier};
use eid_core::wallet::{
    Consent, DocumentInfo, DocumentStatus, MDOC_BATCH, PRESENTATION_BATCH, SDJWT_BATCH, Wallet,
};
use eid_crypto::trust::TrustStore;
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

/// The licence points a driving QR discloses.
fn points(fields: &Disclosed) -> u64 {
    match fields.get(Field::Points) {
        Some(FieldValue::Uint(n)) => *n,
        other => panic!("no points: {other:?}"),
    }
}

/// The address an accommodation QR discloses.
fn residence(fields: &Disclosed) -> String {
    match fields.get(Field::PlaceOfResidence) {
        Some(FieldValue::Text(t)) => t.clone(),
        other => panic!("no place of residence: {other:?}"),
    }
}

/// An issued MSO checked as a reader would: its elements and its status list index.
fn mso(
    bytes: &[u8],
    doc_type: &str,
    iacas: &TrustStore,
    now: u64,
) -> (Vec<(String, String, ciborium::Value)>, MsoStatus) {
    let parsed = mdoc::IssuerSigned::parse(bytes).unwrap();
    let v = mdoc::check_issuer_signed(&parsed, doc_type, iacas, now).unwrap();
    (v.elements, v.mso.status.expect("an MSO status entry"))
}

fn element<'a>(elements: &'a [(String, String, ciborium::Value)], id: &str) -> &'a ciborium::Value {
    &elements
        .iter()
        .find(|(_, e, _)| e == id)
        .expect("the element")
        .2
}

/// What a verifier desk holds after refreshing online: the trust list, the IACAs, the status
/// list in each form (the QR's own; the MSOs' CWT and the SD-JWT VCs' JWT, checked for the URI
/// a credential names).
struct Desk {
    trust: TrustList,
    iacas: TrustStore,
    status: StatusList,
    cwt: Vec<u8>,
    jwt: String,
    now: u64,
}

impl Desk {
    fn of(api: &eid_core::client::BackendClient, now: u64) -> Desk {
        let t = block_on(api.trust_list()).unwrap().unwrap();
        let trust = TrustList::decode(&t.issuers.0).unwrap();
        let mut iacas = TrustStore::new();
        for der in &t.iaca {
            iacas.add_der(&der.0).unwrap();
        }
        let s = block_on(api.status_list()).unwrap().unwrap();
        let status = StatusList::from_signed(&s.signed.0, &trust, now).unwrap();
        Desk {
            trust,
            iacas,
            status,
            cwt: block_on(api.status_list_cwt()).unwrap().unwrap(),
            jwt: block_on(api.status_list_jwt()).unwrap().unwrap(),
            now,
        }
    }

    /// An offline QR the desk reads as revoked (its fresh status list says so).
    fn assert_qr_revoked(&self, text: &str, db: &str) {
        let QrPayload::Offline(p) = QrPayload::parse(text).unwrap() else {
            panic!("{db}")
        };
        let verdict = Verifier::new(self.trust.clone())
            .with_status_list(self.status.clone())
            .verify_offline(text, p.created_at, None, None);
        assert!(
            verdict.reasons.contains(&Reason::Revoked),
            "{db}: {:?}",
            verdict.reasons
        );
    }

    /// The status of an MSO in the CWT list it names.
    fn mdoc_status(&self, status: &MsoStatus) -> Option<u8> {
        mdoc::verify_status_list_cwt(&self.cwt, &status.uri, &self.iacas, self.now)
            .unwrap()
            .list
            .get(status.idx)
    }

    /// The status of an SD-JWT VC (its verified claims) in the JWT list it names.
    fn sdjwt_status(&self, claims: &serde_json::Map<String, serde_json::Value>) -> Option<u8> {
        let r = sdjwt::StatusReference::from_claims(claims).unwrap();
        sdjwt::verify_status_list_jwt(&self.jwt, &r.uri, &self.trust, self.now)
            .unwrap()
            .get(r.idx)
    }
}

/// After a registry change and one sync, every presentation credential the wallet holds of the
/// changed record carries the new values (docs/adr/0062): the driving QR and the mDL show the
/// points left after a deduction, the accommodation QR, the PhotoID mdoc and the PID SD-JWT VC
/// the new permanent address; the copies shown before the change are revoked in every status
/// list form, and the wallet kept none of the old unused ones. Credentials of records that did
/// not change stay.
#[test]
fn a_registry_change_replaces_the_presentation_credentials() {
    for (db, b) in common::backends() {
        let api = common::client(&b.url);
        let c = citizens::citizens().remove(0);
        let dir = tempfile::tempdir().unwrap();
        let w = common::wallet(dir.path());
        common::activate(&w, &api, &c, Faults::default()).unwrap();
        let pass = common::pass();
        let report = block_on(w.sync(&api, None, Some(&pass))).unwrap().unwrap();
        assert_eq!(report.presentation_error, None, "{db}");
        let now = b.app.clock().now();
        let stock = |p: Profile| {
            w.presentation_stock()
                .unwrap()
                .into_iter()
                .find(|s| s.profile == p)
                .unwrap()
                .unused
        };
        let mdocs = |doc_type: &str| {
            w.mdoc_stock()
                .unwrap()
                .into_iter()
                .find(|s| s.doc_type == doc_type)
                .unwrap()
                .unused
        };
        let pids = || w.sdjwt_stock().unwrap()[0].unused;

        // Shown before the change: the copies a verifier may have kept.
        let old_qr = w
            .present(
                Profile::Driving,
                None,
                Consent::Passcode(&pass),
                "traffic police",
            )
            .unwrap();
        assert_eq!(points(&old_qr.fields), 12, "{db}");
        let old_mdl = w.take_mdoc(mdoc::MDL_DOCTYPE).unwrap().unwrap();
        let (elements, old_mdl_status) = mso(
            &old_mdl.bytes,
            mdoc::MDL_DOCTYPE,
            &Desk::of(&api, now).iacas,
            now,
        );
        assert_eq!(
            element(&elements, "points_remaining"),
            &ciborium::Value::from(12),
            "{db}"
        );
        let bhyt_before = mdocs(mdoc::BHYT_DOCTYPE);

        // 3 points deducted; one sync with the passcode.
        let deduct = serde_json::json!({"type": "licence_points", "id_number": c.id_number,
            "deduct": 3, "reason": "Không chấp hành tín hiệu đèn giao thông"});
        let (status, body) = change(&b.url, deduct, Some(common::ADMIN_TOKEN));
        assert_eq!(status, 200, "{db}: {body}");
        let report = block_on(w.sync(&api, None, Some(&pass))).unwrap().unwrap();
        assert_eq!(report.presentation_error, None, "{db}");
        // Every unused one is new (7 old ones were left, above the low water: without the
        // drop they would have stayed and no batch been asked for).
        assert_eq!(stock(Profile::Driving), PRESENTATION_BATCH as u64, "{db}");
        assert_eq!(mdocs(mdoc::MDL_DOCTYPE), MDOC_BATCH as u64, "{db}");
        for _ in 0..PRESENTATION_BATCH {
            let qr = w
                .present(
                    Profile::Driving,
                    None,
                    Consent::Passcode(&pass),
                    "traffic police",
                )
                .unwrap();
            assert!(!qr.reused, "{db}");
            assert_eq!(points(&qr.fields), 9, "{db}");
        }
        let d = Desk::of(&api, b.app.clock().now());
        for _ in 0..MDOC_BATCH {
            let held = w.take_mdoc(mdoc::MDL_DOCTYPE).unwrap().unwrap();
            let (elements, status) = mso(&held.bytes, mdoc::MDL_DOCTYPE, &d.iacas, now);
            assert_eq!(
                element(&elements, "points_remaining"),
                &ciborium::Value::from(9),
                "{db}"
            );
            assert_eq!(d.mdoc_status(&status), Some(sdjwt::VALID), "{db}");
        }
        // The copies shown before: revoked for a desk with a fresh list.
        d.assert_qr_revoked(&old_qr.text, db);
        assert_eq!(d.mdoc_status(&old_mdl_status), Some(sdjwt::INVALID), "{db}");
        // Not drawn from the licence: the BHYT mdocs and the PIDs stay.
        assert_eq!(mdocs(mdoc::BHYT_DOCTYPE), bhyt_before, "{db}");
        assert_eq!(pids(), SDJWT_BATCH as u64, "{db}");

        // A new permanent address (thường trú): the identity card is re-issued, and with it
        // everything drawn from it.
        let old_home = w
            .present(
                Profile::Accommodation,
                None,
                Consent::Passcode(&pass),
                "hotel",
            )
            .unwrap();
        let old_pid = w.take_sdjwt(PID_VCT).unwrap().unwrap();
        let before = residence(&old_home.fields);
        let card = held(&w, DocumentKind::Identity);
        let home = "Số 12 Phố Tràng Tiền, Phường Hoàn Kiếm, Hà Nội";
        let (status, body) = change(
            &b.url,
            serde_json::json!({"type": "permanent_address", "id_number": c.id_number,
                "address": " ", "reason": "Đăng ký thường trú"}),
            Some(common::ADMIN_TOKEN),
        );
        assert_eq!(status, 400, "{db}: {body}");
        let (status, body) = change(
            &b.url,
            serde_json::json!({"type": "permanent_address", "id_number": c.id_number,
                "address": home, "reason": "Đăng ký thường trú"}),
            Some(common::ADMIN_TOKEN),
        );
        assert_eq!(status, 200, "{db}: {body}");
        assert_eq!(
            (body["kind"].as_str(), body["reissued"].as_u64()),
            (Some("identity"), Some(1)),
            "{db}"
        );
        let report = block_on(w.sync(&api, None, Some(&pass))).unwrap().unwrap();
        assert_eq!(report.presentation_error, None, "{db}");
        assert_eq!((report.updated, report.removed), (1, 1), "{db}");
        // The wallet's history shows the move.
        let now_card = held(&w, DocumentKind::Identity);
        assert_ne!(now_card.id, card.id, "{db}");
        assert_eq!(field(&w, &now_card.id, "place_of_residence"), home, "{db}");
        let h = w.history(&now_card.id).unwrap();
        assert_eq!(h.len(), 1, "{db}");
        assert!(
            h[0].changes.iter().any(|c| c.field == "place_of_residence"
                && c.old.as_deref() == Some(before.as_str())
                && c.new.as_deref() == Some(home)),
            "{db}: {:?}",
            h[0].changes
        );
        // The account is still on the card, and still the wallet's.
        assert!(
            w.documents()
                .unwrap()
                .iter()
                .all(|d| w.status_of(d) == DocumentStatus::Valid),
            "{db}"
        );
        assert_eq!(
            stock(Profile::Accommodation),
            PRESENTATION_BATCH as u64,
            "{db}"
        );
        for _ in 0..PRESENTATION_BATCH {
            let qr = w
                .present(
                    Profile::Accommodation,
                    None,
                    Consent::Passcode(&pass),
                    "hotel",
                )
                .unwrap();
            assert_eq!(residence(&qr.fields), home, "{db}");
        }
        let now = b.app.clock().now();
        let d = Desk::of(&api, now);
        assert_eq!(mdocs(mdoc::PHOTO_ID_DOCTYPE), MDOC_BATCH as u64, "{db}");
        for _ in 0..MDOC_BATCH {
            let held = w.take_mdoc(mdoc::PHOTO_ID_DOCTYPE).unwrap().unwrap();
            let (elements, _) = mso(&held.bytes, mdoc::PHOTO_ID_DOCTYPE, &d.iacas, now);
            assert_eq!(
                element(&elements, "resident_address"),
                &ciborium::Value::from(home),
                "{db}"
            );
        }
        assert_eq!(pids(), SDJWT_BATCH as u64, "{db}");
        for _ in 0..SDJWT_BATCH {
            let pid = w.take_sdjwt(PID_VCT).unwrap().unwrap();
            let v = sdjwt::verify_pid(&pid.issued, &d.trust, now, None).unwrap();
            assert_eq!(v.claims["address"]["formatted"], home, "{db}");
            assert_eq!(d.sdjwt_status(&v.claims), Some(sdjwt::VALID), "{db}");
        }
        // The old PID and accommodation QR: revoked.
        let v = sdjwt::verify_pid(&old_pid.issued, &d.trust, now, None).unwrap();
        assert_eq!(v.claims["address"]["formatted"], before.as_str(), "{db}");
        assert_eq!(d.sdjwt_status(&v.claims), Some(sdjwt::INVALID), "{db}");
        d.assert_qr_revoked(&old_home.text, db);
    }
}
