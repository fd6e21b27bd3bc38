//! Why a presentation could not be made or does not verify. No variant carries personal data.

use crate::credential::DocumentKind;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PresentError {
    #[error("the wallet holds no {0} document for this profile")]
    MissingDocument(DocumentKind),
    #[error("no presentation credential for this profile: sync with the backend first")]
    NoCredential,
    #[error("malformed: {0}")]
    Malformed(&'static str),
    #[error("not a presentation QR")]
    NotAPresentation,
    #[error("the issuer is not in the trust list")]
    UnknownIssuer,
    #[error("the issuer is not trusted for this profile")]
    UntrustedIssuer,
    #[error("the issuer signature does not verify")]
    BadIssuerSignature,
    #[error("the device signature does not verify")]
    BadDeviceSignature,
    #[error("the credential is not valid yet")]
    CredentialNotYetValid,
    #[error("the credential has expired")]
    CredentialExpired,
    #[error("the presentation is older than {0} s")]
    Stale(u64),
    #[error("the presentation is dated in the future")]
    FromTheFuture,
    #[error("the verifier's nonce does not match")]
    WrongNonce,
    #[error("the presentation carries a verifier nonce this desk did not ask for")]
    UnexpectedNonce,
    #[error("the credential is revoked")]
    Revoked,
    #[error("the credential is suspended")]
    Suspended,
    #[error("the credential's status index lies outside the status list")]
    StatusUnknown,
    #[error("signing failed")]
    Signing,
    #[error("the QR code could not be made: {0}")]
    Qr(&'static str),
}
