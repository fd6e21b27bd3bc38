//! COSE_Sign1 (RFC 9052 §4.2) with ES256 (RFC 9053 §2.1), the one place that signs and checks
//! them: issuer credentials, presentation credentials and the status list.
//!
//! Signing takes the key as a closure (a key in memory or on a token); the signature is r || s,
//! low-S ([`crate::es256`]). Checking is split so each format keeps its own rules and error
//! messages: decode, [`Sign1::check_header`], [`Sign1::verify_es256`] with the signer's point.
//!
//! ISO/IEC 18013-5 (mdoc) adds three forms, checked here too so COSE stays in one place: the
//! x5chain in the *unprotected* header ([`Sign1::unprotected_x5chain`]), detached payloads
//! ([`Sign1::verify_with`], [`sign_es256_unprotected_x5chain`]) and COSE_Mac0 with HMAC 256/256
//! ([`Mac0`]).

use crate::es256;
use ciborium::Value;
use coset::{
    CborSerializable, CoseMac0, CoseSign1, CoseSign1Builder, HeaderBuilder, Label,
    RegisteredLabelWithPrivate, TaggedCborSerializable, iana,
};

/// RFC 9360 §2: the x5chain header parameter.
pub const X5CHAIN: i64 = iana::HeaderParameter::X5Chain as i64;

/// Whether the CBOR carries the COSE_Sign1 tag (18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagging {
    Tagged,
    Untagged,
}

/// The protected header of a COSE_Sign1 to sign: `alg` is always ES256; the rest optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct Protected<'a> {
    /// `content type` (3), as text.
    pub content_type: Option<&'a str>,
    /// `kid` (4).
    pub kid: Option<&'a [u8]>,
    /// `x5chain` (33) as one certificate (DER).
    pub x5chain: Option<&'a [u8]>,
    /// `typ` (16, RFC 9596), as text: the media type of the whole COSE object.
    pub typ: Option<&'a str>,
}

/// RFC 9596 §2: the `typ` header parameter.
pub const TYP: i64 = 16;

/// Why signing failed: the signer's own error, or encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError<E> {
    Signer(E),
    Encoding,
}

/// Signs `payload` as a COSE_Sign1 with ES256; `sign` gets the Sig_structure and returns r || s.
pub fn sign_es256<E>(
    protected: &Protected<'_>,
    payload: Vec<u8>,
    tagging: Tagging,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, SignError<E>> {
    let mut header = HeaderBuilder::new().algorithm(iana::Algorithm::ES256);
    if let Some(content_type) = protected.content_type {
        header = header.content_type(content_type.to_owned());
    }
    if let Some(kid) = protected.kid {
        header = header.key_id(kid.to_vec());
    }
    if let Some(certificate) = protected.x5chain {
        header = header.value(X5CHAIN, Value::Bytes(certificate.to_vec()));
    }
    if let Some(typ) = protected.typ {
        header = header.value(TYP, Value::Text(typ.to_owned()));
    }
    let sign1 = CoseSign1Builder::new()
        .protected(header.build())
        .payload(payload)
        .try_create_signature(&[], sign)
        .map_err(SignError::Signer)?
        .build();
    match tagging {
        Tagging::Tagged => sign1.to_tagged_vec(),
        Tagging::Untagged => sign1.to_vec(),
    }
    .map_err(|_| SignError::Encoding)
}

/// Signs `payload` as an untagged COSE_Sign1 in the ISO/IEC 18013-5 form: ES256 in the protected
/// header, `x5chain` (if any) in the unprotected one; the payload carried (issuerAuth over the
/// MSO, §9.1.2.4) or detached (RFC 9052 §4.1: `nil` in its place; device signature §9.1.3.4).
pub fn sign_es256_unprotected_x5chain<E>(
    payload: &[u8],
    detached: bool,
    x5chain: Option<&[u8]>,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, SignError<E>> {
    let mut unprotected = HeaderBuilder::new();
    if let Some(certificate) = x5chain {
        unprotected = unprotected.value(X5CHAIN, Value::Bytes(certificate.to_vec()));
    }
    let builder = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::ES256)
                .build(),
        )
        .unprotected(unprotected.build());
    let builder = if detached {
        builder.try_create_detached_signature(payload, &[], sign)
    } else {
        builder
            .payload(payload.to_vec())
            .try_create_signature(&[], sign)
    };
    builder
        .map_err(SignError::Signer)?
        .build()
        .to_vec()
        .map_err(|_| SignError::Encoding)
}

/// What the protected header of a COSE_Sign1 must look like, besides `alg` = ES256.
#[derive(Debug, Clone, Copy)]
pub struct HeaderRules<'a> {
    /// The content type it must carry (`None`: it must carry none).
    pub content_type: Option<&'a str>,
    /// Whether parameters other than alg, crit, content type and kid may appear (x5chain).
    pub other_parameters: bool,
}

/// The first rule a header breaks, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// `alg` is not ES256.
    Algorithm,
    ContentType,
    /// A critical parameter (none is understood).
    Critical,
    /// A parameter the rules do not allow.
    OtherParameters,
    /// The unprotected header is not empty (nothing unsigned rides along).
    Unprotected,
}

/// A decoded COSE_Sign1 whose signature is not checked yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Sign1(CoseSign1);

impl Sign1 {
    /// Decodes a COSE_Sign1; `None` if it is not one (or the tag does not match `tagging`).
    pub fn decode(bytes: &[u8], tagging: Tagging) -> Option<Sign1> {
        match tagging {
            Tagging::Tagged => CoseSign1::from_tagged_slice(bytes),
            Tagging::Untagged => CoseSign1::from_slice(bytes),
        }
        .ok()
        .map(Sign1)
    }

    /// Checks the protected header against `rules` and that the unprotected one is empty.
    pub fn check_header(&self, rules: &HeaderRules<'_>) -> Result<(), HeaderError> {
        let h = &self.0.protected.header;
        if h.alg != Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256)) {
            return Err(HeaderError::Algorithm);
        }
        let content_type = rules
            .content_type
            .map(|t| coset::ContentType::Text(t.to_owned()));
        if h.content_type != content_type {
            return Err(HeaderError::ContentType);
        }
        if !h.crit.is_empty() {
            return Err(HeaderError::Critical);
        }
        if !rules.other_parameters && !h.rest.is_empty() {
            return Err(HeaderError::OtherParameters);
        }
        if !self.0.unprotected.is_empty() {
            return Err(HeaderError::Unprotected);
        }
        Ok(())
    }

    /// The protected `kid` (empty when absent).
    pub fn kid(&self) -> &[u8] {
        &self.0.protected.header.key_id
    }

    /// The protected `x5chain` value as it is (a bstr or an array, RFC 9360 §2).
    pub fn x5chain(&self) -> Option<&Value> {
        self.0
            .protected
            .header
            .rest
            .iter()
            .find(|(l, _)| *l == Label::Int(X5CHAIN))
            .map(|(_, v)| v)
    }

    /// The protected `typ` (RFC 9596) when it is text.
    pub fn typ(&self) -> Option<&str> {
        self.0
            .protected
            .header
            .rest
            .iter()
            .find(|(l, _)| *l == Label::Int(TYP))
            .and_then(|(_, v)| v.as_text())
    }

    pub fn payload(&self) -> Option<&[u8]> {
        self.0.payload.as_deref()
    }

    /// The protected `alg` (an IANA COSE algorithm identifier: -7 ES256, -35 ES384, -36 ES512,
    /// -8 EdDSA, ...), when nothing critical is asked of the reader.
    pub fn algorithm(&self) -> Option<i64> {
        let h = &self.0.protected.header;
        match &h.alg {
            Some(RegisteredLabelWithPrivate::Assigned(a)) if h.crit.is_empty() => Some(*a as i64),
            _ => None,
        }
    }

    /// Whether `check(signature, Sig_structure)` accepts: over the payload carried, or over
    /// `detached` (then the COSE_Sign1 must carry none). What each algorithm's check is, is the
    /// caller's (ISO/IEC 18013-5's curves, in eid-core's mdoc module).
    pub fn verify_with(
        &self,
        detached: Option<&[u8]>,
        check: impl Fn(&[u8], &[u8]) -> bool,
    ) -> bool {
        let check = |signature: &[u8], tbs: &[u8]| check(signature, tbs).then_some(()).ok_or(());
        match detached {
            None => self.0.verify_signature(&[], check).is_ok(),
            Some(payload) => {
                self.0.payload.is_none()
                    && self
                        .0
                        .verify_detached_signature(payload, &[], check)
                        .is_ok()
            }
        }
    }

    /// The *unprotected* `x5chain` value (ISO/IEC 18013-5 puts the document signer there).
    pub fn unprotected_x5chain(&self) -> Option<&Value> {
        self.0
            .unprotected
            .rest
            .iter()
            .find(|(l, _)| *l == Label::Int(X5CHAIN))
            .map(|(_, v)| v)
    }

    /// Whether the signature is a valid low-S ES256 signature by `point` (SEC1 uncompressed),
    /// with no external data.
    pub fn verify_es256(&self, point: &[u8]) -> bool {
        self.verify_with(None, |signature, tbs| {
            es256::verify_raw(point, tbs, signature)
        })
    }

    /// The Sig_structure the signature covers (for benchmarks that time the bare check).
    pub fn tbs(&self) -> Vec<u8> {
        self.0.tbs_data(&[])
    }

    /// The Sig_structure over a detached payload.
    pub fn tbs_detached(&self, payload: &[u8]) -> Vec<u8> {
        self.0.tbs_detached_data(payload, &[])
    }

    pub fn signature(&self) -> &[u8] {
        &self.0.signature
    }
}

/// A decoded, untagged COSE_Mac0 (RFC 9052 §6.2) whose tag is not checked yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Mac0(CoseMac0);

impl Mac0 {
    pub fn decode(bytes: &[u8]) -> Option<Mac0> {
        CoseMac0::from_slice(bytes).ok().map(Mac0)
    }

    /// Whether the protected `alg` is HMAC 256/256 (5) and nothing critical is asked.
    pub fn is_hmac256(&self) -> bool {
        let h = &self.0.protected.header;
        h.alg
            == Some(RegisteredLabelWithPrivate::Assigned(
                iana::Algorithm::HMAC_256_256,
            ))
            && h.crit.is_empty()
    }

    /// Whether the tag is the HMAC-SHA-256 under `key` of the MAC_structure over the detached
    /// `payload` (compared in constant time); false if the COSE_Mac0 carries a payload.
    pub fn verify_hmac256_detached(&self, key: &[u8], payload: &[u8]) -> bool {
        if self.0.payload.is_some() {
            return false;
        }
        let tbm = coset::mac_structure_data(
            coset::MacContext::CoseMac0,
            self.0.protected.clone(),
            &[],
            payload,
        );
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
        ring::hmac::verify(&key, &tbm, &self.0.tag).is_ok()
    }

    /// A COSE_Mac0 with HMAC 256/256 over a detached `payload` (the holder's device MAC).
    pub fn create_hmac256_detached(key: &[u8], payload: &[u8]) -> Option<Vec<u8>> {
        let protected = coset::ProtectedHeader {
            original_data: None,
            header: HeaderBuilder::new()
                .algorithm(iana::Algorithm::HMAC_256_256)
                .build(),
        };
        let tbm =
            coset::mac_structure_data(coset::MacContext::CoseMac0, protected.clone(), &[], payload);
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
        let tag = ring::hmac::sign(&key, &tbm).as_ref().to_vec();
        CoseMac0 {
            protected,
            tag,
            ..Default::default()
        }
        .to_vec()
        .ok()
    }
}

/// The signer's certificate in an x5chain value: a bstr, or the first element of an array
/// (RFC 9360 §2).
pub fn x5chain_leaf(value: &Value) -> Option<&Vec<u8>> {
    match value {
        Value::Bytes(b) => Some(b),
        Value::Array(a) => match a.first() {
            Some(Value::Bytes(b)) => Some(b),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::{Signature, SigningKey};

    fn key() -> SigningKey {
        SigningKey::from_slice(&[9u8; 32]).unwrap()
    }

    /// ES256 in either S form with the test key (what eid-core's mdoc check does for P-256).
    fn any_s(signature: &[u8], tbs: &[u8]) -> bool {
        es256::verify_raw_any_s(&point(), tbs, signature)
    }

    fn point() -> Vec<u8> {
        key()
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec()
    }

    fn signer(tbs: &[u8]) -> Result<Vec<u8>, ()> {
        let s: Signature = key().sign(tbs);
        Ok(s.normalize_s().to_bytes().to_vec())
    }

    #[test]
    fn signed_objects_verify_and_tampered_ones_do_not() {
        let protected = Protected {
            content_type: Some("application/x-test"),
            x5chain: Some(b"certificate"),
            ..Default::default()
        };
        let bytes = sign_es256(&protected, b"payload".to_vec(), Tagging::Tagged, signer).unwrap();
        let s = Sign1::decode(&bytes, Tagging::Tagged).unwrap();
        assert!(Sign1::decode(&bytes, Tagging::Untagged).is_none());
        assert!(s.verify_es256(&point()));
        assert_eq!(s.payload(), Some(&b"payload"[..]));
        assert_eq!(
            s.x5chain().and_then(x5chain_leaf).map(Vec::as_slice),
            Some(&b"certificate"[..])
        );
        let rules = HeaderRules {
            content_type: Some("application/x-test"),
            other_parameters: true,
        };
        assert_eq!(s.check_header(&rules), Ok(()));
        assert_eq!(
            s.check_header(&HeaderRules {
                content_type: Some("other"),
                ..rules
            }),
            Err(HeaderError::ContentType)
        );
        assert_eq!(
            s.check_header(&HeaderRules {
                other_parameters: false,
                ..rules
            }),
            Err(HeaderError::OtherParameters)
        );
        // Every byte flipped: never a valid signature, never a panic.
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            if let Some(s) = Sign1::decode(&t, Tagging::Tagged) {
                assert!(!s.verify_es256(&point()), "byte {i}");
            }
        }
        // Another key does not verify it.
        let other = SigningKey::from_slice(&[8u8; 32]).unwrap();
        assert!(!s.verify_es256(other.verifying_key().to_sec1_point(false).as_bytes()));
    }

    #[test]
    fn untagged_with_kid_and_signer_errors() {
        let protected = Protected {
            kid: Some(b"kid1"),
            ..Default::default()
        };
        let bytes = sign_es256(&protected, vec![1], Tagging::Untagged, signer).unwrap();
        let s = Sign1::decode(&bytes, Tagging::Untagged).unwrap();
        assert_eq!(s.kid(), b"kid1");
        assert!(s.x5chain().is_none());
        assert_eq!(
            s.check_header(&HeaderRules {
                content_type: None,
                other_parameters: false
            }),
            Ok(())
        );
        assert_eq!(
            es256::verify_raw(&point(), &s.tbs(), s.signature()),
            s.verify_es256(&point())
        );
        assert_eq!(
            sign_es256(
                &protected,
                vec![1],
                Tagging::Untagged,
                |_| Err::<Vec<u8>, _>(7)
            ),
            Err(SignError::Signer(7))
        );
    }

    #[test]
    fn x5chain_forms() {
        let cert = Value::Bytes(vec![1, 2]);
        assert_eq!(x5chain_leaf(&cert), Some(&vec![1, 2]));
        assert_eq!(
            x5chain_leaf(&Value::Array(vec![cert, Value::Bytes(vec![3])])),
            Some(&vec![1, 2])
        );
        assert_eq!(x5chain_leaf(&Value::Array(vec![])), None);
        assert_eq!(x5chain_leaf(&Value::Text("x".into())), None);
        assert!(Sign1::decode(&[], Tagging::Tagged).is_none());
        assert!(Sign1::decode(&[0xd2, 0x84], Tagging::Tagged).is_none());
    }

    #[test]
    fn mac0_and_detached_forms() {
        let mac = Mac0::create_hmac256_detached(&[1u8; 32], b"payload").unwrap();
        let m = Mac0::decode(&mac).unwrap();
        assert!(m.is_hmac256());
        assert!(m.verify_hmac256_detached(&[1u8; 32], b"payload"));
        assert!(!m.verify_hmac256_detached(&[2u8; 32], b"payload"));
        assert!(!m.verify_hmac256_detached(&[1u8; 32], b"payloaD"));
        // Byte 6 is the nil payload; coset reads `undefined` (f7) as absent too, which changes
        // nothing the tag covers.
        assert_eq!(mac[6], 0xf6);
        for i in (0..mac.len()).filter(|i| *i != 6) {
            let mut t = mac.clone();
            t[i] ^= 0x01;
            if let Some(m) = Mac0::decode(&t) {
                assert!(
                    !(m.is_hmac256() && m.verify_hmac256_detached(&[1u8; 32], b"payload")),
                    "byte {i}"
                );
            }
        }
        // Detached ES256 with the certificate unprotected; high-S accepted here only.
        let bytes =
            sign_es256_unprotected_x5chain(b"detached", true, Some(b"cert"), signer).unwrap();
        let s = Sign1::decode(&bytes, Tagging::Untagged).unwrap();
        assert!(s.algorithm() == Some(-7) && s.payload().is_none());
        assert_eq!(
            s.unprotected_x5chain()
                .and_then(x5chain_leaf)
                .map(Vec::as_slice),
            Some(&b"cert"[..])
        );
        assert!(s.verify_with(Some(b"detached"), any_s));
        assert!(!s.verify_with(Some(b"other"), any_s));
        let high = es256::flip_s(s.signature()).unwrap();
        assert!(es256::verify_raw_any_s(
            &point(),
            &s.tbs_detached(b"detached"),
            &high
        ));
        assert!(!es256::verify_raw(
            &point(),
            &s.tbs_detached(b"detached"),
            &high
        ));
        // Attached: the payload is carried and a detached check refuses it.
        let bytes = sign_es256_unprotected_x5chain(b"carried", false, None, signer).unwrap();
        let s = Sign1::decode(&bytes, Tagging::Untagged).unwrap();
        assert_eq!(s.payload(), Some(&b"carried"[..]));
        assert!(s.verify_with(None, any_s));
        assert!(!s.verify_with(Some(b"carried"), any_s));
    }
}
