//! The whole level-2 journey across crates, over real HTTP: the reference backend listens on
//! 127.0.0.1, a wallet (core) activates with the simulated chip, syncs its documents, keeps
//! working offline, and is revoked when the same citizen activates a second device.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // test helpers outside #[test] fns

mod common;

use common::{Backend, activate, backends, begin, client, read_chip, wallet};
use eid_core::account::AccountState;
use eid_core::account::Passcode;
use eid_core::api::ErrorCode;
use eid_core::client::ClientError;
use eid_core::credential::DocumentKind;
use eid_core::runtime::block_on;
use eid_core::wallet::WalletError;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens::citizens;

#[test]
fn activation_sync_offline_and_device_change() {
    for (db, server) in backends() {
        eprintln!("activation_sync_offline_and_device_change on {db}");
        activation_sync_offline_and_device_change_on(server);
    }
}

fn activation_sync_offline_and_device_change_on(server: Backend) {
    let api = client(&server.url);
    let c = citizens().remove(1);
    let dir1 = tempfile::tempdir().unwrap();
    let first = wallet(dir1.path());
    assert_eq!(first.state().unwrap(), AccountState::NotActivated);

    // The backend's clock runs a few minutes ahead of the phone's: the credentials it issues
    // now still import (within the allowed skew).
    server.app.clock().advance(200);
    let (account, level) = activate(&first, &api, &c, Faults::default()).unwrap();
    assert_eq!(level, 2);
    assert_eq!(first.state().unwrap(), AccountState::Active { level: 2 });
    assert_eq!(
        first.account_id().unwrap().as_deref(),
        Some(account.as_str())
    );

    let report = block_on(first.sync(&api, None, Some(&common::pass())))
        .unwrap()
        .unwrap();
    assert!(report.updated >= 4, "{report:?}");
    server.app.clock().advance(-200);
    let kinds: Vec<DocumentKind> = first
        .documents()
        .unwrap()
        .iter()
        .filter_map(|d| d.kind.known())
        .collect();
    for k in DocumentKind::ALL {
        assert!(kinds.contains(&k), "{k:?} synced");
    }
    assert!(!first.sync_state().unwrap().pending);
    let again = block_on(first.sync(&api, None, Some(&common::pass())))
        .unwrap()
        .unwrap();
    assert_eq!(again.updated, 0, "nothing new the second time: {again:?}");
    assert!(first.sync_state().unwrap().last_synced_ms.is_some());

    // Backend down: the sync fails with a clear error, the wallet keeps everything.
    let count = first.documents().unwrap().len();
    let down = client("http://127.0.0.1:9");
    let err = block_on(first.sync(&down, None, Some(&common::pass())))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, WalletError::Backend(ClientError::Network(_))),
        "{err:?}"
    );
    assert_eq!(first.documents().unwrap().len(), count);
    assert!(first.sync_state().unwrap().last_error.is_some());

    // The same citizen activates a second phone: the first is revoked at its next sync.
    let dir2 = tempfile::tempdir().unwrap();
    let second = wallet(dir2.path());
    let (account2, _) = activate(&second, &api, &c, Faults::default()).unwrap();
    assert_eq!(account2, account, "same account, new device");
    let report = block_on(first.sync(&api, None, Some(&common::pass())))
        .unwrap()
        .unwrap();
    assert!(report.revoked);
    assert_eq!(first.state().unwrap(), AccountState::Revoked);
    assert!(
        first.documents().unwrap().is_empty(),
        "the revoked wallet's documents are wiped"
    );
    assert!(
        block_on(second.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap()
            .updated
            >= 4
    );
}

#[test]
fn bad_activations_change_nothing() {
    for (db, server) in backends() {
        eprintln!("bad_activations_change_nothing on {db}");
        bad_activations_change_nothing_on(server);
    }
}

fn bad_activations_change_nothing_on(server: Backend) {
    let api = client(&server.url);
    let c = citizens().remove(2);
    let dir = tempfile::tempdir().unwrap();
    let w = wallet(dir.path());

    // Wrong SMS code.
    let pending = block_on(w.start_activation(&api, &c.id_number, &c.phone))
        .unwrap()
        .unwrap();
    let chip = read_chip(&c, &pending.chip_challenge, Faults::default());
    let err = block_on(w.complete_activation(&api, &pending, "000000", &chip, &common::pass()))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, WalletError::Backend(e) if e.code() == Some(ErrorCode::WrongCode)),
        "{err:?}"
    );
    assert_eq!(w.state().unwrap(), AccountState::NotActivated);

    // A cloned chip: its signature over the challenge is not by the DG15 key.
    let err = activate(
        &w,
        &api,
        &c,
        Faults {
            clone: true,
            ..Faults::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, WalletError::Backend(e) if e.code() == Some(ErrorCode::ChipEvidenceInvalid)),
        "{err:?}"
    );
    // Altered DG13: refused locally already (passive authentication), the code is not spent.
    let pending = block_on(w.start_activation(&api, &c.id_number, &c.phone))
        .unwrap()
        .unwrap();
    let code = block_on(api.dev_latest_code(&c.phone))
        .unwrap()
        .unwrap()
        .unwrap();
    let tampered = read_chip(
        &c,
        &pending.chip_challenge,
        Faults {
            tamper: Some(eid_icao::lds::LdsFile::DG13),
            ..Faults::default()
        },
    );
    let err = block_on(w.complete_activation(&api, &pending, &code, &tampered, &common::pass()))
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, WalletError::InvalidInput(_)), "{err:?}");
    // Another citizen's chip for this ID's activation.
    let other = citizens().remove(3);
    let chip = read_chip(&other, &pending.chip_challenge, Faults::default());
    let err = block_on(w.complete_activation(&api, &pending, &code, &chip, &common::pass()))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, WalletError::Backend(e) if e.code() == Some(ErrorCode::ChipEvidenceInvalid)),
        "{err:?}"
    );
    assert_eq!(w.state().unwrap(), AccountState::NotActivated);
    assert_eq!(w.document_count().unwrap(), 0);

    // Malformed input never reaches the backend.
    assert!(matches!(
        block_on(w.start_activation(&api, "123", &c.phone)).unwrap(),
        Err(WalletError::InvalidInput(_))
    ));
    // An unknown ID gets the same answer as a known one, but no code ever arrives.
    let unknown = block_on(w.start_activation(&api, "001099000000", "0900000000"))
        .unwrap()
        .unwrap();
    assert_eq!(unknown.chip_challenge.len(), 8);
    assert_eq!(
        block_on(api.dev_latest_code("0900000000"))
            .unwrap()
            .unwrap(),
        None
    );
}

#[test]
fn expired_and_reused_codes_and_a_wrong_passcode_are_refused() {
    for (db, server) in backends() {
        eprintln!("expired_and_reused_codes_and_a_wrong_passcode_are_refused on {db}");
        expired_and_reused_codes_and_a_wrong_passcode_are_refused_on(server);
    }
}

fn expired_and_reused_codes_and_a_wrong_passcode_are_refused_on(server: Backend) {
    let api = client(&server.url);
    let c = citizens().remove(5);
    let dir = tempfile::tempdir().unwrap();
    let w = wallet(dir.path());

    // Expired: the backend's clock moves past the code's lifetime.
    let (pending, code, chip) = begin(&w, &api, &c, Faults::default());
    server
        .app
        .clock()
        .advance(eid_backend::CODE_LIFETIME as i64 + 1);
    let err = block_on(w.complete_activation(&api, &pending, &code, &chip, &common::pass()))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, WalletError::Backend(e) if e.code() == Some(ErrorCode::CodeExpired)),
        "{err:?}"
    );
    assert_eq!(w.state().unwrap(), AccountState::NotActivated);
    server
        .app
        .clock()
        .advance(-(eid_backend::CODE_LIFETIME as i64 + 1));

    // Reused: a code that activated once cannot activate again.
    let (pending, code, chip) = begin(&w, &api, &c, Faults::default());
    block_on(w.complete_activation(&api, &pending, &code, &chip, &common::pass()))
        .unwrap()
        .unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let other = wallet(dir2.path());
    let err = block_on(other.complete_activation(&api, &pending, &code, &chip, &common::pass()))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, WalletError::Backend(e) if e.code() == Some(ErrorCode::CodeUsed)),
        "{err:?}"
    );
    assert_eq!(other.state().unwrap(), AccountState::NotActivated);
    assert_eq!(other.document_count().unwrap(), 0);

    // A wrong passcode keeps the activated wallet locked, with attempts counted.
    w.lock();
    let err = w.unlock(&Passcode::new("999999").unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            WalletError::Account(eid_core::account::AccountError::WrongPasscode {
                attempts_left: 4
            })
        ),
        "{err:?}"
    );
    assert!(matches!(
        block_on(w.sync(&api, None, Some(&common::pass()))).unwrap(),
        Err(WalletError::Locked)
    ));
    assert_eq!(w.state().unwrap(), AccountState::Active { level: 2 });
}
