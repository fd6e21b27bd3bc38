//! Citizen consent end to end (docs/adr/0017), on SQLite and PostgreSQL: a thief with a copy of
//! the wallet directory and its software key store file, but not the passcode, gets none of the
//! four remote actions; guessing at the backend is counted and locks; the citizen with the
//! passcode gets each of them, and the wallet logs them.
//!
//! Fails on b40b263: the device key alone unlocked the account, got presentation credentials,
//! made redeemable online tokens and authorised remote signatures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eid_core::account::AccountError;
use eid_core::account::{KdfParams, Passcode};
use eid_core::api::{AccountRemoteState, B64, ConsentProof, ErrorCode};
use eid_core::client::{BackendClient, ClientError, DeviceSigner};
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::platform::{Clock, SystemClock};
use eid_core::present::{Profile, Token};
use eid_core::runtime::block_on;
use eid_core::signing::{AuthorizeRequest, authorization_input};
use eid_core::transactions::{Outcome, TransactionKind};
use eid_core::wallet::{DEVICE_KEY_ALIAS, Wallet, WalletError};
use eid_crypto::SecretKey;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;
use std::path::Path;
use std::sync::Arc;

/// The key store secret: public (the desktop's comes from the machine id and the path, which
/// a thief on the machine knows), as it is for the CLI's software key store.
fn secret() -> SecretKey {
    SecretKey::new(vec![0x42; 32])
}

/// A wallet over a software key store file inside `dir`.
fn file_wallet(dir: &Path) -> Wallet {
    let keys: Arc<dyn KeyStore> =
        Arc::new(SoftwareKeyStore::open(&dir.join("keystore.bin"), &secret()).unwrap());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
    Wallet::open(dir, keys, clock)
        .unwrap()
        .with_kdf(KdfParams::FAST_FOR_TESTS)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// What the thief does with the copied key store: device-signed requests.
struct Thief {
    keys: Arc<dyn KeyStore>,
    account: String,
}

impl DeviceSigner for Thief {
    fn account_id(&self) -> String {
        self.account.clone()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.keys
            .sign(DEVICE_KEY_ALIAS, message)
            .map_err(|e| ClientError::DeviceKey(e.to_string()))
    }
}

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ErrorCode {
    r.unwrap_err().code().expect("an API error")
}

fn forged() -> ConsentProof {
    ConsentProof {
        consent_id: "0".repeat(32),
        finalization: B64(vec![0; 64]),
        mac: B64(vec![0; 32]),
    }
}

#[test]
fn a_copied_wallet_and_key_store_without_the_passcode_authorise_nothing() {
    for (db, b) in common::backends() {
        let api: BackendClient = common::client(&b.url);
        let c = citizens::citizens().remove(1);
        let dir = tempfile::tempdir().unwrap();
        let w = file_wallet(dir.path());
        let pass = Passcode::new("123456").unwrap();
        w.set_up(&pass).unwrap();
        common::activate(&w, &api, &c, Faults::default()).unwrap();
        block_on(w.sync(&api, None, Some(&pass))).unwrap().unwrap();
        let enrolled = block_on(w.signing_enrol(&api)).unwrap().unwrap();
        w.lock();

        // The thief's copy: the wallet directory with its key store file.
        let stolen = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), stolen.path());
        let copy = file_wallet(stolen.path());
        let account = copy.account_id().unwrap().unwrap();
        let thief = Thief {
            keys: Arc::new(
                SoftwareKeyStore::open(&stolen.path().join("keystore.bin"), &secret()).unwrap(),
            ),
            account: account.clone(),
        };

        // Presentation credentials for the thief's own keys.
        let own = vec![p256_key()];
        let r = block_on(api.presentation_credentials(&thief, "full", &own, forged())).unwrap();
        assert_eq!(code_of(r), ErrorCode::ConsentRequired, "{db}: credentials");
        // An online token: not registered, so not redeemed.
        let mut id = [0u8; 16];
        eid_crypto::Rng::fill(&mut eid_crypto::OsRng, &mut id);
        let expires_at = b.app.clock().now() + 60;
        let input = Token::signing_input(&id, Profile::Full, expires_at);
        let sig =
            eid_core::present::raw_signature(&thief.keys.sign(DEVICE_KEY_ALIAS, &input).unwrap())
                .unwrap();
        let text = Token {
            id,
            profile: Profile::Full,
            expires_at,
            signature: sig,
        }
        .to_text();
        let r = block_on(api.register_token(&thief, &text, forged())).unwrap();
        assert_eq!(code_of(r), ErrorCode::ConsentRequired, "{db}: token");
        // A remote signature over a hash of the thief's choosing.
        let challenge = block_on(api.signing_challenge(&thief, &enrolled.credential_id))
            .unwrap()
            .unwrap();
        let hashes = vec![vec![7u8; 32]];
        let expires_at = b.app.clock().now() + 60;
        let auth = thief
            .keys
            .sign(
                DEVICE_KEY_ALIAS,
                &authorization_input(
                    &enrolled.credential_id,
                    &challenge.challenge.0,
                    &hashes,
                    expires_at,
                ),
            )
            .unwrap();
        let r = block_on(api.signing_authorize(
            &thief,
            &AuthorizeRequest {
                client_request_id: eid_core::client::new_request_id(),
                credential_id: enrolled.credential_id.clone(),
                challenge: challenge.challenge,
                hashes: hashes.into_iter().map(B64).collect(),
                expires_at,
                device_signature: B64(auth),
                consent: None,
            },
        ))
        .unwrap();
        assert_eq!(code_of(r), ErrorCode::ConsentRequired, "{db}: signing");

        // Locking needs no consent (a lost phone must be lockable)…
        let locked = block_on(api.set_account_locked(&thief, true, None)).unwrap();
        assert_eq!(locked.unwrap().state, AccountRemoteState::Locked, "{db}");
        // …unlocking does.
        for proof in [None, Some(forged())] {
            let r = block_on(api.set_account_locked(&thief, false, proof)).unwrap();
            assert_eq!(code_of(r), ErrorCode::ConsentRequired, "{db}: unlock");
        }
        // Guessing through the copied wallet: the local lockout applies to the copy…
        let wrong = Passcode::new("000000").unwrap();
        let err = block_on(copy.unlock_account_remote(&api, &wrong))
            .unwrap()
            .unwrap_err();
        assert!(matches!(
            err,
            WalletError::Account(AccountError::WrongPasscode { .. })
        ));
        // …and guessing at the backend directly is counted there: five, then locked.
        for _ in 0..5 {
            let (_, ke1) = eid_core::consent::login_start(&wrong).unwrap();
            let started = block_on(api.consent_start(&thief, ke1, None)).unwrap();
            assert!(started.is_ok(), "{db}");
        }
        let (_, ke1) = eid_core::consent::login_start(&wrong).unwrap();
        let r = block_on(api.consent_start(&thief, ke1, None)).unwrap();
        assert_eq!(code_of(r), ErrorCode::RateLimited, "{db}");
        // The citizen too must wait out the backoff, then unlocks with the passcode.
        let err = block_on(w.unlock_account_remote(&api, &pass))
            .unwrap()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "too many attempts; try again later",
            "{db}"
        );
        b.app.clock().advance(61);
        let status = block_on(w.unlock_account_remote(&api, &pass))
            .unwrap()
            .unwrap();
        assert_eq!(status.state, AccountRemoteState::Active, "{db}");
        // The wallet logged the refusal and the unlock.
        let unlocks: Vec<_> = w
            .transactions()
            .unwrap()
            .into_iter()
            .filter(|t| t.kind == TransactionKind::Account && t.profile == "account unlock")
            .map(|t| t.outcome)
            .collect();
        assert_eq!(unlocks, vec![Outcome::Refused, Outcome::Success], "{db}");
    }
}

#[test]
fn an_activated_wallet_changes_its_passcode_only_online_with_the_old_one() {
    let (_, b) = common::backends().remove(0);
    let api = common::client(&b.url);
    let c = citizens::citizens().remove(2);
    let dir = tempfile::tempdir().unwrap();
    let w = common::wallet(dir.path());
    common::activate(&w, &api, &c, Faults::default()).unwrap();
    let old = common::pass();
    let new = Passcode::new("975310").unwrap();
    // Offline: refused for an activated wallet.
    assert!(matches!(
        w.change_passcode(&old, &new),
        Err(WalletError::InvalidInput(_))
    ));
    // Online with a wrong old passcode: nothing changes.
    let wrong = Passcode::new("000000").unwrap();
    assert!(
        block_on(w.change_passcode_online(&api, &wrong, &new))
            .unwrap()
            .is_err()
    );
    block_on(w.change_passcode_online(&api, &old, &new))
        .unwrap()
        .unwrap();
    // The new passcode unlocks the wallet and gives consent at the backend; the old one not.
    w.lock();
    assert!(w.unlock(&old).is_err());
    w.unlock(&new).unwrap();
    let status = block_on(w.unlock_account_remote(&api, &new))
        .unwrap()
        .unwrap();
    assert_eq!(status.state, AccountRemoteState::Active);
    let sync = block_on(w.sync(&api, None, Some(&new))).unwrap().unwrap();
    assert_eq!(sync.presentation_error, None);
    assert!(sync.presentation_credentials > 0);
}

fn p256_key() -> Vec<u8> {
    let keys = SoftwareKeyStore::in_memory();
    keys.create_signing_key("k").unwrap()
}
