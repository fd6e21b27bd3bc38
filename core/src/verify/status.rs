//! The backend's status list (`GET /v1/status-list`): a COSE_Sign1 by the police issuer over
//! `{list, issued_at, ttl, revoked, suspended}` with zlib-compressed bitstrings, bit `i` of
//! byte `i / 8` least significant first (as in the IETF Token Status List draft).

use super::signed_list::{SignedListError, police_signed_payload};
use crate::credential::TrustList;
use ciborium::Value;
use thiserror::Error;

const MAX_BITS_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StatusListError {
    #[error("status list malformed: {0}")]
    Malformed(&'static str),
    #[error("status list signature does not verify")]
    BadSignature,
    #[error("status list signer is not trusted")]
    Untrusted,
}

impl From<SignedListError> for StatusListError {
    fn from(e: SignedListError) -> Self {
        match e {
            SignedListError::Malformed(m) => StatusListError::Malformed(m),
            SignedListError::BadSignature => StatusListError::BadSignature,
            SignedListError::Untrusted => StatusListError::Untrusted,
        }
    }
}

/// What the list says of one credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Valid,
    Revoked,
    Suspended,
    /// The index lies outside the list's bitstrings: the list says nothing about this
    /// credential, so a verifier must not accept it (fail closed).
    Unknown,
}

/// A checked status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    pub list: String,
    pub issued_at: u64,
    pub ttl: u64,
    revoked: Vec<u8>,
    suspended: Vec<u8>,
}

/// Bit `index`, or `None` when the bitstring is too short to hold it.
fn bit(bits: &[u8], index: u32) -> Option<bool> {
    let i = usize::try_from(index).ok()?;
    bits.get(i / 8).map(|b| b & (1 << (i % 8)) != 0)
}

impl StatusList {
    /// Checks the signature (an issuer authorised for identity documents, chaining to the trust
    /// list) and decodes the bitstrings.
    pub fn from_signed(
        signed: &[u8],
        trust: &TrustList,
        now: u64,
    ) -> Result<StatusList, StatusListError> {
        use StatusListError::Malformed;
        let payload = police_signed_payload(signed, trust, now)?;
        let payload = payload.as_slice();
        let value = crate::credential::cbor_decode(payload).ok_or(Malformed("payload"))?;
        let map = value.as_map().ok_or(Malformed("payload"))?;
        let get = |k: &str| {
            map.iter()
                .find(|(key, _)| key.as_text() == Some(k))
                .map(|(_, v)| v)
        };
        let uint = |k: &str| {
            get(k)
                .and_then(Value::as_integer)
                .and_then(|i| u64::try_from(i).ok())
                .ok_or(Malformed("header fields"))
        };
        let bits = |k: &str| -> Result<Vec<u8>, StatusListError> {
            let z = get(k)
                .and_then(Value::as_bytes)
                .ok_or(Malformed("bitstring"))?;
            miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(z, MAX_BITS_BYTES)
                .map_err(|_| Malformed("bitstring"))
        };
        Ok(StatusList {
            list: get("list")
                .and_then(Value::as_text)
                .ok_or(Malformed("list"))?
                .to_owned(),
            issued_at: uint("issued_at")?,
            ttl: uint("ttl")?,
            revoked: bits("revoked")?,
            suspended: bits("suspended")?,
        })
    }

    /// The status of entry `index`; [`Status::Unknown`] when either bitstring does not reach
    /// it (a list shorter than the credential's index cannot vouch for it).
    pub fn status(&self, index: u32) -> Status {
        match (bit(&self.revoked, index), bit(&self.suspended, index)) {
            (Some(true), _) => Status::Revoked,
            (Some(false), Some(true)) => Status::Suspended,
            (Some(false), Some(false)) => Status::Valid,
            _ => Status::Unknown,
        }
    }

    /// Seconds since the backend made the list.
    pub fn age(&self, now: u64) -> u64 {
        now.saturating_sub(self.issued_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(revoked: Vec<u8>, suspended: Vec<u8>) -> StatusList {
        StatusList {
            list: "l".into(),
            issued_at: 0,
            ttl: 300,
            revoked,
            suspended,
        }
    }

    #[test]
    fn an_index_beyond_either_bitstring_is_unknown() {
        let l = list(vec![0b0000_0010, 0], vec![0b0000_0100]);
        assert_eq!(l.status(0), Status::Valid);
        assert_eq!(l.status(1), Status::Revoked);
        assert_eq!(l.status(2), Status::Suspended);
        assert_eq!(l.status(7), Status::Valid);
        // Covered by `revoked` but not by `suspended`, then by neither.
        assert_eq!(l.status(8), Status::Unknown);
        assert_eq!(l.status(16), Status::Unknown);
        assert_eq!(l.status(u32::MAX), Status::Unknown);
        assert_eq!(list(Vec::new(), Vec::new()).status(0), Status::Unknown);
    }
}
