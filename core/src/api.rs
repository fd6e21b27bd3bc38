//! The HTTP API between the wallet and the backend: request and response bodies (JSON), error
//! shape, and how a device signs its requests. Shared by `eid-backend` and the wallet's sync
//! client so both sides compile against the same types.
//!
//! Binary fields are base64url without padding ([`B64`]). Every POST carries a
//! `client_request_id` (UUID-like, chosen by the client): the backend answers a repeated id with
//! the first answer (idempotent retries over a flaky network).

use serde::{Deserialize, Serialize};

/// Bytes carried as base64url (no padding) in JSON.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct B64(pub Vec<u8>);

impl std::fmt::Debug for B64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "B64({} bytes)", self.0.len())
    }
}

impl Serialize for B64 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map(B64)
            .map_err(serde::de::Error::custom)
    }
}

pub mod paths {
    pub const HEALTH: &str = "/v1/health";
    pub const ACTIVATION_START: &str = "/v1/activation/start";
    pub const ACTIVATION_COMPLETE: &str = "/v1/activation/complete";
    pub const DOCUMENTS: &str = "/v1/documents";
    pub const TRUST_LIST: &str = "/v1/trust-list";
    pub const STATUS_LIST: &str = "/v1/status-list";
    pub const ACCOUNT_LOCK: &str = "/v1/account/lock";
    pub const ACCOUNT_UNLOCK: &str = "/v1/account/unlock";
    pub const ACCOUNT: &str = "/v1/account";
    /// Development mode only: SMS codes "sent" by the backend.
    /// Presentation credentials (QR presentations, docs/adr/0010).
    pub const PRESENTATION_CREDENTIALS: &str = "/v1/presentation-credentials";
    pub const TOKEN_REDEEM: &str = "/v1/presentations/redeem";
    /// Batches of single-use credentials in a standard format (ISO mdoc; docs/adr/0031).
    pub const CREDENTIAL_BATCHES: &str = "/v1/credential-batches";
    /// The Token Status List in CWT form (draft-ietf-oauth-status-list) the MSOs reference.
    pub const STATUS_LIST_CWT: &str = "/v1/status-list/cwt";
    /// The Token Status List in JWT form the SD-JWT VCs name (docs/adr/0035).
    pub const STATUS_LIST_JWT: &str = "/v1/status-list/jwt";
    /// Online tokens registered by the wallet, with the citizen's consent, before it shows them.
    pub const PRESENTATION_TOKENS: &str = "/v1/presentations/tokens";
    /// Citizen consent (docs/adr/0017): the passcode's OPAQUE record, and a consent login.
    pub const CONSENT_REGISTER: &str = "/v1/consent/register";
    pub const CONSENT_START: &str = "/v1/consent/start";
    /// The "Log in with e-ID" hub's OpenID4VP response URI (docs/adr/0042): its answers carry
    /// the citizen's consent ([`super::HUB_CONSENT_FIELD`], docs/adr/0058).
    pub const OIDC_RESPONSE: &str = "/v1/oidc/response";
    pub const ADMIN_VERIFIERS: &str = "/v1/admin/verifiers";
    /// Relying parties of the OpenID4VP hub (issue 16, docs/adr/0036): registration (admin),
    /// one registration, and its suspension (`DELETE`).
    pub const ADMIN_RELYING_PARTIES: &str = "/v1/admin/relying-parties";
    /// A registry authority's change to a citizen's record (licence points, suspension, BHYT
    /// renewal), pushed to the wallets (issue 18, docs/adr/0056). Admin token.
    pub const ADMIN_REGISTRY_CHANGES: &str = "/v1/admin/registry/changes";
    pub const ADMIN_RELYING_PARTY: &str = "/v1/admin/relying-parties/{id}";
    /// `{id}`: suspends a relying party with an optional reason (`eid rp suspend`).
    pub const ADMIN_RP_SUSPEND: &str = "/v1/admin/relying-parties/{id}/suspend";
    /// `{id}`: puts a suspended relying party back in the registry (`eid rp resume`).
    pub const ADMIN_RP_RESUME: &str = "/v1/admin/relying-parties/{id}/resume";
    /// `{id}`: a relying party's OIDC client (docs/adr/0042).
    pub const ADMIN_RP_OIDC_CLIENT: &str = "/v1/admin/relying-parties/{id}/oidc";
    /// The billable events per relying party, purpose, kind and day (admin).
    pub const ADMIN_METERING: &str = "/v1/admin/metering";
    /// An mdoc reader's authentication certificate from the reader CA (docs/adr/0040).
    pub const ADMIN_READER_CERTIFICATES: &str = "/v1/admin/reader-certificates";
    /// Revokes a reader certificate (docs/adr/0053).
    pub const ADMIN_READER_CERTIFICATES_REVOKE: &str = "/v1/admin/reader-certificates/revoke";
    /// The reader CA's CRL (DER, RFC 5280) listing revoked reader certificates.
    pub const READER_CA_CRL: &str = "/v1/reader-ca.crl";
    /// The signed registry of active relying parties the wallet syncs.
    pub const RELYING_PARTIES: &str = "/v1/relying-parties";
    /// The signed list of the document kinds the backend issues, as declarations: how a kind
    /// reaches existing apps as data (docs/adr/0060).
    pub const KINDS: &str = "/v1/kinds";
    /// The citizen's hub-mediated disclosures (device-signed, docs/adr/0050).
    pub const DISCLOSURES: &str = "/v1/disclosures";
    /// Accommodation notices (docs/adr/0048): a host's check-in (host-signed, i.e. signed by
    /// a verifier registered for the `accommodation` profile), and the guest's notices
    /// (device-signed).
    pub const ACCOMMODATION_CHECK_INS: &str = "/v1/accommodation/check-ins";
    pub const ACCOMMODATION_NOTICES: &str = "/v1/accommodation/notices";
    /// Bank eKYC by chip (docs/adr/0054): a relying party's single-use chip challenge, and
    /// the check of the chip evidence read at its desk (both `client_secret_basic`).
    pub const EKYC_CHALLENGES: &str = "/v1/ekyc/challenges";
    pub const EKYC_CHECKS: &str = "/v1/ekyc/checks";
    /// Citizen-entered data (issue 18, docs/adr/0057): the citizen's submissions (device-signed
    /// `POST` and `GET`), the authority's queue, one submission with its attachments, and the
    /// clerk's decision (admin token).
    pub const SUBMISSIONS: &str = "/v1/submissions";
    pub const ADMIN_SUBMISSIONS: &str = "/v1/admin/submissions";
    pub const ADMIN_SUBMISSION: &str = "/v1/admin/submissions/{id}";
    pub const ADMIN_SUBMISSION_DECISION: &str = "/v1/admin/submissions/{id}/decision";
    pub const DEV_OUTBOX: &str = "/v1/dev/outbox";
    pub const OPENAPI: &str = "/openapi.json";
}

/// Every error response: `{"error": {...}}` with an HTTP status that matches `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    /// For people; never personal data.
    pub message: String,
    /// The request id of the backend's logs, for support.
    pub request_id: String,
}

/// What went wrong, as the wallet acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body does not parse or a field is malformed. Also the code of the transport-level
    /// refusals: 405 (wrong method), 408 (body too slow), 413 (body too large).
    InvalidRequest,
    /// 401: the SMS code is wrong (or the activation does not exist).
    WrongCode,
    /// 410: the SMS code or the activation expired.
    CodeExpired,
    /// 409: the SMS code was already used.
    CodeUsed,
    /// 422: the chip evidence does not verify or does not match the registry.
    ChipEvidenceInvalid,
    /// 401: the device signature on a request is missing, stale or wrong.
    Unauthenticated,
    /// 403: this device's binding was revoked (the account was activated elsewhere).
    Revoked,
    /// 423: the account is locked by the citizen.
    AccountLocked,
    /// 404
    NotFound,
    /// 429: too many attempts, requests or connections; retry after `Retry-After` seconds.
    RateLimited,
    /// 409: an online presentation token was already redeemed.
    TokenUsed,
    /// 410: an online presentation token expired.
    TokenExpired,
    /// 403: the verifier may not receive this profile.
    NotAllowed,
    /// 403: the action needs the citizen's consent (docs/adr/0017) and the request carries no
    /// valid proof: missing, wrong passcode, already used, expired, for another action, or no
    /// passcode is registered for this device yet.
    ConsentRequired,
    /// 500/503
    Internal,
}

/// POST /v1/activation/start
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationStart {
    pub client_request_id: String,
    /// 12-digit ID number.
    pub id_number: String,
    /// Mobile number, e.g. `0912345678`.
    pub phone: String,
}

/// The same answer whether or not the ID number and phone match a citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationStarted {
    pub activation_id: String,
    /// 8 bytes the chip must sign with its active-authentication key (INTERNAL AUTHENTICATE).
    pub chip_challenge: B64,
    /// Unix seconds after which the SMS code and challenge are void.
    pub expires_at: u64,
}

/// The chip data read during activation, as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChipEvidence {
    pub sod: B64,
    pub dg1: B64,
    pub dg13: B64,
    /// DG14 when present (chip authentication info), DG15 for the active-authentication key.
    pub dg14: Option<B64>,
    pub dg15: Option<B64>,
    /// The chip's INTERNAL AUTHENTICATE answer over `chip_challenge`.
    pub aa_signature: Option<B64>,
}

impl ChipEvidence {
    /// The evidence of a chip read with the verifier's challenge (`ReadRequest::aa_challenge`):
    /// the files the backend re-checks and the chip's answer. `Err` names the missing file.
    pub fn from_chip(chip: &eid_icao::document::ChipDocument) -> Result<Self, &'static str> {
        use eid_icao::lds::LdsFile;
        let file = |f: LdsFile| chip.files.get(&f).cloned().map(B64);
        Ok(ChipEvidence {
            sod: file(LdsFile::Sod).ok_or("EF.SOD was not read")?,
            dg1: file(LdsFile::DG1).ok_or("DG1 was not read")?,
            dg13: file(LdsFile::DG13).ok_or("DG13 was not read")?,
            dg14: file(LdsFile::DG14),
            dg15: file(LdsFile::DG15),
            aa_signature: chip.aa_signature.clone().map(B64),
        })
    }
}

/// POST /v1/activation/complete
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationComplete {
    pub client_request_id: String,
    pub activation_id: String,
    pub sms_code: String,
    pub chip: ChipEvidence,
    /// The device's P-256 public key (SEC1 uncompressed) from the platform key store.
    pub device_public_key: B64,
    /// Key attestation chain (DER certificates) when the platform offers one.
    pub attestation: Option<Vec<B64>>,
    /// The OPAQUE `RegistrationRequest` of the citizen's passcode (blinded: the backend never
    /// learns the passcode). Without it the account cannot give consent for the actions of
    /// docs/adr/0017 until the device is activated again.
    #[serde(default)]
    pub consent_registration: Option<B64>,
}

/// The level-2 account, bound to this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationCompleted {
    pub account_id: String,
    pub level: u8,
    /// The account credential (COSE_Sign1 by the police issuer, bound to the device key).
    pub account_credential: B64,
    /// The OPAQUE `RegistrationResponse` to `ActivationComplete::consent_registration`; the
    /// wallet finishes the registration with [`ConsentRegister`].
    #[serde(default)]
    pub consent_registration: Option<B64>,
}

/// One credential the backend holds for the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedDocument {
    pub id: String,
    pub kind: String,
    pub credential: B64,
    /// Whose document it is when not the holder's own: a child the holder is the guardian of
    /// (docs/adr/0055). Absent for the holder's documents; a wallet that ignores it keeps
    /// working (it would list the child's documents as its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependant: Option<Dependant>,
}

/// A child whose documents the guardian's wallet holds and presents (docs/adr/0055).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependant {
    /// Opaque handle the backend gave the child for this guardian (never the ID number):
    /// names the child in [`PresentationCredentialsRequest::dependant`].
    pub id: String,
    /// The child's full name, as on the birth certificate.
    pub name: String,
    /// ISO 8601 date of birth.
    pub birth_date: String,
}

// Debug shows the handle only: the rest is personal data.
impl std::fmt::Debug for Dependant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dependant")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// GET /v1/documents?since=CURSOR (device-signed). `304 Not Modified` with `If-None-Match`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentsPage {
    /// Pass back as `since` to get only what changed.
    pub cursor: String,
    pub documents: Vec<SyncedDocument>,
    /// Ids the wallet must delete (revoked or replaced).
    pub removed: Vec<String>,
}

/// POST /v1/presentation-credentials (device-signed): a batch of single-use presentation
/// credentials of one profile, one per fresh device key (`crate::present::PresentationCredential`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentationCredentialsRequest {
    /// `present::Profile::as_str`.
    pub profile: String,
    /// SEC1 P-256 public keys, 1..=[`MAX_PRESENTATION_BATCH`], each used for one credential.
    pub device_keys: Vec<B64>,
    pub client_request_id: String,
    /// The citizen's consent over [`presentation_credentials_digest`].
    #[serde(default)]
    pub consent: Option<ConsentProof>,
    /// Credentials of a dependant's documents ([`Dependant::id`]) instead of the holder's
    /// (docs/adr/0055); the consent's digest then binds [`consented_profile`] of both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependant: Option<String>,
}

/// The profile as the consent of a presentation credential batch names it: the profile, and
/// `profile~dependant` for a dependant's (docs/adr/0055).
pub fn consented_profile(profile: &str, dependant: Option<&str>) -> String {
    match dependant {
        Some(d) => format!("{profile}~{d}"),
        None => profile.to_owned(),
    }
}

/// Largest batch of presentation credentials one request may ask for.
pub const MAX_PRESENTATION_BATCH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentationCredentialsIssued {
    /// In the order of `device_keys`.
    pub credentials: Vec<B64>,
}

/// Credential formats a batch may be asked in (`CredentialBatchRequest::format`).
pub mod credential_format {
    /// ISO/IEC 18013-5 mdoc: each credential an encoded IssuerSigned, its MSO bound to one key.
    pub const MSO_MDOC: &str = "mso_mdoc";
    /// SD-JWT VC (docs/adr/0035): each credential the UTF-8 of an issued SD-JWT (`~`-terminated,
    /// every disclosure, no KB-JWT), `cnf.jwk` the key.
    pub const SD_JWT_VC: &str = "dc+sd-jwt";
}

/// POST /v1/credential-batches (device-signed): single-use credentials of one type in one
/// format, one per fresh device key, each with its own status list entry (docs/adr/0031). The
/// batch machinery is shared by formats: `mso_mdoc` (`credential_type` a docType) and
/// `dc+sd-jwt` (`credential_type` the `vct`, docs/adr/0035).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialBatchRequest {
    /// [`credential_format`].
    pub format: String,
    /// The docType (mdoc) or the `vct` (SD-JWT VC).
    pub credential_type: String,
    /// SEC1 P-256 public keys, 1..=[`MAX_PRESENTATION_BATCH`], each used for one credential.
    pub device_keys: Vec<B64>,
    pub client_request_id: String,
    /// The citizen's consent over [`credential_batch_digest`].
    #[serde(default)]
    pub consent: Option<ConsentProof>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialBatchIssued {
    pub format: String,
    pub credential_type: String,
    /// In the order of `device_keys` (mdoc: an encoded IssuerSigned each).
    pub credentials: Vec<B64>,
}

/// POST /v1/presentations/redeem (verifier-signed: headers `x-eid-verifier`, timestamp,
/// signature over [`signing_input`] with the verifier's key): redeems an online token once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRedeem {
    /// The QR text (`VNT2:...`).
    pub token: String,
    /// This redemption's id, fresh per redemption and the same in its retries (docs/adr/0045):
    /// the desk that redeemed the token retrying with the same id gets the fields again (its
    /// first answer was lost); any other redemption of a redeemed token is `token_used`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRedeemed {
    pub profile: String,
    /// `{field name: value}` as in `present::Disclosed::to_json`.
    pub fields: serde_json::Value,
    /// Level of the e-identity account behind the token.
    pub account_level: u8,
    pub redeemed_at: u64,
}

/// POST /v1/admin/verifiers (`Authorization: Bearer <admin token>`): registers a verifier
/// device (airport desk, clinic reception) and the profiles it may redeem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifierRegistration {
    pub name: String,
    /// SEC1 P-256 public key of the verifier device.
    pub public_key: B64,
    pub profiles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifierRegistered {
    pub verifier_id: String,
}

/// POST /v1/accommodation/check-ins (verifier-signed by a host: a verifier registered for the
/// `accommodation` profile; docs/adr/0048): the guest's offline `accommodation` QR and the stay.
/// The backend checks the QR itself, records the stay for the police and answers a receipt.
/// The same QR from the same host gets the same receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInRequest {
    pub client_request_id: String,
    /// The scanned QR text (`VN1:...`, profile `accommodation`).
    pub presentation: String,
    /// ISO dates (`YYYY-MM-DD`, the host's local calendar).
    pub check_in: String,
    pub check_out: String,
}

/// The answer of a check-in: the receipt, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInAnswer {
    pub receipt_id: String,
    /// COSE_Sign1 (tagged) by the police issuer over the JSON of [`AccommodationReceipt`],
    /// checked like the status list (`eid_core::verify::accommodation`).
    pub signed: B64,
}

/// What an accommodation receipt says: who reported which stay when. It names the guest only
/// through the digest of the QR the host scanned (the host holds the QR; nobody else learns
/// the guest from a receipt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccommodationReceipt {
    /// Always `eid_core::verify::accommodation::RECEIPT_URI`.
    pub receipt: String,
    pub receipt_id: String,
    pub host_id: String,
    pub host_name: String,
    pub check_in: String,
    pub check_out: String,
    /// Unix seconds the backend recorded the stay.
    pub recorded_at: u64,
    /// Hex SHA-256 of the QR's canonical text ([`presentation_digest`]).
    pub presentation_digest: String,
}

/// POST /v1/ekyc/challenges (docs/adr/0054): a fresh challenge for the relying party's desk
/// reader to have the chip sign (INTERNAL AUTHENTICATE), usable once, until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EkycChallenge {
    pub challenge_id: String,
    /// 8 random bytes (the ICAO 9303-11 §6.1 RND.IFD).
    pub challenge: B64,
    pub expires_at: u64,
}

/// POST /v1/ekyc/checks: the chip evidence answering challenge `challenge_id`, for one of the
/// relying party's registered purposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EkycCheckRequest {
    pub challenge_id: String,
    pub purpose: String,
    pub chip: ChipEvidence,
}

/// The answer to a check: [`EkycResult`] signed by the police issuer (a tagged COSE_Sign1,
/// checked with `eid_core::verify::EkycCheck::from_signed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EkycCheckResponse {
    pub signed: B64,
}

/// What the backend states about a chip it checked for a relying party. Claim values only in
/// `fields`, and only those the purpose's registered scope allows (none unless the chip is the
/// registry's current card of a citizen whose account is not locked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EkycResult {
    /// Always `eid_core::verify::ekyc::EKYC_RESULT_URI`.
    pub result: String,
    /// The relying party's registration id (its OIDC `client_id`).
    pub rp_id: String,
    pub purpose: String,
    pub challenge_id: String,
    pub challenge: B64,
    /// Unix seconds of the check.
    pub checked_at: u64,
    /// Passive authentication against the CSCA and active authentication over `challenge`
    /// passed (a result is only ever signed when they do).
    pub genuine: bool,
    /// DG1, DG13 and DG15 are the registry's current card of the citizen DG13 names.
    pub registry_match: bool,
    /// The card is the current one and the citizen's account (if any) is not locked.
    pub not_revoked: bool,
    /// The purpose's fields, PID claim names (`eid_core::sdjwt::pid_claims`).
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// GET /v1/accommodation/notices?after=SEQ (device-signed): the stays hosts reported for this
/// account's citizen, after the wallet's cursor, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccommodationNotices {
    /// At most [`MAX_NOTICES_PAGE`]; a full page means more may follow.
    pub notices: Vec<AccommodationNotice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccommodationNotice {
    /// The cursor: the wallet asks for notices after the last one it logged.
    pub seq: u64,
    /// The receipt the host got (see [`CheckInAnswer::signed`]).
    pub signed: B64,
}

/// The most notices one answer carries.
pub const MAX_NOTICES_PAGE: usize = 100;

/// The most attachments one submission carries (docs/adr/0057).
pub const MAX_SUBMISSION_ATTACHMENTS: usize = 4;
/// The largest attachment, decoded (1 MiB: a phone photo or scan of a certificate, compressed).
pub const MAX_ATTACHMENT_BYTES: usize = 1024 * 1024;
/// The media types an attachment may have; its bytes must start as the type says.
pub const ATTACHMENT_MEDIA_TYPES: [&str; 3] = ["image/jpeg", "image/png", "application/pdf"];
/// The largest body of `POST /v1/submissions`: every attachment at its largest in base64, and
/// room for the fields.
pub const MAX_SUBMISSION_BODY: usize =
    MAX_SUBMISSION_ATTACHMENTS * MAX_ATTACHMENT_BYTES * 4 / 3 + 64 * 1024;

/// Whether `bytes` start as a file of `media_type` (one of [`ATTACHMENT_MEDIA_TYPES`]) does.
pub fn attachment_matches(media_type: &str, bytes: &[u8]) -> bool {
    match media_type {
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "application/pdf" => bytes.starts_with(b"%PDF-"),
        _ => false,
    }
}

/// Why these attachments cannot go with a submission (count, media type, size, content), in
/// words for the citizen; `None` when they can. The wallet and the backend both check with it.
pub fn attachment_refusal(attachments: &[SubmissionAttachment]) -> Option<String> {
    if attachments.len() > MAX_SUBMISSION_ATTACHMENTS {
        return Some(format!(
            "at most {MAX_SUBMISSION_ATTACHMENTS} attachments per submission"
        ));
    }
    for (i, a) in attachments.iter().enumerate() {
        let n = i + 1;
        if !ATTACHMENT_MEDIA_TYPES.contains(&a.media_type.as_str()) {
            return Some(format!(
                "attachment {n}: media type must be one of {}",
                ATTACHMENT_MEDIA_TYPES.join(", ")
            ));
        }
        if a.content.0.len() > MAX_ATTACHMENT_BYTES {
            return Some(format!(
                "attachment {n} is too large: at most {MAX_ATTACHMENT_BYTES} bytes"
            ));
        }
        if !attachment_matches(&a.media_type, &a.content.0) {
            return Some(format!("attachment {n} is not a {} file", a.media_type));
        }
    }
    None
}

/// POST /v1/submissions (device-signed, idempotent by `client_request_id`): the citizen's
/// proposed record or change of one document kind, routed to the kind's issuing authority.
/// `Debug` shows the kind and sizes only.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionRequest {
    pub client_request_id: String,
    /// The kind's machine name (`vaccination`, `residence`).
    pub kind: String,
    /// Top-level fields of the kind's declaration, typed as `DeclaredDocument::from_json`
    /// reads them; merged into the citizen's record (`credential::apply_proposal`).
    pub fields: serde_json::Value,
    #[serde(default)]
    pub attachments: Vec<SubmissionAttachment>,
    /// The citizen's consent over [`submission_digest`] of this request (docs/adr/0057): a
    /// submission files a change to the citizen's records in their name, so the device key
    /// alone does not make one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentProof>,
}

/// Parameters of a citizen submission: its idempotency key, kind, fields (as compact JSON)
/// and every attachment's media type and bytes, in order.
pub fn submission_digest(
    client_request_id: &str,
    kind: &str,
    fields: &serde_json::Value,
    attachments: &[SubmissionAttachment],
) -> [u8; 32] {
    let fields = fields.to_string();
    let mut parts: Vec<&[u8]> = vec![
        client_request_id.as_bytes(),
        kind.as_bytes(),
        fields.as_bytes(),
    ];
    for a in attachments {
        parts.push(a.media_type.as_bytes());
        parts.push(&a.content.0);
    }
    sha256_parts(&parts)
}

impl std::fmt::Debug for SubmissionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmissionRequest")
            .field("kind", &self.kind)
            .field("attachments", &self.attachments)
            .finish_non_exhaustive()
    }
}

/// A file supporting a submission (a certificate of vaccination, a rental contract).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionAttachment {
    /// One of [`ATTACHMENT_MEDIA_TYPES`].
    pub media_type: String,
    /// At most [`MAX_ATTACHMENT_BYTES`].
    pub content: B64,
}

impl std::fmt::Debug for SubmissionAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmissionAttachment")
            .field("media_type", &self.media_type)
            .field("bytes", &self.content.0.len())
            .finish()
    }
}

/// Where a submission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionState {
    /// In the authority's queue.
    Pending,
    /// The clerk verified it: the record was merged and re-issued (the next sync brings it).
    Verified,
    /// The clerk rejected it, with a reason the citizen sees.
    Rejected,
}

impl SubmissionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionState::Pending => "pending",
            SubmissionState::Verified => "verified",
            SubmissionState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<SubmissionState> {
        [
            SubmissionState::Pending,
            SubmissionState::Verified,
            SubmissionState::Rejected,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One of the citizen's submissions, as the wallet lists it: no values (the wallet knows what
/// it sent), the field names, the state and the clerk's reason.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionInfo {
    pub id: String,
    pub kind: String,
    /// The issuing authority's id in the kind's declaration (`health`, `police`).
    pub authority: String,
    pub state: SubmissionState,
    /// The clerk's reason (required for a rejection).
    #[serde(default)]
    pub reason: Option<String>,
    /// The top-level fields proposed.
    pub fields: Vec<String>,
    pub attachments: u32,
    /// Unix seconds.
    pub created_at: u64,
    #[serde(default)]
    pub decided_at: Option<u64>,
}

/// GET /v1/submissions (device-signed): the account's submissions, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionList {
    pub submissions: Vec<SubmissionInfo>,
}

/// An attachment as the queue lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    pub media_type: String,
    pub size: u64,
}

/// A submission as the authority's clerk sees it: the citizen's ID number and the proposed
/// fields (personal data: admin calls only).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedSubmission {
    pub id: String,
    pub kind: String,
    pub authority: String,
    pub state: SubmissionState,
    pub id_number: String,
    pub fields: serde_json::Value,
    pub attachments: Vec<AttachmentInfo>,
    #[serde(default)]
    pub reason: Option<String>,
    pub created_at: u64,
    #[serde(default)]
    pub decided_at: Option<u64>,
}

impl std::fmt::Debug for QueuedSubmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedSubmission")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// GET /v1/admin/submissions?authority=ID&state=pending (admin): an authority's queue, oldest
/// first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionQueue {
    pub submissions: Vec<QueuedSubmission>,
}

/// GET /v1/admin/submissions/{id} (admin): one submission with its attachments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionDetail {
    pub submission: QueuedSubmission,
    pub attachments: Vec<SubmissionAttachment>,
}

/// POST /v1/admin/submissions/{id}/decision (admin): `verified` or `rejected` (with a reason).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionDecision {
    pub decision: SubmissionState,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The decision's answer: the new state and how many held credentials were re-issued.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionDecided {
    pub id: String,
    pub state: SubmissionState,
    #[serde(default)]
    pub reason: Option<String>,
    pub reissued: u64,
}

// Debug leaves out the clerk's reason (free text about the citizen's case).
impl std::fmt::Debug for SubmissionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmissionInfo")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SubmissionDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmissionDecision")
            .field("decision", &self.decision)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SubmissionDecided {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmissionDecided")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("reissued", &self.reissued)
            .finish_non_exhaustive()
    }
}

/// Hex SHA-256 of a presentation QR's text: how a receipt names the QR it was made for.
pub fn presentation_digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// GET /v1/trust-list: the issuer trust list (CBOR of `credential::TrustList`) and the CSCA
/// certificates that sign chips' document signers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustListResponse {
    pub version: u64,
    pub issuers: B64,
    pub csca: Vec<B64>,
    /// IACA root certificates (ISO/IEC 18013-5 Annex B) of the mdoc document signers.
    #[serde(default)]
    pub iaca: Vec<B64>,
    /// The RP CA certificates that issue the relying parties' access certificates (OpenID4VP
    /// `x509_san_dns` request objects; docs/adr/0036).
    #[serde(default)]
    pub rp_ca: Vec<B64>,
    /// The reader CA certificates (ISO/IEC 18013-5 Annex B) that issue mdoc readers'
    /// authentication certificates (docs/adr/0040). A role of its own: never an issuer anchor.
    #[serde(default)]
    pub reader_ca: Vec<B64>,
}

/// POST /v1/admin/reader-certificates: a verifier desk's (mdoc reader's) P-256 public key and
/// the name its certificate shows citizens (docs/adr/0040). No private key ever travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderCertificateRequest {
    /// Shown to the citizen as the reader (the certificate's CN).
    pub name: String,
    /// SEC1 uncompressed P-256 point.
    pub public_key: B64,
}

/// The reader authentication certificate (DER, ISO/IEC 18013-5 Annex B) and the reader CA
/// that issued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderCertificateIssued {
    pub certificate: B64,
    pub reader_ca: B64,
}

/// Revoke this reader certificate (DER, as issued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderCertificateRevoke {
    pub certificate: B64,
}

/// A reader certificate revoked at `revoked_at` (Unix seconds; the first revocation's time when
/// it was already revoked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderCertificateRevoked {
    pub revoked_at: u64,
}

/// One purpose of a relying party: its name and the claim paths (OpenID4VP DCQL claims path
/// pointers: arrays of strings, non-negative integers and `null`) it may ask for. In a
/// registration request the known purposes (`login`, `ekyc`, `age_check`) leave `claims` empty
/// and get their fixed set; any other name must list its paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpPurpose {
    pub name: String,
    #[serde(default)]
    pub claims: Vec<serde_json::Value>,
}

/// POST /v1/admin/relying-parties (`Authorization: Bearer <admin token>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpRegistrationRequest {
    pub legal_name: String,
    /// The business registration number (letters, digits, `-`, `/`, `.`).
    pub registration_number: String,
    #[serde(default)]
    pub logo_url: Option<String>,
    /// The DNS name of its access certificate; its client id is `x509_san_dns:<dns_name>`.
    pub dns_name: String,
    /// Where its OpenID4VP responses go (`response_uri`) and where it redirects (https; plain
    /// http only to a loopback host on a development backend).
    pub response_uris: Vec<String>,
    pub purposes: Vec<RpPurpose>,
    /// Its P-256 public key: a PEM `PUBLIC KEY` (SPKI) ...
    #[serde(default)]
    pub public_key_pem: Option<String>,
    /// ... or a JWK (`kty` EC, `crv` P-256).
    #[serde(default)]
    pub public_key_jwk: Option<serde_json::Value>,
}

/// A registered relying party as the admin API answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpRecord {
    pub id: String,
    pub client_id: String,
    pub legal_name: String,
    pub registration_number: String,
    pub logo_url: Option<String>,
    pub dns_name: String,
    pub response_uris: Vec<String>,
    /// With the claim paths each allows (the fixed sets of the known purposes filled in).
    pub purposes: Vec<RpPurpose>,
    /// `active` or `suspended`.
    pub status: String,
    pub created_at: u64,
    /// Its access certificate (DER), issued by the RP CA.
    pub access_certificate: B64,
    /// The same certificate in PEM.
    pub access_certificate_pem: String,
}

/// GET /v1/admin/relying-parties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpList {
    pub relying_parties: Vec<RpRecord>,
}

/// POST /v1/admin/relying-parties/{id}/suspend: why (an operator's note, at most
/// [`MAX_SUSPENSION_REASON`] characters, no control character); written to the backend's log
/// with the suspension, not stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpSuspend {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The longest suspension reason accepted, in characters.
pub const MAX_SUSPENSION_REASON: usize = 200;

/// POST /v1/admin/relying-parties/{id}/oidc: make a registered relying party an OIDC client of
/// "Log in with e-ID" (docs/adr/0042) with these redirect URIs (again: new URIs, a new secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcClientRequest {
    pub redirect_uris: Vec<String>,
}

/// Its answer: the client id (the registration id) and the secret, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("client_id", &self.client_id)
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

/// GET /v1/relying-parties: a COSE_Sign1 (tagged) by the police issuer, like the status list,
/// over the JSON of [`RpRegistryDocument`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpRegistryResponse {
    pub signed: B64,
}

/// The payload of the signed relying-party registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpRegistryDocument {
    pub registry: String,
    pub issued_at: u64,
    /// A wallet stops using it after this (a suspension reaches every wallet within it).
    pub expires_at: u64,
    pub relying_parties: Vec<RpPublic>,
}

/// GET /v1/kinds: a COSE_Sign1 by the police issuer (as the relying-party registry) over the
/// JSON of [`KindListDocument`] (docs/adr/0060); the wallet checks it with
/// `verify::KindList::from_signed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindListResponse {
    pub signed: B64,
}

/// The payload of the signed kind list: every kind the backend issues, each a
/// `credential::kinds::KindDeclaration` as JSON (read one by one, so the error names the kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindListDocument {
    /// `verify::KIND_LIST_URI`.
    pub list: String,
    /// Unix seconds; a wallet never goes back to an older list than the one it holds.
    pub issued_at: u64,
    pub kinds: Vec<serde_json::Value>,
}

/// GET /v1/disclosures (device-signed): what the hub disclosed of the citizen's account on
/// their consent, oldest first (docs/adr/0050). Never a claim value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosureList {
    pub disclosures: Vec<HubDisclosure>,
}

/// One hub-mediated disclosure: to whom, when, for which purpose, which claims (names only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubDisclosure {
    pub id: String,
    /// Unix seconds.
    pub at: u64,
    /// The relying party's client id and legal name.
    pub rp_client_id: String,
    pub rp_name: String,
    pub purpose: String,
    /// The claims the relying party received (paths as text); empty for a login (a pairwise
    /// subject only).
    pub claims: Vec<String>,
    /// Through which service (`oidc`: "Log in with e-ID").
    pub via: String,
}

/// What wallets learn of one active relying party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpPublic {
    pub client_id: String,
    pub name: String,
    pub registration_number: String,
    pub logo_url: Option<String>,
    pub response_uris: Vec<String>,
    pub purposes: Vec<RpPurpose>,
    /// An intermediary (the hub's "Log in with e-ID", docs/adr/0050): it asks on behalf of
    /// another registered relying party, which its signed request must name (OpenID4VP 1.0
    /// `verifier_info`). Absent (false) for every other relying party.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intermediary: bool,
}

/// GET /v1/admin/metering?from=YYYY-MM-DD&to=YYYY-MM-DD: billable events per relying party,
/// purpose, kind and UTC day (counts only: no claim values, no citizen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeteringReport {
    pub from: String,
    pub to: String,
    pub rows: Vec<MeteringRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeteringRow {
    pub client_id: String,
    pub purpose: String,
    /// `login`, `presentation_verification`, `chip_check`.
    pub kind: String,
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub count: u64,
}

/// GET /v1/status-list: a COSE_Sign1 by the police issuer over a CBOR map
/// `{list, issued_at, ttl, revoked: bitstring (zlib-compressed), suspended: bitstring}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListResponse {
    pub list: String,
    pub signed: B64,
}

/// GET /v1/account (device-signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountStatus {
    pub account_id: String,
    pub level: u8,
    pub state: AccountRemoteState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRemoteState {
    Active,
    Locked,
    /// This device's binding was revoked (another device activated the account).
    Revoked,
}

/// POST /v1/account/lock and /v1/account/unlock (device-signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLockRequest {
    pub client_request_id: String,
    /// Unlocking needs the citizen's consent over [`account_unlock_digest`]; locking does not
    /// (a lost phone must be lockable from the device key alone).
    #[serde(default)]
    pub consent: Option<ConsentProof>,
}

/// POST /v1/presentations/tokens (device-signed): registers an online token (`VNT2:...`) with
/// the citizen's consent before the wallet shows it; the backend redeems only registered tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRegistration {
    pub client_request_id: String,
    pub token: String,
    /// Consent over [`token_digest`].
    #[serde(default)]
    pub consent: Option<ConsentProof>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRegistered {
    pub expires_at: u64,
}

// ---------------------------------------------------------------------------------------------
// Citizen consent (docs/adr/0017): OPAQUE (RFC 9807), messages of `crate::consent::Suite`.

/// Consent logins started but not finished correctly, after which remote consent locks.
pub const MAX_CONSENT_FAILURES: u32 = 5;
/// Seconds a started consent login stays usable.
pub const CONSENT_LIFETIME: u64 = 120;

/// POST /v1/consent/register (device-signed): the OPAQUE `RegistrationUpload` of the passcode.
/// Accepted once per device binding; replacing it (passcode change) needs `consent` for
/// [`consent_action::PASSCODE_CHANGE`] over [`registration_digest`] of `upload`, from a login
/// started with a `registration_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRegister {
    pub client_request_id: String,
    pub upload: B64,
    #[serde(default)]
    pub consent: Option<ConsentProof>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRegistered {
    /// How many times this device's passcode was registered (1 after activation).
    pub generation: u32,
}

/// POST /v1/consent/start (device-signed): KE1 of a consent login. The backend counts the
/// attempt before it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentStart {
    pub client_request_id: String,
    /// OPAQUE `CredentialRequest` (KE1).
    pub credential_request: B64,
    /// For a passcode change: the new passcode's `RegistrationRequest`.
    #[serde(default)]
    pub registration_request: Option<B64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentStarted {
    pub consent_id: String,
    /// OPAQUE `CredentialResponse` (KE2).
    pub credential_response: B64,
    /// Attempts left before remote consent locks, should this one fail.
    pub attempts_left: u32,
    /// Unix seconds after which the login is void.
    pub expires_at: u64,
    /// The `RegistrationResponse` to `ConsentStart::registration_request`.
    #[serde(default)]
    pub registration_response: Option<B64>,
}

/// The citizen's consent to one action: the finished login and a MAC under its session key
/// over [`consent_input`]. Single use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentProof {
    pub consent_id: String,
    /// OPAQUE `CredentialFinalization` (KE3).
    pub finalization: B64,
    /// HMAC-SHA256(session key, [`consent_input`]).
    pub mac: B64,
}

/// The actions that need the citizen's consent.
pub mod consent_action {
    pub const SIGNING_AUTHORIZE: &str = "signing_authorize";
    pub const ACCOUNT_UNLOCK: &str = "account_unlock";
    pub const PRESENTATION_CREDENTIALS: &str = "presentation_credentials";
    pub const PRESENTATION_TOKEN: &str = "presentation_token";
    pub const CREDENTIAL_BATCH: &str = "credential_batch";
    pub const PASSCODE_CHANGE: &str = "passcode_change";
    /// An answer to the backend's own "Log in with e-ID" hub (docs/adr/0058).
    pub const HUB_RESPONSE: &str = "hub_response";
    /// A citizen submission of a record or a change (docs/adr/0057).
    pub const SUBMISSION: &str = "submission";
}

/// The form field of an answer to the backend's own hub ([`paths::OIDC_RESPONSE`]) that carries
/// the citizen's [`ConsentProof`] as JSON, beside the standard `response` (docs/adr/0058).
pub const HUB_CONSENT_FIELD: &str = "eid_consent";

/// What a consent MAC covers: the action and the SHA-256 of its exact parameters.
pub fn consent_input(action: &str, params_digest: &[u8]) -> Vec<u8> {
    format!("eid-consent-v1\n{action}\n{}", hex_lower(params_digest)).into_bytes()
}

/// HMAC-SHA256 under a consent login's session key over [`consent_input`].
pub fn consent_mac(session_key: &[u8], action: &str, params_digest: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, session_key);
    ring::hmac::sign(&key, &consent_input(action, params_digest))
        .as_ref()
        .to_vec()
}

/// Whether `mac` is [`consent_mac`] (compared in constant time).
pub fn consent_mac_ok(session_key: &[u8], action: &str, params_digest: &[u8], mac: &[u8]) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, session_key);
    ring::hmac::verify(&key, &consent_input(action, params_digest), mac).is_ok()
}

fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// Parameters of an account unlock: the account.
pub fn account_unlock_digest(account_id: &str) -> [u8; 32] {
    sha256_parts(&[account_id.as_bytes()])
}

/// Parameters of a presentation credential batch: the profile and the keys, in order.
pub fn presentation_credentials_digest(profile: &str, device_keys: &[B64]) -> [u8; 32] {
    let mut parts: Vec<&[u8]> = vec![profile.as_bytes()];
    parts.extend(device_keys.iter().map(|k| k.0.as_slice()));
    sha256_parts(&parts)
}

/// Parameters of a credential batch: the format, the type and the keys, in order.
pub fn credential_batch_digest(
    format: &str,
    credential_type: &str,
    device_keys: &[B64],
) -> [u8; 32] {
    let mut parts: Vec<&[u8]> = vec![format.as_bytes(), credential_type.as_bytes()];
    parts.extend(device_keys.iter().map(|k| k.0.as_slice()));
    sha256_parts(&parts)
}

/// Parameters of an online token registration: the token text.
pub fn token_digest(token: &str) -> [u8; 32] {
    sha256_parts(&[token.as_bytes()])
}

/// Parameters of a passcode change: the new `RegistrationUpload`.
pub fn registration_digest(upload: &[u8]) -> [u8; 32] {
    sha256_parts(&[upload])
}

/// Parameters of a remote signing authorisation: `crate::signing::authorization_input`.
pub fn signing_authorization_digest(authorization_input: &[u8]) -> [u8; 32] {
    sha256_parts(&[authorization_input])
}

/// Parameters of an answer to the hub (docs/adr/0058): the hub's session (`state`), the
/// request's nonce and client id (the KB-JWT's audience), and the SHA-256 of the exact
/// `response` (the JWE) posted.
pub fn hub_response_digest(state: &str, nonce: &str, client_id: &str, response: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let response = Sha256::digest(response.as_bytes());
    sha256_parts(&[
        state.as_bytes(),
        nonce.as_bytes(),
        client_id.as_bytes(),
        response.as_slice(),
    ])
}

/// GET /v1/dev/outbox?phone=PHONE, development mode only (404 otherwise): the SMS messages the
/// backend "sent" to PHONE, oldest first, so tests and `eid wallet activate` can read the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevOutbox {
    pub messages: Vec<DevSms>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevSms {
    pub phone: String,
    /// The 6-digit code the message carries.
    pub code: String,
    pub text: String,
    /// Unix seconds.
    pub sent_at: u64,
}

/// Headers of a device-signed request.
pub mod headers {
    pub const ACCOUNT: &str = "x-eid-account";
    /// Unix seconds; the backend accepts ±300 s.
    pub const TIMESTAMP: &str = "x-eid-timestamp";
    /// base64url DER ECDSA P-256/SHA-256 (low-S) by the device key over
    /// [`super::signing_input`].
    pub const SIGNATURE: &str = "x-eid-signature";
    /// A fresh random value per signed request ([`super::new_nonce`]): the backend refuses a
    /// state-changing request whose nonce it has seen (docs/adr/0020).
    pub const NONCE: &str = "x-eid-nonce";
    pub const REQUEST_ID: &str = "x-request-id";
    /// Verifier id on verifier-signed requests (instead of `x-eid-account`).
    pub const VERIFIER: &str = "x-eid-verifier";
}

/// Clock skew the backend tolerates on device-signed requests.
pub const MAX_SKEW_SECONDS: u64 = 300;

/// What the device signs: method, path with query, timestamp, nonce and SHA-256 of the body,
/// one per line, so a signature cannot be used for another request, nor (the nonce) the same
/// request twice.
pub fn signing_input(
    method: &str,
    path_and_query: &str,
    timestamp: u64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let body_hash = hex_lower(&Sha256::digest(body));
    format!(
        "eid-request-v2\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path_and_query,
        timestamp,
        nonce,
        body_hash
    )
    .into_bytes()
}

/// Nonce lengths the backend accepts, in characters of the base64url alphabet.
pub const NONCE_LENGTH: std::ops::RangeInclusive<usize> = 16..=64;

/// Whether `nonce` is one the backend accepts: 16 to 64 base64url characters.
pub fn is_valid_nonce(nonce: &str) -> bool {
    NONCE_LENGTH.contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A fresh nonce for one signed request: 16 random bytes as hex.
pub fn new_nonce() -> String {
    use eid_crypto::{OsRng, Rng};
    let mut b = [0u8; 16];
    OsRng.fill(&mut b);
    hex_lower(&b)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_travel_as_base64url() {
        let s = ActivationStarted {
            activation_id: "a".into(),
            chip_challenge: B64(vec![0xFB, 0xFF, 0]),
            expires_at: 5,
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"chip_challenge\":\"-_8A\""), "{text}");
        assert_eq!(serde_json::from_str::<ActivationStarted>(&text).unwrap(), s);
        assert!(serde_json::from_str::<B64>("\"@@\"").is_err());
    }

    /// A submission's Debug names its kind and sizes, never the fields, the attachment's bytes
    /// or the clerk's reason (docs/adr/0057); the attachment check knows each media type.
    #[test]
    fn submissions_debug_no_personal_data_and_attachments_are_checked() {
        let request = SubmissionRequest {
            client_request_id: "c".into(),
            kind: "vaccination".into(),
            fields: serde_json::json!({"doses": [{"facility": "Hôpital Saint-Louis"}]}),
            attachments: vec![SubmissionAttachment {
                media_type: "image/png".into(),
                content: B64(b"\x89PNG\r\n\x1a\nSECRET".to_vec()),
            }],
            consent: None,
        };
        let text = format!("{request:?}");
        assert!(
            text.contains("vaccination") && text.contains("image/png"),
            "{text}"
        );
        assert!(
            !text.contains("Saint-Louis") && !text.contains("SECRET"),
            "{text}"
        );
        let info = SubmissionInfo {
            id: "SUB-1".into(),
            kind: "residence".into(),
            authority: "police".into(),
            state: SubmissionState::Rejected,
            reason: Some("Nguyễn Văn An không có hợp đồng".into()),
            fields: vec![],
            attachments: 0,
            created_at: 0,
            decided_at: None,
        };
        assert!(!format!("{info:?}").contains("Nguyễn"));
        assert_eq!(attachment_refusal(&request.attachments), None);
        let mislabelled = SubmissionAttachment {
            media_type: "application/pdf".into(),
            content: B64(vec![0xFF, 0xD8, 0xFF]),
        };
        assert_eq!(
            attachment_refusal(&[mislabelled]).as_deref(),
            Some("attachment 1 is not a application/pdf file")
        );
    }

    #[test]
    fn errors_have_one_shape() {
        let e = ErrorBody {
            error: ApiError {
                code: ErrorCode::ChipEvidenceInvalid,
                message: "m".into(),
                request_id: "r".into(),
            },
        };
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["error"]["code"], "chip_evidence_invalid");
    }

    #[test]
    fn a_hub_answer_digest_covers_session_nonce_audience_and_response() {
        let d = hub_response_digest("s1", "n1", "x509_san_dns:hub", "jwe");
        assert_ne!(
            d,
            hub_response_digest("s2", "n1", "x509_san_dns:hub", "jwe")
        );
        assert_ne!(
            d,
            hub_response_digest("s1", "n2", "x509_san_dns:hub", "jwe")
        );
        assert_ne!(
            d,
            hub_response_digest("s1", "n1", "x509_san_dns:bank", "jwe")
        );
        assert_ne!(
            d,
            hub_response_digest("s1", "n1", "x509_san_dns:hub", "jwE")
        );
        assert_ne!(
            d,
            hub_response_digest("s", "1n1", "x509_san_dns:hub", "jwe")
        );
    }

    #[test]
    fn a_consent_mac_covers_key_action_and_parameters() {
        let d = token_digest("VNT2:abc");
        let mac = consent_mac(b"session", consent_action::PRESENTATION_TOKEN, &d);
        assert!(consent_mac_ok(
            b"session",
            consent_action::PRESENTATION_TOKEN,
            &d,
            &mac
        ));
        assert!(!consent_mac_ok(
            b"other",
            consent_action::PRESENTATION_TOKEN,
            &d,
            &mac
        ));
        assert!(!consent_mac_ok(
            b"session",
            consent_action::ACCOUNT_UNLOCK,
            &d,
            &mac
        ));
        let other = token_digest("VNT2:abd");
        assert!(!consent_mac_ok(
            b"session",
            consent_action::PRESENTATION_TOKEN,
            &other,
            &mac
        ));
        assert!(!consent_mac_ok(
            b"session",
            consent_action::PRESENTATION_TOKEN,
            &d,
            &mac[..31]
        ));
        // Length-prefixed parts: moving bytes between the profile and the keys changes it.
        assert_ne!(
            presentation_credentials_digest("ab", &[B64(b"c".to_vec())]),
            presentation_credentials_digest("a", &[B64(b"bc".to_vec())])
        );
    }

    #[test]
    fn signing_input_covers_every_part() {
        let n = "0123456789abcdef";
        let a = signing_input("get", "/v1/documents?since=3", 100, n, b"");
        assert_ne!(
            a,
            signing_input("GET", "/v1/documents?since=4", 100, n, b"")
        );
        assert_ne!(
            a,
            signing_input("GET", "/v1/documents?since=3", 101, n, b"")
        );
        assert_ne!(
            a,
            signing_input("GET", "/v1/documents?since=3", 100, n, b"x")
        );
        assert_ne!(
            a,
            signing_input("GET", "/v1/documents?since=3", 100, "0123456789abcdee", b"")
        );
        assert_eq!(
            a,
            signing_input("GET", "/v1/documents?since=3", 100, n, b"")
        );
    }

    #[test]
    fn nonces_are_fresh_and_accepted() {
        let (a, b) = (new_nonce(), new_nonce());
        assert_ne!(a, b);
        assert!(is_valid_nonce(&a) && is_valid_nonce(&b));
        for bad in [
            "",
            "short",
            "with space 012345",
            "ü0123456789abcdef",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_nonce(bad), "{bad}");
        }
    }
}
