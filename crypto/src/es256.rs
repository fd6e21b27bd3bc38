//! ES256 (ECDSA P-256 with SHA-256) signatures with one valid encoding (issue 12, finding 6).
//!
//! For every ECDSA signature (r, s), (r, n − s) verifies too, so a third party can turn any
//! signature into a second, different one. We accept only the low-S form (s ≤ n/2, as BIP 62
//! and most modern verifiers require), and our signers turn theirs into it: neither the p256
//! crate nor ring nor the platform key stores do so themselves.

use p256::ecdsa::Signature;

/// Whether r || s (64 bytes) is a well-formed low-S signature.
pub fn is_low_s(raw: &[u8]) -> bool {
    Signature::from_slice(raw).is_ok_and(|s| s.normalize_s() == s)
}

/// Whether a DER signature is well-formed and low-S.
pub fn der_is_low_s(der: &[u8]) -> bool {
    Signature::from_der(der).is_ok_and(|s| s.normalize_s() == s)
}

/// r || s in low-S form.
pub fn normalize_raw(raw: &[u8]) -> Option<[u8; 64]> {
    let sig = Signature::from_slice(raw).ok()?.normalize_s();
    sig.to_bytes().as_slice().try_into().ok()
}

/// A DER signature in low-S form (DER again).
pub fn normalize_der(der: &[u8]) -> Option<Vec<u8>> {
    let sig = Signature::from_der(der).ok()?.normalize_s();
    Some(sig.to_der().as_bytes().to_vec())
}

/// A DER signature (what key stores give) as low-S r || s.
pub fn raw_from_der(der: &[u8]) -> Option<[u8; 64]> {
    let sig = Signature::from_der(der).ok()?.normalize_s();
    sig.to_bytes().as_slice().try_into().ok()
}

/// ES256 check of a raw low-S r || s signature with an uncompressed SEC1 point.
pub fn verify_raw(point: &[u8], message: &[u8], signature: &[u8]) -> bool {
    is_low_s(signature)
        && ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(message, signature)
            .is_ok()
}

/// ES256 check of a raw r || s signature in either S form. Only for formats whose standard does
/// not ask for low-S and whose signatures serve as no identifier: ISO/IEC 18013-5 issuer, device
/// and reader signatures (its Annex D example is signed high-S).
pub fn verify_raw_any_s(point: &[u8], message: &[u8], signature: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(message, signature)
        .is_ok()
}

/// ES256 check of a DER low-S signature with an uncompressed SEC1 point.
pub fn verify_der(point: &[u8], message: &[u8], der: &[u8]) -> bool {
    der_is_low_s(der)
        && ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point)
            .verify(message, der)
            .is_ok()
}

/// The same signature with s replaced by n − s (the other valid encoding), for tests.
pub fn flip_s(raw: &[u8]) -> Option<[u8; 64]> {
    let sig = Signature::from_slice(raw).ok()?;
    let (r, s) = sig.split_scalars();
    let flipped = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).ok()?;
    flipped.to_bytes().as_slice().try_into().ok()
}

/// [`flip_s`] of a DER signature.
pub fn flip_s_der(der: &[u8]) -> Option<Vec<u8>> {
    let raw = Signature::from_der(der).ok()?.to_bytes();
    let flipped = Signature::from_slice(&flip_s(&raw)?).ok()?;
    Some(flipped.to_der().as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;

    fn key(i: u8) -> SigningKey {
        SigningKey::from_slice(&[i; 32]).unwrap()
    }

    fn point(k: &SigningKey) -> Vec<u8> {
        k.verifying_key().to_sec1_point(false).as_bytes().to_vec()
    }

    /// Signatures of our signers' libraries, some high-S (about half are).
    fn signatures() -> Vec<(SigningKey, Vec<u8>, [u8; 64])> {
        (1..=32u8)
            .map(|i| {
                let k = key(i);
                let msg = vec![i; 10];
                let sig: Signature = k.sign(&msg);
                (k, msg, sig.to_bytes().as_slice().try_into().unwrap())
            })
            .collect()
    }

    #[test]
    fn only_the_low_s_form_verifies() {
        let mut high = 0;
        for (k, msg, sig) in signatures() {
            let low = normalize_raw(&sig).unwrap();
            let flipped = flip_s(&low).unwrap();
            assert_ne!(low, flipped);
            high += usize::from(low != sig);
            assert!(verify_raw(&point(&k), &msg, &low));
            // ring alone takes both: the flipped one is a valid ECDSA signature ...
            assert!(
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::ECDSA_P256_SHA256_FIXED,
                    point(&k)
                )
                .verify(&msg, &flipped)
                .is_ok()
            );
            // ... that we refuse.
            assert!(!verify_raw(&point(&k), &msg, &flipped));
            let der = Signature::from_slice(&low).unwrap().to_der();
            assert!(verify_der(&point(&k), &msg, der.as_bytes()));
            let flipped_der = flip_s_der(der.as_bytes()).unwrap();
            assert!(!verify_der(&point(&k), &msg, &flipped_der));
            assert_eq!(normalize_der(&flipped_der).unwrap(), der.as_bytes());
            assert_eq!(raw_from_der(&flipped_der).unwrap(), low);
        }
        // The libraries do give high-S signatures, so normalising is needed.
        assert!(high > 0, "no high-S signature among 32");
    }

    #[test]
    fn malformed_signatures_are_refused_without_panic() {
        for bad in [&[][..], &[0u8; 64], &[0xFF; 64], &[1u8; 63]] {
            assert!(!is_low_s(bad));
            assert!(normalize_raw(bad).is_none());
            assert!(!verify_raw(&point(&key(1)), b"m", bad));
            assert!(!der_is_low_s(bad));
            assert!(raw_from_der(bad).is_none());
        }
    }
}
