//! eid-icao: the CCCD card reader. ISO 7816-4 APDUs and ICAO 9303 (BAC, PACE, secure messaging,
//! LDS files, passive, chip and active authentication), and the QR printed on the card.
//!
//! Below the wallet core and above the ground floor: it uses `eid-crypto` for keys, signatures,
//! certificates and CMS, and nothing of the wallet (docs/adr/0022). The wallet reads a card through
//! [`cccd::read_cccd`]; the simulated card in `eid-fixtures` also uses the protocol pieces
//! (secure messaging, PACE mapping, chip and active authentication) to play the chip's side.

pub mod aa;
pub mod apdu;
pub mod bac;
pub mod ca;
pub mod calendar;
pub mod card_qr;
pub mod cccd;
pub mod channel;
pub mod csca;
pub mod dg13;
pub mod dg2;
pub mod dh;
pub mod document;
/// The curves and their arithmetic live on the ground floor (eid-crypto), shared with mdoc.
pub use eid_crypto::ec;
pub mod error;
pub mod group;
pub mod im;
pub mod lds;
pub mod mrz;
pub mod pa;
pub mod pace;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod reader;
pub mod security_info;
pub mod sm;
pub mod sod;
pub mod symmetric;
pub mod text;
pub mod transport;

pub use channel::{Channel, Stats};
pub use error::{ChipError, NotGenuine};
pub use transport::{ApduTransport, TransportError, TransportLimits};
