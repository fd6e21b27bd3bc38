//! The transport parts of ISO/IEC 18013-5 Annex D: the example QR engagement's BLE options
//! (central client mode and its UUID) rebuilt byte for byte by our builder, and the example
//! SessionTranscript's Handover Select message read by our NDEF parser, giving back the example
//! DeviceEngagement.
#![allow(clippy::unwrap_used)]

use eid_core::mdoc::transport::ble::{ble_options, retrieval_method};
use eid_core::mdoc::transport::carrier::{BleCarrier, Carrier, NfcLimits, SHORT_LIMITS};
use eid_core::mdoc::transport::ndef::{
    handover_request, parse_handover_select, parse_message, parse_negotiated_select,
    request_carriers,
};
use eid_core::mdoc::{DeviceEngagement, SessionTranscript};

fn v(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/vectors/iso18013-5/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    hex::decode(std::fs::read_to_string(path).unwrap().trim()).unwrap()
}

#[test]
fn annex_d_handover_select_carries_the_example_engagement() {
    let t = SessionTranscript::parse_bytes(&v("session_transcript_bytes")).unwrap();
    let parts = t.handover.as_array().unwrap();
    let hs = parts[0].as_bytes().unwrap();
    let read = parse_handover_select(hs).unwrap();
    assert_eq!(
        read.engagement.encoded(),
        t.device_engagement_bytes.as_ref().unwrap().inner()
    );
    // The example offers BLE, not NFC data retrieval.
    assert_eq!(read.nfc, None);
    let records = parse_message(hs).unwrap();
    let types: Vec<&[u8]> = records.iter().map(|r| r.record_type.as_slice()).collect();
    assert_eq!(
        types,
        [
            &b"Hs"[..],
            b"application/vnd.bluetooth.le.oob",
            b"iso.org:18013:deviceengagement"
        ]
    );
    assert_eq!(records[2].id, b"mdoc");
    // The example's Handover Request (negotiated handover) parses as NDEF too, but is not a
    // Handover Select.
    let hr = parts[1].as_bytes().unwrap();
    assert!(parse_message(hr).is_ok());
    assert!(parse_handover_select(hr).is_err());
}

/// The example transcript comes from a negotiated handover: read as one, its Handover Select
/// and Handover Request give back the transcript's handover exactly, and our reader's
/// Handover Request is laid out as the example's (`Hr` 1.5 holding a collision resolution
/// record, then Alternative Carrier records; the carriers' records after it).
#[test]
fn annex_d_negotiated_handover_is_read_and_our_request_has_its_layout() {
    let t = SessionTranscript::parse_bytes(&v("session_transcript_bytes")).unwrap();
    let parts = t.handover.as_array().unwrap();
    let (hs, hr) = (parts[0].as_bytes().unwrap(), parts[1].as_bytes().unwrap());
    let read = parse_negotiated_select(hs, hr).unwrap();
    assert!(read.negotiated);
    assert_eq!(read.handover, t.handover);
    assert_eq!(
        read.engagement.encoded(),
        t.device_engagement_bytes.as_ref().unwrap().inner()
    );
    // (kind, carrier data reference) of the records inside the Hr record.
    let inner = |message: &[u8]| -> Vec<(Vec<u8>, Vec<u8>)> {
        let hr = &parse_message(message).unwrap()[0];
        assert_eq!(hr.record_type, b"Hr");
        assert_eq!(hr.payload[0], 0x15, "Connection Handover 1.5");
        parse_message(&hr.payload[1..])
            .unwrap()
            .into_iter()
            .map(|r| {
                let reference = match r.record_type.as_slice() {
                    b"ac" => r.payload[2..2 + usize::from(r.payload[1])].to_vec(),
                    _ => vec![],
                };
                (r.record_type, reference)
            })
            .collect()
    };
    let example = inner(hr);
    assert_eq!(example[0].0, b"cr");
    assert!(example.contains(&(b"ac".to_vec(), b"nfc".to_vec())));
    let ours = handover_request(
        &[Carrier::Nfc(NfcLimits {
            max_command_data: 0xFFFF,
            max_response_data: 0xFFFF,
        })],
        0x0102,
    );
    assert_eq!(
        inner(&ours),
        [(b"cr".to_vec(), vec![]), (b"ac".to_vec(), b"nfc".to_vec())]
    );
    // Both name the NFC carrier record "nfc", of type iso.org:18013:nfc, version 1.
    for message in [hr, &ours[..]] {
        let nfc = parse_message(message)
            .unwrap()
            .into_iter()
            .find(|r| r.record_type == b"iso.org:18013:nfc")
            .unwrap();
        assert_eq!((nfc.id.as_slice(), nfc.payload[0]), (&b"nfc"[..], 1));
    }
}

#[test]
fn annex_d_engagement_ble_options_are_rebuilt_exactly() {
    let bytes = v("device_engagement");
    let e = DeviceEngagement::parse(&bytes).unwrap();
    let uuid: [u8; 16] = hex::decode("45efef742b2c4837a9a3b0e1d05a6917")
        .unwrap()
        .try_into()
        .unwrap();
    // mdoc central client mode only, with the reader's service UUID.
    assert_eq!(ble_options(&e.retrieval_methods), Some((None, Some(uuid))));
    let rebuilt = DeviceEngagement::new(e.e_device_key, vec![retrieval_method(None, Some(uuid))]);
    assert_eq!(rebuilt.encoded(), bytes);
}

/// Annex D's negotiated handover hands over to BLE: the reader's Handover Request offers BLE
/// (both modes, its service UUID little-endian after its device address), NFC and Wi-Fi Aware;
/// the mdoc's Handover Select names BLE alone, LE Role "central only" without a UUID: mdoc
/// central client mode with the reader's UUID. Our parse gives exactly that; our holder, offered
/// that request, chooses the same carrier and writes the same `Hs` record and UUID bytes.
#[test]
fn annex_d_handover_names_ble_central_client_mode_with_the_readers_uuid() {
    let t = SessionTranscript::parse_bytes(&v("session_transcript_bytes")).unwrap();
    let parts = t.handover.as_array().unwrap();
    let (hs, hr) = (parts[0].as_bytes().unwrap(), parts[1].as_bytes().unwrap());
    let uuid: [u8; 16] = hex::decode("3a82d455d5fc4db3bea06fd2f6ff32c8")
        .unwrap()
        .try_into()
        .unwrap();
    let read = parse_negotiated_select(hs, hr).unwrap();
    let central = BleCarrier {
        peripheral_server: false,
        central_client: true,
        uuid: Some(uuid),
    };
    assert_eq!(read.ble, Some(central));
    assert_eq!(central.options(), Some((None, Some(uuid))));
    // The request, read as the mdoc reads it: BLE in both modes with the UUID, then NFC (its
    // record has the version only: short APDUs); the Wi-Fi Aware record is not ours to read.
    let both = BleCarrier {
        peripheral_server: true,
        central_client: true,
        uuid: Some(uuid),
    };
    assert_eq!(
        request_carriers(hr).unwrap(),
        [Carrier::Ble(both), Carrier::Nfc(SHORT_LIMITS)]
    );
    // A holder taking central client mode only, with a UUID of its own, answers that request
    // with the example's choice: its Handover Select's `Hs` record is the example's byte for
    // byte, and its BLE record carries the reader's UUID as the request wrote it.
    let e = DeviceEngagement::parse(t.device_engagement_bytes.as_ref().unwrap().inner()).unwrap();
    let mine = BleCarrier {
        uuid: Some([0x11; 16]),
        ..central
    };
    let chosen = central_choice(&e, mine, hr);
    let (ours, theirs) = (parse_message(&chosen).unwrap(), parse_message(hs).unwrap());
    assert_eq!(
        ours[0], theirs[0],
        "Hs record: version 1.5, ac \"0\" with aux \"mdoc\""
    );
    assert_eq!(ours[2], theirs[2], "the engagement record");
    assert_eq!(ours[1].record_type, theirs[1].record_type);
    assert_eq!(ours[1].id, theirs[1].id);
    // LE Role "central only" (01), as the example's; then the reader's UUID as in its request.
    let request_ble = &parse_message(hr).unwrap()[1];
    assert_eq!(request_ble.record_type, b"application/vnd.bluetooth.le.oob");
    assert_eq!(ours[1].payload[..3], [0x02, 0x1c, 0x01]);
    assert_eq!(theirs[1].payload[9..], [0x02, 0x1c, 0x01]);
    assert_eq!(ours[1].payload[3..], request_ble.payload[12..]);
}

/// What our negotiating holder writes as its Handover Select when it takes `mine` and reads
/// the Handover Request `hr`.
fn central_choice(e: &DeviceEngagement, mine: BleCarrier, hr: &[u8]) -> Vec<u8> {
    use eid_core::mdoc::transport::tnep::{NegotiatedHandover, Written};
    let mut n = NegotiatedHandover::new(e.clone(), vec![Carrier::Ble(mine)]);
    let write = |n: &mut NegotiatedHandover, message: &[u8]| {
        let file = [&(message.len() as u16).to_be_bytes()[..], message].concat();
        match n.write(0, &file) {
            Written::Answer { file, .. } => file[2..].to_vec(),
            other => panic!("{other:?}"),
        }
    };
    write(&mut n, &eid_core::mdoc::transport::ndef::service_select());
    write(&mut n, hr)
}
