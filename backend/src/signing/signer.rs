//! Where the citizens' signing keys live: behind [`KeySigner`], so handlers never see a
//! private key. [`SoftwareSigner`] (default) keeps each key sealed in the database;
//! `Pkcs11Signer` (`pkcs11.rs`) keeps it in a PKCS#11 token and stores only its CKA_ID.

use super::seal::SealKey;
use crate::error::Error;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use std::sync::Arc;

/// Purpose (associated data) of sealed user keys.
const USER_KEY_PURPOSE: &str = "eid remote signing user key v1";

/// A key the signer created: the handle the database keeps, and the public key.
pub struct NewKey {
    /// Opaque to the caller: a sealed key or a token object id.
    pub handle: Vec<u8>,
    /// SEC1 uncompressed P-256 point.
    pub public_key: Vec<u8>,
}

/// A holder of P-256 signing keys that signs SHA-256 hashes (ES256).
pub trait KeySigner: Send + Sync {
    /// `software` or `pkcs11`, stored with each credential.
    fn kind(&self) -> &'static str;
    fn generate(&self) -> Result<NewKey, Error>;
    /// DER ECDSA signature over the 32-byte `hash` with the key behind `handle`.
    fn sign_hash(&self, handle: &[u8], hash: &[u8]) -> Result<Vec<u8>, Error>;
}

impl std::fmt::Debug for dyn KeySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeySigner({})", self.kind())
    }
}

pub(crate) fn signer_error(what: &str) -> Error {
    Error::Config(format!("signer: {what}"))
}

/// A random P-256 key.
pub(crate) fn random_key() -> Result<SigningKey, Error> {
    loop {
        let secret = zeroize::Zeroizing::new(crate::http::random_bytes(32)?);
        if let Ok(k) = SigningKey::from_slice(&secret) {
            return Ok(k);
        }
    }
}

pub(crate) fn public_of(key: &SigningKey) -> Vec<u8> {
    key.verifying_key().to_sec1_point(false).as_bytes().to_vec()
}

/// Keys generated in this process and sealed under the backend's seal key.
#[derive(Debug)]
pub struct SoftwareSigner {
    seal: Arc<SealKey>,
}

impl SoftwareSigner {
    pub fn new(seal: Arc<SealKey>) -> Self {
        SoftwareSigner { seal }
    }
}

impl KeySigner for SoftwareSigner {
    fn kind(&self) -> &'static str {
        "software"
    }

    fn generate(&self) -> Result<NewKey, Error> {
        let key = random_key()?;
        let secret = zeroize::Zeroizing::new(key.to_bytes().to_vec());
        Ok(NewKey {
            handle: self.seal.seal(USER_KEY_PURPOSE, &secret)?,
            public_key: public_of(&key),
        })
    }

    fn sign_hash(&self, handle: &[u8], hash: &[u8]) -> Result<Vec<u8>, Error> {
        let secret = self.seal.open(USER_KEY_PURPOSE, handle)?;
        let key = SigningKey::from_slice(&secret).map_err(|_| signer_error("stored key"))?;
        let sig: Signature = key
            .sign_prehash(hash)
            .map_err(|_| signer_error("signing failed"))?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;

    #[test]
    fn software_keys_sign_and_stay_sealed() {
        let s = SoftwareSigner::new(Arc::new(SealKey::new(&[3u8; 32]).unwrap()));
        let k = s.generate().unwrap();
        let hash = [9u8; 32];
        let sig = Signature::from_der(&s.sign_hash(&k.handle, &hash).unwrap()).unwrap();
        let vk = VerifyingKey::from_sec1_bytes(&k.public_key).unwrap();
        vk.verify_prehash(&hash, &sig).unwrap();
        assert!(vk.verify_prehash(&[8u8; 32], &sig).is_err());
        let other = SoftwareSigner::new(Arc::new(SealKey::new(&[4u8; 32]).unwrap()));
        assert!(other.sign_hash(&k.handle, &hash).is_err());
    }
}
