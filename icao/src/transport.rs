//! How APDUs reach a card: NFC on a phone, a PC/SC desk reader, or the simulated card.

use thiserror::Error;

/// What a transport can carry, so the reader can choose the largest reads it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportLimits {
    /// Largest command APDU, header included, in bytes.
    pub max_command: usize,
    /// Largest response APDU, status word included, in bytes.
    pub max_response: usize,
    /// Whether extended-length APDUs reach the card (reader, phone and card all support them).
    pub extended_length: bool,
}

impl TransportLimits {
    /// Short APDUs only: what every reader and card supports.
    pub const SHORT: TransportLimits = TransportLimits {
        max_command: 261,
        max_response: 258,
        extended_length: false,
    };
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransportError {
    /// The card left the field or the reader went away. The reader will try to reconnect and
    /// resume; an APDU that ended this way may or may not have reached the card.
    #[error("link to the card lost")]
    LinkLost,
    /// No card is present, or no reader.
    #[error("no card: {0}")]
    NoCard(String),
    /// Anything else the transport reports (message carries no card data).
    #[error("transport error: {0}")]
    Other(String),
}

/// Sends command APDUs to a card. Implemented by the simulated card, PC/SC readers and, through
/// the bindings, Android `IsoDep` and iOS `NFCISO7816Tag`.
pub trait ApduTransport {
    /// Sends one encoded command APDU and returns the encoded response (data + SW1 SW2).
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// The APDU sizes this transport carries.
    fn limits(&self) -> TransportLimits;

    /// Waits for the card to come back after [`TransportError::LinkLost`] and reconnects.
    /// The card has lost its session state; the reader re-establishes access control.
    fn reconnect(&mut self) -> Result<(), TransportError>;

    /// Waits `duration` with the card in the field: the waiting time a tag asks for before it
    /// has an answer (NFC Forum TNEP, in an mdoc's negotiated handover). Simulated links in
    /// tests and fuzzing need not wait.
    fn pause(&mut self, duration: std::time::Duration) {
        std::thread::sleep(duration);
    }
}

impl<T: ApduTransport + ?Sized> ApduTransport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }
    fn limits(&self) -> TransportLimits {
        (**self).limits()
    }
    fn reconnect(&mut self) -> Result<(), TransportError> {
        (**self).reconnect()
    }
    fn pause(&mut self, duration: std::time::Duration) {
        (**self).pause(duration);
    }
}
