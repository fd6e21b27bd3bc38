//! Why a credential was refused or could not be issued. No variant carries personal data: field
//! names, rule descriptions and document kinds only.

use super::DocumentKind;
use thiserror::Error;

/// A document field that breaks a rule: the field's path (e.g. `code.benefit_level`,
/// `classes[1].expiry_date`, `Composition.section[48765-2]`) and the rule, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {reason}")]
pub struct DocumentError {
    pub field: String,
    pub reason: String,
}

impl DocumentError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        DocumentError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Why [`super::verify`] refused a credential.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CredentialError {
    /// Not a COSE_Sign1 credential of this wallet (bad CBOR, wrong algorithm or content type,
    /// missing claims); says which part.
    #[error("malformed credential: {0}")]
    MalformedEncoding(&'static str),
    /// The issuer's signature does not match the content: altered or forged.
    #[error("the issuer signature does not verify")]
    BadSignature,
    /// The issuer certificate is not issued by a CA of the trust list, or not valid now.
    #[error("the issuer is not trusted")]
    UntrustedIssuer,
    /// A trusted issuer, but not for this kind of document.
    #[error("the issuer is not authorised to issue {0} documents")]
    IssuerNotAuthorised(DocumentKind),
    /// The same for a kind known only from the backend's kind list, by machine name
    /// (docs/adr/0060).
    #[error("the issuer is not authorised to issue {0} documents")]
    IssuerNotAuthorisedFor(String),
    /// A kind the library has no code for and that no verified kind list declares.
    #[error("unknown document kind {0} (not declared in the kind list)")]
    UnknownKind(String),
    #[error("the credential is not valid yet")]
    NotYetValid,
    #[error("the credential has expired")]
    Expired,
    /// No usable holder device key (`cnf`): the credential could not be bound to a device.
    #[error("the credential holds no valid holder key")]
    HolderKeyMissing,
    #[error("invalid document: {0}")]
    InvalidDocument(DocumentError),
}

/// Why [`super::issue`] refused to sign.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IssueError {
    #[error("the document is not of the kind requested")]
    KindMismatch,
    #[error("invalid document: {0}")]
    InvalidDocument(#[from] DocumentError),
    #[error("the holder key is not a P-256 public key")]
    BadHolderKey,
    #[error("the validity period is empty or inverted")]
    BadValidity,
    #[error("the issuer key does not match its certificate, or the certificate is unusable")]
    BadIssuerKey,
    #[error("encoding failed")]
    Encoding,
    #[error("signing failed")]
    Signing,
}
