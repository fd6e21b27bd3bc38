//! Device keys: the [`KeyStore`] trait the platform's secure hardware implements (Android
//! Keystore/StrongBox, iOS Secure Enclave, through UniFFI), and [`SoftwareKeyStore`], the Rust
//! implementation for tests, desktop and the CLI.
//!
//! Callers address keys by alias and never hold private key bytes: they get public keys,
//! signatures and wrapped (encrypted) blobs back.

mod error;
mod software;

pub use error::KeyError;
pub use software::SoftwareKeyStore;

/// ES256 over `message` with the signing key `alias`, as COSE wants it: r || s (64 bytes),
/// low-S, from the key store's DER signature.
pub fn sign_es256_raw(
    keys: &dyn KeyStore,
    alias: &str,
    message: &[u8],
) -> Result<Vec<u8>, KeyError> {
    let der = keys.sign(alias, message)?;
    let der = eid_crypto::es256::normalize_der(&der).ok_or(KeyError::Crypto)?;
    let sig = p256::ecdsa::Signature::from_der(&der).map_err(|_| KeyError::Crypto)?;
    Ok(sig.to_bytes().to_vec())
}

/// Platform secure key storage. Signatures use byte vectors, strings and [`KeyError`] only, so the
/// trait maps one-to-one onto a UniFFI callback interface.
///
/// Two kinds of key live under separate aliases: P-256 signing keys (the device key that proves
/// possession to the backend) and AES wrapping keys (which protect the store's data key). Using an
/// alias with an operation of the other kind fails with [`KeyError::Crypto`].
pub trait KeyStore: Send + Sync {
    /// Creates a P-256 signing key under `alias` and returns its public key, SEC1 uncompressed
    /// (65 bytes, `04 || X || Y`). Fails with [`KeyError::AlreadyExists`] if the alias is taken.
    fn create_signing_key(&self, alias: &str) -> Result<Vec<u8>, KeyError>;

    /// The SEC1 uncompressed public key of the signing key under `alias`, `None` if there is none.
    fn public_key(&self, alias: &str) -> Result<Option<Vec<u8>>, KeyError>;

    /// ECDSA P-256 over SHA-256(`message`), DER-encoded (`SEQUENCE { r, s }`).
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// Deletes the key under `alias`; deleting a missing key is not an error, so a reset can
    /// always be retried.
    fn delete(&self, alias: &str) -> Result<(), KeyError>;

    /// The key's attestation certificate chain (DER, leaf first), `None` where the platform (or
    /// software) cannot attest. [`KeyError::NotFound`] if there is no key under `alias`.
    fn attestation(&self, alias: &str) -> Result<Option<Vec<Vec<u8>>>, KeyError>;

    /// Encrypts `key` under the wrapping key `alias`, creating that wrapping key first if missing.
    fn wrap_key(&self, alias: &str, key: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// Decrypts a blob from [`KeyStore::wrap_key`] with the same alias; a blob that was altered
    /// or wrapped under another alias fails with [`KeyError::Crypto`].
    fn unwrap_key(
        &self,
        alias: &str,
        wrapped: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError>;

    /// ECDH on P-256 between the signing key under `alias` and `peer` (SEC1): the shared
    /// point's x-coordinate, for ISO/IEC 18013-5's device MAC (EMacKey, §9.1.3.5). `None` where
    /// the key cannot agree keys (platform keys made for signing only; the default, so the
    /// UniFFI callback interface does not carry it): the caller signs instead.
    fn key_agreement(
        &self,
        alias: &str,
        peer: &[u8],
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, KeyError> {
        let _ = (alias, peer);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    #[test]
    fn raw_es256_signatures_verify_and_are_low_s() {
        let keys = SoftwareKeyStore::in_memory();
        let public = keys.create_signing_key("reader").unwrap();
        for i in 0..16u8 {
            let message = [i; 40];
            let sig = sign_es256_raw(&keys, "reader", &message).unwrap();
            assert_eq!(sig.len(), 64);
            assert!(
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
                    .verify(&message, &sig)
                    .is_ok()
            );
            let s = p256::ecdsa::Signature::from_slice(&sig).unwrap();
            assert_eq!(s.normalize_s(), s, "low-S");
        }
        assert_eq!(
            sign_es256_raw(&keys, "missing", b"x"),
            Err(KeyError::NotFound)
        );
    }
}
