//! The data key and its wrappings: sealed under the passcode's key encryption key, then wrapped
//! by the platform key store; a second copy wrapped under a biometric-bound platform key.

use super::{Result, WalletError};
use crate::keys::KeyStore;
use crate::store::seal::{Place, Sealer};
use eid_crypto::{OsRng, Rng, SecretKey};

/// Platform key that wraps the passcode-sealed data key (hardware-bound on phones).
pub const PASSCODE_ALIAS: &str = "eid.data";
/// Platform key that needs a biometric prompt to unwrap (configured so by the app's glue).
pub const BIOMETRIC_ALIAS: &str = "eid.biometric";
pub const META_WRAPPED: &str = "wallet.data_key";
pub const META_BIOMETRIC: &str = "wallet.data_key.biometric";

const PLACE: Place<'static> = Place {
    table: "wallet",
    column: "data_key",
    row: &[],
};

pub fn generate() -> SecretKey {
    let mut k = vec![0u8; 32];
    OsRng.fill(&mut k);
    SecretKey::new(k)
}

/// Seals the data key under `kek`, then wraps that with the platform key store.
pub fn wrap_for_passcode(
    keys: &dyn KeyStore,
    kek: &SecretKey,
    data_key: &SecretKey,
) -> Result<Vec<u8>> {
    let sealed = Sealer::new(kek)?.seal(&PLACE, data_key.as_bytes())?;
    Ok(keys.wrap_key(PASSCODE_ALIAS, &sealed)?)
}

/// The reverse: the platform key store unwraps, the passcode's key opens.
pub fn unwrap_with_passcode(
    keys: &dyn KeyStore,
    kek: &SecretKey,
    wrapped: &[u8],
) -> Result<SecretKey> {
    let sealed = keys.unwrap_key(PASSCODE_ALIAS, wrapped)?;
    let key = Sealer::new(kek)?
        .open(&PLACE, &sealed)
        .map_err(|_| WalletError::Corrupt("data key"))?;
    Ok(SecretKey::new(key))
}
