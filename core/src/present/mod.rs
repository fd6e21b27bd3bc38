//! QR presentation (docs/adr/0010): the wallet shows a QR that proves, offline, exactly the
//! fields a verifier's profile needs.
//!
//! - `profile.rs`: which fields each verifier gets, from which documents ([`Profile`]).
//! - `presentation_credential.rs`: per-profile, single-use issuer credentials, issued in batches
//!   at sync, each bound to its own device key ([`PresentationCredential`]).
//! - `payload.rs`: the QR text: an offline presentation (credential + device signature over a
//!   fresh time and the verifier's nonce) or an online token (redeemed at the backend)
//!   ([`QrPayload`]).
//! - `qr.rs`: the QR symbol: module matrix, terminal, SVG, PNG ([`QrImage`]).
//!
//! The submodules are private; what other crates use is re-exported here.

pub(crate) mod error;
pub(crate) mod payload;
pub(crate) mod presentation_credential;
pub(crate) mod profile;
pub(crate) mod qr;

pub use error::PresentError;
pub use payload::{
    FUTURE_SKEW, OFFLINE_PREFIX, OLD_TOKEN_PREFIX, PRESENTATION_LIFETIME, Presentation, QrPayload,
    TOKEN_LIFETIME, TOKEN_PREFIX, Token, raw_signature,
};
// Named in full here (glossary: "presentation credential"), beside the issuer credentials'
// `credential::{issue, verify}`.
pub use presentation_credential::{
    CredentialSpec, PresentationCredential, bare_verifications,
    issue as issue_presentation_credential, verify as verify_presentation_credential,
};
pub use profile::{Disclosed, Field, FieldValue, Profile};
pub use qr::QrImage;
#[cfg(feature = "qr-image")]
pub use qr::decode_png;
