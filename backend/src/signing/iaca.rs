//! The mdoc PKI's certificate profiles (ISO/IEC 18013-5 Annex B) live in
//! `eid_core::mdoc::annex_b`, shared with the fixtures' IACA and document signer; re-exported
//! here for the backend's key modules and tests.

pub use eid_core::mdoc::MDL_READER_AUTH;
pub use eid_core::mdoc::annex_b::{
    DOCUMENT_SIGNER_LIFETIME, IACA_LIFETIME, Issuer, MDL_DS, MdocProfile, READER_CERT_MAX_LIFETIME,
    has_document_signer_profile, is_annex_b_document_signer, is_annex_b_reader_certificate,
};
