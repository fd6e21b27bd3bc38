//! How session messages travel (ISO/IEC 18013-5 §8.3.3): BLE GATT framing, chunking and State
//! (`ble`), one side of a BLE session driven by pushed values (`ble_session`), whole
//! presentations over a blocking GATT link (`gatt_session`), a TCP stand-in for
//! BLE between two processes (`tcp`), the NFC handover, static (`ndef`) or negotiated (`tnep`),
//! naming NFC or BLE as the carrier (`carrier`), and NFC data retrieval
//! with the holder as the card (`nfc`, its ISO/IEC 7816-4 APDUs from `eid_icao::apdu`, the chip
//! reader's). The platform moves bytes; framing and state are here.

pub mod ble;
pub mod ble_session;
pub mod carrier;
pub mod gatt_session;
pub mod ndef;
pub mod nfc;
pub mod tcp;
pub mod tnep;
