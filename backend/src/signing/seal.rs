//! Keys at rest: AES-256-GCM under the backend's one key-encryption key (KEK: `EID_KEK`, 64 hex
//! digits; `EID_SIGNING_SEAL_KEY`, its name before ADR 0018, is still read), a random 96-bit
//! nonce per blob, and a purpose string as associated data so a blob cannot be moved to another
//! use. Everything the backend keeps secret in its database is sealed with it: issuer keys, the
//! remote signing CA key, citizens' software signing keys.

use crate::error::Error;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

/// Environment variable holding the key-encryption key.
pub const KEK_ENV: &str = "EID_KEK";
/// The former name of [`KEK_ENV`], read when [`KEK_ENV`] is not set.
pub const SEAL_KEY_ENV: &str = "EID_SIGNING_SEAL_KEY";

pub struct SealKey(LessSafeKey);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    pub fn new(key: &[u8]) -> Result<SealKey, Error> {
        let k = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| Error::Config("the seal key must be 32 bytes".into()))?;
        Ok(SealKey(LessSafeKey::new(k)))
    }

    /// The key from [`KEK_ENV`] (or [`SEAL_KEY_ENV`]); in development mode without either, the
    /// public development key (logged as such). `None`: production without a key.
    pub fn from_env(dev_mode: bool) -> Result<Option<SealKey>, Error> {
        let var = [KEK_ENV, SEAL_KEY_ENV]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().map(|v| (name, Zeroizing::new(v))));
        match var {
            Some((name, text)) => {
                let bytes = Zeroizing::new(
                    hex::decode(text.trim())
                        .map_err(|_| Error::Config(format!("{name} is not hex")))?,
                );
                SealKey::new(&bytes)
                    .map_err(|_| Error::Config(format!("{name} must be 64 hex digits")))
                    .map(Some)
            }
            None if dev_mode => {
                tracing::warn!(
                    "keys are sealed under the public development key ({KEK_ENV} is not set)"
                );
                SealKey::development().map(Some)
            }
            None => Ok(None),
        }
    }

    /// The development key: public, so only for development databases.
    pub fn development() -> Result<SealKey, Error> {
        SealKey::new(&dev_key())
    }

    pub fn seal(&self, purpose: &str, plain: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce_bytes = crate::http::random_bytes(NONCE_LEN)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&nonce_bytes);
        let mut buf = plain.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut buf,
            )
            .map_err(|_| Error::Config("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        buf.iter_mut().for_each(|b| *b = 0);
        Ok(out)
    }

    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let bad = || Error::Config("a sealed key does not open (wrong seal key?)".into());
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN).ok_or_else(bad)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut buf = Zeroizing::new(body.to_vec());
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buf)
            .map_err(|_| bad())?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

/// The development seal key: public, so only for development databases.
fn dev_key() -> Zeroizing<Vec<u8>> {
    use sha2::Digest;
    Zeroizing::new(sha2::Sha256::digest(b"eid-backend development seal key v1").to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_blobs_open_only_with_their_key_and_purpose() {
        let k = SealKey::new(&[7u8; 32]).unwrap();
        let sealed = k.seal("a", b"secret").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(k.open("a", &sealed).unwrap().as_slice(), b"secret");
        assert!(k.open("b", &sealed).is_err());
        assert!(
            SealKey::new(&[8u8; 32])
                .unwrap()
                .open("a", &sealed)
                .is_err()
        );
        let mut altered = sealed;
        altered[20] ^= 1;
        assert!(k.open("a", &altered).is_err());
    }
}
