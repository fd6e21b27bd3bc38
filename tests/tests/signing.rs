//! Remote signing end to end over real HTTP (issue 6): enrol → list → sign → the CMS verifies;
//! and the refusals: a replayed SAD, a SAD for other hashes, an authorisation signed by another
//! device, a revoked device. On SQLite and PostgreSQL; through SoftHSM2 when the test script
//! sets EID_PKCS11_TEST.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use common::{Backend, activate, backends, client, wallet};
use eid_core::account::Passcode;
use eid_core::api::{B64, ErrorCode};
use eid_core::client::{BackendClient, ClientError, DeviceSigner};
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::runtime::block_on;
use eid_core::signing::SigningRequest;
use eid_core::signing::verify_detached;
use eid_core::signing::{AuthorizeRequest, SIGN_ALGO, SignHashRequest, authorization_input};
use eid_core::transactions::{Outcome, TransactionKind};
use eid_core::wallet::{Wallet, WalletError};
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens::citizens;

/// Signs requests as the wallet does, through its public device-key API.
struct Device<'a>(&'a Wallet);

impl DeviceSigner for Device<'_> {
    fn account_id(&self) -> String {
        self.0.account_id().unwrap().unwrap()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ClientError> {
        Ok(self.0.sign_with_device_key(message).unwrap())
    }
}

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ErrorCode {
    r.unwrap_err().code().expect("an API error")
}

fn request(content: &[u8]) -> SigningRequest {
    SigningRequest {
        file_name: "to-khai.pdf".into(),
        content: content.to_vec(),
        relying_party: "Cong dich vu cong quoc gia TEST".into(),
    }
}

/// Authorises `hashes` for the wallet's credential, the authorisation signed by `sign`.
fn authorize(
    api: &BackendClient,
    w: &Wallet,
    credential_id: &str,
    hashes: &[Vec<u8>],
    sign: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Result<String, ClientError> {
    let d = Device(w);
    let challenge = block_on(api.signing_challenge(&d, credential_id))
        .unwrap()
        .unwrap();
    let expires_at = challenge.expires_at;
    let message = authorization_input(credential_id, &challenge.challenge.0, hashes, expires_at);
    let body = AuthorizeRequest {
        client_request_id: eid_core::client::new_request_id(),
        credential_id: credential_id.into(),
        challenge: challenge.challenge,
        hashes: hashes.iter().cloned().map(B64).collect(),
        expires_at,
        device_signature: B64(sign(&message)),
        consent: Some(
            block_on(w.consent_proof(
                api,
                &common::pass(),
                eid_core::api::consent_action::SIGNING_AUTHORIZE,
                &eid_core::api::signing_authorization_digest(&message),
            ))
            .unwrap()
            .unwrap(),
        ),
    };
    block_on(api.signing_authorize(&d, &body))
        .unwrap()
        .map(|s| s.sad)
}

fn sign_hash(
    api: &BackendClient,
    w: &Wallet,
    credential_id: &str,
    sad: &str,
    hashes: &[Vec<u8>],
) -> Result<Vec<B64>, ClientError> {
    let body = SignHashRequest {
        client_request_id: eid_core::client::new_request_id(),
        credential_id: credential_id.into(),
        sad: sad.into(),
        hashes: hashes.iter().cloned().map(B64).collect(),
        sign_algo: SIGN_ALGO.into(),
    };
    block_on(api.signing_sign_hash(&Device(w), &body))
        .unwrap()
        .map(|s| s.signatures)
}

#[test]
fn enrol_list_sign_and_every_refusal() {
    for (db, server) in backends() {
        eprintln!("enrol_list_sign_and_every_refusal on {db}");
        enrol_list_sign_and_every_refusal_on(&server);
    }
}

/// Enrols, signs a file and checks the CMS; returns the wallet and its credential id.
fn enrol_and_sign(server: &Backend, citizen: usize, dir: &std::path::Path) -> (Wallet, String) {
    let api = client(&server.url);
    let c = citizens().remove(citizen);
    let w = wallet(dir);
    activate(&w, &api, &c, Faults::default()).unwrap();

    // Not enrolled yet: nothing to list, signing says so.
    assert!(
        block_on(w.signing_credentials(&api))
            .unwrap()
            .unwrap()
            .is_empty()
    );
    let pass = Passcode::new("123456").unwrap();
    let err = block_on(w.sign(&api, &request(b"x"), &pass))
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, WalletError::Signing(_)), "{err:?}");

    let enrolled = block_on(w.signing_enrol(&api)).unwrap().unwrap();
    assert!(
        enrolled.subject.contains(&c.id_number),
        "{}",
        enrolled.subject
    );
    assert_eq!(enrolled.status, "enabled");
    // Enrolling again returns the same credential.
    let again = block_on(w.signing_enrol(&api)).unwrap().unwrap();
    assert_eq!(again.credential_id, enrolled.credential_id);
    let listed = block_on(w.signing_credentials(&api)).unwrap().unwrap();
    assert_eq!(listed, vec![enrolled.clone()]);

    let content = b"%PDF-1.7 to khai dang ky thuong tru TEST".to_vec();
    let consent = block_on(w.signing_consent(&api, &request(&content)))
        .unwrap()
        .unwrap();
    assert_eq!(consent.credential_id, enrolled.credential_id);
    assert_eq!(consent.size, content.len() as u64);

    // A wrong passcode signs nothing.
    let wrong = Passcode::new("654321").unwrap();
    assert!(
        block_on(w.sign(&api, &request(&content), &wrong))
            .unwrap()
            .is_err()
    );

    let signed = block_on(w.sign(&api, &request(&content), &pass))
        .unwrap()
        .unwrap();
    assert_eq!(signed.consent, consent);
    let info = block_on(api.signing_credential_info(&Device(&w), &enrolled.credential_id))
        .unwrap()
        .unwrap();
    let ca = &info.certificates[1].0;
    let verified = verify_detached(&signed.cms, &content, ca).unwrap();
    assert_eq!(verified.certificate, enrolled.certificate);
    assert_eq!(verified.signing_time, signed.signing_time);
    let mut changed = content.clone();
    changed[0] ^= 1;
    assert!(verify_detached(&signed.cms, &changed, ca).is_err());
    // Another CA does not vouch for it.
    let other_ca = eid_fixtures::pki::TestPki::new().unwrap().csca.der;
    assert!(verify_detached(&signed.cms, &content, &other_ca).is_err());

    let log = w.transactions().unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.kind, last.outcome, last.fields.clone()),
        (
            TransactionKind::Signing,
            Outcome::Success,
            vec!["to-khai.pdf".to_owned()]
        )
    );
    (w, enrolled.credential_id)
}

fn enrol_list_sign_and_every_refusal_on(server: &Backend) {
    let api = client(&server.url);
    let dir = tempfile::tempdir().unwrap();
    let (w, id) = enrol_and_sign(server, 3, dir.path());
    let device = |m: &[u8]| w.sign_with_device_key(m).unwrap();
    let a = vec![vec![0xA1; 32]];
    let b = vec![vec![0xB2; 32]];

    // The happy path of the raw protocol, then the same SAD again: refused.
    let sad = authorize(&api, &w, &id, &a, &device).unwrap();
    assert_eq!(sign_hash(&api, &w, &id, &sad, &a).unwrap().len(), 1);
    assert_eq!(
        code_of(sign_hash(&api, &w, &id, &sad, &a)),
        ErrorCode::Unauthenticated,
        "a replayed SAD"
    );

    // A SAD for other hashes: refused, and burnt (not usable for its own hashes after).
    let sad = authorize(&api, &w, &id, &a, &device).unwrap();
    assert_eq!(
        code_of(sign_hash(&api, &w, &id, &sad, &b)),
        ErrorCode::Unauthenticated,
        "a SAD for other hashes"
    );
    assert_eq!(
        code_of(sign_hash(&api, &w, &id, &sad, &a)),
        ErrorCode::Unauthenticated
    );

    // An authorisation signed by another device's key: no SAD.
    let other = SoftwareKeyStore::in_memory();
    other.create_signing_key("other").unwrap();
    let foreign = |m: &[u8]| other.sign("other", m).unwrap();
    assert_eq!(
        code_of(authorize(&api, &w, &id, &a, &foreign)),
        ErrorCode::Unauthenticated,
        "an authorisation by another device"
    );

    // Issue 12: the high-S twin (s' = n - s) of this device's valid authorisation signature: no
    // SAD (b40b263 gave one; p256 verifies both forms).
    let twin = |m: &[u8]| eid_crypto::es256::flip_s_der(&device(m)).unwrap();
    assert_eq!(
        code_of(authorize(&api, &w, &id, &a, &twin)),
        ErrorCode::Unauthenticated,
        "a high-S authorisation"
    );

    // A made-up SAD, and an expired one (the backend's clock moves past its lifetime).
    assert_eq!(
        code_of(sign_hash(&api, &w, &id, "AAAA", &a)),
        ErrorCode::Unauthenticated
    );
    let sad = authorize(&api, &w, &id, &a, &device).unwrap();
    server.app.clock().advance(200);
    assert_eq!(
        code_of(sign_hash(&api, &w, &id, &sad, &a)),
        ErrorCode::Unauthenticated
    );
    server.app.clock().advance(-200);

    // The same citizen activates another phone: this device is revoked and refused.
    let sad = authorize(&api, &w, &id, &a, &device).unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let second = wallet(dir2.path());
    activate(&second, &api, &citizens().remove(3), Faults::default()).unwrap();
    assert_eq!(
        code_of(sign_hash(&api, &w, &id, &sad, &a)),
        ErrorCode::Revoked,
        "a revoked device"
    );
    let pass = Passcode::new("123456").unwrap();
    let err = block_on(w.sign(&api, &request(b"y"), &pass))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, WalletError::Backend(e) if e.code() == Some(ErrorCode::Revoked)),
        "{err:?}"
    );
    // The account's new device signs with the same credential.
    let listed = block_on(second.signing_credentials(&api)).unwrap().unwrap();
    assert_eq!(listed[0].credential_id, id);
}

/// Through SoftHSM2 (scripts/signing-check.sh initialises a token and sets the variables).
#[test]
fn signs_through_pkcs11_when_the_test_script_sets_it_up() {
    if std::env::var("EID_PKCS11_TEST").is_err() {
        eprintln!("EID_PKCS11_TEST not set: PKCS#11 (SoftHSM2) test not run");
        return;
    }
    let module = std::env::var("EID_PKCS11_MODULE")
        .expect("EID_PKCS11_TEST is set, so EID_PKCS11_MODULE must name the module");
    assert!(
        std::path::Path::new(&module).exists(),
        "no module at {module}"
    );
    let server =
        common::backend_with_signer(&eid_backend::signing::SignerChoice::Pkcs11 { module });
    let dir = tempfile::tempdir().unwrap();
    enrol_and_sign(&server, 4, dir.path());
}
