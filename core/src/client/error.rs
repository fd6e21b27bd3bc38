//! Why a backend call failed: the one error of the backend client. Messages carry no personal
//! data (the CLI and tests match on their text: keep it as it is).

use crate::api::ErrorCode;
use thiserror::Error;

/// Why a backend call failed. Messages carry no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClientError {
    /// No answer after the retries (backend down, no network). Nothing was changed locally.
    #[error("backend unreachable: {0}")]
    Network(String),
    /// The backend answered with an error.
    #[error("{message}")]
    Api {
        status: u16,
        code: ErrorCode,
        message: String,
        request_id: String,
    },
    /// The answer does not decode.
    #[error("unexpected answer from the backend: {0}")]
    Decode(String),
    /// The device key could not sign (locked key store, user cancelled the prompt, ...).
    #[error("the device key could not sign: {0}")]
    DeviceKey(String),
}

impl ClientError {
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}
