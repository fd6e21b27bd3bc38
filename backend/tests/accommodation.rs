//! Accommodation check-ins and notices at the backend (docs/adr/0048), on SQLite and PostgreSQL:
//! the backend checks the QR itself, a retry (the same client_request_id, or the same QR from the
//! same host again) gets the same receipt, unregistered hosts and desks that are not hosts are
//! refused, and the guest's notices are found through the ID number and nobody else's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use common::*;
use eid_core::api::{
    self, AccommodationNotices, B64, CheckInAnswer, CheckInRequest, ErrorCode,
    PresentationCredentialsIssued, PresentationCredentialsRequest, headers,
};
use eid_core::client::{VerifierKey, VerifierSigner};
use eid_core::credential::{Date, TrustList};
use eid_core::present::{Presentation, Profile};
use eid_core::verify::Receipt;

/// One presentation credential of `profile` for `device`, and the key it is bound to.
async fn credential(h: &Harness, device: &DeviceKey, profile: Profile) -> (Vec<u8>, DeviceKey) {
    let key = DeviceKey::new();
    let keys = vec![B64(key.public_key())];
    let consent = h
        .consent(
            device,
            api::consent_action::PRESENTATION_CREDENTIALS,
            &api::presentation_credentials_digest(profile.as_str(), &keys),
        )
        .await;
    let body = serde_json::to_vec(&PresentationCredentialsRequest {
        profile: profile.as_str().into(),
        device_keys: keys,
        client_request_id: request_id(),
        consent: Some(consent),
        dependant: None,
    })
    .unwrap();
    let r = h
        .signed(
            device,
            "POST",
            api::paths::PRESENTATION_CREDENTIALS,
            body,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", h.db);
    let issued: PresentationCredentialsIssued = r.json();
    (issued.credentials[0].0.clone(), key)
}

/// The QR text of a presentation of `credential` made at `at`.
fn qr(credential: &[u8], key: &DeviceKey, at: u64) -> String {
    Presentation {
        credential: credential.to_vec(),
        created_at: at,
        nonce: None,
        signature: key.sign_raw(&Presentation::signing_input(credential, at, None)),
    }
    .to_text()
}

/// A check-in signed by `host` now.
async fn post_check_in(h: &Harness, host: &VerifierKey, req: &CheckInRequest) -> Reply {
    let body = serde_json::to_vec(req).unwrap();
    let path = api::paths::ACCOMMODATION_CHECK_INS;
    let now = h.app.clock().now();
    let nonce = api::new_nonce();
    let sig = host
        .sign(&api::signing_input("POST", path, now, &nonce, &body))
        .unwrap();
    h.send(
        Request::post(path)
            .header(headers::VERIFIER, host.verifier_id())
            .header(headers::TIMESTAMP, now.to_string())
            .header(headers::NONCE, nonce)
            .header(
                headers::SIGNATURE,
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig),
            )
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

fn stay(h: &Harness, presentation: &str, nights: i64) -> CheckInRequest {
    let today = Date::from_unix(h.app.clock().now());
    CheckInRequest {
        client_request_id: request_id(),
        presentation: presentation.to_owned(),
        check_in: today.to_string(),
        check_out: Date::from_unix_days(today.unix_days() + nights)
            .unwrap()
            .to_string(),
    }
}

async fn notices(h: &Harness, device: &DeviceKey, after: u64) -> AccommodationNotices {
    let path = format!("{}?after={after}", api::paths::ACCOMMODATION_NOTICES);
    let r = h.signed(device, "GET", &path, Vec::new(), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", h.db);
    r.json()
}

async fn trust(h: &Harness) -> TrustList {
    let list: api::TrustListResponse = h.get(api::paths::TRUST_LIST).await.json();
    TrustList::decode(&list.issuers.0).unwrap()
}

#[tokio::test]
async fn a_check_in_is_recorded_once_with_one_receipt() {
    for h in harnesses_with(unthrottled).await {
        let c = citizen(4);
        let device = h.activate(&c).await;
        let (cred, key) = credential(&h, &device, Profile::Accommodation).await;
        let host = register_verifier(&h, &[Profile::Accommodation]).await;
        let text = qr(&cred, &key, h.app.clock().now());
        let req = stay(&h, &text, 2);

        let first = post_check_in(&h, &host, &req).await;
        assert_eq!(first.status, StatusCode::OK, "{}: {:?}", h.db, first.body);
        let answer: CheckInAnswer = first.json();
        let receipt =
            Receipt::from_signed(&answer.signed.0, &trust(&h).await, h.app.clock().now()).unwrap();
        let s = &receipt.statement;
        assert_eq!(s.receipt_id, answer.receipt_id);
        assert_eq!(s.host_id, host.verifier_id);
        assert_eq!(
            (s.check_in.as_str(), s.check_out.as_str()),
            (req.check_in.as_str(), req.check_out.as_str())
        );
        assert_eq!(s.presentation_digest, api::presentation_digest(&text));
        // Nothing of the guest in the receipt but the QR's digest.
        let payload = String::from_utf8_lossy(&answer.signed.0).to_string();
        assert!(!payload.contains(&c.id_number), "{}", h.db);

        // A retry with the same client_request_id: the stored answer.
        let retry = post_check_in(&h, &host, &req).await;
        assert_eq!(retry.status, StatusCode::OK);
        assert_eq!(retry.body, first.body, "{}", h.db);
        assert_eq!(retry.headers["idempotent-replayed"], "true");
        // The same QR from the same host under a new id, even after the QR's minute: the same
        // receipt, byte for byte.
        h.app.clock().advance(600);
        let again = post_check_in(
            &h,
            &host,
            &CheckInRequest {
                client_request_id: request_id(),
                ..req.clone()
            },
        )
        .await;
        assert_eq!(again.status, StatusCode::OK, "{}", h.db);
        assert_eq!(again.json::<CheckInAnswer>(), answer, "{}", h.db);
        // ... but not with other dates.
        let other = stay(&h, &text, 3);
        let r = post_check_in(
            &h,
            &host,
            &CheckInRequest {
                check_in: req.check_in.clone(),
                ..other
            },
        )
        .await;
        assert_eq!(r.error(), ErrorCode::InvalidRequest, "{}", h.db);

        // One notice for the guest, the receipt the host got; none for another citizen.
        let mine = notices(&h, &device, 0).await;
        assert_eq!(mine.notices.len(), 1, "{}", h.db);
        assert_eq!(mine.notices[0].signed, answer.signed);
        assert!(
            notices(&h, &device, mine.notices[0].seq)
                .await
                .notices
                .is_empty()
        );
        let other_device = h.activate(&citizen(5)).await;
        assert!(
            notices(&h, &other_device, 0).await.notices.is_empty(),
            "{}",
            h.db
        );

        // Kept for the retention period after check-out, then pruned.
        h.app.prune().await.unwrap();
        assert_eq!(notices(&h, &device, 0).await.notices.len(), 1);
        h.app.clock().advance((2 + 366) * 86_400);
        h.app.prune().await.unwrap();
        // The device's request is signed with the advanced clock too.
        assert!(notices(&h, &device, 0).await.notices.is_empty(), "{}", h.db);
    }
}

#[tokio::test]
async fn unregistered_hosts_other_desks_and_bad_qrs_are_refused() {
    for h in harnesses_with(unthrottled).await {
        let c = citizen(6);
        let device = h.activate(&c).await;
        let (cred, key) = credential(&h, &device, Profile::Accommodation).await;
        let now = h.app.clock().now();
        let text = qr(&cred, &key, now);

        // A key the backend never registered; a registered host's id with another key.
        let mut stranger = VerifierKey::generate();
        stranger.verifier_id = "VRF-0123456789ABCDEF".into();
        let r = post_check_in(&h, &stranger, &stay(&h, &text, 1)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
            "{}",
            h.db
        );
        let host = register_verifier(&h, &[Profile::Accommodation]).await;
        let mut impostor = VerifierKey::generate();
        impostor.verifier_id = host.verifier_id.clone();
        let r = post_check_in(&h, &impostor, &stay(&h, &text, 1)).await;
        assert_eq!(r.error(), ErrorCode::Unauthenticated, "{}", h.db);
        // An airport desk is not a host.
        let airport = register_verifier(&h, &[Profile::Airport]).await;
        let r = post_check_in(&h, &airport, &stay(&h, &text, 1)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::FORBIDDEN, ErrorCode::NotAllowed),
            "{}",
            h.db
        );

        // The backend's own check: an airport QR, a changed byte, a stale QR, bad dates.
        let (airport_cred, airport_key) = credential(&h, &device, Profile::Airport).await;
        let airport_qr = qr(&airport_cred, &airport_key, now);
        let r = post_check_in(&h, &host, &stay(&h, &airport_qr, 1)).await;
        assert_eq!(r.error(), ErrorCode::InvalidRequest);
        assert!(
            String::from_utf8_lossy(&r.body).contains("wrong profile"),
            "{}",
            h.db
        );
        let mut tampered = qr(&cred, &key, now).into_bytes();
        let i = tampered.len() - 10;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        let r = post_check_in(
            &h,
            &host,
            &stay(&h, &String::from_utf8(tampered).unwrap(), 1),
        )
        .await;
        assert_eq!(r.error(), ErrorCode::InvalidRequest, "{}", h.db);
        for nights in [0, -1, 367] {
            let r = post_check_in(&h, &host, &stay(&h, &text, nights)).await;
            assert_eq!(r.error(), ErrorCode::InvalidRequest, "{} {nights}", h.db);
        }
        let r = post_check_in(&h, &host, &stay(&h, "VN1:NOT-A-QR", 1)).await;
        assert_eq!(r.error(), ErrorCode::InvalidRequest);
        h.app.clock().advance(120);
        let r = post_check_in(&h, &host, &stay(&h, &text, 1)).await;
        assert!(
            String::from_utf8_lossy(&r.body).contains("stale"),
            "{}",
            h.db
        );

        // Nothing was recorded.
        assert!(notices(&h, &device, 0).await.notices.is_empty(), "{}", h.db);
    }
}
