//! ISO/IEC 18013-5 over NFC with the holder as the card (eid_core::mdoc::transport::nfc):
//! static handover read from the Type 4 Tag, ENVELOPE / GET RESPONSE, extended and short APDUs,
//! the SessionTranscript's NFC handover, consent and a card that is not an mdoc.
#![allow(clippy::unwrap_used)]

use eid_core::mdoc::transport::nfc::{ApduCount, NfcError, NfcHolder, read_engagement, read_mdoc};
use eid_core::mdoc::{
    Decision, HolderPolicy, PresentationRequest, ReaderOutcome, ReaderSigner,
    STATUS_SESSION_TERMINATION, ephemeral_key,
};
use eid_fixtures::mdoc::{MDL, MdocFixtures, NOW, PHOTOID, any_reader_policy, request_presets};
use eid_fixtures::mdoc_card::HolderTransport;

/// A deterministic random source (keys the same every run).
fn rng(seed: u8) -> eid_fixtures::drbg::Drbg {
    eid_fixtures::drbg::Drbg::new(&[seed], "mdoc nfc")
}

fn key(seed: u8) -> eid_crypto::SecretKey {
    ephemeral_key(&mut rng(seed)).unwrap().0
}

#[test]
fn every_preset_over_nfc_extended_and_short() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let cas = f.reader.cas().unwrap();
    let mut wallet = f.wallet;
    for extended in [true, false] {
        for (name, items) in request_presets() {
            let mut shown: Vec<PresentationRequest> = Vec::new();
            let mut consent = |r: &PresentationRequest| {
                shown.push(r.clone());
                Decision::Accept
            };
            let policy = HolderPolicy {
                reader_cas: Some(std::borrow::Cow::Borrowed(&cas)),
                reader_crl: None,
                require_reader_auth: true,
                now: NOW,
                device_mac: false,
            };
            let mut holder = NfcHolder::new(key(1), policy, &mut wallet, &mut consent).unwrap();
            let mut t = HolderTransport {
                holder: &mut holder,
                extended,
            };
            let mut sign = |tbs: &[u8]| f.reader.sign(tbs);
            let signer = ReaderSigner {
                certificate: &f.reader.certificate,
                sign: &mut sign,
            };
            let read = read_mdoc(
                &mut t,
                &mut rng(2),
                std::slice::from_ref(&items),
                Some(signer),
                &iacas,
                NOW,
            )
            .unwrap();
            let ReaderOutcome::Response(Ok(docs)) = &read.outcome else {
                panic!("{name}: {:?}", read.outcome)
            };
            assert_eq!(docs[0].elements.len(), items.elements.len(), "{name}");
            assert_eq!(docs[0].doc_type, items.doc_type, "{name}");
            assert!(read.reader_authenticated);
            // The holder ended with the reader's termination.
            assert!(holder.session().is_finished(), "{name}");
            let apdus = read.apdus.0;
            assert_eq!(apdus, holder.apdus);
            if extended {
                // SELECT NDEF, SELECT CC, READ CC, SELECT NDEF file, READ NLEN, READ message
                // (1 or 2 reads of 255), SELECT mdoc, ENVELOPE request, ENVELOPE termination.
                assert!(apdus <= 10, "{name}: {apdus} APDUs");
            } else {
                // Short APDUs: chained ENVELOPEs and GET RESPONSE per 256 bytes.
                assert!(apdus >= 8 + read.response_bytes / 256, "{name}: {apdus}");
            }
            drop(holder);
            let who = shown[0].reader.as_ref().unwrap();
            assert!(who.subject.contains("Airport"));
            let _ = MDL;
        }
    }
}

#[test]
fn the_session_transcript_carries_the_handover_select() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let mut wallet = f.wallet;
    let consent = |_: &PresentationRequest| Decision::Decline;
    let policy = any_reader_policy();
    let mut holder = NfcHolder::new(key(3), policy, &mut wallet, consent).unwrap();
    let mut t = HolderTransport {
        holder: &mut holder,
        extended: true,
    };
    let mut count = ApduCount::default();
    let hs = read_engagement(&mut t, &mut eid_crypto::OsRng, None, &mut count).unwrap();
    assert_eq!(count.0, 6);
    let ciborium::Value::Array(parts) = &hs.handover else {
        panic!("NFC handover is an array")
    };
    assert_eq!(parts.len(), 2);
    assert!(
        parts[0].as_bytes().is_some_and(|b| b[0] == 0x91),
        "Handover Select bytes"
    );
    assert_eq!(
        parts[1],
        ciborium::Value::Null,
        "static handover: no Handover Request"
    );
    assert_eq!(hs.engagement.retrieval_methods.len(), 0);
    assert!(hs.nfc.is_some());
    // A QR-style transcript (handover null) does not match the holder's: nothing decrypts.
    let mut reader =
        eid_core::mdoc::ReaderSession::new(key(4), hs.engagement.clone(), ciborium::Value::Null)
            .unwrap();
    let est = reader
        .establish(
            &[eid_fixtures::mdoc::items_request(PHOTOID, &["family_name"])],
            None,
        )
        .unwrap();
    eid_core::mdoc::transport::nfc::select_mdoc(&mut t, &mut count).unwrap();
    let reply = eid_core::mdoc::transport::nfc::exchange(&mut t, &est, &mut count).unwrap();
    assert_eq!(
        reader.receive(&reply, &iacas, NOW).unwrap(),
        ReaderOutcome::Ended { status: 10 }
    );
}

#[test]
fn decline_over_nfc_and_a_card_that_is_not_an_mdoc() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let mut wallet = f.wallet;
    let consent = |_: &PresentationRequest| Decision::Decline;
    let policy = any_reader_policy();
    let mut holder = NfcHolder::new(key(5), policy, &mut wallet, consent).unwrap();
    let mut t = HolderTransport {
        holder: &mut holder,
        extended: true,
    };
    let items = eid_fixtures::mdoc::items_request(PHOTOID, &["family_name"]);
    let read = read_mdoc(
        &mut t,
        &mut rng(6),
        std::slice::from_ref(&items),
        None,
        &iacas,
        NOW,
    )
    .unwrap();
    assert_eq!(
        read.outcome,
        ReaderOutcome::Ended {
            status: STATUS_SESSION_TERMINATION
        }
    );
    // Hostile APDUs never panic the holder.
    for apdu in [
        &[][..],
        &[0x00],
        &[0x00, 0xC3, 0, 0, 0x05, 0x53],
        &[0x00, 0xC0, 0, 0, 0],
        &[0x80, 0xA4, 4, 0, 0],
    ] {
        let r = holder.process_apdu(apdu);
        assert!(r.len() >= 2);
        assert_ne!(&r[r.len() - 2..], [0x90, 0x00]);
    }
    // A card without the NDEF application (a plain chip card): a clear status error.
    struct NotMdoc;
    impl eid_icao::ApduTransport for NotMdoc {
        fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, eid_icao::TransportError> {
            Ok(vec![0x6A, 0x82])
        }
        fn limits(&self) -> eid_icao::TransportLimits {
            eid_icao::TransportLimits::SHORT
        }
        fn reconnect(&mut self) -> Result<(), eid_icao::TransportError> {
            Ok(())
        }
    }
    assert_eq!(
        read_mdoc(&mut NotMdoc, &mut rng(7), &[items], None, &iacas, NOW).unwrap_err(),
        NfcError::Status(0x6A82)
    );
}

#[test]
fn a_card_that_keeps_announcing_more_data_without_sending_any_is_refused() {
    struct Endless;
    impl eid_icao::ApduTransport for Endless {
        fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, eid_icao::TransportError> {
            Ok(vec![0x61, 0x00])
        }
        fn limits(&self) -> eid_icao::TransportLimits {
            eid_icao::TransportLimits::SHORT
        }
        fn reconnect(&mut self) -> Result<(), eid_icao::TransportError> {
            Ok(())
        }
    }
    let mut count = ApduCount::default();
    assert_eq!(
        eid_core::mdoc::transport::nfc::exchange(&mut Endless, &[0xa0], &mut count),
        Err(NfcError::Malformed)
    );
    assert_eq!(count.0, 1);
}

#[test]
fn random_apdus_never_panic_the_holder_card() {
    let f = MdocFixtures::new().unwrap();
    let mut wallet = f.wallet;
    let consent = |_: &PresentationRequest| Decision::Accept;
    let policy = any_reader_policy();
    let mut holder = NfcHolder::new(key(8), policy, &mut wallet, consent).unwrap();
    let mut state = 0x1234_5678_u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let prefixes: [&[u8]; 5] = [
        &[
            0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x48, 0x04, 0x00,
        ],
        &[0x00, 0xC3, 0x00, 0x00],
        &[0x10, 0xC3, 0x00, 0x00],
        &[0x00, 0xC0, 0x00, 0x00],
        &[0x00, 0xB0],
    ];
    for i in 0..20_000u32 {
        let mut apdu = prefixes[(i % 5) as usize].to_vec();
        let extra = (next() % 40) as usize;
        apdu.extend((0..extra).map(|_| next() as u8));
        if i % 7 == 0 {
            // Re-select now and then, so ENVELOPE and GET RESPONSE reach the session code.
            holder.process_apdu(prefixes[0]);
        }
        let r = holder.process_apdu(&apdu);
        assert!(r.len() >= 2);
    }
}

/// The reader's termination (SessionData status 20) gets an empty DO'53' and 9000, like every
/// other ENVELOPE response: a reader that unwraps each response (Multipaz's
/// NfcTransportMdocReader) refused a bare 9000 as a malformed DO'53'.
#[test]
fn the_termination_is_answered_with_an_empty_do53() {
    struct Recording<'t, 'h, 'a> {
        inner: HolderTransport<'h, 'a>,
        responses: &'t mut Vec<Vec<u8>>,
    }
    impl eid_icao::ApduTransport for Recording<'_, '_, '_> {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, eid_icao::TransportError> {
            let r = self.inner.transmit(command)?;
            self.responses.push(r.clone());
            Ok(r)
        }
        fn limits(&self) -> eid_icao::TransportLimits {
            self.inner.limits()
        }
        fn reconnect(&mut self) -> Result<(), eid_icao::TransportError> {
            self.inner.reconnect()
        }
    }
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let mut wallet = f.wallet;
    let policy = any_reader_policy();
    for extended in [true, false] {
        let mut holder = NfcHolder::new(
            key(5),
            policy.clone(),
            &mut wallet,
            |_: &PresentationRequest| Decision::Accept,
        )
        .unwrap();
        let mut responses = Vec::new();
        let mut t = Recording {
            inner: HolderTransport {
                holder: &mut holder,
                extended,
            },
            responses: &mut responses,
        };
        let items = eid_fixtures::mdoc::items_request(PHOTOID, &["family_name"]);
        let read = read_mdoc(&mut t, &mut rng(6), &[items], None, &iacas, NOW).unwrap();
        assert!(matches!(read.outcome, ReaderOutcome::Response(Ok(_))));
        assert!(holder.session().is_finished());
        assert_eq!(
            responses.last().unwrap(),
            &[0x53, 0x00, 0x90, 0x00],
            "extended: {extended}"
        );
    }
}
