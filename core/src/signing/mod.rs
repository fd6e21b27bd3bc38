//! Remote signing client (CSC API v2 flow): the citizen's signing key lives in the backend's
//! signer (HSM); each signature is authorised on this phone with the passcode and the device key
//! (sole control, SCAL2). The wallet builds the CMS around the remote signature and checks it
//! before handing it out. The `Wallet` methods are in `wallet/signing.rs`; the wire types in
//! `api.rs` (re-exported here, with the CSC [`paths`]); the CMS in `cms.rs` ([`verify_detached`]).

pub(crate) mod api;
pub(crate) mod cms;

pub use api::{
    AuthorizeRequest, Challenge, CredentialInfo, CredentialRef, CredentialsList,
    CredentialsListRequest, EnrolRequest, MAX_HASHES, SAD_LIFETIME, SIGN_ALGO, Sad,
    SignHashRequest, Signatures, authorization_input, paths,
};
pub use cms::verify_detached;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why signing failed locally (backend refusals arrive as `ClientError`). No personal data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigningError {
    /// The wallet has no signing credential yet (`enrol` first).
    #[error("no signing credential: enrol first")]
    NotEnrolled,
    /// The CMS could not be built.
    #[error("building the signature failed: {0}")]
    Cms(&'static str),
    /// A signature (ours before returning it, or one given to check) does not verify.
    #[error("the signature does not verify: {0}")]
    SignatureInvalid(&'static str),
    /// The backend's answer does not fit the request (wrong count, malformed certificate).
    #[error("unexpected signing answer: {0}")]
    Protocol(&'static str),
}

/// A signing credential as the app lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningCredential {
    pub credential_id: String,
    /// The certificate's subject, e.g. `CN=NGUYEN VAN A,serialNumber=CCCD-001099012345,C=VN`.
    pub subject: String,
    /// `enabled` or `disabled`.
    pub status: String,
    pub valid_from: u64,
    pub valid_to: u64,
    /// The certificate, DER.
    pub certificate: Vec<u8>,
}

/// What the citizen asks to sign: the file's name and bytes, and who asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningRequest {
    pub file_name: String,
    pub content: Vec<u8>,
    /// The public service or company the signature is for.
    pub relying_party: String,
}

/// What the consent screen shows before the passcode is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningConsent {
    pub file_name: String,
    /// SHA-256 of the file, lower-case hex.
    pub sha256_hex: String,
    pub size: u64,
    pub relying_party: String,
    pub credential_id: String,
    /// Who signs: the certificate's subject.
    pub signer: String,
}

/// A finished, verified signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDocument {
    /// Detached CMS SignedData, DER (`.p7s`).
    pub cms: Vec<u8>,
    pub consent: SigningConsent,
    /// Unix seconds.
    pub signing_time: u64,
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
