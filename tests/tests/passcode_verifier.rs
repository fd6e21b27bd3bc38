//! Issue 12: a copy of wallet.db without the platform key store gives no way to check a passcode
//! guess. The attacker's test is recomputed here: Argon2id(passcode, salt) with the record's salt
//! and cost, whose first half was the plaintext verifier before the fix.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use argon2::{Algorithm, Argon2, Params, Version};
use eid_core::account::AccountError;
use eid_core::account::{KdfParams, Passcode};
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::platform::{Clock, SystemClock};
use eid_core::wallet::{DB_FILE, Wallet, WalletError};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

const RECORD_KEY: &str = "account.passcode";

fn pass(s: &str) -> Passcode {
    Passcode::new(s).unwrap()
}

fn open(dir: &Path, keys: &Arc<SoftwareKeyStore>) -> Wallet {
    let keys: Arc<dyn KeyStore> = keys.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
    Wallet::open(dir, keys, clock)
        .unwrap()
        .with_kdf(KdfParams::FAST_FOR_TESTS)
}

/// Every row of the plaintext `meta` table, read straight from the file (no key store).
fn meta_rows(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    let mut stmt = conn.prepare("SELECT key, value FROM meta").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn record(dir: &Path) -> Value {
    let (_, bytes) = meta_rows(dir)
        .into_iter()
        .find(|(k, _)| k == RECORD_KEY)
        .expect("a passcode record");
    serde_json::from_slice(&bytes).unwrap()
}

fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok()))
        .collect()
}

/// What an attacker computes for a guess: Argon2id(guess, salt)[..32] with the stored salt/cost.
fn attacker_verifier(record: &Value, guess: &str) -> Vec<u8> {
    let salt = bytes_of(&record["salt"]).expect("salt");
    let p = &record["params"];
    let n = |k: &str| u32::try_from(p[k].as_u64().unwrap()).unwrap();
    let params = Params::new(n("memory_kib"), n("passes"), n("lanes"), Some(64)).unwrap();
    let mut out = [0u8; 64];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(guess.as_bytes(), &salt, &mut out)
        .unwrap();
    out[..32].to_vec()
}

/// Every byte string inside a JSON value (arrays of numbers 0..=255), recursively.
fn byte_arrays(v: &Value, out: &mut Vec<Vec<u8>>) {
    if let Some(b) = bytes_of(v) {
        out.push(b);
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| byte_arrays(x, out)),
        Value::Object(o) => o.values().for_each(|x| byte_arrays(x, out)),
        _ => {}
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Nothing in the meta table matches the attacker's verifier: not as raw bytes, not as a JSON
/// byte array anywhere in a value.
fn assert_no_checkable_verifier(dir: &Path, verifier: &[u8]) {
    for (key, value) in meta_rows(dir) {
        assert!(!contains(&value, verifier), "{key} holds the verifier");
        if let Ok(json) = serde_json::from_slice::<Value>(&value) {
            let mut arrays = Vec::new();
            byte_arrays(&json, &mut arrays);
            for a in arrays {
                assert!(
                    !contains(&a, verifier),
                    "{key} holds the verifier as a byte array"
                );
            }
        }
    }
}

/// Not in any file of the wallet directory either (database, journal, free pages): neither as
/// raw bytes nor as the JSON text a record spells it in.
fn assert_not_in_any_file(dir: &Path, verifier: &[u8]) {
    let text = serde_json::to_vec(verifier).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for needle in [verifier, &text] {
            assert!(
                !contains(&bytes, needle),
                "{} holds the verifier",
                path.display()
            );
        }
    }
}

#[test]
fn a_copied_wallet_db_gives_no_way_to_check_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(SoftwareKeyStore::in_memory());
    let w = open(dir.path(), &keys);
    w.set_up(&pass("123456")).unwrap();
    drop(w);

    let rec = record(dir.path());
    let right = attacker_verifier(&rec, "123456");
    assert_ne!(right, attacker_verifier(&rec, "123457"));
    assert_no_checkable_verifier(dir.path(), &right);
    assert_not_in_any_file(dir.path(), &right);

    // With the key store the wallet still works: the right passcode unlocks, a wrong one counts.
    let w = open(dir.path(), &keys);
    assert!(matches!(
        w.unlock(&pass("654321")),
        Err(WalletError::Account(AccountError::WrongPasscode {
            attempts_left: 4
        }))
    ));
    assert!(matches!(
        w.unlock(&pass("111111")),
        Err(WalletError::Account(AccountError::WrongPasscode {
            attempts_left: 3
        }))
    ));
    w.unlock(&pass("123456")).unwrap();
    assert!(w.is_unlocked());
    assert!(matches!(
        w.unlock(&pass("654321")),
        Err(WalletError::Account(AccountError::WrongPasscode {
            attempts_left: 4
        })),
    ));

    // A new key store (the copy on another machine) cannot open the record: no oracle there.
    let w = open(dir.path(), &Arc::new(SoftwareKeyStore::in_memory()));
    assert!(w.unlock(&pass("123456")).is_err());
    drop(w);

    // A passcode change writes the new record in the same protected form.
    let w = open(dir.path(), &keys);
    w.change_passcode(&pass("123456"), &pass("246810")).unwrap();
    drop(w);
    let rec = record(dir.path());
    assert_no_checkable_verifier(dir.path(), &attacker_verifier(&rec, "246810"));
    let w = open(dir.path(), &keys);
    assert!(w.unlock(&pass("123456")).is_err());
    w.unlock(&pass("246810")).unwrap();
}

#[test]
fn a_plaintext_verifier_from_before_still_unlocks_and_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(SoftwareKeyStore::in_memory());
    let w = open(dir.path(), &keys);
    w.set_up(&pass("123456")).unwrap();
    drop(w);

    // Rewrite the record as wallets before issue 12 stored it: salt, cost, plaintext verifier.
    let rec = record(dir.path());
    let verifier = attacker_verifier(&rec, "123456");
    let old = serde_json::json!({
        "salt": rec["salt"],
        "params": rec["params"],
        "verifier": verifier,
    });
    rusqlite::Connection::open(dir.path().join(DB_FILE))
        .unwrap()
        .execute(
            "UPDATE meta SET value = ?1 WHERE key = ?2",
            rusqlite::params![serde_json::to_vec(&old).unwrap(), RECORD_KEY],
        )
        .unwrap();

    let w = open(dir.path(), &keys);
    assert!(matches!(
        w.unlock(&pass("000000")),
        Err(WalletError::Account(AccountError::WrongPasscode {
            attempts_left: 4
        }))
    ));
    // The old record still refuses and still unlocks.
    w.unlock(&pass("123456")).unwrap();
    assert!(w.is_unlocked());
    drop(w);

    // The first successful unlock replaced it with the protected form (same salt and cost).
    let upgraded = record(dir.path());
    assert_eq!(upgraded["salt"], rec["salt"]);
    assert_no_checkable_verifier(dir.path(), &verifier);
    assert_not_in_any_file(dir.path(), &verifier);
    let w = open(dir.path(), &keys);
    assert!(matches!(
        w.unlock(&pass("000000")),
        Err(WalletError::Account(AccountError::WrongPasscode {
            attempts_left: 4
        }))
    ));
    w.unlock(&pass("123456")).unwrap();
}
