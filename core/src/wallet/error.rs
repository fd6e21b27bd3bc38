//! The wallet's error: every lower error folds into it here, once. Messages carry no personal
//! data and no key bytes.

use crate::account::AccountError;
use crate::credential::CredentialError;
use crate::keys::KeyError;
use crate::store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WalletError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("document refused: {0}")]
    Credential(#[from] CredentialError),
    #[error("secure key storage: {0}")]
    Keys(#[from] KeyError),
    #[error("wallet storage: {0}")]
    Store(#[from] StoreError),
    /// The backend could not be reached or refused (nothing was changed locally).
    #[error(transparent)]
    Backend(#[from] crate::client::ClientError),
    /// A QR presentation could not be made.
    #[error(transparent)]
    Present(#[from] crate::present::PresentError),
    /// Remote signing failed on this side (not enrolled, a signature that does not verify).
    #[error(transparent)]
    Signing(#[from] crate::signing::SigningError),
    /// The backend's kind list was refused (signature, signer, a declaration, or older than the
    /// one held, docs/adr/0060): the sync changed nothing.
    #[error(transparent)]
    KindList(#[from] crate::verify::KindListError),
    /// Input from the user or app is malformed (ID number, phone, SMS code, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// Documents and the log need the passcode (or biometric) first.
    #[error("the wallet is locked: unlock it with the passcode")]
    Locked,
    #[error("the wallet is not set up yet (no passcode)")]
    NotSetUp,
    #[error("no document with that id")]
    NotFound,
    /// The wallet directory could not be created or read.
    #[error("wallet directory: {0}")]
    Io(String),
    /// Stored data that no longer decodes (a bug or a newer app version).
    #[error("stored {0} does not decode")]
    Corrupt(&'static str),
}

impl WalletError {
    /// The store refuses document access while locked; the app sees one `Locked`.
    pub(crate) fn from_store(e: StoreError) -> Self {
        match e {
            StoreError::Locked => WalletError::Locked,
            other => WalletError::Store(other),
        }
    }
}
