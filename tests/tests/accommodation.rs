//! Accommodation notices end to end (issue 18, docs/adr/0048), on SQLite and PostgreSQL: a
//! guest's wallet shows an `accommodation` QR (name, ID number, date of birth, permanent address;
//! nothing else), a registered host checks it in with the verifier library (offline check, then
//! the backend), the receipt verifies against the trust list, a retry gets the same receipt, and
//! the guest's wallet shows the notice in its log after sync; another citizen's does not. The
//! refusals: a tampered QR, an airport QR, an unregistered host, a desk that is not a host, bad
//! dates, the backend down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eid_core::api::{B64, VerifierRegistration};
use eid_core::client::{BackendClient, CheckInError, Stay, VerifierKey, check_in};
use eid_core::credential::{Date, TrustList};
use eid_core::present::{Profile, QrPayload};
use eid_core::runtime::block_on;
use eid_core::transactions::TransactionKind;
use eid_core::verify::{Reason, Receipt, StatusList, Verifier};
use eid_core::wallet::{Consent, Wallet};
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens::{self, Citizen};

const HOTEL: &str = "Khách sạn Sen, Hoàn Kiếm";

/// A desk's verifier with the backend's trust and status lists.
fn verifier(api: &BackendClient, now: u64) -> Verifier {
    let t = block_on(api.trust_list()).unwrap().unwrap();
    let trust = TrustList::decode(&t.issuers.0).unwrap();
    let s = block_on(api.status_list()).unwrap().unwrap();
    let status = StatusList::from_signed(&s.signed.0, &trust, now).unwrap();
    Verifier::new(trust).with_status_list(status)
}

/// A desk registered through the admin API as `name` for `profile`.
fn register(api: &BackendClient, name: &str, profile: Profile) -> VerifierKey {
    let mut desk = VerifierKey::generate();
    desk.verifier_id = block_on(api.register_verifier(
        common::ADMIN_TOKEN,
        &VerifierRegistration {
            name: name.into(),
            public_key: B64(desk.public_key()),
            profiles: vec![profile.as_str().into()],
        },
    ))
    .unwrap()
    .unwrap()
    .verifier_id;
    desk
}

/// An activated wallet of `c` with its presentation credentials.
fn guest(api: &BackendClient, dir: &std::path::Path, c: &Citizen) -> Wallet {
    let w = common::wallet(dir);
    common::activate(&w, api, c, Faults::default()).unwrap();
    let report = block_on(w.sync(api, None, Some(&common::pass())))
        .unwrap()
        .unwrap();
    assert_eq!(report.presentation_error, None);
    w
}

fn show(w: &Wallet, profile: Profile) -> (String, u64) {
    let shown = w
        .present(profile, None, Consent::Passcode(&common::pass()), HOTEL)
        .unwrap();
    let QrPayload::Offline(p) = QrPayload::parse(&shown.text).unwrap() else {
        panic!("not an offline QR")
    };
    (shown.text, p.created_at)
}

fn nights(from: u64, n: i64) -> Stay {
    let first = Date::from_unix(from);
    Stay {
        check_in: first,
        check_out: Date::from_unix_days(first.unix_days() + n).unwrap(),
    }
}

fn notices(w: &Wallet) -> Vec<eid_core::transactions::Transaction> {
    w.transactions()
        .unwrap()
        .into_iter()
        .filter(|t| t.kind == TransactionKind::Accommodation)
        .collect()
}

#[test]
fn a_guest_checks_in_and_sees_the_notice_after_sync() {
    for (db, b) in common::backends() {
        let api = common::client(&b.url);
        let c = citizens::citizens().remove(3);
        let d = tempfile::tempdir().unwrap();
        let w = guest(&api, d.path(), &c);
        let (text, at) = show(&w, Profile::Accommodation);
        let desk = verifier(&api, at);

        // Exactly the four fields, the citizen's.
        let verdict = desk.verify_offline(&text, at, None, Some(Profile::Accommodation));
        assert!(verdict.valid, "{db}: {:?}", verdict.reasons);
        assert_eq!(
            verdict.fields.to_json(),
            serde_json::json!({
                "full_name": c.full_name,
                "date_of_birth": format!(
                    "{:04}-{:02}-{:02}",
                    c.date_of_birth.year, c.date_of_birth.month, c.date_of_birth.day
                ),
                "id_number": c.id_number,
                "place_of_residence": c.place_of_residence,
            }),
            "{db}"
        );

        let host = register(&api, HOTEL, Profile::Accommodation);
        let stay = nights(at, 2);
        let done = block_on(check_in(&api, &desk, &host, &text, stay, at))
            .unwrap()
            .unwrap_or_else(|e| panic!("{db}: {e}"));
        let s = &done.receipt.statement;
        assert_eq!(
            (s.host_id.as_str(), s.host_name.as_str()),
            (host.verifier_id.as_str(), HOTEL)
        );
        assert_eq!(
            (done.receipt.check_in, done.receipt.check_out),
            (stay.check_in, stay.check_out)
        );
        assert_eq!(done.verdict.fields, verdict.fields);
        // The receipt verifies on its own against the trust list; a changed byte does not.
        let again = Receipt::from_signed(&done.signed, desk.trust(), at).unwrap();
        assert_eq!(again, done.receipt);
        let mut forged = done.signed.clone();
        let i = forged.len() - 5;
        forged[i] ^= 1;
        assert!(Receipt::from_signed(&forged, desk.trust(), at).is_err());

        // The host's retry (its answer lost, say): the same receipt.
        let retry = block_on(check_in(&api, &desk, &host, &text, stay, at))
            .unwrap()
            .unwrap();
        assert_eq!(retry.signed, done.signed, "{db}");

        // The guest syncs: one notice in the log, naming the host and the dates; a second sync
        // adds none.
        assert!(notices(&w).is_empty());
        block_on(w.sync(&api, None, None)).unwrap().unwrap();
        block_on(w.sync(&api, None, None)).unwrap().unwrap();
        let log = notices(&w);
        assert_eq!(log.len(), 1, "{db}");
        assert_eq!(log[0].counterparty, HOTEL);
        assert_eq!(log[0].profile, "accommodation");
        assert_eq!(
            log[0].fields,
            [
                "full_name",
                "date_of_birth",
                "id_number",
                "place_of_residence"
            ]
        );
        let detail = log[0].detail.as_deref().unwrap();
        assert!(detail.contains(&stay.check_in.to_string()), "{detail}");
        assert!(detail.contains(&stay.check_out.to_string()), "{detail}");
        assert!(detail.contains(&s.receipt_id), "{detail}");

        // Another citizen's wallet gets no notice of this stay.
        let other_dir = tempfile::tempdir().unwrap();
        let other = common::wallet(other_dir.path());
        common::activate(
            &other,
            &api,
            &citizens::citizens().remove(1),
            Faults::default(),
        )
        .unwrap();
        block_on(other.sync(&api, None, None)).unwrap().unwrap();
        assert!(notices(&other).is_empty(), "{db}");
    }
}

#[test]
fn the_host_refuses_what_it_must() {
    for (db, b) in common::backends() {
        let api = common::client(&b.url);
        let c = citizens::citizens().remove(4);
        let d = tempfile::tempdir().unwrap();
        let w = guest(&api, d.path(), &c);
        let host = register(&api, HOTEL, Profile::Accommodation);
        let (text, at) = show(&w, Profile::Accommodation);
        let desk = verifier(&api, at);
        let stay = nights(at, 1);
        let run = |desk_key: &VerifierKey, api: &BackendClient, text: &str, stay: Stay| {
            block_on(check_in(api, &desk, desk_key, text, stay, at))
                .unwrap()
                .map(|_| ())
        };

        // An airport QR: wrong profile, refused before anything is sent.
        let (airport, _) = show(&w, Profile::Airport);
        let Err(CheckInError::Refused(v)) = run(&host, &api, &airport, stay) else {
            panic!("{db}: an airport QR was accepted")
        };
        assert!(
            v.reasons.contains(&Reason::WrongProfile {
                presented: Profile::Airport,
                expected: Profile::Accommodation
            }),
            "{db}: {:?}",
            v.reasons
        );
        // A tampered QR.
        let mut tampered = text.clone().into_bytes();
        let i = tampered.len() - 12;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        let e = run(&host, &api, &tampered, stay).unwrap_err();
        assert_eq!(e.code(), "qr_refused", "{db}: {e}");
        // Dates that are no stay.
        let e = run(&host, &api, &text, nights(at, 0)).unwrap_err();
        assert_eq!(e.code(), "bad_stay");
        // A host the backend does not know, and a desk registered for the airport.
        let mut stranger = VerifierKey::generate();
        stranger.verifier_id = "VRF-0123456789ABCDEF".into();
        let e = run(&stranger, &api, &text, stay).unwrap_err();
        assert!(matches!(e, CheckInError::HostNotRegistered), "{db}: {e}");
        let airport_desk = register(&api, "Nội Bài T2 check-in 14", Profile::Airport);
        let e = run(&airport_desk, &api, &text, stay).unwrap_err();
        assert!(matches!(e, CheckInError::NotAHost), "{db}: {e}");
        // The backend down: a port nobody listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let e = run(&host, &common::client(&url), &text, stay).unwrap_err();
        assert_eq!(e.code(), "backend_unreachable", "{db}: {e}");

        // None of these left a notice; the good check-in still goes through.
        block_on(w.sync(&api, None, None)).unwrap().unwrap();
        assert!(notices(&w).is_empty(), "{db}");
        run(&host, &api, &text, stay).unwrap_or_else(|e| panic!("{db}: {e}"));
        block_on(w.sync(&api, None, None)).unwrap().unwrap();
        assert_eq!(notices(&w).len(), 1, "{db}");
    }
}
