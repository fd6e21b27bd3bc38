//! The CCCD chip reader: ISO 7816-4 APDUs and ICAO 9303 (BAC, PACE, secure messaging, LDS files,
//! passive, chip and active authentication).

pub mod apdu;
pub mod bac;
pub mod card_qr;
pub mod channel;
pub mod crypto;
pub mod error;
pub mod lds;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod sm;
pub mod tlv;
pub mod transport;

pub use channel::{Channel, Stats};
pub use error::ChipError;
pub use transport::{ApduTransport, TransportError, TransportLimits};
