//! OpenID for Verifiable Presentations 1.0 with DCQL, SD-JWT VC and ISO mdoc (issues 15, 16,
//! docs/adr/0033, 0049),
//! both sides, as pure protocol: functions take and give URIs, bodies and parsed structures; the
//! caller does the HTTP. A protocol module: it uses `sdjwt`, `mdoc` and eid-crypto only.
//!
//! Wallet: [`resolve_request`] ([`parse_authorization_uri`] → fetch by reference with the
//! caller's HTTP → [`verify_request_object`] or [`unsigned_request`]) → [`select`] (DCQL over the wallet's SD-JWT VCs) → consent →
//! [`vp_token`] → [`respond`] (`direct_post` / `direct_post.jwt`) or [`decline`].
//! Relying party: [`pid_query`] or [`mdoc_query`] (the claims asked) → [`request_object`] + [`authorization_uri`] → [`verify_response`]
//! ([`verify_response_with`] and an [`MdocPolicy`] for mdoc answers, ADR 0049).
//!
//! One job per file: `uri`, `form`, `client_id`, `client_metadata`, `request` (wallet side), `resolve` (URI to verified request), `dcql` (the query),
//! `claims_path` (path processing), `select` (matching), `scope` (registration and purposes), `purposes` (the known ones),
//! `response` (wallet side), `jwe` (ECDH-ES + AES-GCM), `rp_request`, `rp_verify`, `verifier_info` (the relying party behind an intermediary), `minimal` (no claim beyond the asked), `error`,
//! `handover` (the mdoc SessionTranscript of B.2.6.1), `mdoc_answer` (the wallet's DeviceResponse), `mdoc_verify` (the RP's check of it).

mod claims_path;
mod client_id;
mod client_metadata;
mod dcql;
mod error;
mod form;
mod handover;
mod jwe;
mod mdoc_answer;
mod mdoc_verify;
mod minimal;
pub mod purposes;
mod request;
mod resolve;
mod response;
mod rp_request;
mod rp_verify;
mod scope;
mod select;
mod uri;
mod verifier_info;

pub use claims_path::select as select_claims;
pub use client_id::{ClientId, ClientIdPrefix, dns_names, x509_hash};
pub use client_metadata::ClientMetadata;
pub use dcql::{
    ClaimQuery, CredentialQuery, CredentialSetQuery, DcqlQuery, FORMAT_MSO_MDOC, FORMAT_SD_JWT_VC,
    Meta, path_from_json, path_to_json,
};
pub use error::Oid4vpError;
pub use form::{decode as form_decode, encode as form_encode};
pub use handover::{HANDOVER_ID, HandoverInfo, jwk_thumbprint, jwk_thumbprint_of};
pub use jwe::{Decrypted, Enc, choose_key, concat_kdf, decrypt, encrypt};
pub use mdoc_answer::{device_response, session_transcript};
pub use mdoc_verify::{MdocPolicy, VerifiedMdoc};
pub use request::{
    AuthorizationRequest, REQUEST_OBJECT_CONTENT_TYPE, REQUEST_OBJECT_TYP, ResponseMode,
    RpCertificate, SELF_ISSUED_AUD, WalletPolicy, unsigned_request, verify_request_object,
};
pub use resolve::{FetchRequest, resolve_request};
pub use response::{FORM_CONTENT_TYPE, ResponsePost, decline, respond, vp_token};
pub use rp_request::{
    PendingRequest, RequestSpec, RpSigner, authorization_uri, fresh_nonce, mdoc_query, pid_query,
    request_object, request_object_with,
};
pub use rp_verify::{
    MemoryNonceLedger, NonceLedger, ResponsePolicy, VerifiedPresentation, by_query,
    verify_response, verify_response_with,
};
pub use scope::{Purpose, RpRegistration, covers};
pub use select::{Held, Selected, Selection, WalletCredential, select};
pub use uri::{
    AuthorizationUri, RequestSource, RequestUriMethod, parse_authorization_uri,
    request_uri_post_body,
};
pub use verifier_info::{ON_BEHALF_OF, OnBehalfOf, on_behalf_of_info};
