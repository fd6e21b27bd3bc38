//! ISO/IEC 18013-5:2021 Annex D: the standard's worked example, read, re-encoded, decrypted and
//! verified (vectors and their source: tests/vectors/iso18013-5/README.md).
#![allow(clippy::unwrap_used)]

use ciborium::Value;
use eid_core::mdoc::verify_sign1;
use eid_core::mdoc::{
    CheckError, CoseKey, DeviceEngagement, DeviceRequest, DeviceResponse, DocRequest,
    ReaderAuthError, ReaderContext, Role, STATUS_SESSION_TERMINATION, SessionCipher, SessionData,
    SessionEstablishment, SessionKeys, SessionTranscript, check_device_response, respond_with_mac,
    verify_reader_auth,
};
use eid_crypto::SecretKey;
use eid_crypto::cose::{Sign1, Tagging, x5chain_leaf};
use eid_crypto::trust::TrustStore;
use eid_crypto::x509::{SignerCertificate, p256_point};

/// 2021-01-01T00:00:00Z: inside the DS certificate's and the MSO's validity (2020-10-01 to
/// 2021-10-01) and the IACA's.
const INSIDE_VALIDITY: u64 = 1_609_459_200;

fn v(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/vectors/iso18013-5/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    hex::decode(std::fs::read_to_string(path).unwrap().trim()).unwrap()
}

fn key(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(format!(
        "{}/tests/vectors/iso18013-5/keys.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let line = text.lines().find(|l| l.starts_with(name)).unwrap();
    hex::decode(line.split_whitespace().nth(1).unwrap()).unwrap()
}

fn point(who: &str) -> CoseKey {
    let mut p = vec![4];
    p.extend(key(&format!("{who}_x")));
    p.extend(key(&format!("{who}_y")));
    CoseKey::p256(&p).unwrap()
}

fn transcript() -> SessionTranscript {
    SessionTranscript::parse_bytes(&v("session_transcript_bytes")).unwrap()
}

fn iacas() -> TrustStore {
    let mut t = TrustStore::new();
    t.add_der(&v("iaca_cert")).unwrap();
    t
}

#[test]
fn device_engagement_reads_rebuilds_and_round_trips_as_mdoc_uri() {
    let bytes = v("device_engagement");
    let e = DeviceEngagement::parse(&bytes).unwrap();
    assert_eq!(e.version, "1.0");
    assert_eq!(e.e_device_key, point("ephemeral_device_key"));
    assert_eq!(e.e_device_key_bytes.encoded(), v("e_device_key_bytes"));
    assert_eq!(e.retrieval_methods.len(), 1, "BLE");
    // Our builder writes the same bytes from the same key and methods.
    let built = DeviceEngagement::new(e.e_device_key.clone(), e.retrieval_methods.clone());
    assert_eq!(built.encoded(), bytes);
    let uri = e.to_uri();
    assert!(uri.starts_with("mdoc:") && !uri.contains('=') && !uri.contains('+'));
    assert_eq!(DeviceEngagement::from_uri(&uri).unwrap(), e);
    assert!(DeviceEngagement::from_uri(&uri.replace("mdoc:", "mdl:")).is_err());
}

#[test]
fn session_transcript_is_rebuilt_byte_for_byte() {
    let t = transcript();
    // The example session was engaged by NFC: its DeviceEngagement carries the same EDeviceKey
    // as the QR example but no retrieval methods (they are in the handover), and our builder
    // writes exactly those bytes.
    let engaged =
        DeviceEngagement::parse(t.device_engagement_bytes.as_ref().unwrap().inner()).unwrap();
    assert_eq!(engaged.e_device_key, point("ephemeral_device_key"));
    assert!(engaged.retrieval_methods.is_empty());
    let built = DeviceEngagement::new(engaged.e_device_key, vec![]);
    assert_eq!(
        built.encoded(),
        t.device_engagement_bytes.as_ref().unwrap().inner()
    );
    let est = SessionEstablishment::parse(&v("session_establishment")).unwrap();
    assert_eq!(est.e_reader_key, point("ephemeral_reader_key"));
    assert_eq!(t.e_reader_key_bytes.as_ref(), Some(&est.e_reader_key_bytes));
    // NFC static handover: [Handover Select, Handover Request] messages.
    assert_eq!(t.handover.as_array().map(Vec::len), Some(2));
    let rebuilt = SessionTranscript::new(built.encoded(), est.e_reader_key_bytes, t.handover);
    assert_eq!(rebuilt.bytes(), v("session_transcript_bytes"));
}

#[test]
fn session_keys_decrypt_and_reencrypt_the_example_messages() {
    let t = transcript().bytes();
    let reader_priv = SecretKey::new(key("ephemeral_reader_key_d"));
    let device_priv = SecretKey::new(key("ephemeral_device_key_d"));
    let on_reader = SessionKeys::derive(&reader_priv, &point("ephemeral_device_key"), &t).unwrap();
    let on_device = SessionKeys::derive(&device_priv, &point("ephemeral_reader_key"), &t).unwrap();
    assert_eq!(on_reader.sk_reader, on_device.sk_reader);
    assert_eq!(on_reader.sk_device, on_device.sk_device);
    assert_ne!(on_reader.sk_reader, on_reader.sk_device);

    let est = SessionEstablishment::parse(&v("session_establishment")).unwrap();
    let data = SessionData::parse(&v("session_data")).unwrap();
    assert_eq!(data.status, None);

    // The device opens the reader's request: the example DeviceRequest, byte for byte.
    let mut device = SessionCipher::new(on_device, Role::Device);
    assert_eq!(device.decrypt(&est.data).unwrap(), v("device_request"));
    // ... and seals the example DeviceResponse to the example SessionData ciphertext.
    assert_eq!(
        device.encrypt(&v("device_response")).unwrap(),
        data.data.clone().unwrap()
    );
    // The reader, the other way round.
    let mut reader = SessionCipher::new(on_reader.clone(), Role::Reader);
    assert_eq!(reader.encrypt(&v("device_request")).unwrap(), est.data);
    assert_eq!(
        reader.decrypt(data.data.as_ref().unwrap()).unwrap(),
        v("device_response")
    );
    // A replay (counter 2 now) or a flipped byte does not open.
    let mut reader = SessionCipher::new(on_reader, Role::Reader);
    let mut tampered = data.data.clone().unwrap();
    tampered[0] ^= 1;
    assert!(reader.decrypt(&tampered).is_err());
    assert!(reader.decrypt(data.data.as_ref().unwrap()).is_ok());
    assert!(reader.decrypt(data.data.as_ref().unwrap()).is_err());
    // Messages re-encode exactly.
    assert_eq!(est.encode(), v("session_establishment"));
    assert_eq!(data.encode(), v("session_data"));
    let end = SessionData::parse(&v("session_termination")).unwrap();
    assert_eq!(
        (end.data, end.status),
        (None, Some(STATUS_SESSION_TERMINATION))
    );
}

#[test]
fn device_request_and_reader_authentication() {
    let bytes = v("device_request");
    let r = DeviceRequest::parse(&bytes).unwrap();
    assert_eq!(r.version, "1.0");
    assert_eq!(r.encode(), bytes);
    let [doc] = r.doc_requests.as_slice() else {
        panic!("one DocRequest")
    };
    assert_eq!(doc.items.doc_type, "org.iso.18013.5.1.mDL");
    assert_eq!(doc.items.bytes.inner(), v("items_request"));
    let names: Vec<(&str, bool)> = doc
        .items
        .elements
        .iter()
        .map(|e| (e.identifier.as_str(), e.intent_to_retain))
        .collect();
    assert_eq!(
        names,
        [
            ("family_name", true),
            ("document_number", true),
            ("driving_privileges", true),
            ("issue_date", true),
            ("expiry_date", true),
            ("portrait", false)
        ]
    );
    // readerAuth: ES256 over ReaderAuthenticationBytes (detached) by the reader certificate,
    // which the example reader root issued.
    let auth = Sign1::decode(doc.reader_auth.as_ref().unwrap(), Tagging::Untagged).unwrap();
    assert_eq!(auth.algorithm(), Some(-7), "ES256");
    let cert = auth.unprotected_x5chain().and_then(x5chain_leaf).unwrap();
    assert_eq!(cert, &v("reader_cert"));
    let cert = SignerCertificate::from_der(cert).unwrap();
    let mut roots = TrustStore::new();
    roots.add_der(&v("reader_root_cert")).unwrap();
    assert!(roots.issuer_of(&cert).is_some());
    assert!(iacas().issuer_of(&cert).is_none());
    let reader_key = CoseKey::p256(&p256_point(&cert.certificate).unwrap()).unwrap();
    let payload = doc.reader_authentication_bytes(&transcript());
    assert!(verify_sign1(&auth, &reader_key, Some(&payload)).is_ok());
    let other_session =
        SessionTranscript::new(b"\xa0", transcript().e_reader_key_bytes, Value::Null);
    let other = doc.reader_authentication_bytes(&other_session);
    assert!(verify_sign1(&auth, &reader_key, Some(&other)).is_err());
    // The library's check: the reader certificate valid 2020-10-01 to 2023-12-31.
    let t = transcript();
    assert_eq!(
        verify_reader_auth(doc, &t, &roots, None, INSIDE_VALIDITY),
        Ok(v("reader_cert"))
    );
    assert_eq!(
        verify_reader_auth(doc, &other_session, &roots, None, INSIDE_VALIDITY),
        Err(ReaderAuthError::Signature)
    );
    assert_eq!(
        verify_reader_auth(doc, &t, &iacas(), None, INSIDE_VALIDITY),
        Err(ReaderAuthError::Untrusted)
    );
    assert_eq!(
        verify_reader_auth(doc, &t, &roots, None, 1_800_000_000),
        Err(ReaderAuthError::Expired)
    );
    let unsigned = DocRequest {
        items: doc.items.clone(),
        reader_auth: None,
    };
    assert_eq!(
        verify_reader_auth(&unsigned, &t, &roots, None, INSIDE_VALIDITY),
        Err(ReaderAuthError::Unsigned)
    );
}

fn ctx_parts() -> (SessionTranscript, TrustStore, SecretKey) {
    (
        transcript(),
        iacas(),
        SecretKey::new(key("ephemeral_reader_key_d")),
    )
}

#[test]
fn device_response_passes_issuer_digest_validity_and_device_mac_checks() {
    let bytes = v("device_response");
    assert_eq!(
        DeviceResponse::parse(&bytes).unwrap().encode().unwrap(),
        bytes
    );
    let (t, iacas, reader) = ctx_parts();
    let ctx = ReaderContext {
        transcript: &t,
        iacas: &iacas,
        now: INSIDE_VALIDITY,
        e_reader_private: Some(&reader),
    };
    // The example's issuer signature is high-S: ISO/IEC 18013-5 does not ask for low-S, so the
    // mdoc checks accept both forms (eid_crypto::es256::verify_raw_any_s).
    let response = DeviceResponse::parse(&bytes).unwrap();
    let issuer_auth = &response.documents[0].issuer_signed.issuer_auth;
    let sign1 = Sign1::decode(issuer_auth, Tagging::Untagged).unwrap();
    assert!(!eid_crypto::es256::is_low_s(sign1.signature()));
    let docs = check_device_response(&bytes, &ctx).unwrap();
    let [doc] = docs.as_slice() else {
        panic!("one document")
    };
    assert_eq!(doc.doc_type, "org.iso.18013.5.1.mDL");
    assert!(
        doc.device_mac,
        "the example authenticates the device by MAC"
    );
    assert_eq!(doc.document_signer, v("ds_cert"));
    assert_eq!(doc.mso.device_key, point("static_device_key"));
    let ids: Vec<&str> = doc.elements.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "family_name",
            "issue_date",
            "expiry_date",
            "document_number",
            "portrait",
            "driving_privileges"
        ]
    );
    assert_eq!(doc.elements[0].2, Value::from("Doe"));
    // Debug output names elements, never their values (personal data).
    let debug = format!("{doc:?} {:?}", DeviceResponse::parse(&bytes).unwrap());
    assert!(
        debug.contains("family_name") && !debug.contains("Doe") && !debug.contains("123456789")
    );
    assert_eq!(doc.elements[3].2, Value::from("123456789"));
}

#[test]
fn device_response_failures_are_typed() {
    let bytes = v("device_response");
    let (t, iacas, reader) = ctx_parts();
    let base = ReaderContext {
        transcript: &t,
        iacas: &iacas,
        now: INSIDE_VALIDITY,
        e_reader_private: Some(&reader),
    };
    // The example's dates are in the past: today it is expired.
    let later = ReaderContext {
        now: 1_800_000_000,
        ..base
    };
    assert_eq!(
        check_device_response(&bytes, &later),
        Err(CheckError::CertificateExpired)
    );
    let before = ReaderContext {
        now: 1_601_500_000, // 2020-09-30
        ..base
    };
    assert_eq!(
        check_device_response(&bytes, &before),
        Err(CheckError::CertificateExpired)
    );
    let empty = TrustStore::new();
    let untrusted = ReaderContext {
        iacas: &empty,
        ..base
    };
    assert_eq!(
        check_device_response(&bytes, &untrusted),
        Err(CheckError::UntrustedIssuer)
    );
    let no_key = ReaderContext {
        e_reader_private: None,
        ..base
    };
    assert_eq!(
        check_device_response(&bytes, &no_key),
        Err(CheckError::NoReaderKey)
    );
    let wrong = SecretKey::new(key("ephemeral_device_key_d"));
    let wrong_key = ReaderContext {
        e_reader_private: Some(&wrong),
        ..base
    };
    assert_eq!(
        check_device_response(&bytes, &wrong_key),
        Err(CheckError::DeviceAuth)
    );
    let other_session = SessionTranscript::new(b"\xa0", t.e_reader_key_bytes.clone(), Value::Null);
    let replayed = ReaderContext {
        transcript: &other_session,
        ..base
    };
    assert_eq!(
        check_device_response(&bytes, &replayed),
        Err(CheckError::DeviceAuth)
    );
}

#[test]
fn no_byte_of_the_device_response_can_forge_an_element() {
    let bytes = v("device_response");
    let (t, iacas, reader) = ctx_parts();
    let ctx = ReaderContext {
        transcript: &t,
        iacas: &iacas,
        now: INSIDE_VALIDITY,
        e_reader_private: Some(&reader),
    };
    let original = check_device_response(&bytes, &ctx).unwrap().remove(0);
    // Every byte flipped: refused, or (unauthenticated framing: the response's "version" text,
    // the issuerSigned "nameSpaces" key, the deviceMac's nil payload) accepted with a subset of
    // the original elements, never a changed one.
    let mut accepted = 0;
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        if let Ok(docs) = check_device_response(&t, &ctx) {
            accepted += 1;
            for d in docs {
                assert_eq!(d.doc_type, original.doc_type, "byte {i}");
                assert!(
                    d.elements.iter().all(|e| original.elements.contains(e)),
                    "byte {i} changed an element"
                );
            }
        }
    }
    assert!(accepted < 25, "{accepted} tampered responses accepted");
    // Without the "documents" key there is nothing to verify: refused, not an empty success.
    let mut t = bytes;
    t[14] ^= 0x01;
    assert_eq!(
        check_device_response(&t, &ctx),
        Err(CheckError::NoDocuments)
    );
}

#[test]
fn holder_rebuilds_the_example_device_response_with_its_device_mac() {
    // From the example's IssuerSigned, the example's request (all elements asked for are
    // present), the static device key and the reader's ephemeral key, our holder writes the
    // example DeviceResponse byte for byte: same disclosure, same EMacKey, same MAC tag.
    let bytes = v("device_response");
    let example = DeviceResponse::parse(&bytes).unwrap();
    let request = DeviceRequest::parse(&v("device_request")).unwrap();
    let doc = respond_with_mac(
        &example.documents[0].issuer_signed,
        "org.iso.18013.5.1.mDL",
        &request.doc_requests[0].items,
        &transcript(),
        &SecretKey::new(key("static_device_key_d")),
        &point("ephemeral_reader_key"),
    )
    .unwrap();
    let ours = DeviceResponse::ok(vec![doc]);
    assert_eq!(ours.encode().unwrap(), bytes);
}
