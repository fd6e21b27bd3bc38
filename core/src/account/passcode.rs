//! The 6-digit passcode: Argon2id with a random salt gives both a verifier (stored) and a key
//! encryption key (never stored) that wraps the wallet's data key.

use crate::chip::crypto::{Rng, SecretKey, ct_eq};
use argon2::{Algorithm, Argon2, Params, Version};
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

/// What is stored: salt, cost and the verifier half of the Argon2id output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasscodeRecord {
    pub salt: [u8; 16],
    pub params: KdfParams,
    pub verifier: [u8; 32],
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

fn split(out: &[u8; 64]) -> ([u8; 32], SecretKey) {
    let mut verifier = [0u8; 32];
    verifier.copy_from_slice(&out[..32]);
    (verifier, SecretKey::new(out[32..].to_vec()))
}

impl PasscodeRecord {
    /// Hashes a new passcode with a fresh salt; returns the record and the key encryption key.
    pub fn create(
        passcode: &Passcode,
        params: KdfParams,
        rng: &mut dyn Rng,
    ) -> Result<(Self, SecretKey), AccountError> {
        let mut salt = [0u8; 16];
        rng.fill(&mut salt);
        let out = derive(passcode, &salt, params)?;
        let (verifier, kek) = split(&out);
        Ok((
            PasscodeRecord {
                salt,
                params,
                verifier,
            },
            kek,
        ))
    }

    /// The key encryption key if `passcode` is right (constant-time comparison).
    pub fn check(&self, passcode: &Passcode) -> Result<Option<SecretKey>, AccountError> {
        let out = derive(passcode, &self.salt, self.params)?;
        let (mut verifier, kek) = split(&out);
        let ok = ct_eq(&verifier, &self.verifier);
        verifier.zeroize();
        Ok(ok.then_some(kek))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chip::crypto::OsRng;

    #[test]
    fn right_passcode_gives_the_same_key_wrong_one_nothing() {
        let p = Passcode::new("123456").unwrap();
        let (rec, kek) = PasscodeRecord::create(&p, KdfParams::FAST_FOR_TESTS, &mut OsRng).unwrap();
        assert_eq!(rec.check(&p).unwrap(), Some(kek.clone()));
        assert_eq!(rec.check(&Passcode::new("123457").unwrap()).unwrap(), None);
        let (rec2, kek2) =
            PasscodeRecord::create(&p, KdfParams::FAST_FOR_TESTS, &mut OsRng).unwrap();
        assert_ne!(rec2.salt, rec.salt, "fresh salt");
        assert_ne!(kek2, kek);
        assert_ne!(&rec.verifier[..], kek.as_bytes(), "verifier and key differ");
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
        let (rec, _) = PasscodeRecord::create(&p, KdfParams::DEFAULT, &mut OsRng).unwrap();
        assert_eq!(rec.params.memory_kib, 19 * 1024);
        assert!(rec.check(&p).unwrap().is_some());
    }
}
