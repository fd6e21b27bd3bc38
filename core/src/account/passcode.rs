//! The 6-digit passcode: Argon2id with a random salt gives both a verifier (stored wrapped by the
//! platform key store, so the wallet's files alone cannot check a guess) and a key encryption key
//! (never stored) that wraps the wallet's data key.

use crate::keys::KeyStore;
use argon2::{Algorithm, Argon2, Params, Version};
use eid_crypto::{Rng, SecretKey, ct_eq};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::AccountError;

/// A 6-digit passcode, zeroized on drop and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Passcode(String);

impl std::fmt::Debug for Passcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passcode(redacted)")
    }
}

impl Passcode {
    pub fn new(digits: &str) -> Result<Self, AccountError> {
        let d = digits.trim();
        if d.len() != 6 || !d.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AccountError::InvalidPasscode);
        }
        Ok(Passcode(d.to_owned()))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Argon2id cost. OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane) keeps a check near
/// 100 ms on a cheap phone while making each guess against a stolen file cost the same memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

impl KdfParams {
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    };
    /// For tests only: the same algorithm at a cost that keeps test suites fast.
    pub const FAST_FOR_TESTS: KdfParams = KdfParams {
        memory_kib: 64,
        passes: 1,
        lanes: 1,
    };
}

/// The platform key store's wrapping key that protects the stored verifier: without the key
/// store (hardware on phones), a copy of the wallet's files cannot check a passcode guess.
#[derive(Clone, Copy)]
pub struct VerifierKey<'a> {
    pub keys: &'a dyn KeyStore,
    pub alias: &'a str,
}

impl VerifierKey<'_> {
    fn wrap(&self, verifier: &[u8; 32]) -> Result<Vec<u8>, AccountError> {
        Ok(self.keys.wrap_key(self.alias, verifier)?)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Zeroizing<[u8; 32]>, AccountError> {
        let plain = self.keys.unwrap_key(self.alias, wrapped)?;
        let mut out = Zeroizing::new([0u8; 32]);
        if plain.len() != out.len() {
            return Err(AccountError::Storage("passcode record is corrupt".into()));
        }
        out.copy_from_slice(&plain);
        Ok(out)
    }
}

/// How the verifier is stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredVerifier {
    /// Wrapped by the platform key store ([`VerifierKey`]), since issue 12.
    WrappedVerifier(Vec<u8>),
    /// Before issue 12: in plaintext. Still read, and replaced by the wrapped form on the first
    /// successful unlock; never written.
    Verifier([u8; 32]),
}

/// What is stored: salt, cost and the verifier half of the Argon2id output, wrapped by the
/// platform key store.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasscodeRecord {
    pub salt: [u8; 16],
    pub params: KdfParams,
    #[serde(flatten)]
    verifier: StoredVerifier,
}

impl std::fmt::Debug for PasscodeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasscodeRecord({:?}, redacted)", self.params)
    }
}

/// Argon2id(passcode, salt) → 64 bytes: the first half verifies, the second half is the key
/// encryption key. Knowing the verifier tells nothing about the key.
fn derive(
    passcode: &Passcode,
    salt: &[u8; 16],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 64]>, AccountError> {
    let p = Params::new(params.memory_kib, params.passes, params.lanes, Some(64))
        .map_err(|_| AccountError::Storage("passcode parameters invalid".into()))?;
    let mut out = Zeroizing::new([0u8; 64]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into(passcode.as_bytes(), salt, out.as_mut())
        .map_err(|_| AccountError::Storage("passcode hashing failed".into()))?;
    Ok(out)
}

fn split(out: &[u8; 64]) -> (Zeroizing<[u8; 32]>, SecretKey) {
    let mut verifier = Zeroizing::new([0u8; 32]);
    verifier.copy_from_slice(&out[..32]);
    (verifier, SecretKey::new(out[32..].to_vec()))
}

/// The verifier a record holds, opened (see [`PasscodeRecord::open_verifier`]).
pub struct OpenVerifier(Zeroizing<[u8; 32]>);

impl PasscodeRecord {
    /// Hashes a new passcode with a fresh salt and wraps its verifier under `key`; returns the
    /// record and the key encryption key.
    pub fn create(
        passcode: &Passcode,
        params: KdfParams,
        rng: &mut dyn Rng,
        key: VerifierKey<'_>,
    ) -> Result<(Self, SecretKey), AccountError> {
        let mut salt = [0u8; 16];
        rng.fill(&mut salt);
        let out = derive(passcode, &salt, params)?;
        let (verifier, kek) = split(&out);
        Ok((
            PasscodeRecord {
                salt,
                params,
                verifier: StoredVerifier::WrappedVerifier(key.wrap(&verifier)?),
            },
            kek,
        ))
    }

    /// Opens the stored verifier with the key store. Checks no passcode: the lockout counts the
    /// attempt between this and [`PasscodeRecord::check`].
    pub fn open_verifier(&self, key: VerifierKey<'_>) -> Result<OpenVerifier, AccountError> {
        Ok(OpenVerifier(match &self.verifier {
            StoredVerifier::WrappedVerifier(w) => key.unwrap(w)?,
            StoredVerifier::Verifier(v) => Zeroizing::new(*v),
        }))
    }

    /// The key encryption key if `passcode` is right (constant-time comparison).
    pub fn check(
        &self,
        passcode: &Passcode,
        expected: &OpenVerifier,
    ) -> Result<Option<SecretKey>, AccountError> {
        let out = derive(passcode, &self.salt, self.params)?;
        let (verifier, kek) = split(&out);
        Ok(ct_eq(&verifier[..], &expected.0[..]).then_some(kek))
    }

    /// A record from before issue 12, with its verifier in plaintext.
    pub fn is_plaintext(&self) -> bool {
        matches!(self.verifier, StoredVerifier::Verifier(_))
    }

    /// The same record with its verifier wrapped under `key`.
    pub fn wrapped(
        &self,
        verifier: &OpenVerifier,
        key: VerifierKey<'_>,
    ) -> Result<Self, AccountError> {
        Ok(PasscodeRecord {
            salt: self.salt,
            params: self.params,
            verifier: StoredVerifier::WrappedVerifier(key.wrap(&verifier.0)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SoftwareKeyStore;
    use eid_crypto::OsRng;

    fn key(keys: &SoftwareKeyStore) -> VerifierKey<'_> {
        VerifierKey {
            keys,
            alias: "eid.test",
        }
    }

    fn check(rec: &PasscodeRecord, keys: &SoftwareKeyStore, p: &str) -> Option<SecretKey> {
        let expected = rec.open_verifier(key(keys)).unwrap();
        rec.check(&Passcode::new(p).unwrap(), &expected).unwrap()
    }

    #[test]
    fn right_passcode_gives_the_same_key_wrong_one_nothing() {
        let keys = SoftwareKeyStore::in_memory();
        let p = Passcode::new("123456").unwrap();
        let f = KdfParams::FAST_FOR_TESTS;
        let (rec, kek) = PasscodeRecord::create(&p, f, &mut OsRng, key(&keys)).unwrap();
        assert_eq!(check(&rec, &keys, "123456"), Some(kek.clone()));
        assert_eq!(check(&rec, &keys, "123457"), None);
        let (rec2, kek2) = PasscodeRecord::create(&p, f, &mut OsRng, key(&keys)).unwrap();
        assert_ne!(rec2.salt, rec.salt, "fresh salt");
        assert_ne!(kek2, kek);
        assert!(!rec.is_plaintext());
        let verifier = rec.open_verifier(key(&keys)).unwrap();
        assert_ne!(&verifier.0[..], kek.as_bytes(), "verifier and key differ");
    }

    #[test]
    fn the_verifier_opens_only_with_its_key_store() {
        let keys = SoftwareKeyStore::in_memory();
        let p = Passcode::new("123456").unwrap();
        let (rec, _) =
            PasscodeRecord::create(&p, KdfParams::FAST_FOR_TESTS, &mut OsRng, key(&keys)).unwrap();
        let other = SoftwareKeyStore::in_memory();
        assert!(rec.open_verifier(key(&other)).is_err());
        let wrong_alias = VerifierKey {
            keys: &keys,
            alias: "eid.other",
        };
        assert!(rec.open_verifier(wrong_alias).is_err());
        // A blob that opens but is not 32 bytes (another wrapped key moved here) is refused.
        let mut moved = rec;
        moved.verifier =
            StoredVerifier::WrappedVerifier(keys.wrap_key("eid.test", &[7; 60]).unwrap());
        assert!(moved.open_verifier(key(&keys)).is_err());
    }

    #[test]
    fn a_plaintext_record_still_checks_and_wraps() {
        let keys = SoftwareKeyStore::in_memory();
        let p = Passcode::new("123456").unwrap();
        let (rec, kek) =
            PasscodeRecord::create(&p, KdfParams::FAST_FOR_TESTS, &mut OsRng, key(&keys)).unwrap();
        let verifier = rec.open_verifier(key(&keys)).unwrap();
        // The form written before issue 12.
        let old = serde_json::json!({
            "salt": rec.salt,
            "params": rec.params,
            "verifier": *verifier.0,
        });
        let old: PasscodeRecord = serde_json::from_value(old).unwrap();
        assert!(old.is_plaintext());
        assert_eq!(check(&old, &keys, "123456"), Some(kek.clone()));
        assert_eq!(check(&old, &keys, "654321"), None);
        let upgraded = old
            .wrapped(&old.open_verifier(key(&keys)).unwrap(), key(&keys))
            .unwrap();
        assert!(!upgraded.is_plaintext());
        assert_eq!(upgraded.salt, rec.salt);
        assert_eq!(check(&upgraded, &keys, "123456"), Some(kek));
        let json = serde_json::to_value(&upgraded).unwrap();
        assert!(json.get("verifier").is_none() && json.get("wrapped_verifier").is_some());
    }

    #[test]
    fn passcode_is_six_digits_and_redacted() {
        for bad in ["12345", "1234567", "12345a", ""] {
            assert!(Passcode::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            format!("{:?}", Passcode::new("000000").unwrap()),
            "Passcode(redacted)"
        );
    }

    #[test]
    fn default_cost_is_memory_hard() {
        // Argon2id with 19 MiB: the record says so, and it still verifies.
        let p = Passcode::new("654321").unwrap();
        let keys = SoftwareKeyStore::in_memory();
        let (rec, _) =
            PasscodeRecord::create(&p, KdfParams::DEFAULT, &mut OsRng, key(&keys)).unwrap();
        assert_eq!(rec.params.memory_kib, 19 * 1024);
        assert!(check(&rec, &keys, "654321").is_some());
    }
}
