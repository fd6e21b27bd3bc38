//! Signature verification with a certificate's key: ECDSA on P-256, P-384, P-521 and the Brainpool
//! curves (named or explicit parameters), RSA PKCS#1 v1.5 and PSS. What certificates, CMS
//! signatures and the chip's security object are checked with.

use crate::hash::HashAlgorithm;
use crate::tlv;
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use ecdsa::signature::hazmat::PrehashVerifier;
use elliptic_curve::bigint::ArrayEncoding;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use thiserror::Error;

/// Why a signature could not be verified.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("signature does not verify")]
    Invalid,
    #[error("public key is malformed")]
    BadKey,
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
}

/// The curves whose ECDSA signatures can be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    P521,
    Bp256,
    Bp384,
}

fn order_bytes<C: elliptic_curve::Curve>() -> Vec<u8> {
    C::ORDER.get().to_be_byte_array().to_vec()
}

/// The curve of an EC public key: named (RFC 5480) or explicit parameters (common in eMRTD
/// certificates, ICAO 9303-11 §9.4.1 / BSI TR-03111), recognised by the group order.
fn curve_of(spki: &SubjectPublicKeyInfoOwned) -> Result<Curve, SignatureError> {
    let params = spki
        .algorithm
        .parameters
        .as_ref()
        .ok_or(SignatureError::BadKey)?;
    if let Ok(named) = params.decode_as::<ObjectIdentifier>() {
        return match named.to_string().as_str() {
            "1.2.840.10045.3.1.7" => Ok(Curve::P256),
            "1.3.132.0.34" => Ok(Curve::P384),
            "1.3.132.0.35" => Ok(Curve::P521),
            "1.3.36.3.3.2.8.1.1.7" => Ok(Curve::Bp256),
            "1.3.36.3.3.2.8.1.1.11" => Ok(Curve::Bp384),
            other => Err(SignatureError::Unsupported(format!("curve {other}"))),
        };
    }
    // ECParameters ::= SEQUENCE { version, fieldID, curve, base, order, cofactor OPTIONAL }
    let der = params.to_der().map_err(|_| SignatureError::BadKey)?;
    let seq = tlv::read_exact(&der, 0x30).map_err(|_| SignatureError::BadKey)?;
    let order = seq
        .children()
        .nth(4)
        .and_then(Result::ok)
        .filter(|t| t.tag == 0x02)
        .ok_or(SignatureError::BadKey)?;
    let first_nonzero = order.value.iter().position(|b| *b != 0).unwrap_or(0);
    let order = order.value.get(first_nonzero..).unwrap_or_default();
    [
        (Curve::P256, order_bytes::<p256::NistP256>()),
        (Curve::P384, order_bytes::<p384::NistP384>()),
        (Curve::P521, order_bytes::<p521::NistP521>()),
        (Curve::Bp256, order_bytes::<bp256::BrainpoolP256r1>()),
        (Curve::Bp384, order_bytes::<bp384::BrainpoolP384r1>()),
    ]
    .into_iter()
    .find(|(_, o)| o.as_slice() == order)
    .map(|(c, _)| c)
    .ok_or_else(|| SignatureError::Unsupported("explicit curve parameters".into()))
}

macro_rules! ecdsa_verify {
    ($curve:ty, $point:expr, $prehash:expr, $sig:expr) => {{
        let key = ecdsa::VerifyingKey::<$curve>::from_sec1_bytes($point)
            .map_err(|_| SignatureError::BadKey)?;
        // X9.62 DER (RFC 5480) or plain r||s (BSI TR-03111 ecdsa-plain-*).
        let sig = ecdsa::Signature::<$curve>::from_der($sig)
            .or_else(|_| ecdsa::Signature::<$curve>::from_slice($sig))
            .map_err(|_| SignatureError::Invalid)?;
        key.verify_prehash($prehash, &sig)
            .map_err(|_| SignatureError::Invalid)
    }};
}

enum Scheme {
    Ecdsa(HashAlgorithm),
    RsaPkcs1(HashAlgorithm),
    RsaPss(HashAlgorithm),
}

/// The hash of RSASSA-PSS-params (RFC 4055 §3.1): `[0] hashAlgorithm`, SHA-1 by default.
fn pss_hash(alg: &AlgorithmIdentifierOwned) -> Result<HashAlgorithm, SignatureError> {
    let Some(params) = alg.parameters.as_ref() else {
        return Ok(HashAlgorithm::Sha1);
    };
    let der = params
        .to_der()
        .map_err(|_| SignatureError::Unsupported("PSS parameters".into()))?;
    let seq = tlv::read_exact(&der, 0x30)
        .map_err(|_| SignatureError::Unsupported("PSS parameters".into()))?;
    match seq.children().find(0xA0) {
        Ok(Some(h)) => {
            let inner = AlgorithmIdentifierOwned::from_der(h.value)
                .map_err(|_| SignatureError::Unsupported("PSS parameters".into()))?;
            HashAlgorithm::from_oid(&inner.oid)
                .ok_or_else(|| SignatureError::Unsupported(format!("PSS hash {}", inner.oid)))
        }
        Ok(None) => Ok(HashAlgorithm::Sha1),
        Err(_) => Err(SignatureError::Unsupported("PSS parameters".into())),
    }
}

fn scheme(
    alg: &AlgorithmIdentifierOwned,
    digest: Option<HashAlgorithm>,
) -> Result<Scheme, SignatureError> {
    let need_digest =
        || digest.ok_or_else(|| SignatureError::Unsupported("signature without a hash".into()));
    let a = alg.oid.to_string();
    Ok(match a.as_str() {
        "1.2.840.10045.4.1" | "0.4.0.127.0.7.1.1.4.1.1" => Scheme::Ecdsa(HashAlgorithm::Sha1),
        "1.2.840.10045.4.3.1" | "0.4.0.127.0.7.1.1.4.1.2" => Scheme::Ecdsa(HashAlgorithm::Sha224),
        "1.2.840.10045.4.3.2" | "0.4.0.127.0.7.1.1.4.1.3" => Scheme::Ecdsa(HashAlgorithm::Sha256),
        "1.2.840.10045.4.3.3" | "0.4.0.127.0.7.1.1.4.1.4" => Scheme::Ecdsa(HashAlgorithm::Sha384),
        "1.2.840.10045.4.3.4" | "0.4.0.127.0.7.1.1.4.1.5" => Scheme::Ecdsa(HashAlgorithm::Sha512),
        // id-ecPublicKey as a signature algorithm: the hash is the signer's digest algorithm.
        "1.2.840.10045.2.1" => Scheme::Ecdsa(need_digest()?),
        "1.2.840.113549.1.1.5" => Scheme::RsaPkcs1(HashAlgorithm::Sha1),
        "1.2.840.113549.1.1.14" => Scheme::RsaPkcs1(HashAlgorithm::Sha224),
        "1.2.840.113549.1.1.11" => Scheme::RsaPkcs1(HashAlgorithm::Sha256),
        "1.2.840.113549.1.1.12" => Scheme::RsaPkcs1(HashAlgorithm::Sha384),
        "1.2.840.113549.1.1.13" => Scheme::RsaPkcs1(HashAlgorithm::Sha512),
        "1.2.840.113549.1.1.1" => Scheme::RsaPkcs1(need_digest()?),
        "1.2.840.113549.1.1.10" => Scheme::RsaPss(pss_hash(alg)?),
        other => return Err(SignatureError::Unsupported(format!("signature {other}"))),
    })
}

/// A readable name of a signature algorithm.
pub fn algorithm_name(alg: &AlgorithmIdentifierOwned, digest: Option<HashAlgorithm>) -> String {
    match scheme(alg, digest) {
        Ok(Scheme::Ecdsa(h)) => format!("ECDSA with {}", h.name()),
        Ok(Scheme::RsaPkcs1(h)) => format!("RSA PKCS#1 v1.5 with {}", h.name()),
        Ok(Scheme::RsaPss(h)) => format!("RSA-PSS with {}", h.name()),
        Err(_) => alg.oid.to_string(),
    }
}

/// Verifies `signature` over `message` with the key in `spki`. `digest` is the hash for
/// algorithms that do not name one (`id-ecPublicKey`, `rsaEncryption`). ECDSA on P-256, P-384,
/// P-521, brainpoolP256r1/P384r1; RSA PKCS#1 v1.5 (SHA-1/256/384/512, 2048–8192 bits) and PSS
/// (SHA-256/384/512, MGF1 with the same hash, salt length = hash length).
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    digest: Option<HashAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or(SignatureError::BadKey)?;
    match scheme(alg, digest)? {
        Scheme::Ecdsa(h) => {
            let prehash = h.digest(message);
            match curve_of(spki)? {
                Curve::P256 => ecdsa_verify!(p256::NistP256, key, &prehash, signature),
                Curve::P384 => ecdsa_verify!(p384::NistP384, key, &prehash, signature),
                Curve::P521 => ecdsa_verify!(p521::NistP521, key, &prehash, signature),
                Curve::Bp256 => ecdsa_verify!(bp256::BrainpoolP256r1, key, &prehash, signature),
                Curve::Bp384 => ecdsa_verify!(bp384::BrainpoolP384r1, key, &prehash, signature),
            }
        }
        Scheme::RsaPkcs1(h) | Scheme::RsaPss(h) => {
            use ring::signature as rs;
            let pss = matches!(scheme(alg, digest)?, Scheme::RsaPss(_));
            let algorithm: &dyn rs::VerificationAlgorithm = match (pss, h) {
                (false, HashAlgorithm::Sha1) => &rs::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                (false, HashAlgorithm::Sha256) => &rs::RSA_PKCS1_2048_8192_SHA256,
                (false, HashAlgorithm::Sha384) => &rs::RSA_PKCS1_2048_8192_SHA384,
                (false, HashAlgorithm::Sha512) => &rs::RSA_PKCS1_2048_8192_SHA512,
                (true, HashAlgorithm::Sha256) => &rs::RSA_PSS_2048_8192_SHA256,
                (true, HashAlgorithm::Sha384) => &rs::RSA_PSS_2048_8192_SHA384,
                (true, HashAlgorithm::Sha512) => &rs::RSA_PSS_2048_8192_SHA512,
                (_, other) => {
                    return Err(SignatureError::Unsupported(format!(
                        "RSA with {}",
                        other.name()
                    )));
                }
            };
            rs::UnparsedPublicKey::new(algorithm, key)
                .verify(message, signature)
                .map_err(|_| SignatureError::Invalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::{Any, BitString};
    use ecdsa::signature::hazmat::PrehashSigner;

    const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

    fn spki(point: &[u8], params: Any) -> SubjectPublicKeyInfoOwned {
        SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: ObjectIdentifier::new_unwrap(EC_PUBLIC_KEY),
                parameters: Some(params),
            },
            subject_public_key: BitString::from_bytes(point).unwrap(),
        }
    }

    fn named(oid: &str) -> Any {
        Any::encode_from(&ObjectIdentifier::new_unwrap(oid)).unwrap()
    }

    fn alg(oid: &str) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap(oid),
            parameters: None,
        }
    }

    /// ECParameters with only the order meaningful (the verifier recognises curves by order).
    fn explicit(order: &[u8]) -> Any {
        let mut n = vec![0u8];
        n.extend_from_slice(order);
        let body = [
            tlv::encode(0x02, &[1]),
            tlv::encode(
                0x30,
                &tlv::encode(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01]),
            ),
            tlv::encode(
                0x30,
                &[tlv::encode(0x04, &[1]), tlv::encode(0x04, &[2])].concat(),
            ),
            tlv::encode(0x04, &[4]),
            tlv::encode(0x02, &n),
            tlv::encode(0x02, &[1]),
        ]
        .concat();
        Any::from_der(&tlv::encode(0x30, &body)).unwrap()
    }

    macro_rules! curve_case {
        ($curve:ty, $len:expr, $oid:expr, $sig_oid:expr, $hash:expr) => {{
            let key = ecdsa::SigningKey::<$curve>::from_slice(&[7u8; $len]).unwrap();
            let point = key.verifying_key().to_sec1_point(false);
            let message = b"signed attributes";
            let sig: ecdsa::Signature<$curve> = key.sign_prehash(&$hash.digest(message)).unwrap();
            let der_sig = sig.to_der().as_bytes().to_vec();
            let plain = sig.to_bytes().to_vec();
            for params in [named($oid), explicit(&order_bytes::<$curve>())] {
                let k = spki(point.as_bytes(), params);
                assert_eq!(
                    verify_signature(&k, &alg($sig_oid), None, message, &der_sig),
                    Ok(())
                );
                assert_eq!(
                    verify_signature(&k, &alg($sig_oid), None, message, &plain),
                    Ok(())
                );
                assert_eq!(
                    verify_signature(&k, &alg($sig_oid), None, b"other", &der_sig),
                    Err(SignatureError::Invalid)
                );
                // id-ecPublicKey as the signature algorithm takes the hash from the digest.
                assert_eq!(
                    verify_signature(&k, &alg(EC_PUBLIC_KEY), Some($hash), message, &der_sig),
                    Ok(())
                );
            }
        }};
    }

    #[test]
    fn ecdsa_on_every_supported_curve() {
        curve_case!(
            p256::NistP256,
            32,
            "1.2.840.10045.3.1.7",
            "1.2.840.10045.4.3.2",
            HashAlgorithm::Sha256
        );
        curve_case!(
            p384::NistP384,
            48,
            "1.3.132.0.34",
            "1.2.840.10045.4.3.3",
            HashAlgorithm::Sha384
        );
        curve_case!(
            bp256::BrainpoolP256r1,
            32,
            "1.3.36.3.3.2.8.1.1.7",
            "1.2.840.10045.4.3.2",
            HashAlgorithm::Sha256
        );
        curve_case!(
            bp384::BrainpoolP384r1,
            48,
            "1.3.36.3.3.2.8.1.1.11",
            "1.2.840.10045.4.3.3",
            HashAlgorithm::Sha384
        );
        // SHA-512 over P-256 (hash longer than the curve) also works.
        curve_case!(
            p256::NistP256,
            32,
            "1.2.840.10045.3.1.7",
            "1.2.840.10045.4.3.4",
            HashAlgorithm::Sha512
        );
    }

    #[test]
    fn unsupported_and_malformed_inputs_are_errors() {
        let k = spki(&[4; 65], named("1.2.840.10045.3.1.7"));
        assert_eq!(
            verify_signature(&k, &alg("1.2.840.10045.4.3.2"), None, b"m", &[0x30, 0]),
            Err(SignatureError::BadKey)
        );
        // P-521 is taken: a point off the curve is a bad key.
        let k = spki(&[4; 133], named("1.3.132.0.35"));
        assert_eq!(
            verify_signature(&k, &alg("1.2.840.10045.4.3.4"), None, b"m", &[]),
            Err(SignatureError::BadKey)
        );
        // secp256k1 is not.
        let k = spki(&[4; 65], named("1.3.132.0.10"));
        assert!(matches!(
            verify_signature(&k, &alg("1.2.840.10045.4.3.2"), None, b"m", &[]),
            Err(SignatureError::Unsupported(_))
        ));
        assert!(matches!(
            verify_signature(&k, &alg("1.2.3.4"), None, b"m", &[]),
            Err(SignatureError::Unsupported(_))
        ));
        assert!(matches!(
            verify_signature(&k, &alg("1.2.840.113549.1.1.1"), None, b"m", &[]),
            Err(SignatureError::Unsupported(_))
        ));
        assert_eq!(
            algorithm_name(&alg("1.2.840.113549.1.1.11"), None),
            "RSA PKCS#1 v1.5 with SHA-256"
        );
        assert_eq!(
            algorithm_name(&alg("1.2.840.113549.1.1.10"), None),
            "RSA-PSS with SHA-1"
        );
    }
}
