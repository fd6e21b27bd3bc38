//! The signature algorithms of ISO/IEC 18013-5 (§9.1.3.6 and §9.1.2.4: ECDSA with SHA-256,
//! SHA-384 or SHA-512, and EdDSA) for every COSE_Sign1 an mdoc reader or holder checks: the
//! issuer's MSO signature, the device signature and the reader's readerAuth. Each algorithm goes
//! with the curves 18013-5 pairs it with:
//!
//! | COSE alg | curves |
//! |---|---|
//! | ES256 (-7) | P-256, brainpoolP256r1 |
//! | ES384 (-35) | P-384, brainpoolP384r1 (brainpoolP320r1 is not supported) |
//! | ES512 (-36) | P-521 (brainpoolP512r1 is not supported) |
//! | EdDSA (-8) | Ed25519 (Ed448 is not supported) |
//!
//! ECDSA signatures are r || s of the curve's length, in either S form (18013-5 does not ask for
//! low-S; its Annex D example is high-S).

use super::cose_key::{CoseCurve, CoseKey};
use eid_crypto::cose::Sign1;
use eid_crypto::ec::{HashAlg, SignatureFormat};
use eid_crypto::es256;
use x509_cert::Certificate;

const ES256: i64 = -7;
const ES384: i64 = -35;
const ES512: i64 = -36;
const EDDSA: i64 = -8;

/// Why a COSE_Sign1 did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The algorithm is not one of the table's, or the key is not on a curve it goes with (or
    /// something critical is asked of the reader).
    Unsupported,
    /// The signature does not verify.
    Invalid,
}

/// The hash of an ECDSA algorithm whose curves include `curve`, None for EdDSA with Ed25519,
/// Err for a pair the table does not hold.
fn pairing(alg: i64, curve: CoseCurve) -> Result<Option<HashAlg>, SignatureCheck> {
    use CoseCurve::*;
    match (alg, curve) {
        (ES256, P256 | BrainpoolP256r1) => Ok(Some(HashAlg::Sha256)),
        (ES384, P384 | BrainpoolP384r1) => Ok(Some(HashAlg::Sha384)),
        (ES512, P521) => Ok(Some(HashAlg::Sha512)),
        (EDDSA, Ed25519) => Ok(None),
        _ => Err(SignatureCheck::Unsupported),
    }
}

/// Checks `sign1` with `key`, over its payload or the `detached` one.
pub fn verify_sign1(
    sign1: &Sign1,
    key: &CoseKey,
    detached: Option<&[u8]>,
) -> Result<(), SignatureCheck> {
    let alg = sign1.algorithm().ok_or(SignatureCheck::Unsupported)?;
    let hash = pairing(alg, key.curve())?;
    let public = key.public_bytes();
    let ok = match (hash, key.point()) {
        // P-256 on ring, as before other curves were taken (faster, and the same results).
        (Some(HashAlg::Sha256), _) if key.curve() == CoseCurve::P256 => sign1
            .verify_with(detached, |sig, tbs| {
                es256::verify_raw_any_s(public, tbs, sig)
            }),
        (Some(hash), Some(point)) => sign1.verify_with(detached, |sig, tbs| {
            eid_crypto::ec::verify(&point, hash, tbs, sig, SignatureFormat::Plain)
        }),
        (None, _) => sign1.verify_with(detached, |sig, tbs| {
            ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public)
                .verify(tbs, sig)
                .is_ok()
        }),
        (Some(_), None) => false,
    };
    ok.then_some(()).ok_or(SignatureCheck::Invalid)
}

/// id-Ed25519 (RFC 8410).
const ED25519_OID: &str = "1.3.101.112";

/// The public key of a certificate (document signer, reader) as a COSE_Key: an EC key on one
/// of the Weierstrass curves (named or explicit parameters), or an Ed25519 key.
pub fn certificate_key(cert: &Certificate) -> Option<CoseKey> {
    let spki = cert.tbs_certificate().subject_public_key_info();
    let bytes = spki.subject_public_key.as_bytes()?;
    if spki.algorithm.oid.to_string() == ED25519_OID {
        return CoseKey::okp(CoseCurve::Ed25519, bytes).ok();
    }
    let point = eid_crypto::ec::EcPoint::from_spki(spki).ok()?;
    let curve = CoseCurve::ALL
        .into_iter()
        .find(|c| c.weierstrass() == Some(point.curve()))?;
    CoseKey::from_sec1(curve, point.to_sec1()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mdoc::ephemeral::key_pair;
    use eid_crypto::cose::Tagging;

    /// A detached COSE_Sign1 with `alg`, signed by `sign` over its Sig_structure.
    fn sign1(alg: i64, payload: &[u8], sign: impl Fn(&[u8]) -> Vec<u8>) -> Sign1 {
        let protected = coset::HeaderBuilder::new()
            .algorithm(coset::iana::Algorithm::from_i64(alg).unwrap())
            .build();
        let unsigned = coset::CoseSign1Builder::new()
            .protected(protected)
            .create_detached_signature(payload, &[], |tbs| sign(tbs))
            .build();
        let bytes = coset::CborSerializable::to_vec(unsigned).unwrap();
        Sign1::decode(&bytes, Tagging::Untagged).unwrap()
    }

    use coset::iana::EnumI64;

    #[test]
    fn each_algorithm_verifies_with_its_curves_and_no_other() {
        let payload = b"DeviceAuthentication";
        let cases = [
            (ES256, CoseCurve::P256, HashAlg::Sha256),
            (ES256, CoseCurve::BrainpoolP256r1, HashAlg::Sha256),
            (ES384, CoseCurve::P384, HashAlg::Sha384),
            (ES384, CoseCurve::BrainpoolP384r1, HashAlg::Sha384),
            (ES512, CoseCurve::P521, HashAlg::Sha512),
        ];
        for (alg, curve, hash) in cases {
            let (d, key) = key_pair(curve, &mut eid_crypto::OsRng).unwrap();
            let pair =
                eid_crypto::ec::KeyPair::from_private(curve.weierstrass().unwrap(), d).unwrap();
            let s = sign1(alg, payload, |tbs| pair.sign(hash, tbs).unwrap());
            assert_eq!(verify_sign1(&s, &key, Some(payload)), Ok(()), "{curve:?}");
            assert_eq!(
                verify_sign1(&s, &key, Some(b"other")),
                Err(SignatureCheck::Invalid),
                "{curve:?}"
            );
            // The same key under an algorithm it does not go with.
            for other in [ES256, ES384, ES512, EDDSA]
                .into_iter()
                .filter(|a| *a != alg)
            {
                let s = sign1(other, payload, |tbs| pair.sign(hash, tbs).unwrap());
                assert_eq!(
                    verify_sign1(&s, &key, Some(payload)),
                    Err(SignatureCheck::Unsupported),
                    "{curve:?} {other}"
                );
            }
            // Another key on the same curve.
            let (_, stranger) = key_pair(curve, &mut eid_crypto::OsRng).unwrap();
            assert_eq!(
                verify_sign1(&s, &stranger, Some(payload)),
                Err(SignatureCheck::Invalid)
            );
        }
        let (d, key) = key_pair(CoseCurve::Ed25519, &mut eid_crypto::OsRng).unwrap();
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(d.as_bytes()).unwrap();
        let s = sign1(EDDSA, payload, |tbs| pair.sign(tbs).as_ref().to_vec());
        assert_eq!(verify_sign1(&s, &key, Some(payload)), Ok(()));
        assert_eq!(
            verify_sign1(&s, &key, Some(b"other")),
            Err(SignatureCheck::Invalid)
        );
        let (_, x25519) = key_pair(CoseCurve::X25519, &mut eid_crypto::OsRng).unwrap();
        assert_eq!(
            verify_sign1(&s, &x25519, Some(payload)),
            Err(SignatureCheck::Unsupported)
        );
    }
}
