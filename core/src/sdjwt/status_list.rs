//! The IETF Token Status List (draft-ietf-oauth-status-list), JWT form: a `statuslist+jwt`
//! whose `status_list` is `{bits, lst}`, `lst` the base64url of the zlib-deflated byte array in
//! which the status of index `i` takes `bits` bits starting at bit `(i * bits) % 8` of byte
//! `i * bits / 8`, least significant first. A credential names its entry in
//! `status.status_list {idx, uri}`. The zlib is miniz_oxide, as for our COSE status list.

use super::error::SdJwtError;
use super::issuer_key::IssuerKey;
use super::jws::{self, Es256Signer, Jws, b64, unb64};
use serde_json::{Map, Value, json};

/// Largest inflated list accepted (2^27 one-bit entries), as for our COSE status list.
const MAX_BYTES: usize = 16 * 1024 * 1024;

/// Status values the draft defines (§7.1); others are application-specific.
pub const VALID: u8 = 0;
pub const INVALID: u8 = 1;
pub const SUSPENDED: u8 = 2;

/// A status list: `bits` per entry (1, 2, 4 or 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of `len` entries, all 0 (valid).
    pub fn new(bits: u8, len: usize) -> Result<StatusList, SdJwtError> {
        if ![1, 2, 4, 8].contains(&bits) {
            return Err(SdJwtError::StatusList("bits not 1, 2, 4 or 8"));
        }
        let total = len
            .checked_mul(usize::from(bits))
            .map(|b| b.div_ceil(8))
            .filter(|b| *b <= MAX_BYTES)
            .ok_or(SdJwtError::StatusList("too long"))?;
        Ok(StatusList {
            bits,
            bytes: vec![0; total],
        })
    }

    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The byte array as the draft lays it out.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Entries the list holds.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8 / usize::from(self.bits)
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn place(&self, index: u64) -> Option<(usize, u32, u8)> {
        let bit = index.checked_mul(u64::from(self.bits))?;
        let byte = usize::try_from(bit / 8).ok()?;
        self.bytes.get(byte)?;
        let mask = u8::try_from((1u16 << self.bits) - 1).ok()?;
        Some((byte, u32::try_from(bit % 8).ok()?, mask))
    }

    /// The status of entry `index`; `None` when the list does not reach it (fail closed).
    pub fn get(&self, index: u64) -> Option<u8> {
        let (byte, shift, mask) = self.place(index)?;
        Some((self.bytes.get(byte)? >> shift) & mask)
    }

    /// Sets entry `index`; false when the list does not reach it or the value does not fit.
    pub fn set(&mut self, index: u64, status: u8) -> bool {
        let Some((byte, shift, mask)) = self.place(index) else {
            return false;
        };
        if status & !mask != 0 {
            return false;
        }
        match self.bytes.get_mut(byte) {
            Some(b) => {
                *b = (*b & !(mask << shift)) | (status << shift);
                true
            }
            None => false,
        }
    }

    /// The zlib-deflated byte array: `lst` of both forms (base64url in JSON, a bstr in CBOR).
    pub fn compressed(&self) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec_zlib(&self.bytes, 9)
    }

    /// A list from `bits` and its zlib-deflated byte array, inflated to at most 16 MiB.
    pub fn from_compressed(bits: u8, z: &[u8]) -> Result<StatusList, SdJwtError> {
        use SdJwtError::StatusList as Bad;
        if ![1, 2, 4, 8].contains(&bits) {
            return Err(Bad("bits"));
        }
        let bytes = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(z, MAX_BYTES)
            .map_err(|_| Bad("lst does not inflate"))?;
        Ok(StatusList { bits, bytes })
    }

    /// `{"bits": n, "lst": base64url(zlib(bytes))}`.
    pub fn to_json(&self) -> Value {
        json!({"bits": self.bits, "lst": b64(&self.compressed())})
    }

    /// Reads `{"bits", "lst"}`.
    pub fn from_json(value: &Value) -> Result<StatusList, SdJwtError> {
        use SdJwtError::StatusList as Bad;
        let bits = value
            .get("bits")
            .and_then(Value::as_u64)
            .and_then(|b| u8::try_from(b).ok())
            .filter(|b| [1, 2, 4, 8].contains(b))
            .ok_or(Bad("bits"))?;
        let z = value
            .get("lst")
            .and_then(Value::as_str)
            .and_then(unb64)
            .ok_or(Bad("lst"))?;
        StatusList::from_compressed(bits, &z)
    }

    /// Signs the list as a `statuslist+jwt` for `claims.uri` (its `sub`), with the signer's
    /// certificate chain (DER, leaf first; may be empty) in `x5c`.
    pub fn sign_jwt(
        &self,
        claims: &StatusListClaims<'_>,
        x5c: &[Vec<u8>],
        signer: &dyn Es256Signer,
    ) -> Result<String, SdJwtError> {
        let header = jws::header("statuslist+jwt", x5c);
        let mut payload = Map::new();
        payload.insert("sub".into(), claims.uri.into());
        payload.insert("iat".into(), claims.issued_at.into());
        if let Some(exp) = claims.expires_at {
            payload.insert("exp".into(), exp.into());
        }
        if let Some(ttl) = claims.ttl {
            payload.insert("ttl".into(), ttl.into());
        }
        payload.insert("status_list".into(), self.to_json());
        jws::sign(header, &payload, signer)
    }

    /// Verifies a `statuslist+jwt` fetched from `uri`: typ, signature, `sub` equal to the URI
    /// the credential named, `exp` not passed; gives the list.
    pub fn from_jwt(
        jwt: &str,
        uri: &str,
        issuer: IssuerKey<'_>,
        now: u64,
    ) -> Result<StatusList, SdJwtError> {
        use SdJwtError::StatusList as Bad;
        let jws = Jws::parse(jwt)?;
        if jws.typ() != Some("statuslist+jwt") {
            return Err(Bad("typ"));
        }
        let point = issuer.resolve(&jws.header, now)?;
        jws.verify(&point)?;
        if jws.payload.get("sub").and_then(Value::as_str) != Some(uri) {
            return Err(Bad("sub is not the referenced uri"));
        }
        match jws.payload.get("exp") {
            None => {}
            Some(exp) if exp.as_u64().is_some_and(|e| now < e) => {}
            Some(_) => return Err(SdJwtError::Expired("status list exp")),
        }
        StatusList::from_json(jws.payload.get("status_list").ok_or(Bad("status_list"))?)
    }
}

/// The claims of a status list token besides the list.
pub struct StatusListClaims<'a> {
    pub uri: &'a str,
    pub issued_at: u64,
    pub expires_at: Option<u64>,
    pub ttl: Option<u64>,
}

/// A credential's entry: `status.status_list {idx, uri}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReference {
    pub idx: u64,
    pub uri: String,
}

impl StatusReference {
    /// The reference in a credential's (processed) claims, if it has one.
    pub fn from_claims(claims: &Map<String, Value>) -> Option<StatusReference> {
        let entry = claims.get("status")?.get("status_list")?;
        Some(StatusReference {
            idx: entry.get("idx")?.as_u64()?,
            uri: entry.get("uri")?.as_str()?.to_owned(),
        })
    }

    /// `{"status_list": {"idx", "uri"}}`, the value of a credential's `status` claim.
    pub fn to_claim(&self) -> Value {
        json!({"status_list": {"idx": self.idx, "uri": self.uri}})
    }
}
