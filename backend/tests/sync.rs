//! Document sync, device-signed requests, device change, account lock, trust and status lists.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use axum::http::StatusCode;
use common::*;
use eid_core::api::{self, AccountLockRequest, AccountRemoteState, AccountStatus, ErrorCode};
use eid_core::credential::{self, DocumentKind, TrustList};

async fn trust_list(h: &Harness) -> TrustList {
    let r = h.get(api::paths::TRUST_LIST).await;
    assert!(
        r.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let list: api::TrustListResponse = r.json();
    assert_eq!(list.csca.len(), 1);
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    let again = h
        .send(
            axum::http::Request::get(api::paths::TRUST_LIST)
                .header("if-none-match", &etag)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    TrustList::decode(&list.issuers.0).unwrap()
}

async fn documents(h: &Harness, device: &DeviceKey, since: Option<&str>) -> Reply {
    let path = match since {
        Some(s) => format!("{}?since={s}", api::paths::DOCUMENTS),
        None => api::paths::DOCUMENTS.to_owned(),
    };
    h.signed(device, "GET", &path, Vec::new(), &[]).await
}

/// How many documents the registry holds for `c`: one of each kind, a marriage certificate
/// only for the married (ADR 0047).
fn held(c: &eid_fixtures::citizens::Citizen) -> usize {
    DocumentKind::ALL.len() - usize::from(c.spouse_name.is_none())
}

#[tokio::test]
async fn documents_are_issued_for_the_device_and_synced_by_cursor_and_etag() {
    for h in harnesses().await {
        let c = citizen(0);
        let device = h.activate(&c).await;
        let trust = trust_list(&h).await;
        let r = documents(&h, &device, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", h.db);
        let page: api::DocumentsPage = r.json();
        let mut kinds: Vec<&str> = page.documents.iter().map(|d| d.kind.as_str()).collect();
        kinds.sort_unstable();
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
        for d in &page.documents {
            let v = credential::verify(&d.credential.0, &trust, h.app.clock().now()).unwrap();
            assert_eq!(v.id, d.id);
            assert_eq!(v.kind.as_str(), d.kind);
            assert_eq!(v.holder_key, device.public_key());
            assert_eq!(v.document.summary().holder, c.full_name);
        }
        let identity = page
            .documents
            .iter()
            .find(|d| d.kind == "identity")
            .unwrap();
        assert_eq!(identity.credential.0, device.account_credential);
        // Kept, not re-issued.
        let again: api::DocumentsPage = documents(&h, &device, None).await.json();
        assert_eq!(again, page);
        // Unchanged since the cursor: an empty page.
        let empty: api::DocumentsPage = documents(&h, &device, Some(&page.cursor)).await.json();
        assert!(empty.documents.is_empty() && empty.removed.is_empty());
        assert_eq!(empty.cursor, page.cursor);
        // ETag.
        let etag = r.headers["etag"].to_str().unwrap().to_owned();
        let r304 = h
            .signed(
                &device,
                "GET",
                api::paths::DOCUMENTS,
                Vec::new(),
                &[("if-none-match", &etag)],
            )
            .await;
        assert_eq!(r304.status, StatusCode::NOT_MODIFIED);
        assert!(r304.body.is_empty());
        let r = documents(&h, &device, Some("nope")).await;
        assert_eq!(r.error(), ErrorCode::InvalidRequest);
    }
}

#[tokio::test]
async fn only_fresh_correct_signatures_are_accepted() {
    for h in harnesses().await {
        let device = h.activate(&citizen(1)).await;
        let now = h.app.clock().now();
        let path = api::paths::DOCUMENTS;
        for (what, reply) in [
            (
                "stale",
                h.signed_at(&device, "GET", path, Vec::new(), &[], now - 301)
                    .await,
            ),
            (
                "future",
                h.signed_at(&device, "GET", path, Vec::new(), &[], now + 301)
                    .await,
            ),
            ("other key", {
                let mut other = DeviceKey::new();
                other.account = device.account.clone();
                h.signed(&other, "GET", path, Vec::new(), &[]).await
            }),
            ("unknown account", {
                let mut other = DeviceKey::new();
                other.account = "VNEID-0000".into();
                h.signed(&other, "GET", path, Vec::new(), &[]).await
            }),
            ("unsigned", h.get(path).await),
        ] {
            assert_eq!(
                (reply.status, reply.error()),
                (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
                "{what}"
            );
        }
        // Signed for another path.
        let nonce = api::new_nonce();
        let sig = device.sign(&api::signing_input("GET", "/v1/account", now, &nonce, b""));
        let r = h
            .send(
                axum::http::Request::get(path)
                    .header(api::headers::ACCOUNT, &device.account)
                    .header(api::headers::TIMESTAMP, now.to_string())
                    .header(api::headers::NONCE, nonce)
                    .header(api::headers::SIGNATURE, sig)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let ok = h
            .signed_at(&device, "GET", path, Vec::new(), &[], now - 290)
            .await;
        assert_eq!(ok.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_new_device_revokes_the_old_one_and_its_credentials() {
    for h in harnesses().await {
        let c = citizen(2);
        let first = h.activate(&c).await;
        let page: api::DocumentsPage = documents(&h, &first, None).await.json();
        let trust = trust_list(&h).await;
        let indices: Vec<u32> = page
            .documents
            .iter()
            .map(|d| {
                credential::verify(&d.credential.0, &trust, h.app.clock().now())
                    .unwrap()
                    .status
                    .index
            })
            .collect();
        let (revoked, _) = status_bits(&h).await;
        assert!(indices.iter().all(|i| !bit(&revoked, *i)));

        // The first device's keys and page are cached now (it just synced, twice: the second
        // answer came from memory); the activation of another device must drop them, so the
        // very next request of the first device is refused.
        assert_eq!(documents(&h, &first, None).await.status, StatusCode::OK);
        let second = h.activate(&c).await;
        assert_eq!(second.account, first.account);
        let r = documents(&h, &first, None).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::FORBIDDEN, ErrorCode::Revoked)
        );
        let status: AccountStatus = h
            .signed(&first, "GET", api::paths::ACCOUNT, Vec::new(), &[])
            .await
            .json();
        assert_eq!(status.state, AccountRemoteState::Revoked);
        let (revoked, _) = status_bits(&h).await;
        assert!(indices.iter().all(|i| bit(&revoked, *i)), "{}", h.db);
        // The new device gets its own credentials.
        let page2: api::DocumentsPage = documents(&h, &second, None).await.json();
        assert_eq!(page2.documents.len(), held(&c));
        assert!(
            page2
                .documents
                .iter()
                .all(|d| page.documents.iter().all(|o| o.id != d.id))
        );
        let status: AccountStatus = h
            .signed(&second, "GET", api::paths::ACCOUNT, Vec::new(), &[])
            .await
            .json();
        assert_eq!(status.state, AccountRemoteState::Active);
        assert_eq!(status.level, 2);
    }
}

#[tokio::test]
async fn lock_and_unlock_from_the_device() {
    for h in harnesses().await {
        let device = h.activate(&citizen(3)).await;
        let page: api::DocumentsPage = documents(&h, &device, None).await.json();
        let trust = trust_list(&h).await;
        let index =
            credential::verify(&page.documents[0].credential.0, &trust, h.app.clock().now())
                .unwrap()
                .status
                .index;
        let lock = serde_json::to_vec(&AccountLockRequest {
            client_request_id: request_id(),
            consent: None,
        })
        .unwrap();
        // Unchanged revocations: the same signed status list, not a new signature.
        let signed = || async {
            h.get(api::paths::STATUS_LIST)
                .await
                .json::<api::StatusListResponse>()
                .signed
        };
        let before = signed().await;
        // Signing afresh would carry another issued_at.
        h.app.clock().advance(10);
        assert_eq!(signed().await, before);
        let r = h
            .signed(&device, "POST", api::paths::ACCOUNT_LOCK, lock.clone(), &[])
            .await;
        r.assert_ok("");
        assert_eq!(r.json::<AccountStatus>().state, AccountRemoteState::Locked);
        // A retry of the same request: the same answer.
        let again = h
            .signed(&device, "POST", api::paths::ACCOUNT_LOCK, lock, &[])
            .await;
        assert_eq!(again.body, r.body);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        let r = documents(&h, &device, None).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::LOCKED, ErrorCode::AccountLocked)
        );
        assert_ne!(signed().await, before, "a lock re-signs the status list");
        let (revoked, suspended) = status_bits(&h).await;
        assert!(bit(&suspended, index) && !bit(&revoked, index));
        let status: AccountStatus = h
            .signed(&device, "GET", api::paths::ACCOUNT, Vec::new(), &[])
            .await
            .json();
        assert_eq!(status.state, AccountRemoteState::Locked);
        // A signed body that was altered does not verify.
        let unlock = serde_json::to_vec(&AccountLockRequest {
            client_request_id: request_id(),
            consent: None,
        })
        .unwrap();
        let now = h.app.clock().now();
        let nonce = api::new_nonce();
        let sig = device.sign(&api::signing_input(
            "POST",
            api::paths::ACCOUNT_UNLOCK,
            now,
            &nonce,
            b"{}",
        ));
        let r = h
            .send(
                axum::http::Request::post(api::paths::ACCOUNT_UNLOCK)
                    .header(api::headers::ACCOUNT, &device.account)
                    .header(api::headers::TIMESTAMP, now.to_string())
                    .header(api::headers::NONCE, nonce)
                    .header(api::headers::SIGNATURE, sig)
                    .body(axum::body::Body::from(unlock.clone()))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        // The device key alone does not unlock (docs/adr/0017): the citizen's consent does.
        let r = h
            .signed(&device, "POST", api::paths::ACCOUNT_UNLOCK, unlock, &[])
            .await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::FORBIDDEN, ErrorCode::ConsentRequired)
        );
        let r = h.unlock(&device).await;
        assert_eq!(r.json::<AccountStatus>().state, AccountRemoteState::Active);
        assert_eq!(documents(&h, &device, None).await.status, StatusCode::OK);
        let (_, suspended) = status_bits(&h).await;
        assert!(!bit(&suspended, index));
    }
}

#[tokio::test]
async fn credentials_are_renewed_before_they_expire() {
    for h in harnesses().await {
        let c = citizen(4);
        let device = h.activate(&c).await;
        let first: api::DocumentsPage = documents(&h, &device, None).await.json();
        let trust = trust_list(&h).await;
        let old_indices: Vec<u32> = first
            .documents
            .iter()
            .map(|d| {
                credential::verify(&d.credential.0, &trust, h.app.clock().now())
                    .unwrap()
                    .status
                    .index
            })
            .collect();
        // 29 days before expiry (renewal starts at 30).
        h.app.clock().advance((365 - 29) * 86_400);
        let before = h.app.clock().now();
        let r = documents(&h, &device, Some(&first.cursor)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", h.db);
        let renewed: api::DocumentsPage = r.json();
        assert_eq!(renewed.documents.len(), held(&c), "{}", h.db);
        let mut removed = renewed.removed.clone();
        removed.sort();
        let mut old_ids: Vec<String> = first.documents.iter().map(|d| d.id.clone()).collect();
        old_ids.sort();
        assert_eq!(removed, old_ids);
        let now = h.app.clock().now();
        for d in &renewed.documents {
            let v = credential::verify(&d.credential.0, &trust, now).unwrap();
            // Issued during the request (the clock is the real one plus an offset).
            assert!((before..=now).contains(&v.validity.issued_at), "{}", h.db);
            assert_eq!(v.holder_key, device.public_key());
        }
        let (revoked, _) = status_bits(&h).await;
        assert!(old_indices.iter().all(|i| bit(&revoked, *i)));
        // Renewed once: the next sync is empty again, and a full sync holds only the new ones.
        let next: api::DocumentsPage = documents(&h, &device, Some(&renewed.cursor)).await.json();
        assert!(next.documents.is_empty() && next.removed.is_empty());
        let full: api::DocumentsPage = documents(&h, &device, None).await.json();
        assert_eq!(full.documents, renewed.documents);
    }
}
