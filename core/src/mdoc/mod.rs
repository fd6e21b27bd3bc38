//! ISO/IEC 18013-5 mobile documents (mdoc): the data structures of device engagement, session
//! establishment and encryption, requests and responses, the issuer's Mobile Security Object,
//! and the reader's check of a DeviceResponse. A protocol module: it uses `credential/` (dates),
//! `eid-crypto` (COSE, certificates, trust anchors) and eid-icao's curve arithmetic, nothing
//! above.
//!
//! One job per file: `cbor` (exact decoding, tag 24), `cose_key` (COSE_Key on the curves we
//! take), `signature` (which algorithm with which curve, and the check), `engagement` (DeviceEngagement,
//! `mdoc:` URI), `transcript` (SessionTranscript), `session` (SessionEstablishment, SessionData),
//! `session_keys` (ECDH, HKDF, AES-256-GCM), `request` (DeviceRequest, ItemsRequest), `reader_auth` (the holder's check of the reader),
//! `issuer_signed`, `mso`, `response` (DeviceResponse, DeviceSigned, DeviceAuthentication),
//! `time` (tdate), `check` (the reader's verification), `issue` (IssuerSigned and MSO from
//! elements), `holder` (selective disclosure and the device signature), `ephemeral` (key
//! pairs and ECDH on every curve), `holder_session` and `reader_session` (the two sides' state machines, no I/O),
//! `transport/` (BLE GATT framing, NFC APDUs and handover, byte-stream framing), `doctypes`
//! (PhotoID, mDL and BHYT as data, mapped from our documents), `status_list` (the Token Status
//! List in CWT form, the MSO's reference to it, and the reader's check), `verdict` (what a
//! reader desk shows), `annex_b` (the Annex B certificate profiles: IACA, document signer,
//! reader CA, reader certificate). Proven against the standard's Annex D
//! example in `core/tests/mdoc_annex_d.rs`.

mod age_over;
pub mod annex_b;
mod cbor;
mod check;
mod cose_key;
mod doctypes;
mod dtc;
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
mod signature;
mod status_list;
mod time;
mod transcript;
pub mod transport;
mod verdict;

pub use cbor::Tagged24;
pub use check::{
    IssuerVerified, ReaderContext, VerifiedDocument, check_device_response, check_document,
    check_issuer_signed,
};
pub use cose_key::{CoseCurve, CoseKey};
pub use doctypes::{
    AGE_THRESHOLDS, BHYT_DOCTYPE, BHYT_NAMESPACE, CCCD_NAMESPACE, ChipFiles, DOCTYPES,
    DTC_NAMESPACE, GPLX_NAMESPACE, IDENTITY_CARD_AUTHORITY, ISO_23220_NAMESPACE, MDL_DOCTYPE,
    MDL_NAMESPACE, MDL_NO_EXPIRY, PHOTO_ID_DOCTYPE, PHOTO_ID_NAMESPACE, age_on, bhyt_elements,
    driving_privileges, full_date, mdl_elements, photo_id_elements,
};
pub use dtc::{check_dtc, dtc_of, dtc_passive_authentication};
pub use engagement::{CIPHER_SUITE_1, DeviceEngagement, MDOC_URI_SCHEME};
pub use ephemeral::{ecdh, ephemeral_key, key_pair, public_key};
pub use error::{CheckError, MdocError};
pub use holder::{NearestAge, disclose, respond, respond_with_mac, respond_with_mac_key};
pub use holder_session::{
    Decision, HolderError, HolderPolicy, HolderSession, HolderStep, MdocSource,
    PresentationRequest, ReaderIdentity, RequestedDocument, SessionEnd, termination_message,
};
pub use issue::{MsoSpec, NamespaceElements, issue_mdoc, issue_mdoc_with_status};
pub use issuer_signed::{IssuerSigned, IssuerSignedItem};
pub use mso::{DigestAlgorithm, MobileSecurityObject, ValidityInfo};
pub use reader_auth::{
    MDL_READER_AUTH, ReaderAuthError, is_reader_certificate, verify_reader_auth,
};
pub use reader_session::{
    ReaderError, ReaderOutcome, ReaderSession, ReaderSigner, SessionHandover,
};
pub use request::{DeviceRequest, DocRequest, ItemsRequest, RequestedElement};
pub use response::{
    DeviceAuth, DeviceResponse, DeviceSigned, Document, DocumentError, ERROR_DATA_NOT_RETURNED,
    ElementError, STATUS_OK, device_authentication_bytes,
};
pub use session::{
    STATUS_DECODING_ERROR, STATUS_ENCRYPTION_ERROR, STATUS_SESSION_TERMINATION, SessionData,
    SessionEstablishment,
};
pub use session_keys::{Role, SessionCipher, SessionKeys};
pub use signature::{SignatureCheck, certificate_key, verify_sign1};
pub use status_list::{
    MsoStatus, STATUS_LIST_CWT_MEDIA_TYPE, STATUS_LIST_CWT_TYP, StatusListCache,
    StatusListCwtClaims, StatusListCwtPayload, VerifiedStatusList, check_status,
    parse_status_list_cwt_payload, sign_status_list_cwt, status_list_cwt_subject,
    verify_status_list_cwt,
};
pub use transcript::SessionTranscript;
pub use verdict::{MdocVerdict, NotReturned, VerdictElement, cbor_to_json};

#[cfg(test)]
mod tests;
