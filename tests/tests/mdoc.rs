//! ISO/IEC 18013-5 round trip inside our own code: an mDL issued with the fixture issuers (the
//! transport ministry's certificate as document signer, the trust root as IACA), presented with
//! selective disclosure and a device signature, checked by the reader (eid_core::mdoc).
#![allow(clippy::unwrap_used)]

use ciborium::Value;
use eid_core::mdoc::{
    CheckError, CoseKey, DeviceAuth, DeviceEngagement, DeviceResponse, ItemsRequest, MsoSpec,
    ReaderContext, RequestedElement, SessionTranscript, Tagged24, ValidityInfo,
    check_device_response, issue_mdoc, respond,
};
use eid_crypto::trust::TrustStore;
use eid_fixtures::issuers::Issuers;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

const MDL: &str = "org.iso.18013.5.1.mDL";
const NS: &str = "org.iso.18013.5.1";
const NOW: u64 = 1_780_000_000;

struct Rng(u8);
impl eid_crypto::Rng for Rng {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            self.0 = self.0.wrapping_mul(31).wrapping_add(7);
            *b = self.0;
        }
    }
}

fn device_key() -> SigningKey {
    SigningKey::from_slice(&[7u8; 32]).unwrap()
}

fn sign_with(key: &SigningKey) -> impl FnOnce(&[u8]) -> Result<Vec<u8>, ()> + '_ {
    move |tbs| {
        let s: Signature = key.sign(tbs);
        Ok(s.to_bytes().to_vec())
    }
}

fn setup() -> (
    Issuers,
    TrustStore,
    Vec<u8>,
    SessionTranscript,
    ItemsRequest,
) {
    let issuers = Issuers::new().unwrap();
    let mut iacas = TrustStore::new();
    iacas.add_der(&issuers.root).unwrap();
    let point = device_key()
        .verifying_key()
        .to_sec1_point(false)
        .as_bytes()
        .to_vec();
    let device = CoseKey::p256(&point).unwrap();
    let spec = MsoSpec {
        doc_type: MDL,
        device_key: &device,
        validity: ValidityInfo {
            signed: NOW - 100,
            valid_from: NOW - 100,
            valid_until: NOW + 86_400,
            expected_update: None,
        },
    };
    let text = |s: &str| Value::Text(s.into());
    let elements = vec![(
        NS.to_owned(),
        vec![
            ("family_name".to_owned(), text("Nguyễn")),
            ("given_name".to_owned(), text("Văn An")),
            ("document_number".to_owned(), text("790123456789")),
            ("age_over_18".to_owned(), Value::Bool(true)),
            ("portrait".to_owned(), Value::Bytes(vec![0xff, 0xd8, 0xff])),
        ],
    )];
    let issuer = &issuers.transport;
    let issued = issue_mdoc(&spec, &elements, issuer.certificate(), &mut Rng(3), |tbs| {
        issuer.sign_raw(tbs)
    })
    .unwrap();
    let engagement = DeviceEngagement::new(device.clone(), vec![]);
    let reader_key = Tagged24::of(&device.to_cose());
    let transcript = SessionTranscript::new(engagement.encoded(), reader_key, Value::Null);
    let request = ItemsRequest::new(
        MDL,
        ["family_name", "age_over_18"]
            .iter()
            .map(|id| RequestedElement {
                namespace: NS.into(),
                identifier: (*id).into(),
                intent_to_retain: false,
            })
            .collect(),
    );
    let doc = respond(
        &issued,
        MDL,
        &request,
        &transcript,
        sign_with(&device_key()),
    )
    .unwrap();
    let response = DeviceResponse::ok(vec![doc]).encode().unwrap();
    (issuers, iacas, response, transcript, request)
}

#[test]
fn issued_mdl_presented_with_selective_disclosure_and_device_signature_verifies() {
    let (_issuers, iacas, response, transcript, _) = setup();
    let ctx = ReaderContext {
        transcript: &transcript,
        iacas: &iacas,
        now: NOW,
        e_reader_private: None,
    };
    let docs = check_device_response(&response, &ctx).unwrap();
    let [doc] = docs.as_slice() else {
        panic!("one document")
    };
    assert!(!doc.device_mac);
    // Only what was asked for: the other three elements' digests stay in the MSO, unopened.
    let disclosed: Vec<(&str, &Value)> = doc
        .elements
        .iter()
        .map(|(_, id, v)| (id.as_str(), v))
        .collect();
    assert_eq!(
        disclosed,
        [
            ("family_name", &Value::Text("Nguyễn".into())),
            ("age_over_18", &Value::Bool(true))
        ]
    );
    assert_eq!(doc.mso.value_digests.len(), 5);
    // Digest IDs are shuffled, salts differ per element.
    let ids: Vec<u64> = doc.mso.value_digests.iter().map(|(_, id, _)| *id).collect();
    assert_ne!(ids, [0, 1, 2, 3, 4]);
}

#[test]
fn round_trip_rejections() {
    let (issuers, iacas, response, transcript, _) = setup();
    let base = ReaderContext {
        transcript: &transcript,
        iacas: &iacas,
        now: NOW,
        e_reader_private: None,
    };
    // Another session (replayed response): device signature fails.
    let other = SessionTranscript::new(b"\xa0", transcript.e_reader_key_bytes.clone(), Value::Null);
    assert_eq!(
        check_device_response(
            &response,
            &ReaderContext {
                transcript: &other,
                ..base
            }
        ),
        Err(CheckError::DeviceAuth)
    );
    // Expired MSO.
    assert_eq!(
        check_device_response(
            &response,
            &ReaderContext {
                now: NOW + 90_000,
                ..base
            }
        ),
        Err(CheckError::Validity)
    );
    // The untrusted root as the only IACA.
    let mut wrong = TrustStore::new();
    wrong.add_der(&issuers.untrusted_root).unwrap();
    assert_eq!(
        check_device_response(
            &response,
            &ReaderContext {
                iacas: &wrong,
                ..base
            }
        ),
        Err(CheckError::UntrustedIssuer)
    );
    // A device signature by another key.
    let mut parsed = DeviceResponse::parse(&response).unwrap();
    let forged = respond(
        &parsed.documents[0].issuer_signed,
        MDL,
        &ItemsRequest::new(MDL, vec![]),
        &transcript,
        sign_with(&SigningKey::from_slice(&[8u8; 32]).unwrap()),
    )
    .unwrap();
    parsed.documents[0].device_signed = forged.device_signed;
    assert!(matches!(
        parsed.documents[0].device_signed.auth,
        DeviceAuth::Signature(_)
    ));
    assert_eq!(
        check_device_response(&parsed.encode().unwrap(), &base),
        Err(CheckError::DeviceAuth)
    );
    // Every byte of the response flipped: refused, or (the version text, framing keys)
    // accepted with a subset of the elements, never a changed value.
    let original = check_device_response(&response, &base).unwrap().remove(0);
    for i in 0..response.len() {
        let mut t = response.clone();
        t[i] ^= 0x01;
        if let Ok(docs) = check_device_response(&t, &base) {
            for d in docs {
                assert!(
                    d.elements.iter().all(|e| original.elements.contains(e)),
                    "byte {i}"
                );
            }
        }
    }
}
