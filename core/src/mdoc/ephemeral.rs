//! Key pairs on the curves of [`CoseCurve`] (ISO/IEC 18013-5 §9.1.5.2): the ephemeral session keys
//! (EDeviceKey on the holder's side, EReaderKey on the reader's, on the curve the holder chose),
//! and ECDH between a private key and a peer's public key on the same curve.

use super::cose_key::{CoseCurve, CoseKey};
use super::error::MdocError;
use eid_crypto::ec::KeyPair;
use eid_crypto::{Rng, SecretKey};

/// A fresh key pair on `curve`: for the Weierstrass curves a private scalar in 1..n-1 by
/// rejection sampling (eid-icao's key generation), for X25519 and Ed25519 32 random bytes.
pub fn key_pair(curve: CoseCurve, rng: &mut dyn Rng) -> Result<(SecretKey, CoseKey), MdocError> {
    if let Some(ec) = curve.weierstrass() {
        let pair = KeyPair::generate(ec, rng);
        let public = CoseKey::from_sec1(curve, pair.public().to_sec1())?;
        return Ok((pair.private().clone(), public));
    }
    let mut d = vec![0u8; 32];
    rng.fill(&mut d);
    let d = SecretKey::new(d);
    let public = public_key(curve, &d)?;
    Ok((d, public))
}

/// A fresh P-256 session key pair: what our holder engages with (every reader takes P-256).
pub fn ephemeral_key(rng: &mut dyn Rng) -> Result<(SecretKey, CoseKey), MdocError> {
    key_pair(CoseCurve::P256, rng)
}

/// The public key of a private key on `curve`.
pub fn public_key(curve: CoseCurve, private: &SecretKey) -> Result<CoseKey, MdocError> {
    if let Some(ec) = curve.weierstrass() {
        let pair = KeyPair::from_private(ec, private.clone()).map_err(|_| MdocError::Key)?;
        return CoseKey::from_sec1(curve, pair.public().to_sec1());
    }
    let d: [u8; 32] = private.as_bytes().try_into().map_err(|_| MdocError::Key)?;
    let d = zeroize::Zeroizing::new(d);
    match curve {
        CoseCurve::X25519 => {
            let secret = x25519_dalek::StaticSecret::from(*d);
            CoseKey::okp(curve, x25519_dalek::PublicKey::from(&secret).as_bytes())
        }
        CoseCurve::Ed25519 => {
            let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(d.as_slice())
                .map_err(|_| MdocError::Key)?;
            CoseKey::okp(curve, ring::signature::KeyPair::public_key(&pair).as_ref())
        }
        _ => Err(MdocError::Key),
    }
}

/// ECDH (§9.1.5.2): the shared secret of our private key and `peer` on the peer's curve, the
/// x-coordinate for the Weierstrass curves (BSI TR-03111 ECKA-DH), the X25519 output (RFC
/// 7748) otherwise. An all-zero X25519 output (a small-order peer key) is refused.
pub fn ecdh(private: &SecretKey, peer: &CoseKey) -> Result<SecretKey, MdocError> {
    let curve = peer.curve();
    if let Some(ec) = curve.weierstrass() {
        let pair = KeyPair::from_private(ec, private.clone()).map_err(|_| MdocError::Key)?;
        let point = peer.point().ok_or(MdocError::Key)?;
        return pair.agree(&point).map_err(|_| MdocError::Key);
    }
    if curve != CoseCurve::X25519 {
        return Err(MdocError::Key);
    }
    let d: [u8; 32] = private.as_bytes().try_into().map_err(|_| MdocError::Key)?;
    let d = zeroize::Zeroizing::new(d);
    let secret = x25519_dalek::StaticSecret::from(*d);
    let p: [u8; 32] = peer.public_bytes().try_into().map_err(|_| MdocError::Key)?;
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(p));
    if !shared.was_contributory() {
        return Err(MdocError::Key);
    }
    Ok(SecretKey::new(shared.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_on_every_key_agreement_curve() {
        for curve in CoseCurve::ALL.into_iter().filter(|c| c.agrees()) {
            let (a, a_pub) = key_pair(curve, &mut eid_crypto::OsRng).unwrap();
            let (b, b_pub) = key_pair(curve, &mut eid_crypto::OsRng).unwrap();
            assert_eq!(a.as_bytes().len(), curve.private_len(), "{curve:?}");
            assert_eq!(public_key(curve, &a).unwrap(), a_pub);
            let ab = ecdh(&a, &b_pub).unwrap();
            assert_eq!(
                ab.as_bytes(),
                ecdh(&b, &a_pub).unwrap().as_bytes(),
                "{curve:?}"
            );
            assert_ne!(ab.as_bytes(), ecdh(&a, &a_pub).unwrap().as_bytes());
        }
        // No ECDH on Ed25519. (Keys on two curves are kept apart by the sessions: the holder
        // refuses an EReaderKey off its EDeviceKey's curve, the reader a device MAC key off
        // EReaderKey's.)
        let (a, _) = key_pair(CoseCurve::Ed25519, &mut eid_crypto::OsRng).unwrap();
        let (_, ed) = key_pair(CoseCurve::Ed25519, &mut eid_crypto::OsRng).unwrap();
        assert_eq!(ecdh(&a, &ed), Err(MdocError::Key));
        // A private key longer than the curve's is refused, not reduced.
        let (p384, _) = key_pair(CoseCurve::P384, &mut eid_crypto::OsRng).unwrap();
        let (_, p256) = key_pair(CoseCurve::P256, &mut eid_crypto::OsRng).unwrap();
        assert_eq!(ecdh(&p384, &p256), Err(MdocError::Key));
    }

    #[test]
    fn rfc_7748_x25519_vector_and_a_small_order_peer_is_refused() {
        // RFC 7748 §6.1: Alice's private key, Bob's public key, the shared secret.
        let h = |s: &str| hex::decode(s).unwrap();
        let alice = SecretKey::new(h(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let alice_pub = public_key(CoseCurve::X25519, &alice).unwrap();
        assert_eq!(
            alice_pub.public_bytes(),
            h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        let bob = CoseKey::okp(
            CoseCurve::X25519,
            &h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
        )
        .unwrap();
        assert_eq!(
            ecdh(&alice, &bob).unwrap().as_bytes(),
            h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        );
        let zero = CoseKey::okp(CoseCurve::X25519, &[0; 32]).unwrap();
        assert_eq!(ecdh(&alice, &zero), Err(MdocError::Key));
    }
}
