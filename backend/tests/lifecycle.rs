//! Registry changes pushed to wallets (issue 18, docs/adr/0056), on SQLite and PostgreSQL:
//! `POST /v1/admin/registry/changes` deducts licence points and renews a BHYT card (the held
//! credential is re-issued: the next documents page carries the new version and names the old
//! one removed, the old one is revoked), suspends a licence (its credential is suspended in the
//! status list, the others not), and refuses a caller without the admin token, an unknown ID
//! number, and malformed changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{ADMIN_TOKEN, DeviceKey, Harness, Reply, bit, citizen, harnesses, status_bits};
use eid_core::api::{DocumentsPage, ErrorCode, TrustListResponse, paths};
use eid_core::credential::{Document, DocumentKind, TrustList, VerifiedCredential};

async fn change(h: &Harness, body: serde_json::Value, token: Option<&str>) -> Reply {
    let mut b = Request::builder()
        .method("POST")
        .uri(paths::ADMIN_REGISTRY_CHANGES)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    h.send(
        b.body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap(),
    )
    .await
}

async fn page(h: &Harness, device: &DeviceKey, since: Option<&str>) -> DocumentsPage {
    let path = match since {
        Some(s) => format!("{}?since={s}", paths::DOCUMENTS),
        None => paths::DOCUMENTS.to_owned(),
    };
    let r = h.signed(device, "GET", &path, Vec::new(), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()
}

async fn verified(h: &Harness, page: &DocumentsPage, kind: DocumentKind) -> VerifiedCredential {
    let t: TrustListResponse = h.get(paths::TRUST_LIST).await.json();
    let trust = TrustList::decode(&t.issuers.0).unwrap();
    let d = page
        .documents
        .iter()
        .find(|d| d.kind == kind.as_str())
        .expect("the kind in the page");
    eid_core::credential::verify(&d.credential.0, &trust, h.app.clock().now()).unwrap()
}

#[tokio::test]
async fn admin_changes_reissue_and_suspend() {
    for h in harnesses().await {
        let db = h.db;
        let c = citizen(0);
        let device = h.activate(&c).await;
        let first = page(&h, &device, None).await;
        let licence = verified(&h, &first, DocumentKind::DrivingLicence).await;
        let Document::DrivingLicence(l) = &licence.document else {
            panic!("{db}")
        };
        assert_eq!(l.points, 12, "{db}");

        // Points: re-issued with 9 points; the old credential removed and revoked.
        let r = change(
            &h,
            serde_json::json!({"type": "licence_points", "id_number": c.id_number,
                "deduct": 3, "reason": "Vượt đèn đỏ"}),
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{db}");
        let answer: serde_json::Value = r.json();
        assert_eq!(answer["reissued"], 1, "{db}");
        assert_eq!(answer["kind"], "driving_licence", "{db}");
        let next = page(&h, &device, Some(&first.cursor)).await;
        assert_eq!(next.documents.len(), 1, "{db}: only the changed document");
        assert_eq!(next.removed, vec![licence.id.clone()], "{db}");
        let renewed = verified(&h, &next, DocumentKind::DrivingLicence).await;
        let Document::DrivingLicence(l) = &renewed.document else {
            panic!("{db}")
        };
        assert_eq!(l.points, 9, "{db}");
        let (revoked, suspended) = status_bits(&h).await;
        assert!(
            bit(&revoked, licence.status.index),
            "{db}: the old one revoked"
        );
        assert!(!bit(&revoked, renewed.status.index), "{db}");
        assert!(!bit(&suspended, renewed.status.index), "{db}");

        // BHYT renewed for a new year.
        let card = verified(&h, &first, DocumentKind::HealthInsurance).await;
        let Document::HealthInsurance(old) = &card.document else {
            panic!("{db}")
        };
        let new_end = old.valid_to.plus_years(1);
        let r = change(
            &h,
            serde_json::json!({"type": "bhyt_renew", "id_number": c.id_number,
                "valid_until": new_end.to_string()}),
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{db}");
        let after = page(&h, &device, Some(&next.cursor)).await;
        let Document::HealthInsurance(renewed_card) =
            verified(&h, &after, DocumentKind::HealthInsurance)
                .await
                .document
        else {
            panic!("{db}")
        };
        assert_eq!(renewed_card.valid_to, new_end, "{db}");
        assert_eq!(after.removed, vec![card.id.clone()], "{db}");
        // Renewing to a date not after the current end is refused.
        let r = change(
            &h,
            serde_json::json!({"type": "bhyt_renew", "id_number": c.id_number,
                "valid_until": new_end.to_string()}),
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.error(), ErrorCode::InvalidRequest, "{db}");

        // Suspended: the licence's entry, and only it, is suspended.
        let r = change(
            &h,
            serde_json::json!({"type": "licence_suspend", "id_number": c.id_number,
                "until": "2099-12-31", "reason": "Tước GPLX 3 tháng"}),
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{db}");
        let (revoked, suspended) = status_bits(&h).await;
        assert!(bit(&suspended, renewed.status.index), "{db}");
        assert!(!bit(&revoked, renewed.status.index), "{db}");
        let identity = verified(&h, &first, DocumentKind::Identity).await;
        assert!(!bit(&suspended, identity.status.index), "{db}");

        let Document::Identity(card) = &identity.document else {
            panic!("{db}")
        };
        let current_home = card.place_of_residence.clone();
        // Refusals: no or a wrong admin token, an unknown ID number, malformed changes.
        let points = serde_json::json!({"type": "licence_points", "id_number": c.id_number,
            "deduct": 1, "reason": "x"});
        assert_eq!(
            change(&h, points.clone(), None).await.error(),
            ErrorCode::Unauthenticated,
            "{db}"
        );
        assert_eq!(
            change(&h, points, Some("wrong-token")).await.error(),
            ErrorCode::Unauthenticated,
            "{db}"
        );
        let r = change(
            &h,
            serde_json::json!({"type": "licence_points", "id_number": "000000000000",
                "deduct": 1, "reason": "x"}),
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{db}");
        for bad in [
            serde_json::json!({"type": "licence_points", "id_number": c.id_number,
                "deduct": 0, "reason": "x"}),
            serde_json::json!({"type": "licence_points", "id_number": c.id_number,
                "deduct": 1, "reason": ""}),
            serde_json::json!({"type": "licence_suspend", "id_number": c.id_number,
                "until": "2000-01-01", "reason": "x"}),
            serde_json::json!({"type": "licence_suspend", "id_number": c.id_number,
                "until": "soon", "reason": "x"}),
            serde_json::json!({"type": "address_moon", "id_number": c.id_number}),
            // A permanent address (docs/adr/0062): empty, too long, with a control character,
            // missing, or the card's current one.
            serde_json::json!({"type": "permanent_address", "id_number": c.id_number,
                "address": "  ", "reason": "x"}),
            serde_json::json!({"type": "permanent_address", "id_number": c.id_number,
                "address": "a".repeat(301), "reason": "x"}),
            serde_json::json!({"type": "permanent_address", "id_number": c.id_number,
                "address": "Số 1\u{0}Hà Nội", "reason": "x"}),
            serde_json::json!({"type": "permanent_address", "id_number": c.id_number,
                "reason": "x"}),
            serde_json::json!({"type": "permanent_address", "id_number": c.id_number,
                "address": current_home, "reason": "x"}),
        ] {
            assert_eq!(
                change(&h, bad.clone(), Some(ADMIN_TOKEN)).await.error(),
                ErrorCode::InvalidRequest,
                "{db}: {bad}"
            );
        }

        // A new permanent address re-issues the identity card, which keeps the account.
        let r = change(
            &h,
            serde_json::json!({"type": "permanent_address", "id_number": c.id_number,
                "address": "Số 12 Phố Tràng Tiền, Hà Nội", "reason": "Đăng ký thường trú"}),
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{db}");
        let body: serde_json::Value = r.json();
        assert_eq!(body["reissued"], 1, "{db}");
        let next = page(&h, &device, None).await;
        let moved = verified(&h, &next, DocumentKind::Identity).await;
        assert_ne!(moved.id, identity.id, "{db}");
        let Document::Identity(card) = &moved.document else {
            panic!("{db}")
        };
        assert_eq!(
            card.place_of_residence, "Số 12 Phố Tràng Tiền, Hà Nội",
            "{db}"
        );
        assert_eq!(
            card.account.as_ref().map(|a| a.id.as_str()),
            Some(device.account.as_str()),
            "{db}"
        );
    }
}

/// `record_update` (docs/adr/0056, merged as docs/adr/0057's proposals): the health authority
/// records a dose given at a clinic and the police a new temporary address; each held credential
/// is re-issued with the entry, the old one revoked. A dose breaking the declaration is refused
/// naming the field (nothing changes), as is a kind that is not merged this way.
#[tokio::test]
async fn authority_record_updates_add_a_dose_and_an_address() {
    for h in harnesses().await {
        let db = h.db;
        let c = citizen(1);
        let device = h.activate(&c).await;
        let first = page(&h, &device, None).await;
        let today = eid_core::credential::Date::from_unix(h.app.clock().now());
        let before = verified(&h, &first, DocumentKind::Vaccination).await;
        let doses = before.document.fields_json()["doses"]
            .as_array()
            .unwrap()
            .len();

        let dose = |date: String| {
            serde_json::json!({"type": "record_update", "id_number": c.id_number,
                "kind": "vaccination", "reason": "Tiêm tại trạm y tế phường",
                "fields": {"doses": [{"vaccine": "213", "dose_number": 9, "date": date,
                    "facility": "Trạm y tế phường Ba Đình"}]}})
        };
        // A dose in the future breaks the declaration: refused, naming the field.
        let r = change(&h, dose("2999-01-01".into()), Some(ADMIN_TOKEN)).await;
        assert_eq!(r.error(), ErrorCode::InvalidRequest, "{db}");
        let message = String::from_utf8_lossy(&r.body).into_owned();
        assert!(message.contains("doses"), "{db}: {message}");
        assert!(
            page(&h, &device, Some(&first.cursor))
                .await
                .documents
                .is_empty(),
            "{db}: nothing re-issued"
        );

        let r = change(&h, dose(today.to_string()), Some(ADMIN_TOKEN)).await;
        r.assert_ok(&format!("{db}: "));
        let answer: serde_json::Value = r.json();
        assert_eq!(
            (answer["type"].as_str(), answer["reissued"].as_u64()),
            (Some("record_update"), Some(1)),
            "{db}"
        );
        let next = page(&h, &device, Some(&first.cursor)).await;
        assert_eq!(next.removed, vec![before.id.clone()], "{db}");
        let after = verified(&h, &next, DocumentKind::Vaccination).await;
        let fields = after.document.fields_json();
        assert_eq!(fields["doses"].as_array().unwrap().len(), doses + 1, "{db}");
        assert_eq!(
            fields["as_of"],
            today.to_string(),
            "{db}: the authority's date"
        );
        let (revoked, _) = status_bits(&h).await;
        assert!(bit(&revoked, before.status.index), "{db}");

        // A new temporary address, registered by the police.
        let home = verified(&h, &first, DocumentKind::Residence).await;
        let r = change(
            &h,
            serde_json::json!({"type": "record_update", "id_number": c.id_number,
                "kind": "residence", "reason": "Đăng ký tạm trú",
                "fields": {"temporary": {"address": {"street": "Số 5 ngõ 12 Trần Phú",
                    "commune": "Phường Ba Đình", "province": "Thành phố Hà Nội"},
                    "start_date": today.to_string(),
                    "valid_until": today.plus_years(1).to_string()}}}),
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{db}");
        let last = page(&h, &device, Some(&next.cursor)).await;
        assert_eq!(last.removed, vec![home.id.clone()], "{db}");
        let moved = verified(&h, &last, DocumentKind::Residence).await;
        assert_eq!(
            moved.document.fields_json()["temporary"]["address"]["street"],
            "Số 5 ngõ 12 Trần Phú",
            "{db}"
        );

        // Only the kinds merged this way.
        let r = change(
            &h,
            serde_json::json!({"type": "record_update", "id_number": c.id_number,
                "kind": "driving_licence", "reason": "x", "fields": {"points": 1}}),
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.error(), ErrorCode::InvalidRequest, "{db}");
    }
}
