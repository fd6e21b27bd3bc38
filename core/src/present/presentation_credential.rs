//! Presentation credentials: per-profile, single-use issuer credentials small enough for a QR
//! (docs/adr/0010).
//!
//! An untagged COSE_Sign1 (RFC 9052) with ES256. Protected header `{1: -7, 4: kid}` where `kid`
//! is [`crate::credential::trust::key_id`] of the issuer certificate (the verifier's trust list
//! holds the certificate; carrying it would triple the size). Unprotected header empty. Payload,
//! a CBOR map with integer keys:
//!
//! | key | value |
//! |---|---|
//! | 1 | profile code |
//! | 2 | serial, 8 random bytes |
//! | 3 | issued at (Unix seconds) |
//! | 4 | expires (Unix seconds, first invalid second) |
//! | 5 | the credential's own device key, SEC1 compressed P-256 point (33 bytes) |
//! | 6 | status list index of this credential |
//! | 7 | the profile's fields `{field key: value}` |
//!
//! Every credential has its own serial, device key and status index (drawn at random by the
//! backend), and its times are those of every credential issued that day (the start of the UTC
//! day), so two presentations of two credentials of a batch share nothing but the disclosed
//! values (docs/adr/0020). Signatures are low-S only ([`eid_crypto::es256`]).

use super::error::PresentError;
use super::profile::{Disclosed, Profile};
use crate::credential::trust::PreparedIssuer;
use crate::credential::{IssueError, IssuerKey, TrustList};
use ciborium::Value;
use eid_crypto::cose::{self, HeaderError, HeaderRules, Protected, Sign1, SignError, Tagging};
use p256::ecdsa::VerifyingKey;
use std::fmt;

/// Largest presentation credential accepted (the `full` profile is about 400 bytes).
pub const MAX_CREDENTIAL_BYTES: usize = 2048;

/// What an issuer puts in one presentation credential.
pub struct CredentialSpec<'a> {
    pub profile: Profile,
    pub fields: &'a Disclosed,
    /// The credential's device key (SEC1, compressed or not).
    pub device_key: &'a [u8],
    pub serial: [u8; 8],
    pub issued_at: u64,
    pub expires: u64,
    pub status_index: u32,
}

/// Signs a presentation credential. The issuer must be the one authorised for the profile's
/// source document (the verifier checks it).
pub fn issue(spec: &CredentialSpec<'_>, issuer: &IssuerKey) -> Result<Vec<u8>, IssueError> {
    if spec.issued_at >= spec.expires {
        return Err(IssueError::BadValidity);
    }
    let key = VerifyingKey::from_sec1_bytes(spec.device_key)
        .map_err(|_| IssueError::BadHolderKey)?
        .to_sec1_point(true);
    let payload = Value::Map(vec![
        (Value::from(1), Value::from(spec.profile.code())),
        (Value::from(2), Value::Bytes(spec.serial.to_vec())),
        (Value::from(3), Value::from(spec.issued_at)),
        (Value::from(4), Value::from(spec.expires)),
        (Value::from(5), Value::Bytes(key.as_bytes().to_vec())),
        (Value::from(6), Value::from(spec.status_index)),
        (Value::from(7), spec.fields.to_cbor()),
    ]);
    let mut encoded = Vec::new();
    ciborium::into_writer(&payload, &mut encoded).map_err(|_| IssueError::Encoding)?;
    let kid = issuer.kid();
    let protected = Protected {
        kid: Some(&kid),
        ..Protected::default()
    };
    cose::sign_es256(&protected, encoded, Tagging::Untagged, |tbs| {
        issuer.sign_raw(tbs)
    })
    .map_err(|e| match e {
        SignError::Signer(e) => e,
        SignError::Encoding => IssueError::Encoding,
    })
}

/// A presentation credential whose issuer signature, trust and validity were checked.
#[derive(Clone, PartialEq)]
pub struct PresentationCredential {
    pub profile: Profile,
    pub serial: [u8; 8],
    pub issued_at: u64,
    pub expires: u64,
    /// SEC1 uncompressed point.
    pub device_key: Vec<u8>,
    pub status_index: u32,
    pub fields: Disclosed,
    /// Issuer certificate subject (RFC 4514).
    pub issuer: String,
}

impl fmt::Debug for PresentationCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentationCredential")
            .field("profile", &self.profile)
            .field("expires", &self.expires)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

/// The unverified parts of a credential: for the wallet's routing and for the verifier's
/// individual checks.
pub(crate) struct Parsed {
    pub sign1: Sign1,
    pub kid: Vec<u8>,
    pub credential: PresentationCredential,
}

/// Decodes the structure (no signature or trust check).
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed, PresentError> {
    use PresentError::Malformed;
    if bytes.len() > MAX_CREDENTIAL_BYTES {
        return Err(Malformed("credential too large"));
    }
    let sign1 =
        Sign1::decode(bytes, Tagging::Untagged).ok_or(Malformed("credential is not COSE"))?;
    let rules = HeaderRules {
        content_type: None,
        other_parameters: false,
    };
    sign1.check_header(&rules).map_err(|e| {
        Malformed(match e {
            HeaderError::Algorithm => "credential algorithm",
            HeaderError::ContentType | HeaderError::Critical | HeaderError::OtherParameters => {
                "credential header"
            }
            HeaderError::Unprotected => "unprotected header is not empty",
        })
    })?;
    let kid = sign1.kid().to_vec();
    let payload = sign1.payload().ok_or(Malformed("credential payload"))?;
    let value = crate::credential::cbor_decode(payload).ok_or(Malformed("credential payload"))?;
    let entries = value.as_map().ok_or(Malformed("credential payload"))?;
    let get = |k: u8| {
        entries
            .iter()
            .find(|(key, _)| key.as_integer() == Some(k.into()))
            .map(|(_, v)| v)
    };
    if entries.len() != 7 || (1..=7).any(|k| get(k).is_none()) {
        return Err(Malformed("credential claims"));
    }
    let uint = |k: u8| {
        get(k)
            .and_then(Value::as_integer)
            .and_then(|i| u64::try_from(i).ok())
            .ok_or(Malformed("credential claims"))
    };
    let profile = Profile::from_code(uint(1)?).ok_or(Malformed("unknown profile"))?;
    let serial: [u8; 8] = get(2)
        .and_then(Value::as_bytes)
        .and_then(|b| b.as_slice().try_into().ok())
        .ok_or(Malformed("serial"))?;
    let device_key = get(5)
        .and_then(Value::as_bytes)
        .and_then(|b| VerifyingKey::from_sec1_bytes(b).ok())
        .ok_or(Malformed("device key"))?
        .to_sec1_point(false)
        .as_bytes()
        .to_vec();
    let status_index = u32::try_from(uint(6)?).map_err(|_| Malformed("status index"))?;
    let fields = get(7)
        .ok_or(Malformed("fields"))
        .and_then(|v| Disclosed::from_cbor(profile, v).map_err(Malformed))?;
    let credential = PresentationCredential {
        profile,
        serial,
        issued_at: uint(3)?,
        expires: uint(4)?,
        device_key,
        status_index,
        fields,
        issuer: String::new(),
    };
    Ok(Parsed {
        sign1,
        kid,
        credential,
    })
}

impl Parsed {
    /// Issuer signature, issuer trust (chain, validity, authorised for the profile's source
    /// document) and the credential's own validity at `now`.
    pub(crate) fn check(
        self,
        trust: &TrustList,
        now: u64,
    ) -> Result<PresentationCredential, PresentError> {
        let issuer = trust
            .prepared_issuer(&self.kid)
            .ok_or(PresentError::UnknownIssuer)?;
        self.check_with(std::slice::from_ref(&issuer), now)
    }

    /// [`Parsed::check`] with issuers prepared beforehand (a verifier device's trust list).
    pub(crate) fn check_with(
        mut self,
        issuers: &[PreparedIssuer],
        now: u64,
    ) -> Result<PresentationCredential, PresentError> {
        let issuer = issuers
            .iter()
            .find(|i| i.kid.as_slice() == self.kid.as_slice())
            .ok_or(PresentError::UnknownIssuer)?;
        if !self.sign1.verify_es256(&issuer.point) {
            return Err(PresentError::BadIssuerSignature);
        }
        issuer
            .check(self.credential.profile.source(), now)
            .map_err(|_| PresentError::UntrustedIssuer)?;
        let c = &mut self.credential;
        if now < c.issued_at.saturating_sub(crate::api::MAX_SKEW_SECONDS) {
            return Err(PresentError::CredentialNotYetValid);
        }
        if now >= c.expires {
            return Err(PresentError::CredentialExpired);
        }
        c.issuer = issuer.subject.clone();
        Ok(self.credential)
    }
}

/// Parses and checks a presentation credential.
pub fn verify(
    bytes: &[u8],
    trust: &TrustList,
    now: u64,
) -> Result<PresentationCredential, PresentError> {
    parse(bytes)?.check(trust, now)
}

/// For benchmarks: the credential's bare issuer signature check (COSE Sig_structure, key and
/// signature prepared beforehand), to compare [`verify`] and the verifier against.
pub fn bare_verifications(
    bytes: &[u8],
    trust: &TrustList,
) -> Result<impl Fn() -> bool, PresentError> {
    let parsed = parse(bytes)?;
    let point = trust
        .prepared_issuer(&parsed.kid)
        .ok_or(PresentError::UnknownIssuer)?
        .point;
    let tbs = parsed.sign1.tbs();
    let signature = parsed.sign1.signature().to_vec();
    Ok(move || eid_crypto::es256::verify_raw(&point, &tbs, &signature))
}
