//! Lists the backend signs as the police issuer (the status list, the relying-party registry):
//! a COSE_Sign1 with the signer's certificate in `x5chain`, checked against the trust list as an
//! issuer authorised for identity documents. The caller reads the payload.

use crate::credential::{DocumentKind, TrustList};
use ciborium::Value;
use der::Decode;
use eid_crypto::cose::{Sign1, Tagging};
use eid_crypto::x509::{SignerCertificate, p256_point};
use x509_cert::Certificate;

/// Largest signed list accepted.
const MAX_SIGNED: usize = 4 * 1024 * 1024;

/// Why a signed list was refused before its payload was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignedListError {
    Malformed(&'static str),
    BadSignature,
    Untrusted,
}

/// The payload of `signed` once its signature and signer check out at `now`.
pub(crate) fn police_signed_payload(
    signed: &[u8],
    trust: &TrustList,
    now: u64,
) -> Result<Vec<u8>, SignedListError> {
    use SignedListError::Malformed;
    if signed.len() > MAX_SIGNED {
        return Err(Malformed("too large"));
    }
    let sign1 = Sign1::decode(signed, Tagging::Tagged).ok_or(Malformed("not COSE"))?;
    let der = sign1
        .x5chain()
        .and_then(Value::as_bytes)
        .ok_or(Malformed("x5chain"))?;
    let certificate = Certificate::from_der(der).map_err(|_| Malformed("certificate"))?;
    let point = p256_point(&certificate).ok_or(Malformed("signer key"))?;
    if !sign1.verify_es256(&point) {
        return Err(SignedListError::BadSignature);
    }
    let signer = SignerCertificate {
        der: der.clone(),
        certificate,
    };
    trust
        .check(&signer, DocumentKind::Identity, now)
        .map_err(|_| SignedListError::Untrusted)?;
    sign1
        .payload()
        .map(<[u8]>::to_vec)
        .ok_or(Malformed("payload"))
}
