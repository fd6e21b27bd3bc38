//! Bank eKYC by chip (docs/adr/0054): the result the backend signs when a relying party sends
//! chip evidence read at its own desk. A COSE_Sign1 by the police issuer over the JSON of
//! [`EkycResult`], checked like the status list (an issuer authorised for identity documents,
//! chaining to the trust list), then matched against what the desk asked: its relying party,
//! its challenge.

use super::signed_list::{SignedListError, police_signed_payload};
use crate::api::EkycResult;
use crate::credential::TrustList;
use thiserror::Error;

/// The `result` of every eKYC result this backend signs.
pub const EKYC_RESULT_URI: &str = "urn:vn-eid:backend:ekyc-result:1";
/// COSE content type of a signed eKYC result.
pub const EKYC_RESULT_CONTENT_TYPE: &str = "application/vnd.vn-eid.ekyc-result+json";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EkycResultError {
    #[error("eKYC result malformed: {0}")]
    Malformed(&'static str),
    #[error("eKYC result signature does not verify")]
    BadSignature,
    #[error("eKYC result signer is not trusted")]
    Untrusted,
    #[error("eKYC result is for another relying party, purpose or challenge")]
    NotOurs,
}

impl From<SignedListError> for EkycResultError {
    fn from(e: SignedListError) -> Self {
        match e {
            SignedListError::Malformed(m) => EkycResultError::Malformed(m),
            SignedListError::BadSignature => EkycResultError::BadSignature,
            SignedListError::Untrusted => EkycResultError::Untrusted,
        }
    }
}

/// What the desk asked for: the result must name exactly these.
#[derive(Debug, Clone, Copy)]
pub struct EkycExpected<'a> {
    pub rp_id: &'a str,
    pub purpose: &'a str,
    pub challenge_id: &'a str,
    pub challenge: &'a [u8],
}

/// Checks the signature and the signer's chain against `trust` at `now`, then reads the
/// statement: its URI, a genuine chip, and the relying party, purpose and challenge the desk
/// expects (a result for another desk or an older challenge is refused).
pub fn check_result(
    signed: &[u8],
    trust: &TrustList,
    now: u64,
    expected: &EkycExpected<'_>,
) -> Result<EkycResult, EkycResultError> {
    use EkycResultError::Malformed;
    let payload = police_signed_payload(signed, trust, now)?;
    let result: EkycResult = serde_json::from_slice(&payload).map_err(|_| Malformed("payload"))?;
    if result.result != EKYC_RESULT_URI {
        return Err(Malformed("not an eKYC result"));
    }
    if !result.genuine {
        return Err(Malformed("not genuine"));
    }
    if result.rp_id != expected.rp_id
        || result.purpose != expected.purpose
        || result.challenge_id != expected.challenge_id
        || !eid_crypto::ct_eq(&result.challenge.0, expected.challenge)
    {
        return Err(EkycResultError::NotOurs);
    }
    Ok(result)
}
