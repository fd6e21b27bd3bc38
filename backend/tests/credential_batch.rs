//! Credential batches in ISO mdoc form (docs/adr/0031): one MSO per fresh device key, signed by
//! a document signer whose IACA is in the trust list, each naming its own entry in the CWT
//! Token Status List, which revokes them with the device binding and suspends them with the
//! account. On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use axum::http::StatusCode;
use ciborium::Value;
use common::*;
use eid_core::api::{self, B64, CredentialBatchIssued, CredentialBatchRequest, ErrorCode};
use eid_core::mdoc::{
    self, CheckError, IssuerSigned, IssuerVerified, check_issuer_signed, check_status,
    verify_status_list_cwt,
};
use eid_crypto::trust::TrustStore;
use std::collections::BTreeSet;

const MSO_MDOC: &str = api::credential_format::MSO_MDOC;

fn fresh_keys(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|_| DeviceKey::new().public_key()).collect()
}

async fn iacas(h: &Harness) -> (TrustStore, Vec<u8>) {
    let list: api::TrustListResponse = h.get(api::paths::TRUST_LIST).await.json();
    assert_eq!(list.iaca.len(), 1);
    let mut store = TrustStore::new();
    store.add_der(&list.iaca[0].0).unwrap();
    (store, list.iaca[0].0.clone())
}

async fn ask_as(
    h: &Harness,
    device: &DeviceKey,
    format: &str,
    doc_type: &str,
    keys: &[Vec<u8>],
) -> Reply {
    let device_keys: Vec<B64> = keys.iter().cloned().map(B64).collect();
    let consent = match h
        .try_consent(
            device,
            PASSCODE,
            api::consent_action::CREDENTIAL_BATCH,
            &api::credential_batch_digest(format, doc_type, &device_keys),
        )
        .await
    {
        Consented::Proof(p) => Some(p),
        _ => None,
    };
    let body = serde_json::to_vec(&CredentialBatchRequest {
        format: format.into(),
        credential_type: doc_type.into(),
        device_keys,
        client_request_id: request_id(),
        consent,
    })
    .unwrap();
    h.signed(device, "POST", api::paths::CREDENTIAL_BATCHES, body, &[])
        .await
}

async fn ask(h: &Harness, device: &DeviceKey, doc_type: &str, keys: &[Vec<u8>]) -> Reply {
    ask_as(h, device, MSO_MDOC, doc_type, keys).await
}

fn checked(
    bytes: &[u8],
    doc_type: &str,
    iacas: &TrustStore,
    now: u64,
) -> (IssuerSigned, IssuerVerified) {
    let signed = IssuerSigned::parse(bytes).unwrap();
    let v = check_issuer_signed(&signed, doc_type, iacas, now)
        .unwrap_or_else(|e| panic!("{doc_type}: {e}"));
    (signed, v)
}

/// The end of the last day of the registry's document behind `doc_type` (Unix seconds).
fn document_end(c: &eid_fixtures::citizens::Citizen, doc_type: &str, now: u64) -> Option<u64> {
    use eid_core::credential::DocumentKind;
    let kind = match doc_type {
        mdoc::PHOTO_ID_DOCTYPE => DocumentKind::Identity,
        mdoc::MDL_DOCTYPE => DocumentKind::DrivingLicence,
        _ => DocumentKind::HealthInsurance,
    };
    eid_fixtures::issuers::models_for(c, now)
        .unwrap()
        .iter()
        .find(|d| d.kind() == kind)
        .and_then(|d| d.summary().valid_until)
        .map(|d| d.unix_seconds() + 86_400)
}

fn element<'a>(v: &'a IssuerVerified, ns: &str, id: &str) -> Option<&'a Value> {
    v.elements
        .iter()
        .find(|(n, i, _)| n == ns && i == id)
        .map(|(_, _, v)| v)
}

/// The CWT status list, verified against the IACA, for the URI the MSOs name.
async fn cwt_list(h: &Harness, uri: &str, iacas: &TrustStore) -> eid_core::sdjwt::StatusList {
    let r = h.get(api::paths::STATUS_LIST_CWT).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/statuslist+cwt");
    verify_status_list_cwt(&r.body, uri, iacas, h.app.clock().now())
        .unwrap()
        .list
}

#[tokio::test]
async fn each_doctype_comes_as_single_use_msos_under_the_iaca_of_the_trust_list() {
    for h in harnesses().await {
        let c = citizen(2);
        let device = h.activate(&c).await;
        let (iacas, iaca_der) = iacas(&h).await;
        let ds = &h.app.state().mdoc.signer;
        assert!(eid_backend::signing::iaca::is_annex_b_document_signer(
            ds.certificate(),
            &iaca_der
        ));
        let now = h.app.clock().now();
        let mut indexes = BTreeSet::new();
        for doc_type in mdoc::DOCTYPES {
            let keys = fresh_keys(3);
            let r = ask(&h, &device, doc_type, &keys).await;
            assert_eq!(r.status, StatusCode::OK, "{} {doc_type}", h.db);
            let issued: CredentialBatchIssued = r.json();
            assert_eq!(
                (issued.format.as_str(), issued.credential_type.as_str()),
                (MSO_MDOC, doc_type)
            );
            assert_eq!(issued.credentials.len(), 3);
            let all: Vec<_> = issued
                .credentials
                .iter()
                .map(|b| checked(&b.0, doc_type, &iacas, now))
                .collect();
            for ((signed, v), key) in all.iter().zip(&keys) {
                assert_eq!(
                    v.mso.device_key.public_bytes(),
                    key.as_slice(),
                    "bound to its own key, in order"
                );
                // 30 days, but never past the document's own last day (a BHYT card ends on 31
                // December).
                let from = v.mso.validity.valid_from;
                let until = document_end(&c, doc_type, now)
                    .map_or(from + 30 * 86_400, |end| end.min(from + 30 * 86_400));
                assert_eq!(v.mso.validity.valid_until, until, "{doc_type}");
                assert_eq!(v.mso.validity.valid_from % 86_400, 0, "day granularity");
                let status = v.mso.status.as_ref().unwrap();
                assert!(status.uri.ends_with(api::paths::STATUS_LIST_CWT));
                assert!(indexes.insert(status.idx), "status index reused");
                // Every element is in the MSO, and its salt is its own.
                let salts: BTreeSet<&[u8]> = signed
                    .namespaces
                    .iter()
                    .flat_map(|(_, items)| items.iter().map(|i| i.random.as_slice()))
                    .collect();
                assert_eq!(salts.len(), v.mso.value_digests.len());
                // 16 bytes each: the minimum of ISO/IEC 18013-5 §9.1.2.5 (docs/adr/0063).
                assert!(
                    salts.iter().all(|s| s.len() == 16),
                    "{doc_type}: salt length"
                );
            }
            // Same data, nothing else shared: no salt or digest appears in two MSOs.
            let (a, b) = (&all[0], &all[1]);
            assert_eq!(a.1.elements.len(), b.1.elements.len());
            let digests = |v: &IssuerVerified| -> BTreeSet<Vec<u8>> {
                v.mso
                    .value_digests
                    .iter()
                    .map(|(_, _, d)| d.clone())
                    .collect()
            };
            assert!(digests(&a.1).is_disjoint(&digests(&b.1)));
            let v = &a.1;
            match doc_type {
                mdoc::PHOTO_ID_DOCTYPE => {
                    assert_eq!(
                        element(v, mdoc::ISO_23220_NAMESPACE, "issuing_country"),
                        Some(&Value::Text("VN".into()))
                    );
                    assert!(element(v, mdoc::ISO_23220_NAMESPACE, "age_over_18").is_some());
                    let portrait = element(v, mdoc::ISO_23220_NAMESPACE, "portrait").unwrap();
                    assert!(
                        portrait.as_bytes().unwrap().starts_with(&[0xFF, 0xD8]),
                        "JPEG"
                    );
                    // The chip's SOD and data groups, as the registry holds them.
                    let row = sqlx::query("SELECT sod, dg13 FROM citizens WHERE id_number = $1")
                        .bind(&c.id_number)
                        .fetch_one(h.app.state().store.pool())
                        .await
                        .unwrap();
                    use sqlx::Row;
                    let sod = element(v, mdoc::DTC_NAMESPACE, "sod").unwrap();
                    assert_eq!(sod.as_bytes().unwrap(), &row.get::<Vec<u8>, _>(0));
                    // DG13's fields without a standard element, read from the chip's DG13.
                    assert_eq!(
                        element(v, mdoc::CCCD_NAMESPACE, "ethnicity"),
                        Some(&Value::Text(c.ethnicity.clone()))
                    );
                    assert_eq!(
                        element(v, mdoc::CCCD_NAMESPACE, "religion"),
                        Some(&Value::Text(c.religion.clone()))
                    );
                    let dg13 = element(v, mdoc::DTC_NAMESPACE, "dg13").unwrap();
                    assert_eq!(dg13.as_bytes().unwrap(), &row.get::<Vec<u8>, _>(1));
                }
                mdoc::MDL_DOCTYPE => {
                    let privileges = element(v, mdoc::MDL_NAMESPACE, "driving_privileges").unwrap();
                    assert!(!privileges.as_array().unwrap().is_empty());
                    assert!(element(v, mdoc::GPLX_NAMESPACE, "points_remaining").is_some());
                    // The licence record has no photo: the identity card's portrait.
                    assert!(element(v, mdoc::MDL_NAMESPACE, "portrait").is_some());
                }
                _ => {
                    assert!(element(v, mdoc::BHYT_NAMESPACE, "card_number").is_some());
                }
            }
        }
        // Nothing is revoked or suspended yet.
        let uri = lists_uri(&h);
        let list = cwt_list(&h, &uri, &iacas).await;
        for i in &indexes {
            assert_eq!(list.get(*i), Some(0));
        }
    }
}

fn lists_uri(h: &Harness) -> String {
    eid_backend::lists::status_list_cwt_uri(h.app.state())
}

#[tokio::test]
async fn lock_suspends_and_a_new_activation_revokes_the_msos() {
    for h in harnesses().await {
        let c = citizen(5);
        let device = h.activate(&c).await;
        let (iacas, _) = iacas(&h).await;
        let now = h.app.clock().now();
        let issued: CredentialBatchIssued = ask(&h, &device, mdoc::MDL_DOCTYPE, &fresh_keys(2))
            .await
            .json();
        let msos: Vec<_> = issued
            .credentials
            .iter()
            .map(|b| checked(&b.0, mdoc::MDL_DOCTYPE, &iacas, now).1.mso)
            .collect();
        let uri = lists_uri(&h);
        let list = cwt_list(&h, &uri, &iacas).await;
        assert!(msos.iter().all(|m| check_status(m, &list).is_ok()));
        let lock = serde_json::to_vec(&api::AccountLockRequest {
            client_request_id: request_id(),
            consent: None,
        })
        .unwrap();
        let r = h
            .signed(&device, "POST", api::paths::ACCOUNT_LOCK, lock, &[])
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let list = cwt_list(&h, &uri, &iacas).await;
        assert!(
            msos.iter()
                .all(|m| check_status(m, &list) == Err(CheckError::Suspended)),
            "{}",
            h.db
        );
        let r = ask(&h, &device, mdoc::MDL_DOCTYPE, &fresh_keys(1)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::LOCKED, ErrorCode::AccountLocked)
        );
        assert_eq!(h.unlock(&device).await.status, StatusCode::OK);
        // The citizen activates another phone: this device and its MSOs are revoked.
        let second = h.activate(&c).await;
        let list = cwt_list(&h, &uri, &iacas).await;
        assert!(
            msos.iter()
                .all(|m| check_status(m, &list) == Err(CheckError::Revoked)),
            "{}",
            h.db
        );
        let r = ask(&h, &device, mdoc::MDL_DOCTYPE, &fresh_keys(1)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::FORBIDDEN, ErrorCode::Revoked)
        );
        let fresh: CredentialBatchIssued = ask(&h, &second, mdoc::MDL_DOCTYPE, &fresh_keys(1))
            .await
            .json();
        let mso = checked(&fresh.credentials[0].0, mdoc::MDL_DOCTYPE, &iacas, now)
            .1
            .mso;
        assert_eq!(check_status(&mso, &list), Ok(()));
    }
}

#[tokio::test]
async fn unknown_formats_types_and_bad_keys_are_refused() {
    for h in harnesses().await {
        let device = h.activate(&citizen(3)).await;
        for (what, format, doc_type, keys) in [
            ("format", "dc+sd-jwt", mdoc::MDL_DOCTYPE, fresh_keys(1)),
            ("type", MSO_MDOC, "org.example.1", fresh_keys(1)),
            ("no keys", MSO_MDOC, mdoc::MDL_DOCTYPE, vec![]),
            (
                "too many",
                MSO_MDOC,
                mdoc::MDL_DOCTYPE,
                fresh_keys(api::MAX_PRESENTATION_BATCH + 1),
            ),
            (
                "not a point",
                MSO_MDOC,
                mdoc::MDL_DOCTYPE,
                vec![vec![4u8; 65]],
            ),
            ("repeated", MSO_MDOC, mdoc::MDL_DOCTYPE, {
                let k = fresh_keys(1);
                vec![k[0].clone(), k[0].clone()]
            }),
        ] {
            let r = ask_as(&h, &device, format, doc_type, &keys).await;
            assert_eq!(
                (r.status, r.error()),
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
                "{what}"
            );
        }
        // Without the citizen's consent: refused.
        let body = serde_json::to_vec(&CredentialBatchRequest {
            format: MSO_MDOC.into(),
            credential_type: mdoc::MDL_DOCTYPE.into(),
            device_keys: vec![B64(fresh_keys(1).remove(0))],
            client_request_id: request_id(),
            consent: None,
        })
        .unwrap();
        let r = h
            .signed(&device, "POST", api::paths::CREDENTIAL_BATCHES, body, &[])
            .await;
        assert_eq!(r.error(), ErrorCode::ConsentRequired);
    }
}

#[tokio::test]
async fn no_mso_outlives_its_document() {
    for h in harnesses().await {
        let c = citizen(6);
        let device = h.activate(&c).await;
        let (iacas, _) = iacas(&h).await;
        let now = h.app.clock().now();
        let end = document_end(&c, mdoc::BHYT_DOCTYPE, now).unwrap();
        // Ten days before the BHYT card ends: the MSOs end with it, not 30 days on.
        let skip = i64::try_from(end - 10 * 86_400).unwrap() - i64::try_from(now).unwrap();
        if skip > 0 {
            h.app.clock().advance(skip);
        }
        let now = h.app.clock().now();
        let issued: CredentialBatchIssued = ask(&h, &device, mdoc::BHYT_DOCTYPE, &fresh_keys(1))
            .await
            .json();
        let v = checked(&issued.credentials[0].0, mdoc::BHYT_DOCTYPE, &iacas, now).1;
        assert_eq!(v.mso.validity.valid_until, end, "{}", h.db);
        // Past its end: none issued.
        h.app.clock().advance(i64::try_from(end - now).unwrap() + 1);
        let r = ask(&h, &device, mdoc::BHYT_DOCTYPE, &fresh_keys(1)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            "{}",
            h.db
        );
    }
}
