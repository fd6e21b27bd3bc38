//! mdocs end to end, on SQLite and PostgreSQL (docs/adr/0031): activate, sync with the passcode
//! → a batch of single-use MSOs per held docType; export one (what `eid wallet mdoc export`
//! writes) and check it against the IACA of the trust list; present it with its own device key;
//! a tampered export is refused; a second activation revokes the first wallet's MSOs in the CWT
//! status list the reader fetches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ciborium::Value;
use eid_core::api::paths;
use eid_core::mdoc::{
    self, CheckError, CoseKey, DeviceEngagement, DeviceResponse, ItemsRequest, ReaderContext,
    RequestedElement, SessionTranscript, StatusListCache, Tagged24, check_device_response,
    check_issuer_signed, respond,
};
use eid_core::runtime::block_on;
use eid_core::wallet::MDOC_BATCH;
use eid_crypto::trust::TrustStore;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;

fn iacas(api: &eid_core::client::BackendClient) -> TrustStore {
    let t = block_on(api.trust_list()).unwrap().unwrap();
    let mut store = TrustStore::new();
    for der in &t.iaca {
        store.add_der(&der.0).unwrap();
    }
    assert_eq!(store.len(), 1);
    store
}

/// GET of the status list a URI names, from this backend (the URI's host is the configured
/// public one, an `.invalid` name in tests; the path is the backend's).
fn fetcher(api: &eid_core::client::BackendClient) -> impl Fn(&str) -> Result<Vec<u8>, String> + '_ {
    move |uri: &str| {
        assert!(uri.ends_with(paths::STATUS_LIST_CWT), "{uri}");
        block_on(api.status_list_cwt())
            .ok_or("runtime")?
            .map_err(|e| e.to_string())
    }
}

#[test]
fn wallet_holds_exports_and_presents_mdocs_that_a_reader_checks_and_revocation_reaches() {
    for (db, b) in common::backends() {
        let api = common::client(&b.url);
        let c = citizens::citizens().remove(0);
        let d1 = tempfile::tempdir().unwrap();
        let w = common::wallet(d1.path());
        common::activate(&w, &api, &c, Faults::default()).unwrap();
        let report = block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        assert_eq!(report.presentation_error, None, "{db}");
        // Identity, licence and BHYT: three docTypes, a full batch each.
        let stock = w.mdoc_stock().unwrap();
        let names: Vec<&str> = stock.iter().map(|s| s.doc_type.as_str()).collect();
        assert_eq!(names, mdoc::DOCTYPES, "{db}");
        assert!(
            stock.iter().all(|s| s.unused == MDOC_BATCH as u64),
            "{db}: {stock:?}"
        );
        let now = b.app.clock().now();
        assert!(
            stock
                .iter()
                .all(|s| s.valid_from.unwrap() <= now && now < s.valid_until.unwrap())
        );
        // A second sync asks for nothing: none runs low.
        block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        assert!(
            w.mdoc_stock()
                .unwrap()
                .iter()
                .all(|s| s.unused == MDOC_BATCH as u64)
        );

        let iacas = iacas(&api);
        // Export: one MSO's IssuerSigned, checked as an outside tool would, and then used.
        for doc_type in mdoc::DOCTYPES {
            let held = w.take_mdoc(doc_type).unwrap().unwrap();
            let parsed = mdoc::IssuerSigned::parse(&held.bytes).unwrap();
            let v = check_issuer_signed(&parsed, doc_type, &iacas, now).unwrap();
            assert!(!v.elements.is_empty());
            // Another docType's reader refuses it.
            let other = mdoc::DOCTYPES.into_iter().find(|d| *d != doc_type).unwrap();
            assert_eq!(
                check_issuer_signed(&parsed, other, &iacas, now).unwrap_err(),
                CheckError::DocType
            );
        }
        let stock = w.mdoc_stock().unwrap();
        assert!(
            stock.iter().all(|s| s.unused == MDOC_BATCH as u64 - 1),
            "{db}"
        );

        // Every single-byte change of an exported BHYT IssuerSigned is refused.
        let held = w.take_mdoc(mdoc::BHYT_DOCTYPE).unwrap().unwrap();
        let mut accepted = Vec::new();
        for i in 0..held.bytes.len() {
            let mut t = held.bytes.clone();
            t[i] ^= 0x01;
            let ok = mdoc::IssuerSigned::parse(&t)
                .ok()
                .is_some_and(|p| check_issuer_signed(&p, mdoc::BHYT_DOCTYPE, &iacas, now).is_ok());
            if ok {
                accepted.push(i);
            }
        }
        assert!(
            accepted.is_empty(),
            "{db}: changes at {accepted:?} accepted"
        );

        // A presentation: selective disclosure, the MSO's own device key signs.
        let held = w.take_mdoc(mdoc::MDL_DOCTYPE).unwrap().unwrap();
        let reader = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let reader_key =
            CoseKey::p256(reader.verifying_key().to_sec1_point(false).as_bytes()).unwrap();
        let engagement = DeviceEngagement::new(reader_key.clone(), vec![]);
        let transcript = SessionTranscript::new(
            engagement.encoded(),
            Tagged24::of(&reader_key.to_cose()),
            Value::Null,
        );
        let request = ItemsRequest::new(
            mdoc::MDL_DOCTYPE,
            ["family_name", "driving_privileges", "age_over_18"]
                .iter()
                .map(|id| RequestedElement {
                    namespace: mdoc::MDL_NAMESPACE.into(),
                    identifier: (*id).into(),
                    intent_to_retain: false,
                })
                .collect(),
        );
        let alias = held.alias.clone();
        let doc = respond(
            &held.issuer_signed,
            mdoc::MDL_DOCTYPE,
            &request,
            &transcript,
            |tbs| w.sign_with_mdoc_key(&alias, tbs),
        )
        .unwrap();
        let response = DeviceResponse::ok(vec![doc]).encode().unwrap();
        let ctx = ReaderContext {
            transcript: &transcript,
            iacas: &iacas,
            now,
            e_reader_private: None,
        };
        let docs = check_device_response(&response, &ctx).unwrap();
        assert_eq!(docs[0].elements.len(), 3, "{db}");
        let mut cache = StatusListCache::new();
        let fetch = fetcher(&api);
        assert_eq!(
            cache.check(&docs[0].mso, &iacas, now, &fetch),
            Ok(()),
            "{db}"
        );

        // The citizen activates another phone: the first wallet's MSOs are revoked.
        let d2 = tempfile::tempdir().unwrap();
        let w2 = common::wallet(d2.path());
        common::activate(&w2, &api, &c, Faults::default()).unwrap();
        let mut fresh = StatusListCache::new();
        assert_eq!(
            fresh.check(&docs[0].mso, &iacas, now, &fetch),
            Err(CheckError::Revoked),
            "{db}"
        );
    }
}
