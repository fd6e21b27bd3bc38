//! The reader's status check of an MSO (draft-ietf-oauth-status-list, CWT form): the token is
//! checked against the IACAs (signature, typ, `sub`, `exp`), the MSO's entry decides, and the
//! cache fetches a list again only once its `ttl` has passed. Fixture issuers: the trust root as
//! IACA, the transport ministry as document signer (as tests/mdoc.rs).
#![allow(clippy::unwrap_used)]

use eid_core::mdoc::{
    CheckError, MsoStatus, StatusListCache, StatusListCwtClaims, check_status,
    sign_status_list_cwt, verify_status_list_cwt,
};
use eid_core::sdjwt::StatusList;
use eid_crypto::trust::TrustStore;
use eid_fixtures::issuers::Issuers;
use std::cell::Cell;

const URI: &str = "https://backend.eid.invalid/v1/status-list/cwt";
const NOW: u64 = 1_780_000_000;

fn iacas(issuers: &Issuers) -> TrustStore {
    let mut t = TrustStore::new();
    t.add_der(&issuers.root).unwrap();
    t
}

fn token(issuers: &Issuers, list: &StatusList, uri: &str, exp: Option<u64>) -> Vec<u8> {
    let signer = &issuers.transport;
    sign_status_list_cwt(
        list,
        &StatusListCwtClaims {
            uri,
            issued_at: NOW,
            expires_at: exp,
            ttl: Some(300),
        },
        signer.certificate(),
        |tbs| signer.sign_raw(tbs),
    )
    .unwrap()
}

fn mso_with(idx: u64) -> eid_core::mdoc::MobileSecurityObject {
    // An MSO as a reader has it after issuer authentication; only `status` matters here.
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let point = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
    eid_core::mdoc::MobileSecurityObject {
        version: "1.0".into(),
        digest_algorithm: Some(eid_core::mdoc::DigestAlgorithm::Sha256),
        value_digests: vec![],
        device_key: eid_core::mdoc::CoseKey::p256(&point).unwrap(),
        doc_type: "org.iso.18013.5.1.mDL".into(),
        validity: eid_core::mdoc::ValidityInfo {
            signed: NOW,
            valid_from: NOW,
            valid_until: NOW + 86_400,
            expected_update: None,
        },
        status: Some(MsoStatus {
            idx,
            uri: URI.into(),
        }),
    }
}

#[test]
fn the_token_verifies_and_its_entries_decide() {
    let issuers = Issuers::new().unwrap();
    let mut list = StatusList::new(2, 1024).unwrap();
    assert!(list.set(5, eid_core::sdjwt::INVALID));
    assert!(list.set(6, eid_core::sdjwt::SUSPENDED));
    let bytes = token(&issuers, &list, URI, Some(NOW + 3600));
    let v = verify_status_list_cwt(&bytes, URI, &iacas(&issuers), NOW).unwrap();
    assert_eq!(
        (v.issued_at, v.expires_at, v.ttl),
        (NOW, Some(NOW + 3600), Some(300))
    );
    assert_eq!(v.list, list);
    assert_eq!(check_status(&mso_with(4), &v.list), Ok(()));
    assert_eq!(
        check_status(&mso_with(5), &v.list),
        Err(CheckError::Revoked)
    );
    assert_eq!(
        check_status(&mso_with(6), &v.list),
        Err(CheckError::Suspended)
    );
    // Past the list's end: fail closed.
    assert_eq!(
        check_status(&mso_with(5000), &v.list),
        Err(CheckError::StatusList)
    );
    // An MSO naming no list has nothing to check.
    let mut none = mso_with(5);
    none.status = None;
    assert_eq!(check_status(&none, &v.list), Ok(()));
}

#[test]
fn wrong_uri_expired_untrusted_and_tampered_tokens_are_refused() {
    let issuers = Issuers::new().unwrap();
    let list = StatusList::new(1, 1024).unwrap();
    let t = iacas(&issuers);
    let bytes = token(&issuers, &list, URI, Some(NOW + 10));
    assert!(verify_status_list_cwt(&bytes, URI, &t, NOW).is_ok());
    // Another list's token served for this URI.
    assert_eq!(
        verify_status_list_cwt(&bytes, "https://other.invalid/l", &t, NOW),
        Err(CheckError::StatusList)
    );
    assert_eq!(
        verify_status_list_cwt(&bytes, URI, &t, NOW + 10),
        Err(CheckError::StatusList)
    );
    // Signed by a key whose root the reader does not trust.
    let rogue = &issuers.untrusted;
    let untrusted = sign_status_list_cwt(
        &list,
        &StatusListCwtClaims {
            uri: URI,
            issued_at: NOW,
            expires_at: None,
            ttl: None,
        },
        rogue.certificate(),
        |tbs| rogue.sign_raw(tbs),
    )
    .unwrap();
    assert_eq!(
        verify_status_list_cwt(&untrusted, URI, &t, NOW),
        Err(CheckError::UntrustedIssuer)
    );
    // The same token without its COSE_Sign1 tag (18, the first byte 0xD2): the draft's §5.2
    // wants it tagged.
    assert_eq!(bytes[0], 0xD2);
    assert_eq!(
        verify_status_list_cwt(&bytes[1..], URI, &t, NOW),
        Err(CheckError::StatusList)
    );
    // Every single-byte change is refused (or, in the unsigned tag, harmless), never a panic.
    let mut accepted = 0;
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        if verify_status_list_cwt(&b, URI, &t, NOW).is_ok() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 0);
}

#[test]
fn the_cache_fetches_again_only_after_the_ttl() {
    let issuers = Issuers::new().unwrap();
    let t = iacas(&issuers);
    let mut list = StatusList::new(1, 1024).unwrap();
    let fetches = Cell::new(0);
    let mut cache = StatusListCache::new();
    let valid = token(&issuers, &list, URI, None);
    list.set(3, 1);
    let revoked = token(&issuers, &list, URI, None);
    let fetch = |bytes: &Vec<u8>| {
        fetches.set(fetches.get() + 1);
        Ok::<_, ()>(bytes.clone())
    };
    assert_eq!(
        cache.check(&mso_with(3), &t, NOW, |_| fetch(&valid)),
        Ok(())
    );
    // Within the ttl (300 s) the cached list answers, even though the issuer revoked since.
    assert_eq!(
        cache.check(&mso_with(3), &t, NOW + 299, |_| fetch(&revoked)),
        Ok(())
    );
    assert_eq!(fetches.get(), 1);
    assert_eq!(
        cache.check(&mso_with(3), &t, NOW + 300, |_| fetch(&revoked)),
        Err(CheckError::Revoked)
    );
    assert_eq!(fetches.get(), 2);
    // A failed fetch of a stale list is an error, not the stale answer.
    assert_eq!(
        cache.check(&mso_with(3), &t, NOW + 700, |_| Err::<Vec<u8>, _>(())),
        Err(CheckError::StatusList)
    );
}
