//! NFC engagement (ISO/IEC 18013-5 §8.2.2.1, NFC Forum Connection Handover 1.5): the NDEF
//! Handover Select message an mdoc offers on NFC, carrying its DeviceEngagement (external type
//! `iso.org:18013:deviceengagement`, ID `mdoc`) and the carriers of data retrieval
//! ([`super::carrier`]: NFC itself, BLE, or both), each pointed at by an Alternative Carrier
//! record with the engagement as auxiliary data (`mdoc`).
//!
//! Static handover: the Handover Select message is on the tag, and the SessionTranscript's
//! handover is `[HandoverSelect bytes, null]`. Negotiated handover: the tag offers the
//! Connection Handover service by a TNEP Service Parameter record (NFC Forum TNEP 1.0); the
//! reader selects it (Service Select, answered by a TNEP Status), writes its Handover Request
//! (a Collision Resolution record and the carriers it supports), and reads the mdoc's Handover
//! Select; the handover is then `[HandoverSelect bytes, HandoverRequest bytes]`.

use super::carrier::{
    BleCarrier, Carrier, ENGAGEMENT_ID, NfcLimits, TNF_EXTERNAL, TNF_WELL_KNOWN, Writer, carriers,
};
use crate::mdoc::engagement::DeviceEngagement;
use crate::mdoc::error::MdocError;
use ciborium::Value;

const MB: u8 = 0x80;
const ME: u8 = 0x40;
const CF: u8 = 0x20;
const SR: u8 = 0x10;
const IL: u8 = 0x08;

/// External type of the DeviceEngagement record.
pub const DEVICE_ENGAGEMENT_TYPE: &[u8] = b"iso.org:18013:deviceengagement";
/// Connection Handover version 1.5.
const HANDOVER_VERSION: u8 = 0x15;
/// The NFC Forum service name of Connection Handover, offered over TNEP.
pub const HANDOVER_SERVICE: &[u8] = b"urn:nfc:sn:handover";
/// TNEP version 1.0, as the Service Parameter record gives it.
const TNEP_VERSION: u8 = 0x10;

/// One NDEF record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdefRecord {
    pub tnf: u8,
    pub record_type: Vec<u8>,
    pub id: Vec<u8>,
    pub payload: Vec<u8>,
}

/// A record of the NFC Forum well-known type `record_type`, without an ID.
pub(super) fn well_known(record_type: &[u8], payload: Vec<u8>) -> NdefRecord {
    NdefRecord {
        tnf: TNF_WELL_KNOWN,
        record_type: record_type.to_vec(),
        id: Vec::new(),
        payload,
    }
}

/// The Connection Handover service name with its length in front (Service Parameter and
/// Service Select records).
fn handover_service_name() -> Vec<u8> {
    [&[HANDOVER_SERVICE.len() as u8][..], HANDOVER_SERVICE].concat()
}

/// The content of a Type 4 Tag's NDEF file: NLEN (two bytes), then the message.
pub fn ndef_file(message: &[u8]) -> Vec<u8> {
    [&(message.len() as u16).to_be_bytes()[..], message].concat()
}

/// Encodes records as one NDEF message (short records where the payload allows).
pub fn encode_message(records: &[NdefRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let mut header = r.tnf & 0x07;
        if i == 0 {
            header |= MB;
        }
        if i + 1 == records.len() {
            header |= ME;
        }
        let short = r.payload.len() < 256;
        if short {
            header |= SR;
        }
        if !r.id.is_empty() {
            header |= IL;
        }
        out.push(header);
        out.push(r.record_type.len() as u8);
        if short {
            out.push(r.payload.len() as u8);
        } else {
            out.extend_from_slice(&(r.payload.len() as u32).to_be_bytes());
        }
        if !r.id.is_empty() {
            out.push(r.id.len() as u8);
        }
        out.extend_from_slice(&r.record_type);
        out.extend_from_slice(&r.id);
        out.extend_from_slice(&r.payload);
    }
    out
}

/// Parses an NDEF message (no chunked records); never panics.
pub fn parse_message(bytes: &[u8]) -> Result<Vec<NdefRecord>, MdocError> {
    const WHAT: MdocError = MdocError::Structure("NDEF message");
    let mut records = Vec::new();
    let mut rest = bytes;
    loop {
        let (&header, r) = rest.split_first().ok_or(WHAT)?;
        if header & CF != 0 || (records.is_empty() != (header & MB != 0)) {
            return Err(WHAT);
        }
        let (&type_len, r) = r.split_first().ok_or(WHAT)?;
        let (payload_len, r) = if header & SR != 0 {
            let (&l, r) = r.split_first().ok_or(WHAT)?;
            (usize::from(l), r)
        } else {
            let (l, r) = r.split_first_chunk::<4>().ok_or(WHAT)?;
            (u32::from_be_bytes(*l) as usize, r)
        };
        let (id_len, r) = if header & IL != 0 {
            let (&l, r) = r.split_first().ok_or(WHAT)?;
            (usize::from(l), r)
        } else {
            (0, r)
        };
        let type_len = usize::from(type_len);
        let record_type = r.get(..type_len).ok_or(WHAT)?;
        let id = r.get(type_len..type_len + id_len).ok_or(WHAT)?;
        let end = (type_len + id_len).checked_add(payload_len).ok_or(WHAT)?;
        let payload = r.get(type_len + id_len..end).ok_or(WHAT)?;
        records.push(NdefRecord {
            tnf: header & 0x07,
            record_type: record_type.to_vec(),
            id: id.to_vec(),
            payload: payload.to_vec(),
        });
        rest = r.get(end..).ok_or(WHAT)?;
        if header & ME != 0 {
            return if rest.is_empty() {
                Ok(records)
            } else {
                Err(WHAT)
            };
        }
    }
}

/// The Handover Select message offering `offered` carriers (the mdoc's preference first), each
/// Alternative Carrier record naming the engagement record as auxiliary data.
pub fn handover_select(engagement: &DeviceEngagement, offered: &[Carrier]) -> Vec<u8> {
    let mut records = vec![handover_record(b"Hs", None, offered, Writer::Mdoc)];
    records.extend(offered.iter().map(|c| c.record(Writer::Mdoc)));
    records.push(NdefRecord {
        tnf: TNF_EXTERNAL,
        record_type: DEVICE_ENGAGEMENT_TYPE.to_vec(),
        id: ENGAGEMENT_ID.to_vec(),
        payload: engagement.encoded().to_vec(),
    });
    encode_message(&records)
}

/// The `Hs` or `Hr` record (version 1.5): an optional Collision Resolution record, then one
/// Alternative Carrier record per carrier (a Handover Select's name the engagement).
fn handover_record(
    kind: &[u8],
    collision: Option<u16>,
    offered: &[Carrier],
    writer: Writer,
) -> NdefRecord {
    let mut inner: Vec<NdefRecord> = collision
        .map(|random| well_known(b"cr", random.to_be_bytes().to_vec()))
        .into_iter()
        .collect();
    inner.extend(
        offered
            .iter()
            .map(|c| c.alternative_carrier(writer == Writer::Mdoc)),
    );
    let mut payload = vec![HANDOVER_VERSION];
    payload.extend(encode_message(&inner));
    well_known(kind, payload)
}

/// What a reader learns from a Handover Select message.
#[derive(Debug, Clone, PartialEq)]
pub struct NfcHandover {
    pub engagement: DeviceEngagement,
    /// The NFC carrier's limits, when NFC data retrieval is offered.
    pub nfc: Option<NfcLimits>,
    /// The BLE carrier, when BLE data retrieval is offered (after a negotiated handover, with the
    /// reader's UUID when the mdoc gave none).
    pub ble: Option<BleCarrier>,
    /// The SessionTranscript's handover: `[HandoverSelect, null]` after a static handover,
    /// `[HandoverSelect, HandoverRequest]` after a negotiated one.
    pub handover: Value,
    /// Whether the handover was negotiated (the reader wrote a Handover Request).
    pub negotiated: bool,
}

/// Reads the Handover Select message of a static handover: its first record must be `Hs`, the
/// engagement record is required.
pub fn parse_handover_select(message: &[u8]) -> Result<NfcHandover, MdocError> {
    read_handover_select(message, None)
}

/// Reads the Handover Select message with which an mdoc answered the reader's
/// `handover_request` in a negotiated handover.
pub fn parse_negotiated_select(
    message: &[u8],
    handover_request: &[u8],
) -> Result<NfcHandover, MdocError> {
    read_handover_select(message, Some(handover_request))
}

fn read_handover_select(
    message: &[u8],
    handover_request: Option<&[u8]>,
) -> Result<NfcHandover, MdocError> {
    let records = parse_message(message)?;
    let first = records
        .first()
        .ok_or(MdocError::Structure("Handover Select"))?;
    if first.tnf != TNF_WELL_KNOWN || first.record_type != b"Hs" {
        return Err(MdocError::Structure("Handover Select"));
    }
    let engagement = records
        .iter()
        .find(|r| r.tnf == TNF_EXTERNAL && r.record_type == DEVICE_ENGAGEMENT_TYPE)
        .ok_or(MdocError::Structure("Handover Select engagement"))?;
    let offered = carriers(&records, Writer::Mdoc);
    let nfc = offered.iter().find_map(|c| match c {
        Carrier::Nfc(limits) => Some(*limits),
        Carrier::Ble(_) => None,
    });
    let requested = handover_request
        .and_then(request_carriers)
        .unwrap_or_default();
    let ble = first_ble(&offered).map(|mine| match first_ble(&requested) {
        Some(theirs) if mine.uuid.is_none() => BleCarrier {
            uuid: theirs.uuid,
            ..mine
        },
        _ => mine,
    });
    Ok(NfcHandover {
        engagement: DeviceEngagement::parse(&engagement.payload)?,
        nfc,
        ble,
        handover: nfc_handover(message, handover_request),
        negotiated: handover_request.is_some(),
    })
}

/// The first BLE carrier of `offered`.
pub fn first_ble(offered: &[Carrier]) -> Option<BleCarrier> {
    offered.iter().find_map(|c| match c {
        Carrier::Ble(ble) => Some(*ble),
        Carrier::Nfc(_) => None,
    })
}

/// The SessionTranscript handover of an NFC engagement: `[HandoverSelect, null]` after a static
/// handover, `[HandoverSelect, HandoverRequest]` after a negotiated one.
pub fn nfc_handover(handover_select: &[u8], handover_request: Option<&[u8]>) -> Value {
    Value::Array(vec![
        Value::Bytes(handover_select.to_vec()),
        handover_request.map_or(Value::Null, |hr| Value::Bytes(hr.to_vec())),
    ])
}

/// The Connection Handover service as a tag offers it over TNEP (Service Parameter record `Tp`:
/// TNEP version, service name, communication mode, minimum waiting time `WT`, maximum number of
/// waiting time extensions `N_wait`, maximum NDEF message size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoverService {
    /// `WT` (6 bits): the reader waits 2^(WT/4 - 1) ms before reading the tag's answer.
    pub wt_int: u8,
    /// `N_wait` (4 bits): how many times the tag may ask for that wait again.
    pub n_wait: u8,
    /// The largest NDEF message the tag takes.
    pub max_ndef_size: u16,
}

impl HandoverService {
    /// The minimum waiting time T_wait, in microseconds (TNEP 1.0 §4.1.6).
    pub fn wait_micros(&self) -> u64 {
        // 2^(WT/4 - 1) ms = 2^(WT/4) * 500 µs; WT has 6 bits, so at most 2^15.75 * 500 µs.
        let wt = f64::from(self.wt_int & 0x3F);
        (500.0 * (wt / 4.0).exp2()) as u64
    }
}

/// The Connection Handover service among a tag's Service Parameter records, if it offers it
/// (negotiated handover). A malformed `Tp` record is no offer.
pub fn handover_service(records: &[NdefRecord]) -> Option<HandoverService> {
    records.iter().find_map(|r| {
        if r.tnf != TNF_WELL_KNOWN || r.record_type != b"Tp" {
            return None;
        }
        let (&version, rest) = r.payload.split_first()?;
        let (&name_len, rest) = rest.split_first()?;
        let name = rest.get(..usize::from(name_len))?;
        let [_mode, wt, n_wait, max_hi, max_lo] = rest.get(usize::from(name_len)..)? else {
            return None;
        };
        (version == TNEP_VERSION && name == HANDOVER_SERVICE).then_some(HandoverService {
            wt_int: wt & 0x3F,
            n_wait: n_wait & 0x0F,
            max_ndef_size: u16::from_be_bytes([*max_hi, *max_lo]),
        })
    })
}

/// The tag's initial NDEF message offering the Connection Handover service over TNEP
/// (single response communication mode).
pub fn handover_service_offer(service: HandoverService) -> Vec<u8> {
    let mut payload = vec![TNEP_VERSION];
    payload.extend(handover_service_name());
    payload.extend_from_slice(&[0x00, service.wt_int & 0x3F, service.n_wait & 0x0F]);
    payload.extend_from_slice(&service.max_ndef_size.to_be_bytes());
    encode_message(&[well_known(b"Tp", payload)])
}

/// The service a Service Select message (`Ts`) chooses.
pub fn selected_service(message: &[u8]) -> Option<Vec<u8>> {
    let records = parse_message(message).ok()?;
    let [r] = records.as_slice() else {
        return None;
    };
    if r.tnf != TNF_WELL_KNOWN || r.record_type != b"Ts" {
        return None;
    }
    let (&len, name) = r.payload.split_first()?;
    (name.len() == usize::from(len)).then(|| name.to_vec())
}

/// A TNEP Status message (`Te`).
pub fn tnep_status_message(status: u8) -> Vec<u8> {
    encode_message(&[well_known(b"Te", vec![status])])
}

/// The carriers a Handover Request (first record `Hr`, version 1.5) offers, in its order;
/// `None` when `message` is no Handover Request.
pub fn request_carriers(message: &[u8]) -> Option<Vec<Carrier>> {
    let records = parse_message(message).ok()?;
    let first = records.first()?;
    let is_request = first.tnf == TNF_WELL_KNOWN
        && first.record_type == b"Hr"
        && first.payload.first() == Some(&HANDOVER_VERSION);
    is_request.then(|| carriers(&records, Writer::Reader))
}

/// The Service Select message choosing the Connection Handover service.
pub fn service_select() -> Vec<u8> {
    encode_message(&[well_known(b"Ts", handover_service_name())])
}

/// The status of a TNEP Status message (`Te`; 0 is success).
pub fn tnep_status(message: &[u8]) -> Result<u8, MdocError> {
    parse_message(message)?
        .iter()
        .find(|r| r.tnf == TNF_WELL_KNOWN && r.record_type == b"Te")
        .and_then(|r| match r.payload.as_slice() {
            [status] => Some(*status),
            _ => None,
        })
        .ok_or(MdocError::Structure("TNEP status"))
}

/// The reader's Handover Request of a negotiated handover, offering `offered` carriers (its
/// preference first): the `Hr` record (version 1.5) holding a Collision Resolution record (`cr`,
/// the `random` number) and an Alternative Carrier record per carrier, then the carriers'
/// records (§8.2.2.2), as the Handover Request of ISO/IEC 18013-5 Annex D is built.
pub fn handover_request(offered: &[Carrier], random: u16) -> Vec<u8> {
    let mut records = vec![handover_record(
        b"Hr",
        Some(random),
        offered,
        Writer::Reader,
    )];
    records.extend(offered.iter().map(|c| c.record(Writer::Reader)));
    encode_message(&records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_a_static_handover() {
        let key = crate::mdoc::ephemeral::ephemeral_key(&mut eid_crypto::OsRng)
            .unwrap()
            .1;
        let e = DeviceEngagement::new(key, vec![]);
        let limits = NfcLimits {
            max_command_data: 0xFFFF,
            max_response_data: 0xFFFF,
        };
        let hs = handover_select(&e, &[Carrier::Nfc(limits)]);
        let read = parse_handover_select(&hs).unwrap();
        assert_eq!(read.engagement, e);
        assert_eq!(read.nfc, Some(limits));
        assert_eq!(read.ble, None);
        assert_eq!(
            read.handover,
            Value::Array(vec![Value::Bytes(hs.clone()), Value::Null])
        );
        // Header bytes: Hs (MB, SR, well-known), then the nfc carrier (SR, IL, external), then
        // the engagement (ME, SR, IL, external).
        let records = parse_message(&hs).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(hs[0], 0x91);
        // ac record inside Hs: CPS 1, "nfc", one aux reference "mdoc".
        assert_eq!(
            records[0].payload,
            [
                &[0x15, 0xd1, 0x02, 0x0b][..],
                b"ac",
                &[1, 3],
                b"nfc",
                &[1, 4],
                b"mdoc"
            ]
            .concat()
        );
        assert_eq!(records[1].payload, [1, 3, 1, 0xff, 0xff, 3, 2, 0xff, 0xff]);
        // Naming BLE too adds its Alternative Carrier record (14 bytes) and its carrier record
        // (58: type, ID "0", LE Role and UUID).
        let ble = Carrier::Ble(BleCarrier {
            peripheral_server: true,
            central_client: false,
            uuid: Some([7; 16]),
        });
        let both = handover_select(&e, &[ble, Carrier::Nfc(limits)]);
        assert_eq!(both.len() - hs.len(), 14 + 58);
        // Every prefix fails, never panics.
        for n in 0..hs.len() {
            assert!(parse_handover_select(&hs[..n]).is_err());
        }
        for i in 0..hs.len() {
            let mut t = hs.clone();
            t[i] ^= 0xff;
            let _ = parse_handover_select(&t);
        }
    }

    #[test]
    fn tnep_service_offer_round_trips_and_bad_offers_are_none() {
        let offer = HandoverService {
            wt_int: 8,
            n_wait: 15,
            max_ndef_size: 0x0400,
        };
        let m = handover_service_offer(offer);
        let records = parse_message(&m).unwrap();
        assert_eq!(handover_service(&records), Some(offer));
        // Tp: version 0x10, name length 19, "urn:nfc:sn:handover", mode 0, WT, N_wait, size.
        assert_eq!(records[0].payload[..2], [0x10, 19]);
        assert_eq!(records[0].payload[21..], [0, 8, 15, 0x04, 0x00]);
        // T_wait = 2^(WT/4 - 1) ms: WT 0 is 0.5 ms, 4 is 1 ms, 8 is 2 ms, 63 about 27.6 s.
        let wait = |wt_int| HandoverService { wt_int, ..offer }.wait_micros();
        assert_eq!((wait(0), wait(4), wait(8)), (500, 1000, 2000));
        assert_eq!(wait(63) / 1000, 27_554);
        // Another service, another TNEP version, or a truncated record is no offer.
        for n in 0..records[0].payload.len() {
            let mut r = records[0].clone();
            r.payload.truncate(n);
            assert_eq!(handover_service(&[r]), None);
        }
        let mut other = records[0].clone();
        other.payload[2] = b'x';
        let mut version = records[0].clone();
        version.payload[0] = 0x20;
        assert_eq!(handover_service(&[other, version]), None);
        assert_eq!(tnep_status(&tnep_status_message(0)).unwrap(), 0);
        assert!(tnep_status(&service_select()).is_err());
        assert_eq!(
            selected_service(&service_select()).unwrap(),
            HANDOVER_SERVICE
        );
        let nfc = Carrier::Nfc(crate::mdoc::transport::carrier::SHORT_LIMITS);
        assert_eq!(
            request_carriers(&handover_request(&[nfc], 1)),
            Some(vec![nfc])
        );
        assert_eq!(request_carriers(&service_select()), None);
    }
}
