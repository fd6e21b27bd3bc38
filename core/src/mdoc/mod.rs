//! ISO/IEC 18013-5 mobile documents (mdoc): the data structures of device engagement, session
//! establishment and encryption, requests and responses, the issuer's Mobile Security Object,
//! and the reader's check of a DeviceResponse. A protocol module: it uses `credential/` (dates)
//! and `eid-crypto` (COSE, certificates, trust anchors), nothing above.
//!
//! One job per file: `cbor` (exact decoding, tag 24), `cose_key`, `engagement` (DeviceEngagement,
//! `mdoc:` URI), `transcript` (SessionTranscript), `session` (SessionEstablishment, SessionData),
//! `session_keys` (ECDH, HKDF, AES-256-GCM), `request` (DeviceRequest, ItemsRequest), `reader_auth` (the holder's check of the reader),
//! `issuer_signed`, `mso`, `response` (DeviceResponse, DeviceSigned, DeviceAuthentication),
//! `time` (tdate), `check` (the reader's verification), `issue` (IssuerSigned and MSO from
//! elements), `holder` (selective disclosure and the device signature), `ephemeral` (session
//! key pairs), `holder_session` and `reader_session` (the two sides' state machines, no I/O),
//! `transport/` (BLE GATT framing, NFC APDUs and handover, byte-stream framing). Proven against the standard's Annex D
//! example in `core/tests/mdoc_annex_d.rs`.

mod cbor;
mod check;
mod cose_key;
mod engagement;
mod ephemeral;
mod error;
mod holder;
mod holder_session;
mod issue;
mod issuer_signed;
mod mso;
mod reader_auth;
mod reader_session;
mod request;
mod response;
mod session;
mod session_keys;
mod time;
mod transcript;
pub mod transport;

pub use cbor::Tagged24;
pub use check::{ReaderContext, VerifiedDocument, check_device_response, check_document};
pub use cose_key::P256Key;
pub use engagement::{CIPHER_SUITE_1, DeviceEngagement, MDOC_URI_SCHEME};
pub use ephemeral::{ephemeral_key, public_key};
pub use error::{CheckError, MdocError};
pub use holder::{disclose, respond, respond_with_mac};
pub use holder_session::{
    Decision, HolderError, HolderPolicy, HolderSession, HolderStep, MdocSource,
    PresentationRequest, ReaderIdentity, RequestedDocument, SessionEnd, termination_message,
};
pub use issue::{MsoSpec, NamespaceElements, issue_mdoc};
pub use issuer_signed::{IssuerSigned, IssuerSignedItem};
pub use mso::{DigestAlgorithm, MobileSecurityObject, ValidityInfo};
pub use reader_auth::{ReaderAuthError, verify_reader_auth};
pub use reader_session::{ReaderError, ReaderOutcome, ReaderSession, ReaderSigner};
pub use request::{DeviceRequest, DocRequest, ItemsRequest, RequestedElement};
pub use response::{
    DeviceAuth, DeviceResponse, DeviceSigned, Document, STATUS_OK, device_authentication_bytes,
};
pub use session::{
    STATUS_DECODING_ERROR, STATUS_ENCRYPTION_ERROR, STATUS_SESSION_TERMINATION, SessionData,
    SessionEstablishment,
};
pub use session_keys::{Role, SessionCipher, SessionKeys};
pub use transcript::SessionTranscript;

#[cfg(test)]
mod tests;
