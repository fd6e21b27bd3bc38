//! NFC engagement handing over to BLE (ISO/IEC 18013-5 §8.2.2.1): the phone held to a reader
//! names BLE in its handover, and the session then runs over BLE (here the simulated link of
//! eid_fixtures::ble_sim) with the NFC transcript. Static handover offering NFC and BLE, the
//! reader choosing BLE in either mode; negotiated handover where the reader offers BLE and the
//! holder picks it; a desk reader (NFC only) told clearly that a phone offers BLE only; a reader
//! that ignores the NFC transcript gets nothing.
#![allow(clippy::unwrap_used)]

use ciborium::Value;
use eid_core::mdoc::transport::ble::BleMode;
use eid_core::mdoc::transport::carrier::{BleCarrier, Carrier, NfcLimits};
use eid_core::mdoc::transport::ndef::NfcHandover;
use eid_core::mdoc::transport::nfc::{
    ApduCount, HOLDER_LIMITS, NfcError, NfcHolder, read_engagement, read_mdoc,
};
use eid_core::mdoc::{
    Decision, PresentationRequest, ReaderOutcome, ReaderSession, STATUS_ENCRYPTION_ERROR,
    ephemeral_key,
};
use eid_fixtures::ble_sim::{BleRun, Sides, SimConfig, run_sessions};
use eid_fixtures::mdoc::{FixtureWallet, MdocFixtures, NOW, any_reader_policy, request_presets};
use eid_fixtures::mdoc_card::HolderTransport;

fn rng(seed: u8) -> eid_fixtures::drbg::Drbg {
    eid_fixtures::drbg::Drbg::new(&[seed], "mdoc nfc to ble")
}

const SERVICE: [u8; 16] = [0x4E; 16];

fn ble(peripheral_server: bool, central_client: bool) -> BleCarrier {
    BleCarrier {
        peripheral_server,
        central_client,
        uuid: Some(SERVICE),
    }
}

/// A holder that accepts any reader, offering NFC only.
fn nfc_holder(seed: u8, wallet: &mut FixtureWallet) -> NfcHolder<'_> {
    let key = ephemeral_key(&mut rng(seed)).unwrap().0;
    let accept = |_: &PresentationRequest| Decision::Accept;
    NfcHolder::new(key, any_reader_policy(), wallet, accept).unwrap()
}

fn holder<'w>(
    seed: u8,
    wallet: &'w mut FixtureWallet,
    carriers: &[Carrier],
    negotiated: bool,
) -> NfcHolder<'w> {
    let h = nfc_holder(seed, wallet);
    let h = if negotiated { h.negotiated() } else { h };
    h.offering(carriers).unwrap()
}

/// The reader's engagement of `holder` over an extended-length link, offering `reader_ble`
/// should the holder negotiate.
fn engage(
    holder: &mut NfcHolder<'_>,
    seed: u8,
    reader_ble: Option<BleCarrier>,
) -> Result<NfcHandover, NfcError> {
    let mut t = HolderTransport {
        holder,
        extended: true,
    };
    read_engagement(
        &mut t,
        &mut rng(seed),
        reader_ble,
        &mut ApduCount::default(),
    )
}

/// Engages by NFC (the reader offering `reader_ble` in a negotiated handover), the phone taken
/// away, then reads the first preset over the simulated BLE link in `mode`, with the transcript
/// the handover gave.
fn tap_then_ble(
    holder: &mut NfcHolder<'_>,
    reader_ble: Option<BleCarrier>,
    mode: BleMode,
    iacas: &eid_crypto::trust::TrustStore,
) -> (NfcHandover, BleRun) {
    let handover = engage(holder, 9, reader_ble).unwrap();
    // The citizen takes the phone away after the tap (the field drops), as handing over to BLE
    // lets them: the BLE carrier the handover named must still hold.
    holder.field_reset();
    let mut reader = ReaderSession::generate(
        &mut rng(10),
        handover.engagement.clone(),
        handover.handover.clone(),
    )
    .unwrap();
    let items = request_presets().into_iter().next().unwrap().1;
    let sides = Sides {
        mode,
        cfg: SimConfig::default(),
        wrong_ident: false,
        iacas,
        now: NOW,
    };
    let run = run_sessions(holder, &mut reader, &[items], &sides).unwrap();
    (handover, run)
}

fn assert_read(run: &BleRun) {
    let Ok(ReaderOutcome::Response(Ok(docs))) = &run.reader else {
        panic!("{:?}", run.reader)
    };
    let items = request_presets().into_iter().next().unwrap().1;
    assert_eq!(docs[0].doc_type, items.doc_type);
    assert_eq!(docs[0].elements.len(), items.elements.len());
    assert!(run.holder_finished);
}

#[test]
fn a_static_handover_offering_nfc_and_ble_is_read_over_ble_in_either_mode() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let mut wallet = f.wallet;
    for (mode, seed) in [(BleMode::PeripheralServer, 1), (BleMode::CentralClient, 2)] {
        let carriers = [Carrier::Nfc(HOLDER_LIMITS), Carrier::Ble(ble(true, true))];
        let mut h = holder(seed, &mut wallet, &carriers, false);
        assert_eq!(h.ble_carrier(), Some(ble(true, true)));
        let (handover, run) = tap_then_ble(&mut h, None, mode, &iacas);
        assert!(!handover.negotiated);
        assert_eq!(handover.nfc, Some(HOLDER_LIMITS));
        assert_eq!(handover.ble, Some(ble(true, true)));
        assert_eq!(
            handover.ble.unwrap().options(),
            Some((Some(SERVICE), Some(SERVICE)))
        );
        // The answer decrypted and verified over BLE: both sides used [Hs, null].
        assert_eq!(handover.handover.as_array().unwrap()[1], Value::Null);
        assert_read(&run);
        assert!(h.session().is_finished(), "{mode:?}");
    }
}

#[test]
fn a_negotiated_handover_hands_over_to_ble_when_reader_and_holder_take_it() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let mut wallet = f.wallet;
    // The holder prefers BLE in central client mode, with a UUID of its own; the reader offers
    // NFC and BLE in both modes with its UUID. The choice: BLE, central client mode, the
    // reader's UUID.
    let mine = BleCarrier {
        uuid: Some([0x77; 16]),
        ..ble(false, true)
    };
    let carriers = [Carrier::Ble(mine), Carrier::Nfc(HOLDER_LIMITS)];
    {
        let mut h = holder(3, &mut wallet, &carriers, true);
        assert_eq!(
            h.ble_carrier(),
            None,
            "nothing chosen before the reader asks"
        );
        let (handover, run) = tap_then_ble(
            &mut h,
            Some(ble(true, true)),
            BleMode::CentralClient,
            &iacas,
        );
        assert!(handover.negotiated);
        assert_eq!(handover.nfc, None, "the Handover Select names one carrier");
        assert_eq!(handover.ble, Some(ble(false, true)));
        assert_eq!(h.ble_carrier(), Some(ble(false, true)));
        assert!(
            handover.handover.as_array().unwrap()[1]
                .as_bytes()
                .is_some()
        );
        assert_read(&run);
    }

    // The same holder preferring NFC answers a reader offering both with NFC.
    let carriers = [Carrier::Nfc(HOLDER_LIMITS), Carrier::Ble(mine)];
    {
        let mut h = holder(4, &mut wallet, &carriers, true);
        let read = engage(&mut h, 5, Some(ble(true, true))).unwrap();
        assert_eq!((read.nfc, read.ble), (Some(HOLDER_LIMITS), None));
        assert_eq!(h.ble_carrier(), None);
    }

    // A holder taking BLE in central client mode only, and a reader offering peripheral server
    // mode only: no common carrier, the reader says so.
    let mut h = holder(5, &mut wallet, &[Carrier::Ble(mine)], true);
    let e = engage(&mut h, 6, Some(ble(true, false))).unwrap_err();
    assert!(matches!(e, NfcError::Status(0x6A80)), "{e:?}");
}

#[test]
fn a_desk_reader_is_told_a_phone_offers_ble_only() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let mut wallet = f.wallet;
    let items = request_presets().into_iter().next().unwrap().1;
    for negotiated in [false, true] {
        let mut h = holder(
            6,
            &mut wallet,
            &[Carrier::Ble(ble(true, false))],
            negotiated,
        );
        let mut t = HolderTransport {
            holder: &mut h,
            extended: true,
        };
        let e = read_mdoc(
            &mut t,
            &mut rng(7),
            std::slice::from_ref(&items),
            None,
            &iacas,
            NOW,
        )
        .unwrap_err();
        let expected = if negotiated {
            // The desk offers NFC only: the holder has nothing to choose.
            "card status 6A80"
        } else {
            "NFC handover: the phone offers data retrieval by BLE only, not by NFC"
        };
        assert_eq!(e.to_string(), expected);
        assert!(!h.session().is_finished(), "no data left the phone");
    }
}

#[test]
fn bad_carrier_offers_are_refused() {
    let mut wallet = MdocFixtures::new().unwrap().wallet;
    let no_uuid = BleCarrier {
        uuid: None,
        ..ble(true, false)
    };
    let e = nfc_holder(8, &mut wallet)
        .offering(&[Carrier::Ble(no_uuid)])
        .unwrap_err();
    assert!(e.to_string().contains("carriers"), "{e}");
    let no_mode = ble(false, false);
    assert!(
        nfc_holder(8, &mut wallet)
            .offering(&[Carrier::Ble(no_mode)])
            .is_err()
    );
    assert!(nfc_holder(8, &mut wallet).offering(&[]).is_err());
    // The holder's own limits whatever the app gives.
    let small = NfcLimits {
        max_command_data: 1,
        max_response_data: 1,
    };
    let mut h = nfc_holder(8, &mut wallet)
        .offering(&[Carrier::Nfc(small)])
        .unwrap();
    assert_eq!(engage(&mut h, 9, None).unwrap().nfc, Some(HOLDER_LIMITS));
}

#[test]
fn a_reader_that_drops_the_nfc_transcript_gets_nothing_over_ble() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let mut wallet = f.wallet;
    let carriers = [Carrier::Ble(ble(true, false))];
    let mut h = holder(11, &mut wallet, &carriers, false);
    let handover = engage(&mut h, 12, None).unwrap();
    // A QR-style transcript (handover null): the holder cannot decrypt the request and ends
    // the session with status 10 (session encryption error); the reader gets no document.
    let mut reader =
        ReaderSession::generate(&mut rng(13), handover.engagement, Value::Null).unwrap();
    let items = request_presets().into_iter().next().unwrap().1;
    let sides = Sides {
        mode: BleMode::PeripheralServer,
        cfg: SimConfig::default(),
        wrong_ident: false,
        iacas: &iacas,
        now: NOW,
    };
    let run = run_sessions(&mut h, &mut reader, &[items], &sides).unwrap();
    match &run.reader {
        Ok(ReaderOutcome::Ended { status }) => assert_eq!(*status, STATUS_ENCRYPTION_ERROR),
        other => panic!("{other:?}"),
    }
    assert!(h.session().is_finished());
}
