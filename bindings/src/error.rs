//! The one public error of the bindings, and the one place that maps core errors to it.

use eid_core::chip::card_qr::CardQrError;

/// Errors an app acts on. Messages never contain personal data.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum EidError {
    /// The input given by the app or the user is malformed.
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
}

impl From<CardQrError> for EidError {
    fn from(e: CardQrError) -> Self {
        EidError::InvalidInput {
            reason: e.to_string(),
        }
    }
}
