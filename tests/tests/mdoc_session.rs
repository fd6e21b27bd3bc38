//! ISO/IEC 18013-5 presentation sessions in memory: the holder's and the reader's state machines
//! (eid_core::mdoc::{HolderSession, ReaderSession}) with the fixture mdocs, reader
//! authentication, the citizen's decision, tampering and wrong keys.
#![allow(clippy::unwrap_used)]

use ciborium::Value;
use eid_core::mdoc::{
    CheckError, CoseCurve, Decision, DeviceEngagement, DeviceResponse, HolderError, HolderPolicy,
    HolderSession, HolderStep, ItemsRequest, MdocVerdict, ReaderAuthError, ReaderContext,
    ReaderError, ReaderOutcome, ReaderSession, ReaderSigner, Role, STATUS_SESSION_TERMINATION,
    SessionCipher, SessionData, SessionEnd, SessionEstablishment, SessionKeys, SessionTranscript,
    Tagged24, check_device_response, ephemeral_key, key_pair,
};
use eid_crypto::SecretKey;
use eid_crypto::cose::Sign1;
use eid_fixtures::mdoc::{
    MDL, MdocFixtures, NOW, PHOTOID, any_reader_policy, items_request, request_presets,
};

struct Seq(u8);
impl eid_crypto::Rng for Seq {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            self.0 = self.0.wrapping_mul(97).wrapping_add(13);
            *b = self.0;
        }
    }
}

fn keys(seed: u8) -> SecretKey {
    ephemeral_key(&mut Seq(seed)).unwrap().0
}

/// The policy of a holder that answers authenticated readers under `cas` only.
fn requiring_reader_auth(cas: &eid_crypto::trust::TrustStore) -> HolderPolicy<'_> {
    HolderPolicy {
        reader_cas: Some(std::borrow::Cow::Borrowed(cas)),
        reader_crl: None,
        require_reader_auth: true,
        now: NOW,
        device_mac: false,
    }
}

struct Run {
    holder: HolderSession,
    holder_private: SecretKey,
    reader: ReaderSession,
    reader_private: SecretKey,
    establishment: Vec<u8>,
}

/// Engagement by QR, the reader's first message (signed by `signer` when given).
fn engage(
    f: &MdocFixtures,
    elements: &[&str],
    signed: Option<&eid_fixtures::mdoc::FixtureReader>,
) -> Run {
    engage_for(f, vec![items_request(PHOTOID, elements)], signed)
}

/// [`engage`] with a request for `items` (one ItemsRequest per document).
fn engage_for(
    f: &MdocFixtures,
    items: Vec<ItemsRequest>,
    signed: Option<&eid_fixtures::mdoc::FixtureReader>,
) -> Run {
    let holder_private = keys(1);
    let holder = HolderSession::qr(holder_private.clone(), vec![]).unwrap();
    let uri = holder.qr_uri();
    assert!(uri.starts_with("mdoc:"));
    let engagement = DeviceEngagement::from_uri(&uri).unwrap();
    let reader_private = keys(2);
    let mut reader = ReaderSession::new(reader_private.clone(), engagement, Value::Null).unwrap();
    let establishment = match signed {
        Some(r) => {
            let mut sign = |tbs: &[u8]| r.sign(tbs);
            reader
                .establish(
                    &items,
                    Some(ReaderSigner {
                        certificate: &r.certificate,
                        sign: &mut sign,
                    }),
                )
                .unwrap()
        }
        None => reader.establish(&items, None).unwrap(),
    };
    let _ = f;
    Run {
        holder,
        holder_private,
        reader,
        reader_private,
        establishment,
    }
}

#[test]
fn full_round_trip_with_reader_authentication_and_selective_disclosure() {
    let mut f = MdocFixtures::new().unwrap();
    let cas = f.reader.cas().unwrap();
    let iacas = f.iacas().unwrap();
    let mut run = engage(
        &f,
        &["family_name", "birth_date", "age_over_18"],
        Some(&f.reader),
    );
    let policy = requiring_reader_auth(&cas);
    let step = run
        .holder
        .receive(&run.establishment, &policy, &f.wallet)
        .unwrap();
    let HolderStep::Request(shown) = step else {
        panic!("a request to show: {step:?}")
    };
    let reader = shown.reader.clone().unwrap();
    assert!(
        reader.subject.contains("Noi Bai Airport Border Desk TEST"),
        "{}",
        reader.subject
    );
    assert_eq!(reader.certificate, f.reader.certificate);
    assert_eq!(shown.documents.len(), 1);
    assert!(shown.documents[0].held);
    let ids: Vec<(&str, bool)> = shown.documents[0]
        .elements
        .iter()
        .map(|e| (e.identifier.as_str(), e.intent_to_retain))
        .collect();
    assert_eq!(
        ids,
        [
            ("family_name", false),
            ("birth_date", false),
            ("age_over_18", false)
        ]
    );
    // Deciding twice, or receiving while the citizen decides, is a state error.
    assert_eq!(
        run.holder.receive(&run.establishment, &policy, &f.wallet),
        Err(HolderError::State)
    );
    let reply = run.holder.decide(Decision::Accept, &mut f.wallet).unwrap();
    assert_eq!(
        run.holder.decide(Decision::Accept, &mut f.wallet),
        Err(HolderError::State)
    );
    let ReaderOutcome::Response(Ok(docs)) = run.reader.receive(&reply, &iacas, NOW).unwrap() else {
        panic!("a verified response")
    };
    let [doc] = docs.as_slice() else {
        panic!("one document")
    };
    assert_eq!(doc.doc_type, PHOTOID);
    let got: Vec<&str> = doc.elements.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(got, ["family_name", "birth_date", "age_over_18"]);
    assert!(doc.mso.value_digests.len() > 10, "the rest stays hidden");
    assert!(!doc.device_mac);
    // The reader ends the session with status 20; the holder is finished.
    let end = run.reader.terminate();
    assert_eq!(
        SessionData::parse(&end).unwrap().status,
        Some(STATUS_SESSION_TERMINATION)
    );
    assert_eq!(
        run.holder.receive(&end, &policy, &f.wallet).unwrap(),
        HolderStep::Ended {
            reason: SessionEnd::ByReader,
            reply: None
        }
    );
    assert!(run.holder.is_finished());
    let _ = (run.holder_private, run.reader_private);
}

#[test]
fn every_preset_round_trips_unauthenticated_when_the_policy_allows() {
    let mut f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    for (name, request) in request_presets() {
        let holder_private = keys(5);
        let mut holder = HolderSession::qr(holder_private, vec![]).unwrap();
        let engagement = DeviceEngagement::from_uri(&holder.qr_uri()).unwrap();
        let mut reader = ReaderSession::new(keys(6), engagement, Value::Null).unwrap();
        let est = reader
            .establish(std::slice::from_ref(&request), None)
            .unwrap();
        let policy = HolderPolicy {
            reader_cas: None,
            reader_crl: None,
            require_reader_auth: false,
            now: NOW,
            device_mac: false,
        };
        let HolderStep::Request(shown) = holder.receive(&est, &policy, &f.wallet).unwrap() else {
            panic!("{name}: request")
        };
        assert_eq!(shown.reader, None, "{name}");
        assert_eq!(shown.reader_auth_error, Some(ReaderAuthError::Untrusted));
        let reply = holder.decide(Decision::Accept, &mut f.wallet).unwrap();
        let ReaderOutcome::Response(Ok(docs)) = reader.receive(&reply, &iacas, NOW).unwrap() else {
            panic!("{name}: verified")
        };
        assert_eq!(docs[0].doc_type, request.doc_type, "{name}");
        assert_eq!(docs[0].elements.len(), request.elements.len(), "{name}");
    }
}

/// ISO/IEC 18013-5 §9.1.5.2: the holder picks EDeviceKey's curve and the reader follows it. A
/// whole session, reader authenticated, on every key-agreement curve we take (P-256, P-384,
/// P-521, brainpoolP256r1, brainpoolP384r1, X25519); and an EReaderKey on another curve than
/// EDeviceKey's is refused by the holder before anything is decrypted.
#[test]
fn a_session_on_every_curve_of_cipher_suite_1_round_trips() {
    let mut f = MdocFixtures::new().unwrap();
    let cas = f.reader.cas().unwrap();
    let iacas = f.iacas().unwrap();
    let policy = requiring_reader_auth(&cas);
    let curves: Vec<CoseCurve> = CoseCurve::ALL.into_iter().filter(|c| c.agrees()).collect();
    assert_eq!(curves.len(), 6);
    for curve in curves {
        let (d, _) = key_pair(curve, &mut Seq(7)).unwrap();
        let mut holder = HolderSession::qr_on(curve, d, vec![]).unwrap();
        let engagement = DeviceEngagement::from_uri(&holder.qr_uri()).unwrap();
        assert_eq!(engagement.e_device_key.curve(), curve);
        let mut reader = ReaderSession::generate(&mut Seq(8), engagement, Value::Null).unwrap();
        let est = {
            let mut sign = |tbs: &[u8]| f.reader.sign(tbs);
            let signer = ReaderSigner {
                certificate: &f.reader.certificate,
                sign: &mut sign,
            };
            let items = items_request(PHOTOID, &["family_name", "age_over_18"]);
            reader.establish(&[items], Some(signer)).unwrap()
        };
        let sent = SessionEstablishment::parse(&est).unwrap();
        assert_eq!(
            sent.e_reader_key.curve(),
            curve,
            "EReaderKey on the holder's curve"
        );
        let HolderStep::Request(shown) = holder.receive(&est, &policy, &f.wallet).unwrap() else {
            panic!("{curve:?}: no request")
        };
        assert!(shown.reader.is_some(), "{curve:?}: reader authenticated");
        let reply = holder.decide(Decision::Accept, &mut f.wallet).unwrap();
        let ReaderOutcome::Response(Ok(docs)) = reader.receive(&reply, &iacas, NOW).unwrap() else {
            panic!("{curve:?}: not verified")
        };
        let got: Vec<&str> = docs[0]
            .elements
            .iter()
            .map(|(_, id, _)| id.as_str())
            .collect();
        assert_eq!(got, ["family_name", "age_over_18"], "{curve:?}");

        // The same engagement answered with a key on the other curve of the same length.
        let other = match curve {
            CoseCurve::P256 => CoseCurve::BrainpoolP256r1,
            CoseCurve::BrainpoolP256r1 => CoseCurve::P256,
            CoseCurve::P384 => CoseCurve::BrainpoolP384r1,
            CoseCurve::BrainpoolP384r1 => CoseCurve::P384,
            _ => continue,
        };
        let (d, _) = key_pair(curve, &mut Seq(9)).unwrap();
        let mut holder = HolderSession::qr_on(curve, d.clone(), vec![]).unwrap();
        let (_, wrong) = key_pair(other, &mut Seq(10)).unwrap();
        let wrong_bytes = Tagged24::of(&wrong.to_cose());
        // Sealed under the keys the holder would derive if it took the key (its scalar on the
        // other curve), so only the curve check can refuse it.
        let transcript = SessionTranscript::new(
            holder.engagement().encoded(),
            wrong_bytes.clone(),
            Value::Null,
        );
        let keys = SessionKeys::derive(&d, &wrong, &transcript.bytes()).unwrap();
        let items = items_request(PHOTOID, &["family_name"]);
        let request = reader.device_request(&[items], None).unwrap();
        let est = SessionEstablishment {
            e_reader_key_bytes: wrong_bytes,
            e_reader_key: wrong,
            data: SessionCipher::new(keys, Role::Reader)
                .encrypt(&request)
                .unwrap(),
        };
        let step = holder.receive(&est.encode(), &policy, &f.wallet).unwrap();
        let HolderStep::Ended { reason, reply } = step else {
            panic!("{curve:?}: an EReaderKey on {other:?} was taken")
        };
        assert_eq!(reason, SessionEnd::Encryption, "{curve:?}");
        let status = SessionData::parse(&reply.unwrap()).unwrap().status;
        assert_eq!(
            status,
            Some(10),
            "{curve:?}: status 10, session encryption error"
        );
    }
}

#[test]
fn reader_auth_required_refuses_unsigned_and_untrusted_readers() {
    let f = MdocFixtures::new().unwrap();
    let cas = f.reader.cas().unwrap();
    let policy = requiring_reader_auth(&cas);
    let iacas = f.iacas().unwrap();
    for (signer, why) in [
        (None, ReaderAuthError::Unsigned),
        (Some(&f.rogue_reader), ReaderAuthError::Untrusted),
    ] {
        let mut run = engage(&f, &["family_name"], signer);
        let step = run
            .holder
            .receive(&run.establishment, &policy, &f.wallet)
            .unwrap();
        let HolderStep::Ended {
            reason: SessionEnd::ReaderRefused(got),
            reply: Some(reply),
        } = step
        else {
            panic!("refused: {step:?}")
        };
        assert_eq!(got, why);
        assert!(run.holder.is_finished());
        assert_eq!(
            run.reader.receive(&reply, &iacas, NOW).unwrap(),
            ReaderOutcome::Ended {
                status: STATUS_SESSION_TERMINATION
            }
        );
    }
    // Without the requirement, the rogue reader is shown as unauthenticated, not as trusted.
    let lax = HolderPolicy {
        require_reader_auth: false,
        ..policy.clone()
    };
    let mut run = engage(&f, &["family_name"], Some(&f.rogue_reader));
    let HolderStep::Request(shown) = run
        .holder
        .receive(&run.establishment, &lax, &f.wallet)
        .unwrap()
    else {
        panic!("request")
    };
    assert_eq!(shown.reader, None);
    assert_eq!(shown.reader_auth_error, Some(ReaderAuthError::Untrusted));
    // An expired view of the reader certificate: refused under the requirement.
    let late = HolderPolicy {
        now: 2_500_000_000,
        ..policy
    };
    let mut run = engage(&f, &["family_name"], Some(&f.reader));
    let step = run
        .holder
        .receive(&run.establishment, &late, &f.wallet)
        .unwrap();
    assert!(matches!(
        step,
        HolderStep::Ended {
            reason: SessionEnd::ReaderRefused(ReaderAuthError::Expired),
            ..
        }
    ));
}

#[test]
fn decline_ends_the_session_with_status_20_and_discloses_nothing() {
    let mut f = MdocFixtures::new().unwrap();
    let cas = f.reader.cas().unwrap();
    let policy = HolderPolicy {
        reader_cas: Some(std::borrow::Cow::Borrowed(&cas)),
        reader_crl: None,
        require_reader_auth: false,
        now: NOW,
        device_mac: false,
    };
    let mut run = engage(&f, &["family_name"], Some(&f.reader));
    assert!(matches!(
        run.holder
            .receive(&run.establishment, &policy, &f.wallet)
            .unwrap(),
        HolderStep::Request(_)
    ));
    let reply = run.holder.decide(Decision::Decline, &mut f.wallet).unwrap();
    let data = SessionData::parse(&reply).unwrap();
    assert_eq!(
        (data.data, data.status),
        (None, Some(STATUS_SESSION_TERMINATION))
    );
    assert!(run.holder.is_finished());
    assert_eq!(
        run.reader
            .receive(&reply, &f.iacas().unwrap(), NOW)
            .unwrap(),
        ReaderOutcome::Ended {
            status: STATUS_SESSION_TERMINATION
        }
    );
}

#[test]
fn wrong_session_keys_are_answered_with_status_10_and_do_not_open() {
    let mut f = MdocFixtures::new().unwrap();
    let policy = HolderPolicy {
        reader_cas: None,
        reader_crl: None,
        require_reader_auth: false,
        now: NOW,
        device_mac: false,
    };
    // The reader engaged with another holder's key: the holder cannot open its request.
    let mut holder = HolderSession::qr(keys(1), vec![]).unwrap();
    let other = HolderSession::qr(keys(9), vec![]).unwrap();
    let mut reader = ReaderSession::new(keys(2), other.engagement().clone(), Value::Null).unwrap();
    let est = reader
        .establish(&[items_request(PHOTOID, &["family_name"])], None)
        .unwrap();
    let step = holder.receive(&est, &policy, &f.wallet).unwrap();
    let HolderStep::Ended {
        reason: SessionEnd::Encryption,
        reply: Some(reply),
    } = step
    else {
        panic!("status 10: {step:?}")
    };
    assert_eq!(SessionData::parse(&reply).unwrap().status, Some(10));
    assert_eq!(
        reader.receive(&reply, &f.iacas().unwrap(), NOW).unwrap(),
        ReaderOutcome::Ended { status: 10 }
    );
    // Garbage instead of SessionEstablishment: status 11.
    let mut holder = HolderSession::qr(keys(1), vec![]).unwrap();
    let step = holder.receive(b"\x01\x02", &policy, &f.wallet).unwrap();
    assert!(matches!(
        step,
        HolderStep::Ended {
            reason: SessionEnd::Decoding,
            ..
        }
    ));
    // A response sealed with other keys does not open on the reader.
    let mut run = engage(&f, &["family_name"], None);
    run.holder
        .receive(&run.establishment, &policy, &f.wallet)
        .unwrap();
    let reply = run.holder.decide(Decision::Accept, &mut f.wallet).unwrap();
    let mut stranger = engage(&f, &["family_name"], None);
    let mut other_reader =
        ReaderSession::new(keys(3), stranger.holder.engagement().clone(), Value::Null).unwrap();
    other_reader
        .establish(&[items_request(PHOTOID, &["family_name"])], None)
        .unwrap();
    assert!(matches!(
        other_reader.receive(&reply, &f.iacas().unwrap(), NOW),
        Err(ReaderError::Mdoc(_))
    ));
    // A flipped ciphertext byte does not open either.
    let mut data = SessionData::parse(&reply).unwrap();
    data.data.as_mut().unwrap()[3] ^= 1;
    assert!(
        run.reader
            .receive(&data.encode(), &f.iacas().unwrap(), NOW)
            .is_err()
    );
    let _ = stranger.holder.terminate();
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn no_byte_of_an_item_the_mso_or_the_device_signature_can_be_changed() {
    let mut f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let policy = HolderPolicy {
        reader_cas: None,
        reader_crl: None,
        require_reader_auth: false,
        now: NOW,
        device_mac: false,
    };
    let mut run = engage(&f, &["family_name", "birth_date"], None);
    run.holder
        .receive(&run.establishment, &policy, &f.wallet)
        .unwrap();
    let reply = run.holder.decide(Decision::Accept, &mut f.wallet).unwrap();
    // Open the reply as the holder sealed it, to tamper with the plaintext DeviceResponse.
    let transcript = run.reader.transcript().clone();
    let reader_key =
        eid_core::mdoc::public_key(eid_core::mdoc::CoseCurve::P256, &run.reader_private).unwrap();
    let holder_keys =
        SessionKeys::derive(&run.holder_private, &reader_key, &transcript.bytes()).unwrap();
    let mut reader_cipher = SessionCipher::new(holder_keys.clone(), Role::Reader);
    reader_cipher.encrypt(b"skip counter 1").unwrap();
    let plain = reader_cipher
        .decrypt(SessionData::parse(&reply).unwrap().data.as_ref().unwrap())
        .unwrap();
    let ctx = ReaderContext {
        transcript: &transcript,
        iacas: &iacas,
        now: NOW,
        e_reader_private: Some(&run.reader_private),
    };
    assert!(check_device_response(&plain, &ctx).is_ok());
    let response = DeviceResponse::parse(&plain).unwrap();
    let doc = &response.documents[0];
    let mut ranges = Vec::new();
    for (_, items) in &doc.issuer_signed.namespaces {
        for item in items {
            let inner = item.bytes.inner();
            let at = find(&plain, inner);
            ranges.push(("IssuerSignedItem", at..at + inner.len()));
        }
    }
    let issuer_auth = Sign1::decode(
        &doc.issuer_signed.issuer_auth,
        eid_crypto::cose::Tagging::Untagged,
    )
    .unwrap();
    let mso = issuer_auth.payload().unwrap();
    let at = find(&plain, mso);
    ranges.push(("MSO", at..at + mso.len()));
    let eid_core::mdoc::DeviceAuth::Signature(sig) = &doc.device_signed.auth else {
        panic!("device signature")
    };
    let sig = Sign1::decode(sig, eid_crypto::cose::Tagging::Untagged).unwrap();
    let at = find(&plain, sig.signature());
    ranges.push(("device signature", at..at + 64));
    let mut tried = 0;
    for (what, range) in ranges {
        for i in range {
            let mut t = plain.clone();
            t[i] ^= 0x01;
            tried += 1;
            assert!(
                check_device_response(&t, &ctx).is_err(),
                "{what}: byte {i} changed and still accepted"
            );
        }
    }
    assert!(tried > 400, "{tried} bytes tried");
    // And through the session: one changed MSO byte, sealed as the holder would, is refused.
    let mut t = plain;
    t[at - 20] ^= 0x01;
    let mut holder_cipher = SessionCipher::new(holder_keys, Role::Device);
    let sealed = SessionData {
        data: Some(holder_cipher.encrypt(&t).unwrap()),
        status: None,
    }
    .encode();
    let mut reader = ReaderSession::new(
        run.reader_private.clone(),
        run.holder.engagement().clone(),
        Value::Null,
    )
    .unwrap();
    reader
        .establish(
            &[items_request(PHOTOID, &["family_name", "birth_date"])],
            None,
        )
        .unwrap();
    let ReaderOutcome::Response(Err(e)) = reader.receive(&sealed, &iacas, NOW).unwrap() else {
        panic!("refused")
    };
    assert!(
        matches!(
            e,
            CheckError::DeviceAuth | CheckError::Malformed(_) | CheckError::IssuerSignature
        ),
        "{e:?}"
    );
}

/// A certificate from the trusted reader CA but without the reader's extended key usage
/// (mdlReaderAuth, ISO/IEC 18013-5 Annex B) is no reader: shown unauthenticated and why,
/// refused when the policy requires reader authentication.
#[test]
fn a_reader_certificate_without_the_reader_eku_is_refused() {
    let f = MdocFixtures::new().unwrap();
    let cas = f.reader.cas().unwrap();
    let unfit = f.reader.without_reader_eku().unwrap();
    let lax = HolderPolicy {
        reader_cas: Some(std::borrow::Cow::Borrowed(&cas)),
        reader_crl: None,
        require_reader_auth: false,
        now: NOW,
        device_mac: false,
    };
    // The same CA and key with the extended key usage: authenticated.
    let mut run = engage(&f, &["family_name"], Some(&f.reader));
    let HolderStep::Request(shown) = run
        .holder
        .receive(&run.establishment, &lax, &f.wallet)
        .unwrap()
    else {
        panic!("request")
    };
    assert!(shown.reader.is_some());
    let mut run = engage(&f, &["family_name"], Some(&unfit));
    let HolderStep::Request(shown) = run
        .holder
        .receive(&run.establishment, &lax, &f.wallet)
        .unwrap()
    else {
        panic!("request")
    };
    assert_eq!(shown.reader, None);
    assert_eq!(
        shown.reader_auth_error,
        Some(ReaderAuthError::NotReaderCertificate)
    );
    let strict = HolderPolicy {
        require_reader_auth: true,
        ..lax.clone()
    };
    let mut run = engage(&f, &["family_name"], Some(&unfit));
    let step = run
        .holder
        .receive(&run.establishment, &strict, &f.wallet)
        .unwrap();
    assert!(matches!(
        step,
        HolderStep::Ended {
            reason: SessionEnd::ReaderRefused(ReaderAuthError::NotReaderCertificate),
            ..
        }
    ));
}

/// Reader CAs and IACAs never stand in for each other (docs/adr/0040), even when a list is
/// misconfigured: a document signer (issued by the IACA) signing a request is no reader under
/// the IACA taken as a reader CA; an MSO signed with a reader certificate authorises no issuer
/// under the reader CA taken as an IACA.
#[test]
fn reader_cas_and_iacas_never_stand_in_for_each_other() {
    use eid_core::mdoc::{IssuerSigned, MsoSpec, NamespaceElements, check_issuer_signed};
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    // A request signed by the fixture document signer, the IACAs as "reader CAs".
    let holder = HolderSession::qr(keys(1), vec![]).unwrap();
    let engagement = DeviceEngagement::from_uri(&holder.qr_uri()).unwrap();
    let mut holder = holder;
    let mut reader = ReaderSession::new(keys(2), engagement, Value::Null).unwrap();
    let ds = &f.iaca.document_signer;
    let mut sign = |tbs: &[u8]| ds.sign_raw(tbs).map_err(|_| ReaderError::Signing);
    let establishment = reader
        .establish(
            &[items_request(PHOTOID, &["family_name"])],
            Some(ReaderSigner {
                certificate: ds.certificate(),
                sign: &mut sign,
            }),
        )
        .unwrap();
    let policy = HolderPolicy {
        reader_cas: Some(std::borrow::Cow::Borrowed(&iacas)),
        reader_crl: None,
        require_reader_auth: true,
        now: NOW,
        device_mac: false,
    };
    let step = holder.receive(&establishment, &policy, &f.wallet).unwrap();
    assert!(
        matches!(
            step,
            HolderStep::Ended {
                reason: SessionEnd::ReaderRefused(ReaderAuthError::NotReaderCertificate),
                ..
            }
        ),
        "{step:?}"
    );

    // An MSO signed with the reader's key and certificate, the reader CA as "IACA".
    let reader_cas = f.reader.cas().unwrap();
    let device = eid_core::mdoc::CoseKey::p256(
        &eid_crypto::x509::p256_point(
            &eid_crypto::x509::SignerCertificate::from_der(&f.reader.certificate)
                .unwrap()
                .certificate,
        )
        .unwrap(),
    )
    .unwrap();
    let spec = MsoSpec {
        doc_type: PHOTOID,
        device_key: &device,
        validity: eid_core::mdoc::ValidityInfo {
            signed: NOW - 60,
            valid_from: NOW - 60,
            valid_until: NOW + 86_400,
            expected_update: None,
        },
    };
    let namespaces: Vec<NamespaceElements> = vec![(
        eid_fixtures::mdoc::PHOTOID_NS.to_owned(),
        vec![("family_name".to_owned(), Value::Text("Nguyen".into()))],
    )];
    let signed = eid_core::mdoc::issue_mdoc(
        &spec,
        &namespaces,
        &f.reader.certificate,
        &mut Seq(7),
        |tbs| f.reader.sign(tbs).map_err(|_| "signing"),
    )
    .unwrap();
    let parsed = IssuerSigned::parse(&signed.encode().unwrap()).unwrap();
    assert_eq!(
        check_issuer_signed(&parsed, PHOTOID, &reader_cas, NOW).map(|_| ()),
        Err(CheckError::UntrustedIssuer)
    );
}

/// Device MAC (ISO/IEC 18013-5 §9.1.3.5): with `device_mac` and a source whose device keys are
/// software-held, the answer carries a COSE_Mac0 under EMacKey (ECDH of the device key and
/// EReaderKey); the reader checks it and reports valid with a MAC. One changed MAC byte, sealed
/// as the holder would, is refused with a reason.
#[test]
fn device_mac_round_trip_and_a_changed_mac_byte_is_refused() {
    use eid_core::mdoc::{DeviceAuth, MdocVerdict};
    let mut f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let policy = HolderPolicy {
        reader_cas: None,
        reader_crl: None,
        require_reader_auth: false,
        now: NOW,
        device_mac: true,
    };
    let mut run = engage(&f, &["family_name", "birth_date"], None);
    run.holder
        .receive(&run.establishment, &policy, &f.wallet)
        .unwrap();
    let reply = run.holder.decide(Decision::Accept, &mut f.wallet).unwrap();
    let outcome = run.reader.receive(&reply, &iacas, NOW).unwrap();
    let ReaderOutcome::Response(Ok(docs)) = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(docs[0].device_mac, "answered by MAC");
    assert_eq!(docs[0].elements.len(), 2);

    // Open the reply, flip one byte of the MAC tag, seal it again.
    let transcript = run.reader.transcript().clone();
    let reader_key =
        eid_core::mdoc::public_key(eid_core::mdoc::CoseCurve::P256, &run.reader_private).unwrap();
    let holder_keys =
        SessionKeys::derive(&run.holder_private, &reader_key, &transcript.bytes()).unwrap();
    let mut reader_cipher = SessionCipher::new(holder_keys.clone(), Role::Reader);
    reader_cipher.encrypt(b"skip counter 1").unwrap();
    let plain = reader_cipher
        .decrypt(SessionData::parse(&reply).unwrap().data.as_ref().unwrap())
        .unwrap();
    let response = DeviceResponse::parse(&plain).unwrap();
    let DeviceAuth::Mac(mac) = &response.documents[0].device_signed.auth else {
        panic!("device MAC")
    };
    // The tag is the COSE_Mac0's last field: its 32 bytes end the encoded Mac0.
    let tag = &mac[mac.len() - 32..];
    let at = find(&plain, tag);
    let mut t = plain;
    t[at + 5] ^= 0x01;
    let mut holder_cipher = SessionCipher::new(holder_keys, Role::Device);
    let sealed = SessionData {
        data: Some(holder_cipher.encrypt(&t).unwrap()),
        status: None,
    }
    .encode();
    let mut reader = ReaderSession::new(
        run.reader_private.clone(),
        run.holder.engagement().clone(),
        Value::Null,
    )
    .unwrap();
    reader
        .establish(
            &[items_request(PHOTOID, &["family_name", "birth_date"])],
            None,
        )
        .unwrap();
    let outcome = reader.receive(&sealed, &iacas, NOW).unwrap();
    assert!(
        matches!(
            outcome,
            ReaderOutcome::Response(Err(CheckError::DeviceAuth))
        ),
        "{outcome:?}"
    );
    let verdict = MdocVerdict::from_outcome(outcome, &[items_request(PHOTOID, &[])], false);
    assert!(!verdict.valid);
    assert!(verdict.elements.is_empty());
    assert!(!verdict.reasons.is_empty(), "a reason is given");

    // Without the policy's request the same source signs.
    let policy = HolderPolicy {
        device_mac: false,
        ..policy
    };
    let mut run = engage(&f, &["family_name"], None);
    run.holder
        .receive(&run.establishment, &policy, &f.wallet)
        .unwrap();
    let reply = run.holder.decide(Decision::Accept, &mut f.wallet).unwrap();
    let ReaderOutcome::Response(Ok(docs)) = run.reader.receive(&reply, &iacas, NOW).unwrap() else {
        panic!("signed answer")
    };
    assert!(!docs[0].device_mac);
}

/// The reader CA's CRL (docs/adr/0053): a listed reader certificate is refused, and while the
/// holder has no current CRL no reader counts as authenticated (its revocation is unknown).
#[test]
fn a_revoked_or_unknown_revocation_reader_is_not_authenticated() {
    let f = MdocFixtures::new().unwrap();
    let cas = f.reader.cas().unwrap();
    let reader = eid_crypto::x509::SignerCertificate::from_der(&f.reader.certificate).unwrap();
    let serial = reader
        .certificate
        .tbs_certificate()
        .serial_number()
        .as_bytes()
        .to_vec();
    let current = |serials: Vec<Vec<u8>>| eid_crypto::crl::RevocationList {
        this_update: NOW - 60,
        next_update: NOW + 86_400,
        serials: serials.into_iter().collect(),
    };
    let stale = eid_crypto::crl::RevocationList {
        this_update: NOW - 3 * 86_400,
        next_update: NOW - 2 * 86_400,
        serials: Default::default(),
    };
    for (crl, expected) in [
        (current(vec![]), None),
        (current(vec![vec![1, 2, 3]]), None),
        (current(vec![serial]), Some(ReaderAuthError::Revoked)),
        (stale, Some(ReaderAuthError::RevocationUnknown)),
        (
            eid_crypto::crl::RevocationList::default(),
            Some(ReaderAuthError::RevocationUnknown),
        ),
    ] {
        let policy = HolderPolicy {
            reader_cas: Some(std::borrow::Cow::Borrowed(&cas)),
            reader_crl: Some(std::borrow::Cow::Owned(crl)),
            require_reader_auth: false,
            now: NOW,
            device_mac: false,
        };
        let mut run = engage(&f, &["family_name"], Some(&f.reader));
        let HolderStep::Request(shown) = run
            .holder
            .receive(&run.establishment, &policy, &f.wallet)
            .unwrap()
        else {
            panic!("request")
        };
        assert_eq!(shown.reader_auth_error, expected);
        assert_eq!(shown.reader.is_some(), expected.is_none());
    }
}

/// What a reader asking for `items` got from an accepting holder.
struct Answer {
    /// What the citizen was shown.
    shown: eid_core::mdoc::PresentationRequest,
    outcome: ReaderOutcome,
    /// The DeviceResponse as it came (decrypted), encoded and as CBOR.
    bytes: Vec<u8>,
    wire: Value,
}

fn accepted_answer(f: &mut MdocFixtures, items: Vec<ItemsRequest>) -> Answer {
    let iacas = f.iacas().unwrap();
    let mut run = engage_for(f, items, None);
    let step = run
        .holder
        .receive(&run.establishment, &any_reader_policy(), &f.wallet)
        .unwrap();
    let HolderStep::Request(shown) = step else {
        panic!("a request to show: {step:?}")
    };
    let reply = run.holder.decide(Decision::Accept, &mut f.wallet).unwrap();
    let outcome = run.reader.receive(&reply, &iacas, NOW).unwrap();
    let bytes = run.reader.handover().unwrap().device_response.to_vec();
    let wire = ciborium::from_reader(bytes.as_slice()).unwrap();
    Answer {
        shown,
        outcome,
        bytes,
        wire,
    }
}

fn entry<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

#[test]
fn what_the_wallet_does_not_hold_is_named_on_the_wire_and_in_the_verdict() {
    // ISO/IEC 18013-5 §8.3.2.1.2.2: a requested element not returned goes in the Document's
    // `errors`, a requested document not returned in `documentErrors`, each with ErrorCode 0
    // (data not returned); a reader can then tell a shorter answer from a lost one.
    const PID: &str = "eu.europa.ec.eudi.pid.1";
    let mut f = MdocFixtures::new().unwrap();
    let asked = vec![
        items_request(PHOTOID, &["family_name", "eye_colour"]),
        items_request(PID, &["org.iso.23220.1/given_name"]),
    ];
    let Answer {
        shown,
        outcome,
        bytes,
        wire,
    } = accepted_answer(&mut f, asked.clone());
    // The citizen is shown what will not be sent, and why.
    assert!(shown.documents[0].held);
    assert_eq!(shown.documents[0].not_held, [asked[0].elements[1].clone()]);
    assert!(!shown.documents[1].held && shown.documents[1].not_held.is_empty());
    let docs = entry(&wire, "documents").unwrap().as_array().unwrap();
    assert_eq!(docs.len(), 1);
    let errors = entry(&docs[0], "errors").expect("the Document names what it does not return");
    let errors = cbor_map_text(errors);
    assert_eq!(
        errors,
        [(
            "org.iso.23220.1".to_owned(),
            vec![("eye_colour".to_owned(), 0)]
        )]
    );
    let doc_errors = entry(&wire, "documentErrors").unwrap().as_array().unwrap();
    assert_eq!(doc_errors.len(), 1);
    assert_eq!(
        doc_errors[0],
        Value::Map(vec![(Value::from(PID), Value::from(0))])
    );
    // Parsed back by our own reader.
    let parsed = DeviceResponse::parse(&bytes).unwrap();
    assert_eq!(parsed.documents[0].errors.len(), 1);
    assert_eq!(parsed.document_errors[0].doc_type, PID);

    let verdict = MdocVerdict::from_outcome(outcome, &asked, false);
    assert!(verdict.valid, "{verdict:?}");
    let names: Vec<(&str, &str, &str)> = verdict
        .not_returned
        .iter()
        .map(|n| {
            (
                n.doc_type.as_str(),
                n.namespace.as_str(),
                n.identifier.as_str(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (PHOTOID, "org.iso.23220.1", "eye_colour"),
            (PID, "org.iso.23220.1", "given_name")
        ]
    );
    assert_eq!(verdict.elements.len(), 1);
    assert_eq!(verdict.elements[0].identifier, "family_name");
}

#[test]
fn an_answer_holding_nothing_asked_for_has_no_documents_array() {
    // `documents` is `[+ Document]`: one or more, so an answer with none leaves the key out
    // (an empty array is refused by readers that check the CDDL, as SpruceID's isomdl does).
    let mut f = MdocFixtures::new().unwrap();
    let asked = vec![items_request("eu.europa.ec.eudi.pid.1", &["family_name"])];
    let Answer { outcome, wire, .. } = accepted_answer(&mut f, asked.clone());
    assert_eq!(entry(&wire, "documents"), None, "{wire:?}");
    assert_eq!(
        entry(&wire, "status"),
        Some(&Value::from(0)),
        "the session itself went well"
    );
    assert!(entry(&wire, "documentErrors").is_some());
    assert_eq!(
        outcome,
        ReaderOutcome::Response(Err(CheckError::NoDocuments))
    );
    let verdict = MdocVerdict::from_outcome(outcome, &asked, false);
    assert!(!verdict.valid);
    assert_eq!(
        verdict.reasons,
        ["the holder returned none of the documents asked for (eu.europa.ec.eudi.pid.1)"]
    );
    assert!(
        verdict.not_returned.is_empty(),
        "only a valid verdict lists them"
    );
}

#[test]
fn every_element_asked_for_and_held_leaves_errors_out() {
    // The usual answer is unchanged: no `errors`, no `documentErrors`, nothing not returned.
    let mut f = MdocFixtures::new().unwrap();
    let asked = vec![
        items_request(PHOTOID, &["family_name"]),
        items_request(MDL, &["document_number"]),
    ];
    let Answer {
        shown,
        outcome,
        wire,
        ..
    } = accepted_answer(&mut f, asked.clone());
    assert!(shown.documents.iter().all(|d| d.not_held.is_empty()));
    assert_eq!(entry(&wire, "documentErrors"), None);
    for d in entry(&wire, "documents").unwrap().as_array().unwrap() {
        assert_eq!(entry(d, "errors"), None);
    }
    let verdict = MdocVerdict::from_outcome(outcome, &asked, false);
    assert!(
        verdict.valid && verdict.not_returned.is_empty(),
        "{verdict:?}"
    );
    assert_eq!(verdict.elements.len(), 2);
}

/// `{ns: {id: code}}` as (namespace, [(identifier, code)]).
fn cbor_map_text(v: &Value) -> Vec<(String, Vec<(String, i64)>)> {
    v.as_map()
        .unwrap()
        .iter()
        .map(|(ns, items)| {
            let items = items
                .as_map()
                .unwrap()
                .iter()
                .map(|(id, code)| {
                    let code: i64 = code.as_integer().unwrap().try_into().unwrap();
                    (id.as_text().unwrap().to_owned(), code)
                })
                .collect();
            (ns.as_text().unwrap().to_owned(), items)
        })
        .collect()
}

#[test]
fn an_age_over_not_issued_is_answered_by_the_nearest_threshold_that_answers_it() {
    // ISO/IEC 18013-5 §7.2.5. The fixture citizen was born in 1969 and holds age_over_16, 18,
    // 21 (true) and 65 (false). 20 is answered by 21 (true: the smallest true above), 70 by 65
    // (false: the largest false below); 60 by nothing (no true above, no false below).
    let mut f = MdocFixtures::new().unwrap();
    let asked = vec![items_request(
        PHOTOID,
        &["age_over_20", "age_over_70", "age_over_60", "age_over_18"],
    )];
    let Answer {
        shown,
        outcome,
        wire,
        ..
    } = accepted_answer(&mut f, asked.clone());
    let nearest: Vec<(&str, &str)> = shown.documents[0]
        .nearest_age
        .iter()
        .map(|n| (n.requested.as_str(), n.sent.as_str()))
        .collect();
    assert_eq!(
        nearest,
        [
            ("age_over_20", "age_over_21"),
            ("age_over_70", "age_over_65")
        ]
    );
    let not_held: Vec<&str> = shown.documents[0]
        .not_held
        .iter()
        .map(|e| e.identifier.as_str())
        .collect();
    assert_eq!(not_held, ["age_over_60"]);
    // On the wire: the three thresholds sent, age_over_60 named not returned.
    let doc = &entry(&wire, "documents").unwrap().as_array().unwrap()[0];
    assert_eq!(
        cbor_map_text(entry(doc, "errors").unwrap()),
        [(
            "org.iso.23220.1".to_owned(),
            vec![("age_over_60".to_owned(), 0)]
        )]
    );
    let verdict = MdocVerdict::from_outcome(outcome, &asked, false);
    assert!(verdict.valid, "{verdict:?}");
    let mut got: Vec<(&str, &serde_json::Value)> = verdict
        .elements
        .iter()
        .map(|e| (e.identifier.as_str(), &e.value))
        .collect();
    got.sort_by_key(|(id, _)| *id);
    assert_eq!(
        got,
        [
            ("age_over_18", &serde_json::Value::Bool(true)),
            ("age_over_21", &serde_json::Value::Bool(true)),
            ("age_over_65", &serde_json::Value::Bool(false)),
        ]
    );
    // The reader takes 21 (true) as the answer to 20 and 65 (false) as the answer to 70.
    let not_returned: Vec<&str> = verdict
        .not_returned
        .iter()
        .map(|n| n.identifier.as_str())
        .collect();
    assert_eq!(not_returned, ["age_over_60"]);
}
