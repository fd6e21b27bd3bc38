//! The on-device part of the level-2 e-identity account: its state, the passcode and the lockout.
//!
//! States: `NotActivated → Active{level} → Revoked`; `Locked{until}` is `Active` while a lockout
//! runs. Everything is persisted through [`MetaStore`] (the wallet store's `meta` table), so it
//! survives restarts.

pub(crate) mod lockout;
pub(crate) mod passcode;

pub use lockout::lock_ms;
pub use passcode::{KdfParams, Passcode};

use crate::keys::KeyError;
use crate::platform::Clock;
use eid_crypto::{Rng, SecretKey};
use lockout::Lockout;
use passcode::{PasscodeRecord, VerifierKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors of the account. Variants are what the app acts on; none carries personal data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountError {
    #[error("the passcode must be 6 digits")]
    InvalidPasscode,
    #[error("wrong passcode ({attempts_left} attempts left before the account locks)")]
    WrongPasscode { attempts_left: u32 },
    #[error("too many wrong passcodes: locked for {remaining_ms} ms more")]
    Locked { until_ms: i64, remaining_ms: i64 },
    #[error("no passcode is set")]
    NoPasscode,
    #[error("a passcode is already set; use change passcode")]
    PasscodeAlreadySet,
    #[error("the account was revoked (activated on another device, or by the citizen)")]
    Revoked,
    #[error("storage: {0}")]
    Storage(String),
    /// The platform key store, which holds the passcode verifier's wrapping key, failed.
    #[error("secure key storage: {0}")]
    Keys(#[from] KeyError),
}

/// Where account state lives: non-personal key/value records.
pub trait MetaStore {
    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, AccountError>;
    fn meta_put(&self, key: &str, value: &[u8]) -> Result<(), AccountError>;
    fn meta_delete(&self, key: &str) -> Result<(), AccountError>;
}

/// The wallet store's `meta` table holds the account state.
impl MetaStore for crate::store::Store {
    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, AccountError> {
        crate::store::Store::meta_get(self, key).map_err(|e| AccountError::Storage(e.to_string()))
    }
    fn meta_put(&self, key: &str, value: &[u8]) -> Result<(), AccountError> {
        crate::store::Store::meta_put(self, key, value)
            .map_err(|e| AccountError::Storage(e.to_string()))
    }
    fn meta_delete(&self, key: &str) -> Result<(), AccountError> {
        crate::store::Store::meta_delete(self, key)
            .map_err(|e| AccountError::Storage(e.to_string()))
    }
}

/// A checked passcode change, not yet written: the caller stores `record` under `record_key`
/// together with the data key re-wrapped under `new_kek`, in one transaction.
pub struct PasscodeChange {
    pub old_kek: SecretKey,
    pub new_kek: SecretKey,
    pub record_key: &'static str,
    pub record: Vec<u8>,
}

/// The account's state as the app shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountState {
    NotActivated,
    Active {
        level: u8,
    },
    /// Active, but wrong passcodes locked it until `until_ms` (wall clock, for display).
    Locked {
        level: u8,
        until_ms: i64,
    },
    Revoked,
}

/// The persisted part of the state (the lock is derived from the lockout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Stored {
    NotActivated,
    Active { level: u8 },
    Revoked,
}

const KEY_STATE: &str = "account.state";
const KEY_PASSCODE: &str = "account.passcode";
const KEY_LOCKOUT: &str = "account.lockout";

/// The account over a store, a clock and the key store key that wraps the passcode verifier.
pub struct Account<'a> {
    meta: &'a dyn MetaStore,
    clock: &'a dyn Clock,
    verifier_key: VerifierKey<'a>,
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, AccountError> {
    serde_json::to_vec(v).map_err(|_| AccountError::Storage("cannot encode account state".into()))
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, AccountError> {
    serde_json::from_slice(bytes)
        .map_err(|_| AccountError::Storage("account state is corrupt".into()))
}

impl<'a> Account<'a> {
    pub fn new(
        meta: &'a dyn MetaStore,
        clock: &'a dyn Clock,
        verifier_key: VerifierKey<'a>,
    ) -> Self {
        Account {
            meta,
            clock,
            verifier_key,
        }
    }

    fn stored(&self) -> Result<Stored, AccountError> {
        self.meta
            .meta_get(KEY_STATE)?
            .map_or(Ok(Stored::NotActivated), |b| decode(&b))
    }

    fn lockout(&self) -> Result<Lockout, AccountError> {
        self.meta
            .meta_get(KEY_LOCKOUT)?
            .map_or(Ok(Lockout::default()), |b| decode(&b))
    }

    fn save_lockout(&self, l: &Lockout) -> Result<(), AccountError> {
        self.meta.meta_put(KEY_LOCKOUT, &encode(l)?)
    }

    fn passcode_record(&self) -> Result<PasscodeRecord, AccountError> {
        self.meta
            .meta_get(KEY_PASSCODE)?
            .map_or(Err(AccountError::NoPasscode), |b| decode(&b))
    }

    /// The current state; a running lockout shows as `Locked`.
    pub fn state(&self) -> Result<AccountState, AccountError> {
        Ok(match self.stored()? {
            Stored::NotActivated => AccountState::NotActivated,
            Stored::Revoked => AccountState::Revoked,
            Stored::Active { level } => {
                let mut l = self.lockout()?;
                let remaining = l.observe(self.clock);
                self.save_lockout(&l)?;
                if remaining > 0 {
                    AccountState::Locked {
                        level,
                        until_ms: self.clock.wall_ms() + remaining,
                    }
                } else {
                    AccountState::Active { level }
                }
            }
        })
    }

    pub(crate) fn has_passcode(&self) -> Result<bool, AccountError> {
        Ok(self.meta.meta_get(KEY_PASSCODE)?.is_some())
    }

    /// Sets the first passcode; returns its key encryption key.
    pub(crate) fn set_passcode(
        &self,
        passcode: &Passcode,
        params: KdfParams,
        rng: &mut dyn Rng,
    ) -> Result<SecretKey, AccountError> {
        if self.has_passcode()? {
            return Err(AccountError::PasscodeAlreadySet);
        }
        let (record, kek) = PasscodeRecord::create(passcode, params, rng, self.verifier_key)?;
        self.meta.meta_put(KEY_PASSCODE, &encode(&record)?)?;
        self.save_lockout(&Lockout::default())?;
        Ok(kek)
    }

    /// Checks the passcode and returns its key encryption key.
    ///
    /// The attempt is recorded as a failure *before* the check and cleared only when it
    /// succeeds, so killing the app in the middle of a check does not give a free guess. The
    /// stored verifier is opened with the key store before that (it checks no guess, so a key
    /// store that cannot be reached costs no attempt). A record from before issue 12, with its
    /// verifier in plaintext, is rewritten in the wrapped form on the first successful unlock.
    pub fn unlock(&self, passcode: &Passcode) -> Result<SecretKey, AccountError> {
        if self.stored()? == Stored::Revoked {
            return Err(AccountError::Revoked);
        }
        let record = self.passcode_record()?;
        let mut l = self.lockout()?;
        let remaining = l.observe(self.clock);
        if remaining > 0 {
            self.save_lockout(&l)?;
            return Err(AccountError::Locked {
                until_ms: self.clock.wall_ms() + remaining,
                remaining_ms: remaining,
            });
        }
        let expected = record.open_verifier(self.verifier_key)?;
        let mut tentative = l.clone();
        tentative.record_failure(self.clock);
        self.save_lockout(&tentative)?;
        match record.check(passcode, &expected)? {
            Some(kek) => {
                l.reset();
                self.save_lockout(&l)?;
                if record.is_plaintext() {
                    let upgraded = record.wrapped(&expected, self.verifier_key)?;
                    self.meta.meta_put(KEY_PASSCODE, &encode(&upgraded)?)?;
                }
                Ok(kek)
            }
            None => {
                let remaining = tentative.remaining_ms;
                if remaining > 0 {
                    Err(AccountError::Locked {
                        until_ms: self.clock.wall_ms() + remaining,
                        remaining_ms: remaining,
                    })
                } else {
                    Err(AccountError::WrongPasscode {
                        attempts_left: tentative.attempts_left(),
                    })
                }
            }
        }
    }

    /// Checks the old passcode (lockout rules apply) and prepares the new one; see
    /// [`PasscodeChange`].
    pub(crate) fn prepare_passcode_change(
        &self,
        old: &Passcode,
        new: &Passcode,
        params: KdfParams,
        rng: &mut dyn Rng,
    ) -> Result<PasscodeChange, AccountError> {
        let old_kek = self.unlock(old)?;
        let (record, new_kek) = PasscodeRecord::create(new, params, rng, self.verifier_key)?;
        Ok(PasscodeChange {
            old_kek,
            new_kek,
            record_key: KEY_PASSCODE,
            record: encode(&record)?,
        })
    }

    /// The backend confirmed activation at `level`.
    pub fn activate(&self, level: u8) -> Result<(), AccountError> {
        if self.stored()? == Stored::Revoked {
            return Err(AccountError::Revoked);
        }
        self.meta
            .meta_put(KEY_STATE, &encode(&Stored::Active { level })?)
    }

    /// The account was revoked (another device activated it, or the citizen revoked it).
    pub fn revoke(&self) -> Result<(), AccountError> {
        self.meta.meta_put(KEY_STATE, &encode(&Stored::Revoked)?)
    }

    /// Forgets the account on this device: state, passcode and lockout.
    pub fn wipe(&self) -> Result<(), AccountError> {
        for k in [KEY_STATE, KEY_PASSCODE, KEY_LOCKOUT] {
            self.meta.meta_delete(k)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::lockout::tests::FakeClock;
    use super::*;
    use crate::keys::SoftwareKeyStore;
    use eid_crypto::OsRng;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// In-memory meta table; the SQLite store implements the same trait.
    #[derive(Default)]
    struct Mem(Mutex<BTreeMap<String, Vec<u8>>>);

    impl MetaStore for Mem {
        fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, AccountError> {
            Ok(self.0.lock().unwrap().get(key).cloned())
        }
        fn meta_put(&self, key: &str, value: &[u8]) -> Result<(), AccountError> {
            self.0.lock().unwrap().insert(key.into(), value.to_vec());
            Ok(())
        }
        fn meta_delete(&self, key: &str) -> Result<(), AccountError> {
            self.0.lock().unwrap().remove(key);
            Ok(())
        }
    }

    fn p(s: &str) -> Passcode {
        Passcode::new(s).unwrap()
    }

    /// One in-memory key store shared by the tests' accounts.
    fn key() -> VerifierKey<'static> {
        static KEYS: std::sync::LazyLock<SoftwareKeyStore> =
            std::sync::LazyLock::new(SoftwareKeyStore::in_memory);
        VerifierKey {
            keys: &*KEYS,
            alias: "eid.data",
        }
    }

    #[test]
    fn lifecycle_not_activated_active_revoked() {
        let (mem, clock) = (Mem::default(), FakeClock::new());
        let acc = Account::new(&mem, &clock, key());
        assert_eq!(acc.state().unwrap(), AccountState::NotActivated);
        assert_eq!(acc.unlock(&p("123456")), Err(AccountError::NoPasscode));
        let kek = acc
            .set_passcode(&p("123456"), KdfParams::FAST_FOR_TESTS, &mut OsRng)
            .unwrap();
        assert_eq!(
            acc.set_passcode(&p("000000"), KdfParams::FAST_FOR_TESTS, &mut OsRng)
                .unwrap_err(),
            AccountError::PasscodeAlreadySet
        );
        acc.activate(2).unwrap();
        assert_eq!(acc.state().unwrap(), AccountState::Active { level: 2 });
        assert_eq!(acc.unlock(&p("123456")).unwrap(), kek);
        acc.revoke().unwrap();
        assert_eq!(acc.state().unwrap(), AccountState::Revoked);
        assert_eq!(acc.unlock(&p("123456")), Err(AccountError::Revoked));
        assert_eq!(acc.activate(2), Err(AccountError::Revoked));
        acc.wipe().unwrap();
        assert_eq!(acc.state().unwrap(), AccountState::NotActivated);
        assert!(!acc.has_passcode().unwrap());
    }

    #[test]
    fn lockout_survives_restarts_and_wall_clock_changes() {
        let (mem, clock) = (Mem::default(), FakeClock::new());
        {
            let acc = Account::new(&mem, &clock, key());
            acc.set_passcode(&p("123456"), KdfParams::FAST_FOR_TESTS, &mut OsRng)
                .unwrap();
            acc.activate(2).unwrap();
        }
        // Each attempt through a fresh Account: the app restarted in between.
        for left in (1..=4).rev() {
            let acc = Account::new(&mem, &clock, key());
            assert_eq!(
                acc.unlock(&p("111111")),
                Err(AccountError::WrongPasscode {
                    attempts_left: left
                })
            );
        }
        let acc = Account::new(&mem, &clock, key());
        assert!(matches!(
            acc.unlock(&p("111111")),
            Err(AccountError::Locked {
                remaining_ms: 60_000,
                ..
            })
        ));
        // Even the right passcode is refused while locked.
        assert!(matches!(
            acc.unlock(&p("123456")),
            Err(AccountError::Locked { .. })
        ));
        assert!(matches!(
            acc.state().unwrap(),
            AccountState::Locked { level: 2, .. }
        ));
        // The user moves the wall clock a day ahead and restarts the app: still locked.
        clock.set_wall(clock.wall_ms() + 86_400_000);
        let acc = Account::new(&mem, &clock, key());
        assert!(matches!(
            acc.unlock(&p("123456")),
            Err(AccountError::Locked {
                remaining_ms: 60_000,
                ..
            })
        ));
        // Time passes on the monotonic clock; a reboot neither ends nor restarts the lock.
        clock.advance(20_000);
        assert!(matches!(
            Account::new(&mem, &clock, key()).state().unwrap(),
            AccountState::Locked { .. }
        ));
        clock.reboot();
        assert!(matches!(
            Account::new(&mem, &clock, key()).unlock(&p("123456")),
            Err(AccountError::Locked {
                remaining_ms: 40_000,
                ..
            })
        ));
        clock.advance(40_000);
        // Next wrong passcode locks again, twice as long.
        let acc = Account::new(&mem, &clock, key());
        assert!(matches!(
            acc.unlock(&p("999999")),
            Err(AccountError::Locked {
                remaining_ms: 120_000,
                ..
            })
        ));
        clock.advance(120_000);
        assert!(
            Account::new(&mem, &clock, key())
                .unlock(&p("123456"))
                .is_ok()
        );
        // The right passcode reset the counter.
        assert_eq!(
            Account::new(&mem, &clock, key()).unlock(&p("000001")),
            Err(AccountError::WrongPasscode { attempts_left: 4 })
        );
    }

    #[test]
    fn a_check_killed_midway_still_counts() {
        let (mem, clock) = (Mem::default(), FakeClock::new());
        let acc = Account::new(&mem, &clock, key());
        acc.set_passcode(&p("123456"), KdfParams::FAST_FOR_TESTS, &mut OsRng)
            .unwrap();
        acc.activate(2).unwrap();
        // Simulate the state written before the check, as if the process died during Argon2.
        let mut l: Lockout = decode(&mem.meta_get(KEY_LOCKOUT).unwrap().unwrap()).unwrap();
        l.record_failure(&clock);
        mem.meta_put(KEY_LOCKOUT, &encode(&l).unwrap()).unwrap();
        assert_eq!(
            acc.unlock(&p("111111")),
            Err(AccountError::WrongPasscode { attempts_left: 3 })
        );
    }

    #[test]
    fn a_verifier_the_key_store_cannot_open_costs_no_attempt() {
        let (mem, clock) = (Mem::default(), FakeClock::new());
        let acc = Account::new(&mem, &clock, key());
        acc.set_passcode(&p("123456"), KdfParams::FAST_FOR_TESTS, &mut OsRng)
            .unwrap();
        let other = SoftwareKeyStore::in_memory();
        let elsewhere = VerifierKey {
            keys: &other,
            alias: "eid.data",
        };
        let copy = Account::new(&mem, &clock, elsewhere);
        for _ in 0..6 {
            assert!(matches!(
                copy.unlock(&p("123456")),
                Err(AccountError::Keys(_))
            ));
        }
        assert_eq!(
            acc.unlock(&p("000000")),
            Err(AccountError::WrongPasscode { attempts_left: 4 })
        );
        assert!(acc.unlock(&p("123456")).is_ok());
    }

    #[test]
    fn change_passcode_needs_the_old_one() {
        let (mem, clock) = (Mem::default(), FakeClock::new());
        let acc = Account::new(&mem, &clock, key());
        let k1 = acc
            .set_passcode(&p("123456"), KdfParams::FAST_FOR_TESTS, &mut OsRng)
            .unwrap();
        acc.activate(2).unwrap();
        let f = KdfParams::FAST_FOR_TESTS;
        let wrong = acc.prepare_passcode_change(&p("000000"), &p("654321"), f, &mut OsRng);
        assert!(matches!(wrong, Err(AccountError::WrongPasscode { .. })));
        let change = acc
            .prepare_passcode_change(&p("123456"), &p("654321"), f, &mut OsRng)
            .unwrap();
        assert_eq!(change.old_kek, k1);
        assert!(
            acc.unlock(&p("654321")).is_err(),
            "nothing changes until the caller writes it"
        );
        mem.meta_put(change.record_key, &change.record).unwrap();
        assert_eq!(acc.unlock(&p("654321")).unwrap(), change.new_kek);
        assert!(acc.unlock(&p("123456")).is_err());
    }
}
