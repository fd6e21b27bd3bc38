//! How session messages travel (ISO/IEC 18013-5 §8.3.3): BLE GATT (`ble`), NFC APDUs and the
//! NFC static handover (`nfc`, `ndef`), and a length-prefixed byte stream standing in for BLE
//! between two processes (`stream`). The platform moves bytes; framing, chunking and state are here.

pub mod ble;
pub mod ndef;
pub mod nfc;
pub mod stream;
