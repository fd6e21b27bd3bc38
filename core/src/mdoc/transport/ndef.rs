//! NFC static handover (ISO/IEC 18013-5 §8.2.2.1, NFC Forum Connection Handover 1.5): the NDEF
//! Handover Select message an mdoc offers on NFC, carrying its DeviceEngagement (external type
//! `iso.org:18013:deviceengagement`, ID `mdoc`) and the carrier of data retrieval: here NFC itself
//! (external type `iso.org:18013:nfc`, ID `nfc`, payload: version 1, then the maximum command and
//! response data field lengths as `03 01 hi lo` and `03 02 hi lo`). The Alternative Carrier
//! record points at the carrier (`nfc`) with the engagement as auxiliary data (`mdoc`).
//!
//! In the SessionTranscript the handover is `[HandoverSelect bytes, null]` for a static
//! handover (no Handover Request).

use crate::mdoc::engagement::DeviceEngagement;
use crate::mdoc::error::MdocError;
use ciborium::Value;

const TNF_WELL_KNOWN: u8 = 0x01;
const TNF_EXTERNAL: u8 = 0x04;
const MB: u8 = 0x80;
const ME: u8 = 0x40;
const CF: u8 = 0x20;
const SR: u8 = 0x10;
const IL: u8 = 0x08;

/// External type of the DeviceEngagement record.
pub const DEVICE_ENGAGEMENT_TYPE: &[u8] = b"iso.org:18013:deviceengagement";
/// External type of the NFC carrier configuration record.
pub const NFC_CARRIER_TYPE: &[u8] = b"iso.org:18013:nfc";
/// Connection Handover version 1.5.
const HANDOVER_VERSION: u8 = 0x15;

/// One NDEF record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdefRecord {
    pub tnf: u8,
    pub record_type: Vec<u8>,
    pub id: Vec<u8>,
    pub payload: Vec<u8>,
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

/// The maximum command and response data field lengths of the NFC carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NfcLimits {
    pub max_command_data: u16,
    pub max_response_data: u16,
}

fn nfc_carrier_payload(limits: NfcLimits) -> Vec<u8> {
    let c = limits.max_command_data.to_be_bytes();
    let r = limits.max_response_data.to_be_bytes();
    vec![0x01, 0x03, 0x01, c[0], c[1], 0x03, 0x02, r[0], r[1]]
}

fn parse_nfc_carrier(payload: &[u8]) -> Option<NfcLimits> {
    let (&version, mut rest) = payload.split_first()?;
    if version != 0x01 {
        return None;
    }
    let (mut command, mut response) = (None, None);
    while let Some((&len, r)) = rest.split_first() {
        let field = r.get(..usize::from(len))?;
        rest = r.get(usize::from(len)..)?;
        match field {
            [0x01, h, l] => command = Some(u16::from_be_bytes([*h, *l])),
            [0x02, h, l] => response = Some(u16::from_be_bytes([*h, *l])),
            _ => {}
        }
    }
    Some(NfcLimits {
        max_command_data: command?,
        max_response_data: response?,
    })
}

/// The Handover Select message of a static handover offering NFC data retrieval.
pub fn handover_select(engagement: &DeviceEngagement, limits: NfcLimits) -> Vec<u8> {
    // Alternative Carrier: CPS active, carrier data reference "nfc", one auxiliary reference "mdoc".
    let ac = NdefRecord {
        tnf: TNF_WELL_KNOWN,
        record_type: b"ac".to_vec(),
        id: Vec::new(),
        payload: [&[0x01, 0x03][..], b"nfc", &[0x01, 0x04], b"mdoc"].concat(),
    };
    let mut hs_payload = vec![HANDOVER_VERSION];
    hs_payload.extend(encode_message(&[ac]));
    encode_message(&[
        NdefRecord {
            tnf: TNF_WELL_KNOWN,
            record_type: b"Hs".to_vec(),
            id: Vec::new(),
            payload: hs_payload,
        },
        NdefRecord {
            tnf: TNF_EXTERNAL,
            record_type: NFC_CARRIER_TYPE.to_vec(),
            id: b"nfc".to_vec(),
            payload: nfc_carrier_payload(limits),
        },
        NdefRecord {
            tnf: TNF_EXTERNAL,
            record_type: DEVICE_ENGAGEMENT_TYPE.to_vec(),
            id: b"mdoc".to_vec(),
            payload: engagement.encoded().to_vec(),
        },
    ])
}

/// What a reader learns from a Handover Select message.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticHandover {
    pub engagement: DeviceEngagement,
    /// The NFC carrier's limits, when NFC data retrieval is offered.
    pub nfc: Option<NfcLimits>,
    /// The SessionTranscript's handover: `[HandoverSelect, null]`.
    pub handover: Value,
}

/// Reads a Handover Select message: its first record must be `Hs`, the engagement record is
/// required.
pub fn parse_handover_select(message: &[u8]) -> Result<StaticHandover, MdocError> {
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
    let nfc = records
        .iter()
        .find(|r| r.tnf == TNF_EXTERNAL && r.record_type == NFC_CARRIER_TYPE)
        .and_then(|r| parse_nfc_carrier(&r.payload));
    Ok(StaticHandover {
        engagement: DeviceEngagement::parse(&engagement.payload)?,
        nfc,
        handover: static_handover(message),
    })
}

/// The SessionTranscript handover of a static NFC handover.
pub fn static_handover(handover_select: &[u8]) -> Value {
    Value::Array(vec![Value::Bytes(handover_select.to_vec()), Value::Null])
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
        let hs = handover_select(&e, limits);
        let read = parse_handover_select(&hs).unwrap();
        assert_eq!(read.engagement, e);
        assert_eq!(read.nfc, Some(limits));
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
}
