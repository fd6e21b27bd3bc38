//! The wallet facade end to end: set up, import the fixture issuers' documents, lock/unlock,
//! lockout across restarts and clock changes, biometric, passcode change, revoke, wipe, and a
//! scan of every file for plaintext personal data.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use eid_core::account::{AccountError, AccountState};
use eid_core::account::{KdfParams, Passcode};
use eid_core::credential::{CredentialError, Document, DocumentKind};
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::platform::Clock;
use eid_core::transactions::{Outcome, Transaction, TransactionKind};
use eid_core::wallet::{DocumentStatus, Wallet, WalletError};
use eid_crypto::SecretKey;
use eid_fixtures::citizens::{Citizen, citizens};
use eid_fixtures::issuers;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

/// A clock the test moves: wall time, uptime, boot.
#[derive(Default)]
struct TestClock {
    wall: AtomicI64,
    uptime: AtomicI64,
    boot: AtomicU32,
}

impl TestClock {
    fn new() -> Arc<Self> {
        let c = TestClock::default();
        c.wall.store(1_790_000_000_000, Ordering::SeqCst); // 2026-09
        c.uptime.store(1_000, Ordering::SeqCst);
        Arc::new(c)
    }
    fn advance(&self, ms: i64) {
        self.wall.fetch_add(ms, Ordering::SeqCst);
        self.uptime.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn wall_ms(&self) -> i64 {
        self.wall.load(Ordering::SeqCst)
    }
    fn uptime_ms(&self) -> i64 {
        self.uptime.load(Ordering::SeqCst)
    }
    fn boot_id(&self) -> String {
        self.boot.load(Ordering::SeqCst).to_string()
    }
}

fn pass(s: &str) -> Passcode {
    Passcode::new(s).unwrap()
}

fn citizen() -> Citizen {
    citizens().remove(0)
}

fn open(dir: &Path, keys: &Arc<SoftwareKeyStore>, clock: &Arc<TestClock>) -> Wallet {
    let keys: Arc<dyn KeyStore> = keys.clone();
    let clock: Arc<dyn Clock> = clock.clone();
    Wallet::open(dir, keys, clock)
        .unwrap()
        .with_kdf(KdfParams::FAST_FOR_TESTS)
}

/// A wallet set up with the passcode 123456, activated, holding the citizen's documents (one of each kind).
fn seeded(dir: &Path, keys: &Arc<SoftwareKeyStore>, clock: &Arc<TestClock>) -> Wallet {
    let w = open(dir, keys, clock);
    let device = w.set_up(&pass("123456")).unwrap();
    w.activate(2).unwrap();
    w.set_trust_list(&issuers::trust_list().unwrap()).unwrap();
    let now = (clock.wall_ms() / 1000) as u64;
    let creds: Vec<Vec<u8>> = issuers::documents_for(&citizen(), &device, now)
        .unwrap()
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let infos = w.import(&creds).unwrap();
    assert_eq!(infos.len(), DocumentKind::ALL.len());
    w
}

#[test]
fn documents_are_listed_shown_and_locked_behind_the_passcode() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, clock) = (Arc::new(SoftwareKeyStore::in_memory()), TestClock::new());
    let w = seeded(dir.path(), &keys, &clock);
    let docs = w.documents().unwrap();
    let kinds: Vec<_> = docs.iter().filter_map(|d| d.kind.known()).collect();
    for k in DocumentKind::ALL {
        assert!(kinds.contains(&k), "{k:?}");
    }
    let c = citizen();
    for d in &docs {
        assert_eq!(w.status_of(d), DocumentStatus::Valid);
        let (info, v) = w.document(&d.id).unwrap();
        assert_eq!(&info, d);
        assert_eq!(v.kind, d.kind);
        if let Document::Identity(card) = &v.document {
            assert_eq!(card.id_number, c.id_number);
            assert!(
                card.photo.is_some(),
                "the chip photo travels with the identity card"
            );
        }
    }
    assert!(docs.iter().any(|d| d.holder == c.full_name));
    assert!(matches!(w.document("nope"), Err(WalletError::NotFound)));

    w.lock();
    assert!(matches!(w.documents(), Err(WalletError::Locked)));
    assert_eq!(
        w.state().unwrap(),
        AccountState::Active { level: 2 },
        "state is readable while locked"
    );
    // A restart: a new wallet object on the same directory starts locked.
    drop(w);
    let w = open(dir.path(), &keys, &clock);
    assert!(matches!(w.documents(), Err(WalletError::Locked)));
    w.unlock(&pass("123456")).unwrap();
    assert_eq!(w.documents().unwrap(), docs);
}

#[test]
fn expired_documents_show_with_their_status() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, clock) = (Arc::new(SoftwareKeyStore::in_memory()), TestClock::new());
    let w = seeded(dir.path(), &keys, &clock);
    clock.advance(400 * 86_400_000); // past the one-year credentials
    for d in w.documents().unwrap() {
        assert_eq!(w.status_of(&d), DocumentStatus::Expired, "{:?}", d.kind);
        assert!(
            w.document(&d.id).is_ok(),
            "an expired document can still be shown"
        );
    }
}

#[test]
fn import_checks_each_credential_and_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, clock) = (Arc::new(SoftwareKeyStore::in_memory()), TestClock::new());
    let w = open(dir.path(), &keys, &clock);
    let device = w.set_up(&pass("123456")).unwrap();
    w.set_trust_list(&issuers::trust_list().unwrap()).unwrap();
    let now = (clock.wall_ms() / 1000) as u64;
    let good: Vec<Vec<u8>> = issuers::documents_for(&citizen(), &device, now)
        .unwrap()
        .into_iter()
        .map(|(_, c)| c)
        .collect();

    // Bound to another device's key.
    let other = SoftwareKeyStore::in_memory()
        .create_signing_key("x")
        .unwrap();
    let foreign = issuers::documents_for(&citizen(), &other, now)
        .unwrap()
        .remove(1)
        .1;
    let err = w.import(&[good[0].clone(), foreign]).unwrap_err();
    assert!(
        matches!(
            err,
            WalletError::Credential(CredentialError::HolderKeyMissing)
        ),
        "{err:?}"
    );
    assert!(
        w.documents().unwrap().is_empty(),
        "nothing of a refused batch is stored"
    );

    let mut tampered = good[2].clone();
    let n = tampered.len();
    tampered[n / 2] ^= 1;
    assert!(matches!(
        w.import(&[tampered]),
        Err(WalletError::Credential(_))
    ));
    w.import(&good).unwrap();
    assert_eq!(w.documents().unwrap().len(), DocumentKind::ALL.len());
    w.import(&good).unwrap();
    assert_eq!(
        w.documents().unwrap().len(),
        DocumentKind::ALL.len(),
        "re-importing replaces, never duplicates"
    );
}

#[test]
fn lockout_holds_across_restarts_and_wall_clock_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, clock) = (Arc::new(SoftwareKeyStore::in_memory()), TestClock::new());
    drop(seeded(dir.path(), &keys, &clock));
    for left in (1..=4).rev() {
        let w = open(dir.path(), &keys, &clock); // every attempt after a restart
        let err = w.unlock(&pass("000000")).unwrap_err();
        assert!(
            matches!(err, WalletError::Account(AccountError::WrongPasscode { attempts_left }) if attempts_left == left),
            "{err:?}"
        );
    }
    let w = open(dir.path(), &keys, &clock);
    assert!(matches!(
        w.unlock(&pass("000000")),
        Err(WalletError::Account(AccountError::Locked { .. }))
    ));
    clock.wall.fetch_add(7 * 86_400_000, Ordering::SeqCst); // a week ahead on the wall clock
    let w = open(dir.path(), &keys, &clock);
    assert!(matches!(
        w.unlock(&pass("123456")),
        Err(WalletError::Account(AccountError::Locked { .. }))
    ));
    assert!(matches!(w.state().unwrap(), AccountState::Locked { .. }));
    clock.uptime.fetch_add(61_000, Ordering::SeqCst); // a minute of real time
    let w = open(dir.path(), &keys, &clock);
    w.unlock(&pass("123456")).unwrap();
    assert_eq!(w.documents().unwrap().len(), DocumentKind::ALL.len());
}

#[test]
fn passcode_change_biometric_log_revoke_and_wipe() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, clock) = (Arc::new(SoftwareKeyStore::in_memory()), TestClock::new());
    let w = seeded(dir.path(), &keys, &clock);
    w.change_passcode(&pass("123456"), &pass("246810")).unwrap();
    w.lock();
    assert!(w.unlock(&pass("123456")).is_err());
    w.unlock(&pass("246810")).unwrap();
    assert_eq!(w.documents().unwrap().len(), DocumentKind::ALL.len());

    w.enable_biometric(&pass("246810")).unwrap();
    w.lock();
    w.unlock_with_biometric().unwrap();
    assert_eq!(w.documents().unwrap().len(), DocumentKind::ALL.len());

    let entry = Transaction {
        at_ms: clock.wall_ms(),
        kind: TransactionKind::Presentation,
        counterparty: "Tan Son Nhat check-in".into(),
        profile: "airport".into(),
        fields: vec!["full_name".into()],
        outcome: Outcome::Success,
        detail: None,
    };
    w.record(&entry).unwrap();
    assert_eq!(w.transactions().unwrap(), vec![entry]);

    w.revoke().unwrap();
    assert_eq!(w.state().unwrap(), AccountState::Revoked);
    assert!(
        w.documents().unwrap().is_empty(),
        "revocation wipes the documents"
    );
    w.lock();
    assert!(matches!(
        w.unlock(&pass("246810")),
        Err(WalletError::Account(AccountError::Revoked))
    ));
    assert!(w.unlock_with_biometric().is_err());

    w.wipe().unwrap();
    assert_eq!(w.state().unwrap(), AccountState::NotActivated);
    assert!(!w.is_set_up().unwrap());
    assert_eq!(
        keys.public_key(eid_core::wallet::DEVICE_KEY_ALIAS).unwrap(),
        None
    );
}

#[test]
fn no_plaintext_personal_data_in_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::new();
    let keys = Arc::new(
        SoftwareKeyStore::open(
            &dir.path().join("keystore.bin"),
            &SecretKey::new(vec![7; 32]),
        )
        .unwrap(),
    );
    let w = seeded(dir.path(), &keys, &clock);
    let c = citizen();
    let bhyt = issuers::models_for(&c, (clock.wall_ms() / 1000) as u64)
        .unwrap()
        .into_iter()
        .find_map(|d| match d {
            Document::HealthInsurance(card) => Some(card.code.as_str().to_owned()),
            _ => None,
        })
        .unwrap();
    let markers = [
        c.full_name.clone(),
        c.id_number.clone(),
        bhyt,
        c.mrz_surname.clone() + "<<",
        c.place_of_residence,
    ];
    let scan = |when: &str| {
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            for m in &markers {
                let found = bytes.windows(m.len()).any(|w| w == m.as_bytes());
                assert!(
                    !found,
                    "{when}: a personal field appears in {}",
                    path.display()
                );
            }
        }
    };
    scan("while open (WAL not checkpointed)");
    drop(w);
    scan("after close");
}

/// Issue 12: one document whose sealed row no longer opens does not hide the others; it is
/// named (by id and kind only). Fails on b40b263 (`documents()` failed as a whole).
#[test]
fn one_damaged_document_does_not_hide_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, clock) = (Arc::new(SoftwareKeyStore::in_memory()), TestClock::new());
    let w = seeded(dir.path(), &keys, &clock);
    let all = w.documents().unwrap();
    assert_eq!(all.len(), DocumentKind::ALL.len());
    let victim = all
        .iter()
        .find(|d| d.kind == DocumentKind::DrivingLicence)
        .unwrap()
        .clone();
    drop(w);
    {
        let db = rusqlite::Connection::open(dir.path().join("wallet.db")).unwrap();
        let n = db
            .execute(
                "UPDATE documents SET summary = CAST(x'00' || summary AS BLOB) WHERE id = ?1",
                [&victim.id],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    let w = open(dir.path(), &keys, &clock);
    w.unlock(&pass("123456")).unwrap();
    let rest = w.documents().unwrap();
    assert_eq!(rest.len(), DocumentKind::ALL.len() - 1);
    assert!(rest.iter().all(|d| d.id != victim.id));
    let list = w.document_list().unwrap();
    assert_eq!(list.documents, rest);
    assert_eq!(list.damaged.len(), 1);
    assert_eq!(list.damaged[0].id, victim.id);
    assert_eq!(list.damaged[0].kind, "driving_licence");
    // Nothing personal in what names it.
    let named = format!("{:?}", list.damaged);
    assert!(!named.contains(&citizen().full_name) && !named.contains(&citizen().id_number));
    // Revoking still removes every row, the damaged one too.
    w.revoke().unwrap();
    let db = rusqlite::Connection::open(dir.path().join("wallet.db")).unwrap();
    let left: i64 = db
        .query_row("SELECT COUNT(*) FROM documents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

/// Issue 12: a wallet.db truncated to zero bytes is reported as damaged, not opened as a new,
/// empty wallet (b40b263 said "not set up" and offered to start over).
#[test]
fn a_zero_byte_wallet_db_is_damaged_not_new() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, clock) = (Arc::new(SoftwareKeyStore::in_memory()), TestClock::new());
    drop(seeded(dir.path(), &keys, &clock));
    let db = dir.path().join("wallet.db");
    std::fs::write(&db, b"").unwrap();
    for f in ["wallet.db-wal", "wallet.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    let keys_dyn: Arc<dyn KeyStore> = keys.clone();
    let clock_dyn: Arc<dyn Clock> = clock.clone();
    let e = Wallet::open(dir.path(), keys_dyn, clock_dyn).unwrap_err();
    assert!(
        matches!(
            e,
            WalletError::Store(eid_core::store::StoreError::Damaged { .. })
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("damaged"), "{e}");
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0, "left as found");
    // A directory without a database is still a new wallet.
    let fresh = tempfile::tempdir().unwrap();
    let w = open(fresh.path(), &keys, &clock);
    assert!(!w.is_set_up().unwrap());
}
