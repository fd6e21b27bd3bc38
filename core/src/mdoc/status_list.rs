//! The IETF Token Status List for mdocs (draft-ietf-oauth-status-list): the MSO's reference
//! `status: {status_list: {idx, uri}}`, and the Status List Token in its CWT form — a COSE_Sign1
//! with `typ` (16) `application/statuslist+cwt` over the claims `sub` (2, the list's URI), `iat`
//! (6), `exp` (4), `ttl` (65534) and `status_list` (65533) `{bits, lst}`, `lst` the zlib-deflated
//! byte array. The bit packing is the JWT form's (`sdjwt::StatusList`), written once.
//!
//! The token is signed by a document signer (x5chain in the protected header), so a reader
//! checks it against the IACAs it already trusts for MSOs. [`StatusListCache`] keeps what was
//! fetched for its `ttl`.

use super::cbor;
use super::error::{CheckError, MdocError};
use super::mso::MobileSecurityObject;
use super::reader_session::ReaderOutcome;
use super::signature::{certificate_key, verify_sign1};
use crate::sdjwt::StatusList;
use ciborium::Value;
use eid_crypto::cose::{Protected, Sign1, SignError, Tagging, sign_es256, x5chain_leaf};
use eid_crypto::trust::TrustStore;
use eid_crypto::x509::SignerCertificate;
use std::collections::HashMap;

/// The `typ` of a Status List Token in CWT form.
pub const STATUS_LIST_CWT_TYP: &str = "application/statuslist+cwt";
/// The media type it is served with.
pub const STATUS_LIST_CWT_MEDIA_TYPE: &str = "application/statuslist+cwt";

const SUB: i64 = 2;
const EXP: i64 = 4;
const IAT: i64 = 6;
const TTL: i64 = 65534;
const STATUS_LIST: i64 = 65533;

/// An MSO's entry in a status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsoStatus {
    pub idx: u64,
    pub uri: String,
}

impl MsoStatus {
    /// `{"status_list": {"idx": uint, "uri": tstr}}`.
    pub(crate) fn to_value(&self) -> Value {
        Value::Map(vec![(
            Value::from("status_list"),
            Value::Map(vec![
                (Value::from("idx"), Value::from(self.idx)),
                (Value::from("uri"), Value::from(self.uri.as_str())),
            ]),
        )])
    }

    pub(crate) fn from_value(value: &Value) -> Result<MsoStatus, MdocError> {
        const WHAT: &str = "status";
        let m = cbor::map(value, WHAT)?;
        let entry = cbor::map(
            cbor::get(m, "status_list").ok_or(MdocError::Structure(WHAT))?,
            WHAT,
        )?;
        Ok(MsoStatus {
            idx: cbor::uint(cbor::get(entry, "idx"), WHAT)?,
            uri: cbor::text(cbor::get(entry, "uri"), WHAT)?.to_owned(),
        })
    }
}

/// The claims of a Status List Token besides the list.
#[derive(Debug, Clone, Copy)]
pub struct StatusListCwtClaims<'a> {
    pub uri: &'a str,
    pub issued_at: u64,
    pub expires_at: Option<u64>,
    pub ttl: Option<u64>,
}

/// Signs `list` as a Status List Token (CWT, tagged COSE_Sign1), by the key whose certificate
/// is `signer` (DER); `sign` returns r || s over the Sig_structure.
pub fn sign_status_list_cwt<E>(
    list: &StatusList,
    claims: &StatusListCwtClaims<'_>,
    signer: &[u8],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, SignError<E>> {
    let mut payload = vec![
        (Value::from(SUB), Value::from(claims.uri)),
        (Value::from(IAT), Value::from(claims.issued_at)),
    ];
    if let Some(exp) = claims.expires_at {
        payload.push((Value::from(EXP), Value::from(exp)));
    }
    if let Some(ttl) = claims.ttl {
        payload.push((Value::from(TTL), Value::from(ttl)));
    }
    payload.push((
        Value::from(STATUS_LIST),
        Value::Map(vec![
            (Value::from("bits"), Value::from(list.bits())),
            (Value::from("lst"), Value::Bytes(list.compressed())),
        ]),
    ));
    let protected = Protected {
        typ: Some(STATUS_LIST_CWT_TYP),
        x5chain: Some(signer),
        ..Protected::default()
    };
    sign_es256(
        &protected,
        cbor::encode(&Value::Map(payload)),
        Tagging::Tagged,
        sign,
    )
}

/// A Status List Token that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStatusList {
    pub list: StatusList,
    pub issued_at: u64,
    pub expires_at: Option<u64>,
    pub ttl: Option<u64>,
}

fn int_claim(m: &[(Value, Value)], key: i64) -> Result<Option<u64>, CheckError> {
    match cbor::get_int(m, key) {
        None => Ok(None),
        Some(v) => Ok(Some(cbor::uint(Some(v), "status list token")?)),
    }
}

/// Verifies a Status List Token fetched from `uri`: typ, a signature (any algorithm of
/// [`super::signature`]) by a document
/// signer issued by one of `iacas` (both valid now), `sub` equal to `uri`, `exp` not passed.
pub fn verify_status_list_cwt(
    bytes: &[u8],
    uri: &str,
    iacas: &TrustStore,
    now: u64,
) -> Result<VerifiedStatusList, CheckError> {
    let bad = CheckError::StatusList;
    // draft-ietf-oauth-status-list §5.2: a Status List Token in CWT form is a tagged
    // COSE_Sign1 (tag 18); an untagged one is not a conforming token.
    let sign1 = Sign1::decode(bytes, Tagging::Tagged).ok_or(bad.clone())?;
    if sign1.typ() != Some(STATUS_LIST_CWT_TYP) {
        return Err(bad);
    }
    let der = sign1.x5chain().and_then(x5chain_leaf).ok_or(bad.clone())?;
    let signer = SignerCertificate::from_der(der).map_err(|_| bad.clone())?;
    let iaca = iacas
        .issuer_of(&signer)
        .ok_or(CheckError::UntrustedIssuer)?;
    let key = certificate_key(&signer.certificate).ok_or(bad.clone())?;
    verify_sign1(&sign1, &key, None).map_err(|_| bad.clone())?;
    let within = |c: &x509_cert::Certificate| {
        let v = c.tbs_certificate().validity();
        v.not_before.to_unix_duration().as_secs() <= now
            && now <= v.not_after.to_unix_duration().as_secs()
    };
    if !within(&signer.certificate) || !within(iaca) {
        return Err(CheckError::CertificateExpired);
    }
    let claims = parse_status_list_cwt_payload(sign1.payload().ok_or(bad.clone())?)?;
    if claims.sub != uri {
        return Err(bad);
    }
    if claims.expires_at.is_some_and(|e| now >= e) {
        return Err(bad);
    }
    Ok(VerifiedStatusList {
        list: claims.list,
        issued_at: claims.issued_at,
        expires_at: claims.expires_at,
        ttl: claims.ttl,
    })
}

/// The `sub` (the URI it is served at) of a Status List Token, read without checking anything:
/// to pick, among lists saved for a desk without network, the one an MSO names (the list is
/// then verified like a fetched one).
pub fn status_list_cwt_subject(bytes: &[u8]) -> Option<String> {
    let sign1 = Sign1::decode(bytes, Tagging::Tagged)?;
    Some(parse_status_list_cwt_payload(sign1.payload()?).ok()?.sub)
}

/// The claims set of a Status List Token (the COSE_Sign1 payload), read for its form only:
/// `sub` (2), `iat` (6), `exp` (4), `ttl` (65534) and `status_list` (65533). Nothing here is
/// trusted until [`verify_status_list_cwt`] has checked the signature, `sub` and `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListCwtPayload {
    pub sub: String,
    pub list: StatusList,
    pub issued_at: u64,
    pub expires_at: Option<u64>,
    pub ttl: Option<u64>,
}

/// Reads a Status List Token's claims set (CBOR map with integer keys); `sub`, `iat` and
/// `status_list` are required. Never panics on hostile input.
pub fn parse_status_list_cwt_payload(payload: &[u8]) -> Result<StatusListCwtPayload, CheckError> {
    let bad = CheckError::StatusList;
    let payload = cbor::decode(payload)?;
    let m = cbor::map(&payload, "status list token")?;
    let sub = cbor::get_int(m, SUB)
        .and_then(Value::as_text)
        .ok_or(bad.clone())?
        .to_owned();
    let issued_at = int_claim(m, IAT)?.ok_or(bad.clone())?;
    let expires_at = int_claim(m, EXP)?;
    let ttl = int_claim(m, TTL)?;
    let sl = cbor::map(
        cbor::get_int(m, STATUS_LIST).ok_or(bad.clone())?,
        "status_list",
    )?;
    let bits = cbor::uint(cbor::get(sl, "bits"), "status_list")?;
    let lst = cbor::bytes(cbor::get(sl, "lst"), "status_list")?;
    let list = StatusList::from_compressed(u8::try_from(bits).map_err(|_| bad.clone())?, lst)
        .map_err(|_| bad)?;
    Ok(StatusListCwtPayload {
        sub,
        list,
        issued_at,
        expires_at,
        ttl,
    })
}

/// The status of a verified MSO in `list` (the list it names): valid, or why not. An MSO
/// without a status reference passes; an index past the list's end fails closed.
pub fn check_status(mso: &MobileSecurityObject, list: &StatusList) -> Result<(), CheckError> {
    let Some(status) = &mso.status else {
        return Ok(());
    };
    match list.get(status.idx) {
        Some(crate::sdjwt::VALID) => Ok(()),
        Some(crate::sdjwt::SUSPENDED) => Err(CheckError::Suspended),
        Some(_) => Err(CheckError::Revoked),
        None => Err(CheckError::StatusList),
    }
}

/// Status lists already fetched and verified, by URI, each used until its `ttl` (or
/// [`StatusListCache::DEFAULT_TTL`]) has passed since it was fetched, and never past its `exp`.
#[derive(Debug, Default)]
pub struct StatusListCache {
    lists: HashMap<String, (VerifiedStatusList, u64)>,
}

impl StatusListCache {
    /// How long a list without `ttl` is kept (seconds).
    pub const DEFAULT_TTL: u64 = 300;

    pub fn new() -> StatusListCache {
        StatusListCache::default()
    }

    /// The list at `uri`: from the cache while fresh, otherwise `fetch(uri)` and verified.
    pub fn get<E>(
        &mut self,
        uri: &str,
        iacas: &TrustStore,
        now: u64,
        fetch: impl FnOnce(&str) -> Result<Vec<u8>, E>,
    ) -> Result<&StatusList, CheckError> {
        let fresh = self.lists.get(uri).is_some_and(|(l, fetched)| {
            now < fetched.saturating_add(l.ttl.unwrap_or(Self::DEFAULT_TTL))
                && l.expires_at.is_none_or(|e| now < e)
        });
        if !fresh {
            let bytes = fetch(uri).map_err(|_| CheckError::StatusList)?;
            let verified = verify_status_list_cwt(&bytes, uri, iacas, now)?;
            self.lists.insert(uri.to_owned(), (verified, now));
        }
        self.lists
            .get(uri)
            .map(|(l, _)| &l.list)
            .ok_or(CheckError::StatusList)
    }

    /// Checks a verified MSO's status (`VerifiedDocument::mso`, `IssuerVerified::mso`), fetching
    /// its list through the cache when it names one.
    pub fn check<E>(
        &mut self,
        mso: &MobileSecurityObject,
        iacas: &TrustStore,
        now: u64,
        fetch: impl FnOnce(&str) -> Result<Vec<u8>, E>,
    ) -> Result<(), CheckError> {
        let Some(status) = &mso.status else {
            return Ok(());
        };
        let uri = status.uri.clone();
        let list = self.get(&uri, iacas, now, fetch)?;
        check_status(mso, list)
    }

    /// A reader's outcome with the status of every verified document checked: a revoked or
    /// suspended MSO, or a list that cannot be fetched or verified, turns the response into
    /// that failure (a desk then shows it as not valid, with the reason).
    pub fn check_outcome<E>(
        &mut self,
        outcome: ReaderOutcome,
        iacas: &TrustStore,
        now: u64,
        mut fetch: impl FnMut(&str) -> Result<Vec<u8>, E>,
    ) -> ReaderOutcome {
        let ReaderOutcome::Response(Ok(docs)) = outcome else {
            return outcome;
        };
        for d in &docs {
            if let Err(e) = self.check(&d.mso, iacas, now, &mut fetch) {
                return ReaderOutcome::Response(Err(e));
            }
        }
        ReaderOutcome::Response(Ok(docs))
    }
}
