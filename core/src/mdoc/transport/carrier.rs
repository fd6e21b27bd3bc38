//! The carriers of data retrieval that an NFC handover names (ISO/IEC 18013-5 §8.2.2.1), each a
//! carrier configuration record with its Alternative Carrier record:
//! - NFC itself: external type `iso.org:18013:nfc`, ID `nfc`; payload version 1, then the
//!   maximum command and response data field lengths as `03 01 hi lo` and `03 02 hi lo`
//!   (§8.2.2.2);
//! - BLE: MIME type `application/vnd.bluetooth.le.oob`, ID `0` (as in Annex D); payload the
//!   Bluetooth AD structures `len type data` (Bluetooth Secure Simple Pairing Using NFC 1.2 §3):
//!   LE Role (`1C`, the writer's own role, Core Specification Supplement Part A §1.17) and the
//!   service UUID as a complete list of 128-bit UUIDs (`07`, little-endian).
//!
//! The LE Role is the writer's: an mdoc that is the BLE peripheral (mdoc peripheral server mode)
//! writes "peripheral only", a reader offering that mode writes "central only". Both modes: the
//! writer prefers the one where the mdoc is the peripheral.

use super::ble::Uuid;
use super::ndef::{NdefRecord, well_known};

pub(super) const TNF_WELL_KNOWN: u8 = 0x01;
pub(super) const TNF_MIME: u8 = 0x02;
pub(super) const TNF_EXTERNAL: u8 = 0x04;

/// External type of the NFC carrier configuration record.
pub const NFC_CARRIER_TYPE: &[u8] = b"iso.org:18013:nfc";
/// MIME type of the BLE carrier configuration record.
pub const BLE_CARRIER_TYPE: &[u8] = b"application/vnd.bluetooth.le.oob";
/// The auxiliary data reference of the DeviceEngagement record.
pub(super) const ENGAGEMENT_ID: &[u8] = b"mdoc";

/// AD type LE Role.
const AD_LE_ROLE: u8 = 0x1C;
/// AD types of 128-bit service UUIDs: incomplete and complete list.
const AD_UUIDS_128: [u8; 2] = [0x06, 0x07];
/// LE Role values (Core Specification Supplement Part A §1.17.2).
const ROLE_PERIPHERAL_ONLY: u8 = 0x00;
const ROLE_CENTRAL_ONLY: u8 = 0x01;
const ROLE_BOTH_PERIPHERAL_PREFERRED: u8 = 0x02;
const ROLE_BOTH_CENTRAL_PREFERRED: u8 = 0x03;

/// The maximum command and response data field lengths of the NFC carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NfcLimits {
    pub max_command_data: u16,
    pub max_response_data: u16,
}

/// What an NFC carrier record without its lengths (the Handover Request of Annex D) allows:
/// short APDUs.
pub const SHORT_LIMITS: NfcLimits = NfcLimits {
    max_command_data: 0xFF,
    max_response_data: 0x100,
};

/// BLE data retrieval as a handover offers it: the modes (named from the mdoc's side, as in the
/// DeviceEngagement's BleOptions) and the one service UUID both use. A negotiated Handover
/// Select may leave the UUID out: the reader's, from its Handover Request, holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BleCarrier {
    pub peripheral_server: bool,
    pub central_client: bool,
    pub uuid: Option<Uuid>,
}

impl BleCarrier {
    /// (peripheral server UUID, central client UUID), as [`super::ble::ble_options`] gives them
    /// for a QR engagement; `None` without a UUID or a mode.
    pub fn options(&self) -> Option<(Option<Uuid>, Option<Uuid>)> {
        let uuid = self.uuid?;
        let options = (
            self.peripheral_server.then_some(uuid),
            self.central_client.then_some(uuid),
        );
        (options != (None, None)).then_some(options)
    }

    /// The modes both `self` and `other` take, with `self`'s UUID, else `other`'s.
    pub fn common(&self, other: &BleCarrier) -> Option<BleCarrier> {
        let common = BleCarrier {
            peripheral_server: self.peripheral_server && other.peripheral_server,
            central_client: self.central_client && other.central_client,
            uuid: self.uuid.or(other.uuid),
        };
        (common.peripheral_server || common.central_client).then_some(common)
    }
}

/// A carrier of data retrieval in a Handover Select or Handover Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    Nfc(NfcLimits),
    Ble(BleCarrier),
}

/// Which side wrote a handover message: the BLE record's LE Role is the writer's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Mdoc,
    Reader,
}

impl Carrier {
    /// The carrier data reference (the record's ID) the Alternative Carrier record points at.
    fn reference(&self) -> &'static [u8] {
        match self {
            Carrier::Nfc(_) => b"nfc",
            Carrier::Ble(_) => b"0",
        }
    }

    /// The carrier configuration record.
    pub(super) fn record(&self, writer: Writer) -> NdefRecord {
        let (tnf, record_type, payload) = match self {
            Carrier::Nfc(limits) => (TNF_EXTERNAL, NFC_CARRIER_TYPE, nfc_payload(*limits)),
            Carrier::Ble(ble) => (TNF_MIME, BLE_CARRIER_TYPE, ble_payload(ble, writer)),
        };
        NdefRecord {
            tnf,
            record_type: record_type.to_vec(),
            id: self.reference().to_vec(),
            payload,
        }
    }

    /// The Alternative Carrier record: carrier power state active, the carrier data reference,
    /// and the engagement record as auxiliary data when `engagement` (a Handover Select's).
    pub(super) fn alternative_carrier(&self, engagement: bool) -> NdefRecord {
        let reference = self.reference();
        let mut payload = vec![0x01, reference.len() as u8];
        payload.extend_from_slice(reference);
        if engagement {
            payload.extend_from_slice(&[0x01, ENGAGEMENT_ID.len() as u8]);
            payload.extend_from_slice(ENGAGEMENT_ID);
        } else {
            payload.push(0x00);
        }
        well_known(b"ac", payload)
    }
}

/// The carriers among `records` written by `writer`, in the message's order; a carrier record
/// that does not parse is left out.
pub fn carriers(records: &[NdefRecord], writer: Writer) -> Vec<Carrier> {
    records
        .iter()
        .filter_map(|r| match (r.tnf, r.record_type.as_slice()) {
            (TNF_EXTERNAL, NFC_CARRIER_TYPE) => parse_nfc(&r.payload).map(Carrier::Nfc),
            (TNF_MIME, BLE_CARRIER_TYPE) => parse_ble(&r.payload, writer).map(Carrier::Ble),
            _ => None,
        })
        .collect()
}

fn nfc_payload(limits: NfcLimits) -> Vec<u8> {
    let c = limits.max_command_data.to_be_bytes();
    let r = limits.max_response_data.to_be_bytes();
    vec![0x01, 0x03, 0x01, c[0], c[1], 0x03, 0x02, r[0], r[1]]
}

/// Version 1, then the lengths; a length not given is a short APDU's.
fn parse_nfc(payload: &[u8]) -> Option<NfcLimits> {
    let (&version, mut rest) = payload.split_first()?;
    if version != 0x01 {
        return None;
    }
    let mut limits = SHORT_LIMITS;
    while let Some((&len, r)) = rest.split_first() {
        let field = r.get(..usize::from(len))?;
        rest = r.get(usize::from(len)..)?;
        match field {
            [0x01, h, l] => limits.max_command_data = u16::from_be_bytes([*h, *l]),
            [0x02, h, l] => limits.max_response_data = u16::from_be_bytes([*h, *l]),
            _ => {}
        }
    }
    Some(limits)
}

/// Whether the writer is the BLE peripheral / central in the modes of `ble`.
/// (mdoc peripheral server mode, mdoc central client mode) to (the writer is the peripheral,
/// the writer is the central), and back: the same swap both ways. In peripheral server mode the
/// mdoc is the peripheral and the reader the central.
fn writer_roles(writer: Writer, (a, b): (bool, bool)) -> (bool, bool) {
    match writer {
        Writer::Mdoc => (a, b),
        Writer::Reader => (b, a),
    }
}

fn ble_payload(ble: &BleCarrier, writer: Writer) -> Vec<u8> {
    let modes = (ble.peripheral_server, ble.central_client);
    let role = match (writer_roles(writer, modes), writer) {
        ((true, false), _) => ROLE_PERIPHERAL_ONLY,
        ((false, true), _) => ROLE_CENTRAL_ONLY,
        // Both: the mdoc as peripheral (peripheral server mode) preferred.
        (_, Writer::Mdoc) => ROLE_BOTH_PERIPHERAL_PREFERRED,
        (_, Writer::Reader) => ROLE_BOTH_CENTRAL_PREFERRED,
    };
    let mut out = vec![0x02, AD_LE_ROLE, role];
    if let Some(uuid) = ble.uuid {
        out.extend_from_slice(&[0x11, AD_UUIDS_128[1]]);
        out.extend(uuid.iter().rev());
    }
    out
}

/// The AD structures of a BLE carrier record: the LE Role is required, the first 128-bit UUID
/// is taken, other structures (the device address of Annex D) are skipped.
fn parse_ble(payload: &[u8], writer: Writer) -> Option<BleCarrier> {
    let (mut role, mut uuid) = (None, None);
    let mut rest = payload;
    while let Some((&len, r)) = rest.split_first() {
        if len == 0 {
            break;
        }
        let field = r.get(..usize::from(len))?;
        rest = r.get(usize::from(len)..)?;
        match field {
            [AD_LE_ROLE, value] => role = Some(*value),
            [kind, uuids @ ..] if AD_UUIDS_128.contains(kind) && uuid.is_none() => {
                let first: [u8; 16] = uuids.get(..16)?.try_into().ok()?;
                let mut be = first;
                be.reverse();
                uuid = Some(be);
            }
            _ => {}
        }
    }
    let roles = match role? {
        ROLE_PERIPHERAL_ONLY => (true, false),
        ROLE_CENTRAL_ONLY => (false, true),
        ROLE_BOTH_PERIPHERAL_PREFERRED | ROLE_BOTH_CENTRAL_PREFERRED => (true, true),
        _ => return None,
    };
    let (peripheral_server, central_client) = writer_roles(writer, roles);
    Some(BleCarrier {
        peripheral_server,
        central_client,
        uuid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: Uuid = [
        0x3a, 0x82, 0xd4, 0x55, 0xd5, 0xfc, 0x4d, 0xb3, 0xbe, 0xa0, 0x6f, 0xd2, 0xf6, 0xff, 0x32,
        0xc8,
    ];

    fn ble(peripheral_server: bool, central_client: bool) -> BleCarrier {
        BleCarrier {
            peripheral_server,
            central_client,
            uuid: Some(U),
        }
    }

    #[test]
    fn the_le_role_is_the_writers_and_modes_round_trip() {
        // (mdoc peripheral server, mdoc central client) → LE Role written by the mdoc, by the
        // reader.
        for (ps, cc, by_mdoc, by_reader) in [
            (true, false, 0x00, 0x01),
            (false, true, 0x01, 0x00),
            (true, true, 0x02, 0x03),
        ] {
            let c = Carrier::Ble(ble(ps, cc));
            for (writer, role) in [(Writer::Mdoc, by_mdoc), (Writer::Reader, by_reader)] {
                let r = c.record(writer);
                assert_eq!((r.tnf, r.id.as_slice()), (TNF_MIME, &b"0"[..]));
                assert_eq!(r.payload[..3], [0x02, 0x1C, role], "{ps} {cc} {writer:?}");
                // The UUID little-endian.
                assert_eq!(r.payload[3..5], [0x11, 0x07]);
                assert_eq!(r.payload[5], 0xc8);
                assert_eq!(carriers(&[r], writer), [c]);
            }
        }
        assert_eq!(ble(true, true).options(), Some((Some(U), Some(U))));
        assert_eq!(ble(false, true).options(), Some((None, Some(U))));
        let no_uuid = BleCarrier {
            uuid: None,
            ..ble(true, false)
        };
        assert_eq!(no_uuid.options(), None);
        assert_eq!(
            no_uuid.common(&ble(true, true)),
            Some(ble(true, false)),
            "the other's UUID fills in"
        );
        assert_eq!(ble(true, false).common(&ble(false, true)), None);
    }

    #[test]
    fn bad_carrier_records_are_left_out_and_never_panic() {
        let r = Carrier::Ble(ble(true, false)).record(Writer::Mdoc);
        for n in 0..r.payload.len() {
            let mut cut = r.clone();
            cut.payload.truncate(n);
            // Cut after the role: a carrier without its UUID; anywhere else: none.
            let read = carriers(&[cut], Writer::Mdoc);
            match n {
                3 => assert!(matches!(
                    read[..],
                    [Carrier::Ble(BleCarrier { uuid: None, .. })]
                )),
                _ => assert!(read.is_empty(), "{n}"),
            }
        }
        let mut bad_role = r.clone();
        bad_role.payload[2] = 0x04;
        assert!(carriers(&[bad_role], Writer::Mdoc).is_empty());
        // Annex D's record: device address (skipped), then the role; no UUID.
        let annex = NdefRecord {
            payload: vec![
                0x08, 0x1b, 0x28, 0x12, 0x8b, 0x37, 0x28, 0x28, 0x01, 0x02, 0x1c, 0x01,
            ],
            ..r
        };
        assert_eq!(
            carriers(&[annex], Writer::Mdoc),
            [Carrier::Ble(BleCarrier {
                peripheral_server: false,
                central_client: true,
                uuid: None
            })]
        );
        // An NFC record with its version only: short APDUs.
        let nfc = NdefRecord {
            tnf: TNF_EXTERNAL,
            record_type: NFC_CARRIER_TYPE.to_vec(),
            id: b"nfc".to_vec(),
            payload: vec![0x01],
        };
        assert_eq!(
            carriers(&[nfc], Writer::Reader),
            [Carrier::Nfc(SHORT_LIMITS)]
        );
    }
}
