//! Who signs requests to the backend: the wallet's device key ([`DeviceSigner`]) or a verifier's
//! key ([`VerifierSigner`]: [`KeyStoreVerifier`] for desks, [`VerifierKey`] for tests and load runs).

use super::ClientError;
use crate::keys::KeyStore;
use eid_crypto::{OsRng, Rng};
use std::sync::Arc;

/// Signs requests with the device key (the wallet implements it over the platform key store).
pub trait DeviceSigner: Send + Sync {
    /// The account the device is bound to.
    fn account_id(&self) -> String;
    /// DER ECDSA P-256/SHA-256 over `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ClientError>;
}

/// Signs requests with a verifier device's key (`x-eid-verifier` instead of `x-eid-account`),
/// for token redemption.
pub trait VerifierSigner: Send + Sync {
    /// The id the backend gave the verifier at registration.
    fn verifier_id(&self) -> String;
    /// DER ECDSA P-256/SHA-256 over `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ClientError>;
}

/// A verifier key held in memory (desk software, tests, load runs).
#[derive(Clone)]
pub struct VerifierKey {
    pub verifier_id: String,
    key: p256::ecdsa::SigningKey,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierKey")
            .field("verifier_id", &self.verifier_id)
            .finish_non_exhaustive()
    }
}

impl VerifierKey {
    /// A fresh random key, not registered yet (empty id).
    pub fn generate() -> VerifierKey {
        loop {
            let mut secret = [0u8; 32];
            OsRng.fill(&mut secret);
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&secret) {
                return VerifierKey {
                    verifier_id: String::new(),
                    key,
                };
            }
        }
    }

    /// SEC1 uncompressed public key, for [`crate::api::VerifierRegistration::public_key`].
    pub fn public_key(&self) -> Vec<u8> {
        self.key
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec()
    }
}

impl VerifierSigner for VerifierKey {
    fn verifier_id(&self) -> String {
        self.verifier_id.clone()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ClientError> {
        use p256::ecdsa::signature::Signer as _;
        let sig: p256::ecdsa::Signature = self.key.sign(message);
        Ok(sig.normalize_s().to_der().as_bytes().to_vec())
    }
}

/// A verifier key kept in a [`KeyStore`] (the desk's secure storage) under `alias`, registered
/// at the backend as `verifier_id`.
pub struct KeyStoreVerifier {
    pub keys: Arc<dyn KeyStore>,
    pub alias: String,
    pub verifier_id: String,
}

impl VerifierSigner for KeyStoreVerifier {
    fn verifier_id(&self) -> String {
        self.verifier_id.clone()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.keys
            .sign(&self.alias, message)
            .map_err(|e| ClientError::DeviceKey(e.to_string()))
    }
}
