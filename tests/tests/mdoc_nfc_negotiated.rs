//! NFC negotiated handover (ISO/IEC 18013-5 §8.2.2.1 over NFC Forum TNEP 1.0): our holder
//! offering it (`NfcHolder::negotiated`) read by our reader, extended and short APDUs, the
//! transcript's `[HandoverSelect, HandoverRequest]`; the reader against tags that refuse the
//! service, may not be written, or never answer; the holder against messages out of turn.
//! Multipaz's holder and reader check the same against ours (interop/multipaz).
#![allow(clippy::unwrap_used)]

use eid_core::mdoc::transport::carrier::{BleCarrier, Carrier, NfcLimits};
use eid_core::mdoc::transport::ndef::{
    handover_request, handover_service_offer, parse_message, service_select, tnep_status_message,
};
use eid_core::mdoc::transport::nfc::{ApduCount, NfcError, NfcHolder, read_engagement, read_mdoc};
use eid_core::mdoc::transport::tnep::SERVICE;
use eid_core::mdoc::{Decision, PresentationRequest, ReaderOutcome, ephemeral_key};
use eid_fixtures::mdoc::{FixtureWallet, MdocFixtures, NOW, any_reader_policy, request_presets};
use eid_fixtures::mdoc_card::HolderTransport;
use eid_icao::{ApduTransport, TransportError, TransportLimits};

fn rng(seed: u8) -> eid_fixtures::drbg::Drbg {
    eid_fixtures::drbg::Drbg::new(&[seed], "mdoc nfc negotiated")
}

/// Our holder offering negotiated handover, answering any reader with `decision`.
fn negotiated_holder(seed: u8, wallet: &mut FixtureWallet, decision: Decision) -> NfcHolder<'_> {
    let key = ephemeral_key(&mut rng(seed)).unwrap().0;
    NfcHolder::new(
        key,
        any_reader_policy(),
        wallet,
        move |_: &PresentationRequest| decision,
    )
    .unwrap()
    .negotiated()
}

#[test]
fn our_reader_reads_our_holder_by_negotiated_handover() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let mut wallet = f.wallet;
    let (name, items) = request_presets().into_iter().next().unwrap();
    for extended in [true, false] {
        let mut holder = negotiated_holder(1, &mut wallet, Decision::Accept);
        let mut t = HolderTransport {
            holder: &mut holder,
            extended,
        };
        let read = read_mdoc(
            &mut t,
            &mut rng(2),
            std::slice::from_ref(&items),
            None,
            &iacas,
            NOW,
        )
        .unwrap();
        // The answer decrypted and verified: both sides used [Hs, Hr] in the transcript.
        let ReaderOutcome::Response(Ok(docs)) = &read.outcome else {
            panic!("{name}: {:?}", read.outcome)
        };
        assert_eq!(docs[0].doc_type, items.doc_type);
        assert_eq!(docs[0].elements.len(), items.elements.len());
        assert!(holder.session().is_finished());
        // Static: 6 APDUs of engagement. Negotiated adds a write and a read pair per TNEP
        // message (Service Select, Handover Request): NLEN and message each.
        assert!(read.apdus.0 >= 6 + 2 * 3, "{} APDUs", read.apdus.0);
    }
}

#[test]
fn the_negotiated_transcript_holds_the_handover_request() {
    let f = MdocFixtures::new().unwrap();
    let mut wallet = f.wallet;
    let mut holder = negotiated_holder(3, &mut wallet, Decision::Decline);
    let mut t = HolderTransport {
        holder: &mut holder,
        extended: true,
    };
    let mut count = ApduCount::default();
    let read = read_engagement(&mut t, &mut rng(4), None, &mut count).unwrap();
    assert!(read.negotiated);
    let ciborium::Value::Array(parts) = &read.handover else {
        panic!("NFC handover is an array")
    };
    let (hs, hr) = (parts[0].as_bytes().unwrap(), parts[1].as_bytes().unwrap());
    let types = |m: &[u8]| -> Vec<Vec<u8>> {
        parse_message(m)
            .unwrap()
            .into_iter()
            .map(|r| r.record_type)
            .collect()
    };
    assert_eq!(types(hs)[0], b"Hs");
    assert_eq!(types(hr), [&b"Hr"[..], b"iso.org:18013:nfc"]);
    // The holder's session carries the same handover: the reader's choice of limits is in it.
    assert_eq!(
        parse_message(hr).unwrap()[1].payload,
        [1, 3, 1, 0xFF, 0xFF, 3, 2, 0xFF, 0xFF]
    );
    assert!(read.nfc.is_some());
    // SELECT NDEF, SELECT CC, READ CC, SELECT file, READ NLEN, READ offer; then per message
    // one UPDATE BINARY (it fits MLc) and two READ BINARY.
    assert_eq!(count.0, 6 + 3 + 3);
    // The phone moved away before the session began: the field reset starts the negotiation
    // again, and a reader engaging anew (another Handover Request) gets a consistent session.
    let first_hr = hr.to_vec();
    t.holder.field_reset();
    let again = read_engagement(&mut t, &mut rng(8), None, &mut count).unwrap();
    assert!(again.negotiated);
    assert_ne!(
        again.handover.as_array().unwrap()[1].as_bytes().unwrap(),
        &first_hr
    );
}

#[test]
fn a_reader_that_comes_back_after_a_field_reset_negotiates_again_and_reads() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let mut wallet = f.wallet;
    let (_, items) = request_presets().into_iter().next().unwrap();
    let mut holder = negotiated_holder(9, &mut wallet, Decision::Accept);
    let mut t = HolderTransport {
        holder: &mut holder,
        extended: true,
    };
    // The whole handover, then the link drops before the first ENVELOPE.
    read_engagement(&mut t, &mut rng(10), None, &mut ApduCount::default()).unwrap();
    t.holder.field_reset();
    let read = read_mdoc(
        &mut t,
        &mut rng(11),
        std::slice::from_ref(&items),
        None,
        &iacas,
        NOW,
    )
    .unwrap();
    assert!(
        matches!(&read.outcome, ReaderOutcome::Response(Ok(_))),
        "{:?}",
        read.outcome
    );
}

/// A Type 4 Tag that offers the Connection Handover service and answers by a script.
struct ScriptedTag {
    writable: bool,
    /// The answer to each whole message written, in turn (empty: the file stays empty).
    answers: Vec<Vec<u8>>,
    file: Vec<u8>,
    selected_file: bool,
    reads_of_empty: usize,
    /// The waits the reader asked of the link.
    paused: Vec<std::time::Duration>,
}

impl ScriptedTag {
    fn new(writable: bool, answers: Vec<Vec<u8>>) -> ScriptedTag {
        let offer = handover_service_offer(eid_core::mdoc::transport::ndef::HandoverService {
            n_wait: 2,
            ..SERVICE
        });
        ScriptedTag {
            writable,
            answers,
            file: [&(offer.len() as u16).to_be_bytes()[..], &offer].concat(),
            selected_file: false,
            reads_of_empty: 0,
            paused: Vec::new(),
        }
    }
}

impl ApduTransport for ScriptedTag {
    fn transmit(&mut self, c: &[u8]) -> Result<Vec<u8>, TransportError> {
        let ok = |mut d: Vec<u8>| {
            d.extend_from_slice(&[0x90, 0x00]);
            Ok(d)
        };
        match c[1] {
            0xA4 => {
                self.selected_file = c[2] == 0x00 && c[5..7] == [0xE1, 0x04];
                ok(vec![])
            }
            0xB0 if !self.selected_file => ok(vec![
                0,
                15,
                0x20,
                0,
                0xFF,
                0,
                0xFF,
                4,
                6,
                0xE1,
                4,
                4,
                2,
                0,
                if self.writable { 0 } else { 0xFF },
            ]),
            0xB0 => {
                let offset = usize::from(c[2]) << 8 | usize::from(c[3]);
                let le = usize::from(c[4]);
                if offset == 0 && self.file[..2] == [0, 0] {
                    self.reads_of_empty += 1;
                }
                ok(self.file[offset..(offset + le).min(self.file.len())].to_vec())
            }
            0xD6 => {
                let nlen = u16::from_be_bytes([c[5], c[6]]);
                if c[2] == 0 && c[3] == 0 && nlen != 0 {
                    let answer = if self.answers.is_empty() {
                        vec![]
                    } else {
                        self.answers.remove(0)
                    };
                    self.file = [&(answer.len() as u16).to_be_bytes()[..], &answer].concat();
                }
                ok(vec![])
            }
            _ => Ok(vec![0x6D, 0x00]),
        }
    }
    fn limits(&self) -> TransportLimits {
        TransportLimits::SHORT
    }
    fn reconnect(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    fn pause(&mut self, duration: std::time::Duration) {
        self.paused.push(duration);
    }
}

#[test]
fn the_reader_stops_on_a_refused_service_a_read_only_tag_or_a_silent_phone() {
    let mut count = ApduCount::default();
    // The phone answers the Service Select with TNEP status 1 (protocol error).
    let mut refused = ScriptedTag::new(true, vec![tnep_status_message(1)]);
    let e = read_engagement(&mut refused, &mut rng(5), None, &mut count).unwrap_err();
    assert!(
        matches!(e, NfcError::Handover(m) if m.contains("refused")),
        "{e:?}"
    );
    // The tag offers the service but its capability container says it may not be written.
    let mut read_only = ScriptedTag::new(false, vec![tnep_status_message(0)]);
    let e = read_engagement(&mut read_only, &mut rng(5), None, &mut count).unwrap_err();
    assert!(
        matches!(e, NfcError::Handover(m) if m.contains("may not write")),
        "{e:?}"
    );
    // The phone accepts the service, then never answers the Handover Request: the reader asks
    // N_wait + 1 times (N_wait = 2) and gives up.
    let mut silent = ScriptedTag::new(true, vec![tnep_status_message(0)]);
    let e = read_engagement(&mut silent, &mut rng(5), None, &mut count).unwrap_err();
    assert!(
        matches!(e, NfcError::Handover(m) if m.contains("in time")),
        "{e:?}"
    );
    assert_eq!(silent.reads_of_empty, 3);
    // It waited T_wait (WT 0: 0.5 ms) before each read: after the Service Select once, then
    // three times for the Handover Request.
    let half_ms = std::time::Duration::from_micros(500);
    assert_eq!(silent.paused, [half_ms; 4]);
    // The phone answers the Handover Request with a TNEP status instead of a Handover Select.
    let mut wrong = ScriptedTag::new(true, vec![tnep_status_message(0), tnep_status_message(0)]);
    assert!(read_engagement(&mut wrong, &mut rng(5), None, &mut count).is_err());
}

#[test]
fn the_holder_refuses_messages_out_of_turn() {
    let f = MdocFixtures::new().unwrap();
    let mut wallet = f.wallet;
    let mut holder = negotiated_holder(6, &mut wallet, Decision::Decline);
    let select_file = [0x00, 0xA4, 0x00, 0x0C, 0x02, 0xE1, 0x04];
    let update = |message: &[u8]| {
        let data = [&(message.len() as u16).to_be_bytes()[..], message].concat();
        [&[0x00, 0xD6, 0x00, 0x00, data.len() as u8][..], &data].concat()
    };
    let read_file = [0x00, 0xB0, 0x00, 0x00, 0xFF];
    assert_eq!(
        holder.process_apdu(&[0x00, 0xA4, 0x04, 0x00, 7, 0xD2, 0x76, 0, 0, 0x85, 1, 1, 0]),
        [0x90, 0x00]
    );
    assert_eq!(holder.process_apdu(&select_file), [0x90, 0x00]);
    let limits = NfcLimits {
        max_command_data: 0xFF,
        max_response_data: 0x100,
    };
    // A Handover Request before the service is selected: TNEP status 1, no Handover Select.
    assert_eq!(
        holder.process_apdu(&update(&handover_request(&[Carrier::Nfc(limits)], 7))),
        [0x90, 0x00]
    );
    let answer = holder.process_apdu(&read_file);
    assert_eq!(&answer[2..answer.len() - 2], tnep_status_message(1));
    // The service selected: status 0.
    assert_eq!(
        holder.process_apdu(&update(&service_select())),
        [0x90, 0x00]
    );
    let answer = holder.process_apdu(&read_file);
    assert_eq!(&answer[2..answer.len() - 2], tnep_status_message(0));
    // A request without a carrier, or with BLE only, is refused (this holder takes NFC only).
    let no_nfc = &parse_message(&handover_request(&[Carrier::Nfc(limits)], 7)).unwrap()[..1];
    let no_nfc = eid_core::mdoc::transport::ndef::encode_message(no_nfc);
    assert_eq!(holder.process_apdu(&update(&no_nfc)), [0x6A, 0x80]);
    let ble_only = Carrier::Ble(BleCarrier {
        peripheral_server: true,
        central_client: true,
        uuid: Some([7; 16]),
    });
    assert_eq!(
        holder.process_apdu(&update(&handover_request(&[ble_only], 7))),
        [0x6A, 0x80]
    );
    // A write past the file's end is refused.
    assert_eq!(
        holder.process_apdu(&[0x00, 0xD6, 0x7F, 0xFF, 0x02, 1, 2]),
        [0x6A, 0x80]
    );
    // A holder offering static handover takes no writes at all.
    let mut wallet = MdocFixtures::new().unwrap().wallet;
    let key = ephemeral_key(&mut rng(7)).unwrap().0;
    let decline = |_: &PresentationRequest| Decision::Decline;
    let mut static_holder = NfcHolder::new(key, any_reader_policy(), &mut wallet, decline).unwrap();
    assert_eq!(
        static_holder.process_apdu(&update(&service_select())),
        [0x6D, 0x00]
    );
}
