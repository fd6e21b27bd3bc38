//! Errors of the chip reader. Messages name the step and status word, never card contents.

use super::sm::SmError;
use super::transport::TransportError;
use eid_crypto::tlv::TlvError;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChipError {
    /// BAC or PACE was refused: the MRZ data or CAN do not match the card.
    #[error("access denied: check the ID number, date of birth and expiry")]
    AccessDenied,
    /// PACE with the card access number was refused: the CAN does not match the card. Only a
    /// citizen's typing can fix it, so the reader never tries again by itself (issue 14, item 4).
    #[error(
        "access denied: check the card access number (CAN), the 6 digits on the front of the card"
    )]
    WrongCan,
    /// The card has no eMRTD application.
    #[error("not an eMRTD: the card has no ICAO 9303 application")]
    NotEmrtd,
    /// The link dropped and did not come back within the retry budget.
    #[error("link lost and could not resume (hold the card still against the reader)")]
    LinkLost,
    #[error("{0}")]
    Transport(TransportError),
    #[error("secure messaging failed: {0}")]
    SecureMessaging(#[from] SmError),
    /// The card answered a command with an unexpected status word.
    #[error("{command} failed with status {sw:04X}")]
    Status { command: &'static str, sw: u16 },
    /// The card sent data that does not parse.
    #[error("malformed {what} from the card")]
    Malformed { what: &'static str },
    /// The card asks for something this reader does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Invalid input from the caller (e.g. an ID number that is not 12 digits).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("cancelled")]
    Cancelled,
    /// The card was read but is not genuine ([`super::document::ChipDocument::require_genuine`]).
    #[error(transparent)]
    NotGenuine(NotGenuine),
}

/// Why a card is not genuine. The reason names the check, never card contents.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NotGenuine {
    /// Passive authentication failed: altered data, or a signature by no issuer.
    #[error("the card's data did not verify: {0}")]
    Data(String),
    /// Chip or active authentication failed: the chip may be a clone.
    #[error("the chip did not prove it is genuine: {0}")]
    Chip(String),
}

impl NotGenuine {
    /// The failed check's own reason.
    pub fn reason(&self) -> &str {
        match self {
            NotGenuine::Data(r) | NotGenuine::Chip(r) => r,
        }
    }
}

impl From<TransportError> for ChipError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::LinkLost => ChipError::LinkLost,
            other => ChipError::Transport(other),
        }
    }
}

impl ChipError {
    /// Whether the chip ended the secure-messaging session (6987/6988 without secure
    /// messaging, ICAO 9303-11 §9.8.6.2; or 6982 to a read that worked under the session, which
    /// the reader reports so): the reader re-establishes access control and goes on.
    pub fn session_ended(&self) -> bool {
        matches!(
            self,
            ChipError::SecureMessaging(SmError::Unprotected(0x6987 | 0x6988 | 0x6982))
        )
    }

    /// A malformed-data error for `what`, from any parse error.
    pub fn malformed(what: &'static str) -> impl Fn(TlvError) -> ChipError {
        move |_| ChipError::Malformed { what }
    }
}
