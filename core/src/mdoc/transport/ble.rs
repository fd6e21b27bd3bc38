//! BLE data retrieval (ISO/IEC 18013-5 §8.3.3.1.1): GATT characteristics, the message chunking
//! and the State signals, in both modes:
//! - mdoc peripheral server mode: the holder is the GATT server (service UUID in the
//!   engagement's BLE options, key 10); the reader writes Client2Server, the holder notifies
//!   Server2Client;
//! - mdoc central client mode: the reader is the GATT server (UUID under key 11) and offers the
//!   Ident characteristic, HKDF-SHA-256(EDeviceKeyBytes, no salt, "BLEIdent", 16 bytes), which the
//!   holder reads and compares before it starts; the reader notifies Server2Client, the holder
//!   writes Client2Server.
//!
//! Every characteristic value of a message is one chunk: a first byte 0x01 ("more follows") or
//! 0x00 ("last"), then at most MTU - 4 bytes of the message, so a value never exceeds the
//! MTU - 3 bytes one ATT write or notification carries. The GATT client writes 0x01 to State to
//! start; either side sends 0x02 on State to end the session.
//!
//! The platform (Android, CoreBluetooth, the simulated link in `eid-fixtures`) implements
//! [`GattLink`]: it only moves bytes. Chunking, reassembly, the Ident check and the State
//! protocol stay in [`BleEndpoint`].

use crate::mdoc::cbor::Tagged24;
use ciborium::Value;
use eid_crypto::ct_eq;
use ring::hkdf;
use thiserror::Error;

/// A 128-bit UUID as its 16 big-endian bytes.
pub type Uuid = [u8; 16];

const fn uuid(first: u32) -> Uuid {
    // xxxxxxxx-A123-48CE-896B-4C76973373E6 (§8.3.3.1.1.4, tables 11 and 12).
    let f = first.to_be_bytes();
    [
        f[0], f[1], f[2], f[3], 0xA1, 0x23, 0x48, 0xCE, 0x89, 0x6B, 0x4C, 0x76, 0x97, 0x33, 0x73,
        0xE6,
    ]
}

/// mdoc peripheral server mode: State (notify, write without response).
pub const PERIPHERAL_STATE: Uuid = uuid(0x0000_0001);
/// mdoc peripheral server mode: Client2Server (write without response).
pub const PERIPHERAL_CLIENT2SERVER: Uuid = uuid(0x0000_0002);
/// mdoc peripheral server mode: Server2Client (notify).
pub const PERIPHERAL_SERVER2CLIENT: Uuid = uuid(0x0000_0003);
/// mdoc central client mode: State.
pub const CENTRAL_STATE: Uuid = uuid(0x0000_0005);
/// mdoc central client mode: Client2Server.
pub const CENTRAL_CLIENT2SERVER: Uuid = uuid(0x0000_0006);
/// mdoc central client mode: Server2Client.
pub const CENTRAL_SERVER2CLIENT: Uuid = uuid(0x0000_0007);
/// mdoc central client mode: Ident (read).
pub const CENTRAL_IDENT: Uuid = uuid(0x0000_0008);

/// State value: the transfer starts (written by the GATT client).
pub const STATE_START: u8 = 0x01;
/// State value: the session ends (either side).
pub const STATE_END: u8 = 0x02;

/// Chunk header: more chunks of this message follow.
pub const CHUNK_MORE: u8 = 0x01;
/// Chunk header: the last chunk of the message.
pub const CHUNK_LAST: u8 = 0x00;

/// DeviceRetrievalMethod type of BLE (§8.2.1.1).
pub const RETRIEVAL_BLE: u64 = 2;

/// The smallest ATT MTU (Bluetooth Core: 23).
pub const MIN_MTU: usize = 23;
/// The largest ATT MTU (512-byte attribute values + 3).
pub const MAX_MTU: usize = 515;
/// A message larger than this is refused while reassembling (a peer cannot make us buffer
/// without bound); a DeviceResponse with portraits fits easily.
pub const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// Which side's GATT server carries the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BleMode {
    /// The holder (mdoc) is the GATT server.
    PeripheralServer,
    /// The reader is the GATT server.
    CentralClient,
}

/// Which party we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BleRole {
    Holder,
    Reader,
}

/// The characteristics of the service, independent of the mode's UUIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Characteristic {
    State,
    Client2Server,
    Server2Client,
    Ident,
}

impl Characteristic {
    /// The UUID of this characteristic in `mode` (`None`: Ident exists only in central client
    /// mode).
    pub fn uuid(self, mode: BleMode) -> Option<Uuid> {
        match (mode, self) {
            (BleMode::PeripheralServer, Characteristic::State) => Some(PERIPHERAL_STATE),
            (BleMode::PeripheralServer, Characteristic::Client2Server) => {
                Some(PERIPHERAL_CLIENT2SERVER)
            }
            (BleMode::PeripheralServer, Characteristic::Server2Client) => {
                Some(PERIPHERAL_SERVER2CLIENT)
            }
            (BleMode::PeripheralServer, Characteristic::Ident) => None,
            (BleMode::CentralClient, Characteristic::State) => Some(CENTRAL_STATE),
            (BleMode::CentralClient, Characteristic::Client2Server) => Some(CENTRAL_CLIENT2SERVER),
            (BleMode::CentralClient, Characteristic::Server2Client) => Some(CENTRAL_SERVER2CLIENT),
            (BleMode::CentralClient, Characteristic::Ident) => Some(CENTRAL_IDENT),
        }
    }
}

/// What the platform's BLE stack must do for a session: bytes only. As GATT client, `send`
/// is a write without response; as GATT server, a notification. A later UniFFI foreign trait.
pub trait GattLink {
    /// The negotiated ATT MTU (23..=515).
    fn mtu(&self) -> usize;
    /// Sends one characteristic value (at most MTU - 3 bytes).
    fn send(&mut self, characteristic: Characteristic, value: &[u8]) -> Result<(), BleError>;
    /// Reads a characteristic of the peer's server (the holder reads Ident).
    fn read(&mut self, characteristic: Characteristic) -> Result<Vec<u8>, BleError>;
    /// Drops the connection.
    fn disconnect(&mut self);
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BleError {
    /// The connection dropped; `mid_message` when part of a message had arrived (it is
    /// discarded, never handed on).
    #[error("BLE link lost{}", if *mid_message { " in the middle of a message" } else { "" })]
    Disconnected { mid_message: bool },
    /// The reader's Ident is not the one derived from our engagement: the wrong reader.
    #[error("BLE Ident does not match the engagement")]
    IdentMismatch,
    /// A chunk whose first byte is neither 0x00 nor 0x01, or an empty one.
    #[error("malformed BLE chunk")]
    Chunk,
    /// A State value other than start or end, or in the wrong direction.
    #[error("unexpected BLE State value")]
    State,
    /// A value arrived on a characteristic that does not carry it in this mode and role.
    #[error("unexpected BLE characteristic")]
    Characteristic,
    /// A message beyond [`MAX_MESSAGE`].
    #[error("BLE message too large")]
    TooLarge,
    /// An MTU outside 23..=515.
    #[error("invalid ATT MTU")]
    Mtu,
    /// Anything the platform reports (no message content in it).
    #[error("BLE platform error: {0}")]
    Platform(String),
}

/// What arrived, once reassembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BleEvent {
    /// The client wrote State start: the transfer may begin.
    Started,
    /// A whole message (SessionEstablishment or SessionData).
    Message(Vec<u8>),
    /// State end: the peer ended the session.
    Ended,
}

struct Len16;
impl hkdf::KeyType for Len16 {
    fn len(&self) -> usize {
        16
    }
}

/// Ident = HKDF-SHA-256(IKM = EDeviceKeyBytes, salt empty, info "BLEIdent", L = 16)
/// (§8.3.3.1.1.4). The empty salt is, per RFC 5869, a string of HashLen zeros.
pub fn ble_ident(e_device_key_bytes: &Tagged24) -> [u8; 16] {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(&e_device_key_bytes.encoded());
    let mut out = [0u8; 16];
    let info = [&b"BLEIdent"[..]];
    // 16 bytes is far below HKDF-SHA-256's limit of 255 * 32: expand and fill cannot fail.
    if let Ok(okm) = prk.expand(&info, Len16) {
        let _ = okm.fill(&mut out);
    }
    out
}

/// The DeviceRetrievalMethod of BLE for an engagement: `[2, 1, BleOptions]` with the modes
/// supported and their service UUIDs (keys 0, 1, 10, 11).
pub fn retrieval_method(peripheral_server: Option<Uuid>, central_client: Option<Uuid>) -> Value {
    let mut options = vec![
        (Value::from(0), Value::Bool(peripheral_server.is_some())),
        (Value::from(1), Value::Bool(central_client.is_some())),
    ];
    if let Some(u) = peripheral_server {
        options.push((Value::from(10), Value::Bytes(u.to_vec())));
    }
    if let Some(u) = central_client {
        options.push((Value::from(11), Value::Bytes(u.to_vec())));
    }
    Value::Array(vec![
        Value::from(RETRIEVAL_BLE),
        Value::from(1),
        Value::Map(options),
    ])
}

/// A 128-bit UUID in its canonical text form (lower case, 8-4-4-4-12).
pub fn uuid_text(u: &Uuid) -> String {
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A fresh service UUID for an engagement (RFC 9562 version 4): one per session, so a
/// reader cannot follow the phone from one presentation to the next.
pub fn random_service_uuid() -> Uuid {
    let mut u = [0u8; 16];
    eid_crypto::Rng::fill(&mut eid_crypto::OsRng, &mut u);
    u[6] = (u[6] & 0x0F) | 0x40;
    u[8] = (u[8] & 0x3F) | 0x80;
    u
}

/// The BLE options of an engagement's retrieval methods: (peripheral server UUID, central
/// client UUID), each `None` when that mode is not offered.
pub fn ble_options(methods: &[Value]) -> Option<(Option<Uuid>, Option<Uuid>)> {
    methods.iter().find_map(|m| {
        let a = m.as_array()?;
        let kind = a
            .first()?
            .as_integer()
            .and_then(|i| u64::try_from(i).ok())?;
        if kind != RETRIEVAL_BLE {
            return None;
        }
        let opts = a.get(2)?.as_map()?;
        let get = |k: i64| {
            opts.iter()
                .find(|(key, _)| key.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(k))
                .map(|(_, v)| v)
        };
        let on = |k| get(k).and_then(Value::as_bool).unwrap_or(false);
        let id = |k| {
            get(k)
                .and_then(Value::as_bytes)
                .and_then(|b| <Uuid>::try_from(b.as_slice()).ok())
        };
        Some((
            if on(0) { id(10) } else { None },
            if on(1) { id(11) } else { None },
        ))
    })
}

/// The chunks (characteristic values) of `message` for an ATT MTU of `mtu`.
pub fn chunks(message: &[u8], mtu: usize) -> Result<Vec<Vec<u8>>, BleError> {
    if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
        return Err(BleError::Mtu);
    }
    let size = mtu - 4;
    let mut out = Vec::with_capacity(message.len() / size + 1);
    let mut parts = message.chunks(size).peekable();
    if parts.peek().is_none() {
        return Ok(vec![vec![CHUNK_LAST]]);
    }
    while let Some(part) = parts.next() {
        let mut v = Vec::with_capacity(part.len() + 1);
        v.push(if parts.peek().is_some() {
            CHUNK_MORE
        } else {
            CHUNK_LAST
        });
        v.extend_from_slice(part);
        out.push(v);
    }
    Ok(out)
}

/// The modelled time, in seconds, of sending `message_len` bytes over GATT at `bytes_per_second`
/// of characteristic values with ATT MTU `mtu`: every chunk costs its header byte and the 3-byte
/// ATT header.
pub fn modelled_seconds(message_len: usize, mtu: usize, bytes_per_second: f64) -> f64 {
    let per = mtu.saturating_sub(4).max(1);
    let n = message_len.div_ceil(per).max(1);
    (message_len + n * 4) as f64 / bytes_per_second
}

/// One side of a BLE session: sends messages as chunks, reassembles what arrives, speaks State.
#[derive(Debug)]
pub struct BleEndpoint {
    mode: BleMode,
    role: BleRole,
    /// The Ident of the engagement (central client mode).
    ident: Option<[u8; 16]>,
    partial: Vec<u8>,
    receiving: bool,
    started: bool,
    ended: bool,
}

impl BleEndpoint {
    /// `e_device_key_bytes`: the engagement's EDeviceKeyBytes, from which the Ident derives.
    pub fn new(mode: BleMode, role: BleRole, e_device_key_bytes: &Tagged24) -> BleEndpoint {
        BleEndpoint {
            mode,
            role,
            ident: (mode == BleMode::CentralClient).then(|| ble_ident(e_device_key_bytes)),
            partial: Vec::new(),
            receiving: false,
            started: false,
            ended: false,
        }
    }

    /// Whether we are the GATT client in this session.
    pub fn is_client(&self) -> bool {
        matches!(
            (self.mode, self.role),
            (BleMode::PeripheralServer, BleRole::Reader)
                | (BleMode::CentralClient, BleRole::Holder)
        )
    }

    /// The Ident value a reader's GATT server offers (central client mode).
    pub fn ident(&self) -> Option<[u8; 16]> {
        self.ident
    }

    /// The characteristic our messages go out on.
    fn outgoing(&self) -> Characteristic {
        if self.is_client() {
            Characteristic::Client2Server
        } else {
            Characteristic::Server2Client
        }
    }

    /// As GATT client, starts the transfer: in central client mode the holder first reads the
    /// reader's Ident and refuses (disconnecting) a reader whose Ident is not ours.
    pub fn start(&mut self, link: &mut dyn GattLink) -> Result<(), BleError> {
        if !self.is_client() {
            return Err(BleError::State);
        }
        if let (BleRole::Holder, Some(expected)) = (self.role, self.ident) {
            let got = link.read(Characteristic::Ident)?;
            if !ct_eq(&got, &expected) {
                link.disconnect();
                self.ended = true;
                return Err(BleError::IdentMismatch);
            }
        }
        link.send(Characteristic::State, &[STATE_START])?;
        self.started = true;
        Ok(())
    }

    /// Sends one whole message as chunks.
    pub fn send(&mut self, link: &mut dyn GattLink, message: &[u8]) -> Result<(), BleError> {
        if self.ended {
            return Err(BleError::Disconnected { mid_message: false });
        }
        let out = self.outgoing();
        for chunk in chunks(message, link.mtu())? {
            link.send(out, &chunk)?;
        }
        Ok(())
    }

    /// Ends the session: State end, then the connection is dropped.
    pub fn end(&mut self, link: &mut dyn GattLink) {
        if !self.ended {
            let _ = link.send(Characteristic::State, &[STATE_END]);
            link.disconnect();
        }
        self.ended = true;
    }

    /// Handles one value that arrived on `characteristic` (a write by the peer client, or a
    /// notification from the peer server). A whole message comes out only with its last chunk.
    pub fn on_value(
        &mut self,
        characteristic: Characteristic,
        value: &[u8],
    ) -> Result<Option<BleEvent>, BleError> {
        if self.ended {
            return Err(BleError::Disconnected { mid_message: false });
        }
        match characteristic {
            Characteristic::State => match value {
                [STATE_START] if !self.is_client() => {
                    self.started = true;
                    Ok(Some(BleEvent::Started))
                }
                [STATE_END] => {
                    self.ended = true;
                    self.partial.clear();
                    Ok(Some(BleEvent::Ended))
                }
                _ => Err(BleError::State),
            },
            c if c == self.incoming() => {
                if !self.started {
                    return Err(BleError::State);
                }
                let (&flag, data) = value.split_first().ok_or(BleError::Chunk)?;
                if self.partial.len() + data.len() > MAX_MESSAGE {
                    self.partial.clear();
                    self.receiving = false;
                    return Err(BleError::TooLarge);
                }
                match flag {
                    CHUNK_MORE => {
                        self.partial.extend_from_slice(data);
                        self.receiving = true;
                        Ok(None)
                    }
                    CHUNK_LAST => {
                        self.partial.extend_from_slice(data);
                        self.receiving = false;
                        Ok(Some(BleEvent::Message(std::mem::take(&mut self.partial))))
                    }
                    _ => Err(BleError::Chunk),
                }
            }
            _ => Err(BleError::Characteristic),
        }
    }

    /// The platform reports the connection gone: an error saying whether a message was cut.
    pub fn on_disconnected(&mut self) -> BleError {
        let mid_message = self.receiving;
        self.partial.clear();
        self.receiving = false;
        self.ended = true;
        BleError::Disconnected { mid_message }
    }

    fn incoming(&self) -> Characteristic {
        if self.is_client() {
            Characteristic::Server2Client
        } else {
            Characteristic::Client2Server
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_the_standard_ones() {
        let text = |u: Uuid| u.iter().map(|b| format!("{b:02X}")).collect::<String>();
        assert_eq!(text(PERIPHERAL_STATE), "00000001A12348CE896B4C76973373E6");
        assert_eq!(
            text(PERIPHERAL_CLIENT2SERVER),
            "00000002A12348CE896B4C76973373E6"
        );
        assert_eq!(
            text(PERIPHERAL_SERVER2CLIENT),
            "00000003A12348CE896B4C76973373E6"
        );
        assert_eq!(text(CENTRAL_STATE), "00000005A12348CE896B4C76973373E6");
        assert_eq!(
            text(CENTRAL_CLIENT2SERVER),
            "00000006A12348CE896B4C76973373E6"
        );
        assert_eq!(
            text(CENTRAL_SERVER2CLIENT),
            "00000007A12348CE896B4C76973373E6"
        );
        assert_eq!(text(CENTRAL_IDENT), "00000008A12348CE896B4C76973373E6");
        assert_eq!(Characteristic::Ident.uuid(BleMode::PeripheralServer), None);
    }

    #[test]
    fn chunking_respects_the_mtu_and_reassembles() {
        let message: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for mtu in [23, 185, 247, 515] {
            let c = chunks(&message, mtu).unwrap();
            assert!(c.iter().all(|v| v.len() <= mtu - 3), "mtu {mtu}");
            assert_eq!(c.len(), message.len().div_ceil(mtu - 4));
            assert!(c[..c.len() - 1].iter().all(|v| v[0] == CHUNK_MORE));
            assert_eq!(c.last().unwrap()[0], CHUNK_LAST);
            let key = Tagged24::new(vec![0xa0]);
            let mut rx = BleEndpoint::new(BleMode::PeripheralServer, BleRole::Holder, &key);
            assert_eq!(
                rx.on_value(Characteristic::Client2Server, &c[0]),
                Err(BleError::State),
                "nothing before State start"
            );
            assert_eq!(
                rx.on_value(Characteristic::State, &[STATE_START]),
                Ok(Some(BleEvent::Started))
            );
            let mut got = None;
            for v in &c {
                got = rx.on_value(Characteristic::Client2Server, v).unwrap();
            }
            assert_eq!(got, Some(BleEvent::Message(message.clone())));
        }
        assert_eq!(chunks(&message, 22), Err(BleError::Mtu));
        assert_eq!(chunks(&[], 23).unwrap(), vec![vec![CHUNK_LAST]]);
    }

    #[test]
    fn malformed_values_and_disconnects_are_errors() {
        let key = Tagged24::new(vec![0xa0]);
        let mut rx = BleEndpoint::new(BleMode::CentralClient, BleRole::Reader, &key);
        rx.on_value(Characteristic::State, &[STATE_START]).unwrap();
        assert_eq!(
            rx.on_value(Characteristic::Client2Server, &[]),
            Err(BleError::Chunk)
        );
        assert_eq!(
            rx.on_value(Characteristic::Client2Server, &[7, 1]),
            Err(BleError::Chunk)
        );
        assert_eq!(
            rx.on_value(Characteristic::Server2Client, &[0, 1]),
            Err(BleError::Characteristic)
        );
        assert_eq!(
            rx.on_value(Characteristic::State, &[9]),
            Err(BleError::State)
        );
        assert_eq!(
            rx.on_value(Characteristic::Client2Server, &[1, 1, 2]),
            Ok(None)
        );
        assert_eq!(
            rx.on_disconnected(),
            BleError::Disconnected { mid_message: true }
        );
        assert!(rx.on_value(Characteristic::Client2Server, &[0, 3]).is_err());
    }

    #[test]
    fn ident_and_options() {
        let key = Tagged24::new(vec![0xa1, 0x01, 0x02]);
        let a = ble_ident(&key);
        assert_ne!(a, ble_ident(&Tagged24::new(vec![0xa1, 0x01, 0x03])));
        // HKDF with an empty salt is HKDF with HashLen zero bytes of salt (RFC 5869 §2.2).
        let zeros = hkdf::Salt::new(hkdf::HKDF_SHA256, &[0u8; 32]).extract(&key.encoded());
        let mut b = [0u8; 16];
        zeros
            .expand(&[b"BLEIdent"], Len16)
            .unwrap()
            .fill(&mut b)
            .unwrap();
        assert_eq!(a, b);
        let m = retrieval_method(Some([1; 16]), None);
        assert_eq!(ble_options(&[m]), Some((Some([1; 16]), None)));
        assert_eq!(ble_options(&[]), None);
    }

    #[test]
    fn modelled_time() {
        // 1000 bytes at MTU 185: 6 chunks of 181, 1024 bytes on the air at 20 KB/s.
        let t = modelled_seconds(1000, 185, 20_000.0);
        assert!((t - 1024.0 / 20_000.0).abs() < 1e-9, "{t}");
    }
}
