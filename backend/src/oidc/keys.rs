//! The facade's secrets (docs/adr/0042): the pairwise-subject key (HMAC-SHA256), the ID token
//! key (ES256, published at the JWKS endpoint), the hub's OpenID4VP request key (its access
//! certificate from the RP CA) and the response decryption key (`direct_post.jwt`). Made on the
//! first start, stored sealed under the key-encryption key (`oidc_secrets`), so every instance
//! on one database derives the same subjects, signs with the same keys and opens every answer.

use crate::db::Store;
use crate::error::Error;
use crate::signing::seal::SealKey;
use std::sync::Arc;
use zeroize::Zeroizing;

const PARTS: usize = 4;

/// The facade's keys of a running backend.
pub struct OidcKeys {
    pub(crate) pairwise: Zeroizing<[u8; 32]>,
    pub(crate) id_token: p256::ecdsa::SigningKey,
    pub(crate) request: p256::ecdsa::SigningKey,
    pub(crate) decryption: p256::SecretKey,
    pub(crate) seal: Arc<SealKey>,
}

impl std::fmt::Debug for OidcKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OidcKeys(..)")
    }
}

/// 32 random bytes that make a valid P-256 scalar.
fn scalar() -> Result<Zeroizing<Vec<u8>>, Error> {
    loop {
        let bytes = Zeroizing::new(crate::http::random_bytes(32)?);
        if p256::SecretKey::from_slice(&bytes).is_ok() {
            return Ok(bytes);
        }
    }
}

fn secret(bytes: &[u8]) -> Result<p256::SecretKey, Error> {
    p256::SecretKey::from_slice(bytes).map_err(|_| Error::Config("stored OIDC key".into()))
}

impl OidcKeys {
    /// Opens the keys, making them on the first start (another instance starting at the same
    /// moment may win: then both use its row).
    pub async fn open(store: &Store, seal: Arc<SealKey>, now: u64) -> Result<OidcKeys, Error> {
        let make = || {
            let mut plain = Zeroizing::new(crate::http::random_bytes(32)?);
            for _ in 1..PARTS {
                plain.extend_from_slice(&scalar()?);
            }
            Ok(plain)
        };
        let plain = crate::sealed_setup::open_or_make(
            store,
            &seal,
            &crate::sealed_setup::OIDC_SECRETS,
            now,
            make,
        )
        .await?;
        if plain.len() != 32 * PARTS {
            return Err(Error::Config("stored OIDC secrets".into()));
        }
        let mut pairwise = Zeroizing::new([0u8; 32]);
        pairwise.copy_from_slice(&plain[..32]);
        Ok(OidcKeys {
            pairwise,
            id_token: p256::ecdsa::SigningKey::from(&secret(&plain[32..64])?),
            request: p256::ecdsa::SigningKey::from(&secret(&plain[64..96])?),
            decryption: secret(&plain[96..128])?,
            seal,
        })
    }

    /// The ID token key's SEC1 uncompressed point.
    pub fn id_token_point(&self) -> Vec<u8> {
        self.id_token
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec()
    }

    /// The request key's SEC1 uncompressed point (in the hub's access certificate).
    pub fn request_point(&self) -> Vec<u8> {
        self.request
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec()
    }

    /// The ID token key's `kid`: its RFC 7638 thumbprint.
    pub fn id_token_kid(&self) -> String {
        crate::oidc::discovery::thumbprint(&self.id_token_point()).unwrap_or_default()
    }
}
