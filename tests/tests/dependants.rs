//! Issue 18, dependants end to end (docs/adr/0055): the fixture guardian's device receives the
//! documents of the guardian's children under 14 at sync (birth certificate, BHYT under 6,
//! vaccination), each tagged with the child, kept apart from the holder's own; the child past
//! 14 is not delivered; a clinic QR chosen explicitly for a child verifies and shows the child's
//! data; the guardian's own presentation is unchanged; another citizen gets no children's
//! documents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // test helpers outside #[test] fns

mod common;

use common::{activate, backends, client, pass, wallet};
use eid_core::credential::DocumentKind;
use eid_core::credential::TrustList;
use eid_core::present::{Profile, QrPayload};
use eid_core::runtime::block_on;
use eid_core::transactions::TransactionKind;
use eid_core::verify::{StatusList, Verifier};
use eid_core::wallet::{Consent, DocumentStatus, WalletError};
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens::citizens;
use eid_fixtures::dependants::{self, BHYT_CHILD_UNTIL_AGE, DEPENDANT_UNTIL_AGE};

fn desk(api: &eid_core::client::BackendClient, now: u64) -> Verifier {
    let t = block_on(api.trust_list()).unwrap().unwrap();
    let trust = TrustList::decode(&t.issuers.0).unwrap();
    let s = block_on(api.status_list()).unwrap().unwrap();
    let status = StatusList::from_signed(&s.signed.0, &trust, now).unwrap();
    Verifier::new(trust).with_status_list(status)
}

#[test]
fn a_guardian_holds_and_presents_the_documents_of_children_under_14() {
    for (db, server) in backends() {
        eprintln!("dependants on {db}");
        let api = client(&server.url);
        let now = server.app.clock().now();
        let guardian = dependants::guardian();
        let children = dependants::children(now);
        let under_14: Vec<_> = children
            .iter()
            .filter(|c| dependants::age_at(c, now) < DEPENDANT_UNTIL_AGE)
            .collect();
        assert_eq!(under_14.len(), 2, "the fixtures have two children under 14");

        let dir = tempfile::tempdir().unwrap();
        let w = wallet(dir.path());
        activate(&w, &api, &guardian, Faults::default()).unwrap();
        let report = block_on(w.sync(&api, None, Some(&pass())))
            .unwrap()
            .unwrap();
        assert_eq!(report.presentation_error, None, "{db}");

        // The holder's own documents are as for any citizen; the children's are apart.
        let own = w.documents().unwrap();
        assert_eq!(
            own.len(),
            DocumentKind::ALL.len() - usize::from(guardian.spouse_name.is_none()),
            "{db}"
        );
        assert!(own.iter().all(|d| d.dependant.is_none()));
        let held = w.dependants().unwrap();
        assert_eq!(held.len(), 2, "{db}: the child past 14 is not delivered");
        for (d, c) in held.iter().zip(&under_14) {
            assert_eq!(d.name, c.full_name, "{db}: youngest first");
            assert_ne!(d.id, c.id_number, "the handle is not the ID number");
        }
        let docs = w.dependant_documents().unwrap();
        for (d, c) in held.iter().zip(&under_14) {
            let mut kinds: Vec<_> = docs
                .iter()
                .filter(|i| i.dependant.as_ref() == Some(d))
                .filter_map(|i| i.kind.known())
                .collect();
            kinds.sort();
            let mut expected = vec![DocumentKind::BirthCertificate, DocumentKind::Vaccination];
            if dependants::age_at(c, now) < BHYT_CHILD_UNTIL_AGE {
                expected.push(DocumentKind::HealthInsurance);
            }
            expected.sort();
            assert_eq!(kinds, expected, "{db}: {}", d.name);
        }
        // Each is shown like any document, signed by its kind's issuer, naming the child and
        // the guardian as father or mother.
        let birth = docs
            .iter()
            .find(|i| {
                i.kind == DocumentKind::BirthCertificate && i.dependant == held.get(1).cloned()
            })
            .unwrap();
        assert_eq!(w.status_of(birth), DocumentStatus::Valid);
        let (_, shown) = w.document(&birth.id).unwrap();
        let fields = shown.document.fields_json();
        assert_eq!(fields["full_name"], under_14[1].full_name.as_str());
        assert_eq!(fields["id_number"], under_14[1].id_number.as_str());
        assert!(
            fields["father_name"] == guardian.full_name.as_str()
                || fields["mother_name"] == guardian.full_name.as_str()
        );
        let older = children
            .iter()
            .find(|c| dependants::age_at(c, now) >= DEPENDANT_UNTIL_AGE)
            .unwrap();
        assert!(
            docs.iter().chain(&own).all(|i| {
                w.document(&i.id).unwrap().1.document.fields_json()["id_number"]
                    != older.id_number.as_str()
            }),
            "{db}: nothing of the child past 14"
        );

        // The clinic QR of the youngest, chosen explicitly: the child's name, birth date, BHYT.
        let youngest = &held[0];
        let qr = w
            .present_of(
                Profile::Clinic,
                Some(youngest.id.as_str()),
                None,
                Consent::Passcode(&pass()),
                "clinic",
            )
            .unwrap();
        let QrPayload::Offline(p) = QrPayload::parse(&qr.text).unwrap() else {
            panic!("an offline QR")
        };
        let verdict = desk(&api, now).verify_offline(&qr.text, p.created_at, None, None);
        assert!(verdict.valid, "{db}: {:?}", verdict.reasons);
        let shown = verdict.fields.to_json();
        let child = under_14[0];
        assert_eq!(shown["full_name"], child.full_name.as_str(), "{db}");
        let dob = child.date_of_birth;
        assert_eq!(
            shown["date_of_birth"],
            format!("{:04}-{:02}-{:02}", dob.year, dob.month, dob.day),
            "{db}"
        );
        assert!(
            shown["bhyt_code"].as_str().unwrap().starts_with("TE1"),
            "{db}: {shown}"
        );
        let log = w.transactions().unwrap();
        let last = log
            .iter()
            .rev()
            .find(|t| t.kind == TransactionKind::Presentation)
            .unwrap();
        assert!(
            last.detail.as_deref().unwrap().contains(&youngest.name),
            "the log names the dependant"
        );

        // The guardian's own clinic QR is unchanged: the guardian's data.
        let own_qr = w
            .present(Profile::Clinic, None, Consent::Passcode(&pass()), "clinic")
            .unwrap();
        let QrPayload::Offline(p) = QrPayload::parse(&own_qr.text).unwrap() else {
            panic!("an offline QR")
        };
        let verdict = desk(&api, now).verify_offline(&own_qr.text, p.created_at, None, None);
        assert!(verdict.valid, "{db}: {:?}", verdict.reasons);
        assert_eq!(
            verdict.fields.to_json()["full_name"],
            guardian.full_name.as_str()
        );

        // The child of 6 to 14 has no BHYT card: no clinic QR; an unknown dependant neither.
        let no_card = w.present_of(
            Profile::Clinic,
            Some(held[1].id.as_str()),
            None,
            Consent::Passcode(&pass()),
            "clinic",
        );
        assert!(no_card.is_err(), "{db}");
        let unknown = w.present_of(
            Profile::Clinic,
            Some("not-a-child"),
            None,
            Consent::Passcode(&pass()),
            "clinic",
        );
        assert!(matches!(unknown, Err(WalletError::InvalidInput(_))), "{db}");

        // Another citizen gets no children's documents.
        let other = citizens().remove(1);
        let dir2 = tempfile::tempdir().unwrap();
        let w2 = wallet(dir2.path());
        activate(&w2, &api, &other, Faults::default()).unwrap();
        block_on(w2.sync(&api, None, Some(&pass())))
            .unwrap()
            .unwrap();
        assert!(w2.dependant_documents().unwrap().is_empty(), "{db}");
        assert!(w2.dependants().unwrap().is_empty(), "{db}");
    }
}
