//! The platform's key store (Android Keystore/StrongBox, iOS Secure Enclave + Keychain), written
//! by the app and adapted here to the core's `KeyStore` trait.

use crate::error::{EidError, to_key_error};
use eid_core::keys::KeyError;
use std::sync::Arc;

/// Secure key storage implemented by the app. Same contract as the core's `KeyStore`: P-256
/// signing keys (public keys SEC1 uncompressed, signatures DER ECDSA over SHA-256 of `message`)
/// and AES wrapping keys (`wrap_key` creates the key on first use). Throw `EidError.KeyNotFound`,
/// `KeyAlreadyExists`, `UserAuthenticationRequired`, `KeyInvalidated`, `Crypto` or
/// `KeyStoreUnavailable`; `delete` of a missing key succeeds.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    fn create_signing_key(&self, alias: String) -> Result<Vec<u8>, EidError>;
    fn public_key(&self, alias: String) -> Result<Option<Vec<u8>>, EidError>;
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, EidError>;
    fn delete(&self, alias: String) -> Result<(), EidError>;
    /// Attestation chain (DER, leaf first), or null where the platform cannot attest.
    fn attestation(&self, alias: String) -> Result<Option<Vec<Vec<u8>>>, EidError>;
    fn wrap_key(&self, alias: String, key: Vec<u8>) -> Result<Vec<u8>, EidError>;
    fn unwrap_key(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, EidError>;
}

/// The app's key store as the core sees it.
pub(crate) struct ForeignKeyStore(pub Arc<dyn KeyStore>);

impl eid_core::platform::KeyStore for ForeignKeyStore {
    fn create_signing_key(&self, alias: &str) -> Result<Vec<u8>, KeyError> {
        self.0
            .create_signing_key(alias.into())
            .map_err(to_key_error)
    }
    fn public_key(&self, alias: &str) -> Result<Option<Vec<u8>>, KeyError> {
        self.0.public_key(alias.into()).map_err(to_key_error)
    }
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0
            .sign(alias.into(), message.to_vec())
            .map_err(to_key_error)
    }
    fn delete(&self, alias: &str) -> Result<(), KeyError> {
        self.0.delete(alias.into()).map_err(to_key_error)
    }
    fn attestation(&self, alias: &str) -> Result<Option<Vec<Vec<u8>>>, KeyError> {
        self.0.attestation(alias.into()).map_err(to_key_error)
    }
    fn wrap_key(&self, alias: &str, key: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0
            .wrap_key(alias.into(), key.to_vec())
            .map_err(to_key_error)
    }
    fn unwrap_key(
        &self,
        alias: &str,
        wrapped: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        self.0
            .unwrap_key(alias.into(), wrapped.to_vec())
            .map(zeroize::Zeroizing::new)
            .map_err(to_key_error)
    }
}
