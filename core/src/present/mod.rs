//! QR presentation (docs/adr/0010): the wallet shows a QR that proves, offline, exactly the
//! fields a verifier's profile needs.
//!
//! - [`profile`]: which fields each verifier gets, from which documents.
//! - [`presentation_credential`]: per-profile, single-use issuer credentials, issued in batches at sync,
//!   each bound to its own device key.
//! - [`payload`]: the QR text: an offline presentation (credential + device signature over a
//!   fresh time and the verifier's nonce) or an online token (redeemed at the backend).
//! - [`qr`]: the QR symbol: module matrix, terminal, SVG, PNG.

pub mod error;
pub mod payload;
pub mod presentation_credential;
pub mod profile;
pub mod qr;

pub use error::PresentError;
pub use payload::{Presentation, QrPayload, Token};
pub use presentation_credential::{CredentialSpec, PresentationCredential};
pub use profile::{Disclosed, Field, FieldValue, Profile};
pub use qr::QrImage;
