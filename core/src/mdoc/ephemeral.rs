//! Ephemeral session keys (ISO/IEC 18013-5 §9.1.5.2): a fresh P-256 key pair per session,
//! EDeviceKey on the holder's side and EReaderKey on the reader's.

use super::cose_key::P256Key;
use super::error::MdocError;
use eid_crypto::{Rng, SecretKey};

/// A fresh P-256 private scalar from `rng` and its public key. Scalars outside 1..n-1 (odds of
/// about 2^-32) are drawn again.
pub fn ephemeral_key(rng: &mut dyn Rng) -> Result<(SecretKey, P256Key), MdocError> {
    for _ in 0..16 {
        let mut d = vec![0u8; 32];
        rng.fill(&mut d);
        // Wrapped first, so a refused candidate is wiped like the kept one.
        let d = SecretKey::new(d);
        let Ok(sk) = p256::SecretKey::from_slice(d.as_bytes()) else {
            continue;
        };
        let point = p256::ecdsa::VerifyingKey::from(sk.public_key()).to_sec1_point(false);
        let public = P256Key::from_sec1(point.as_bytes())?;
        return Ok((d, public));
    }
    Err(MdocError::Key)
}

/// The public key of a private scalar.
pub fn public_key(private: &SecretKey) -> Result<P256Key, MdocError> {
    let sk = p256::SecretKey::from_slice(private.as_bytes()).map_err(|_| MdocError::Key)?;
    P256Key::from_sec1(
        p256::ecdsa::VerifyingKey::from(sk.public_key())
            .to_sec1_point(false)
            .as_bytes(),
    )
}
