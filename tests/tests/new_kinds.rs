//! Issue 18, the new kinds end to end (ADR 0043): the reference backend issues a vehicle
//! registration, a vaccination record and a judicial record extract at sync from its synthetic
//! registry; the wallet stores them, checks each under the issuer certificate authorised for
//! exactly that kind, and shows them with their declared labels in order. An issuer of another
//! kind (the police's identity issuer signing a judicial record) is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // test helpers outside #[test] fns

mod common;

use common::{Backend, activate, backends, client, wallet};
use eid_core::credential::{Document, DocumentKind};
use eid_core::runtime::block_on;
use eid_core::wallet::DocumentStatus;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens::citizens;
use eid_fixtures::declared_kinds;
use serde_json::json;

const NEW_KINDS: [DocumentKind; 3] = [
    DocumentKind::VehicleRegistration,
    DocumentKind::Vaccination,
    DocumentKind::JudicialRecord,
];

#[test]
fn the_backend_issues_the_new_kinds_at_sync_and_the_wallet_shows_them() {
    for (db, server) in backends() {
        eprintln!("new kinds on {db}");
        round_trip(&server);
    }
}

fn round_trip(server: &Backend) {
    let api = client(&server.url);
    let c = citizens().remove(2);
    let dir = tempfile::tempdir().unwrap();
    let w = wallet(dir.path());
    activate(&w, &api, &c, Faults::default()).unwrap();
    block_on(w.sync(&api, None, Some(&common::pass())))
        .unwrap()
        .unwrap();
    let docs = w.documents().unwrap();
    for kind in NEW_KINDS {
        let info = docs
            .iter()
            .find(|d| d.kind == kind)
            .unwrap_or_else(|| panic!("{kind} synced"));
        assert_eq!(w.status_of(info), DocumentStatus::Valid, "{kind}");
        assert_eq!(info.holder, c.full_name, "{kind}");
        assert_eq!(info.title, kind.declaration().label_vi);
        // `document` checks the signature and the trust list again.
        let (_, v) = w.document(&info.id).unwrap();
        assert_eq!(v.kind, kind);
        // Signed by the backend's issuer of exactly this kind.
        let issuer = server.app.state().keys.issuer(kind).unwrap();
        assert_eq!(v.issuer_certificate, issuer.certificate(), "{kind}");
        for other in DocumentKind::ALL.into_iter().filter(|k| *k != kind) {
            let theirs = server.app.state().keys.issuer(other).unwrap();
            assert_ne!(
                theirs.certificate(),
                issuer.certificate(),
                "{kind} / {other}"
            );
        }
        let Document::Declared(_) = &v.document else {
            panic!("{kind} is held as its declaration")
        };
        // Labelled in declaration order.
        let shown = v.document.labelled_fields();
        let declared: Vec<&str> = kind
            .declaration()
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| shown.iter().any(|s| s.name == *n))
            .collect();
        let names: Vec<&str> = shown.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, declared, "{kind}");
        assert!(names.len() >= 5, "{kind}: {names:?}");
    }
    let shown = |kind: DocumentKind| {
        let info = docs.iter().find(|d| d.kind == kind).unwrap();
        w.document(&info.id).unwrap().1.document.labelled_fields()
    };

    // The vehicle registration: the registry's values (the fixture citizen's car or
    // motorcycle), with the Vietnamese labels.
    let vehicle = shown(DocumentKind::VehicleRegistration);
    let expected = Document::Declared(declared_kinds::vehicle_registration(&c).unwrap());
    assert_eq!(vehicle, expected.labelled_fields());
    assert_eq!(vehicle[1].label_vi, "Biển số");
    assert_eq!(vehicle[8].label_vi, "Số khung (VIN)");
    let vin = vehicle[8].value.as_str().unwrap();
    assert_eq!(
        eid_core::credential::kinds::vin_check_digit(vin).map(|d| d as u8),
        vin.as_bytes().get(8).copied()
    );
    assert_eq!(vehicle[4].value, json!(c.id_number));

    // The vaccination record: doses in date order, each vaccine from the code list.
    let vaccination = shown(DocumentKind::Vaccination);
    assert_eq!(vaccination[3].label_vi, "Các mũi tiêm");
    let doses = vaccination[3].value.as_array().unwrap();
    assert!(doses.len() >= 2);
    let dates: Vec<&str> = doses
        .iter()
        .map(|d| d[2]["value"].as_str().unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted);
    for d in doses {
        assert_eq!(d[0]["label_vi"], "Vắc xin");
        assert!(
            d[0]["value_label_vi"]
                .as_str()
                .unwrap()
                .starts_with("Vắc xin")
        );
    }

    // The judicial record extract: shown expired after its validity, though the credential
    // itself still runs.
    let judicial = shown(DocumentKind::JudicialRecord);
    assert_eq!(judicial[0].label_vi, "Số phiếu");
    assert_eq!(judicial.last().unwrap().label_vi, "Có giá trị đến");
    let info = docs
        .iter()
        .find(|d| d.kind == DocumentKind::JudicialRecord)
        .unwrap();
    let until =
        eid_core::credential::Date::parse_iso(info.valid_until.as_deref().unwrap()).unwrap();
    assert_eq!(judicial.last().unwrap().value, json!(until.to_string()));
    assert!(until.unix_seconds() < info.credential_expires);
    assert_eq!(
        info.status_at(until.unix_seconds() + 86_399),
        DocumentStatus::Valid
    );
    assert_eq!(
        info.status_at(until.unix_seconds() + 86_400),
        DocumentStatus::Expired
    );
}

/// A trusted issuer of another kind cannot sign a new kind: the police's identity issuer signing
/// a judicial record extract, the health record issuer a vaccination record, the identity
/// issuer a vehicle registration (the traffic police's certificate is a separate one).
#[test]
fn a_wrong_authority_issuer_is_refused() {
    let issuers = eid_fixtures::issuers::Issuers::new().unwrap();
    let c = citizens().remove(0);
    common::assert_only_the_authorised_issuer_signs(
        &issuers,
        |now| eid_fixtures::issuers::models_for(&c, now).unwrap(),
        &[
            (DocumentKind::JudicialRecord, &issuers.police),
            (DocumentKind::Vaccination, &issuers.health_ministry),
            (DocumentKind::VehicleRegistration, &issuers.police),
            (DocumentKind::JudicialRecord, &issuers.traffic_police),
        ],
        &NEW_KINDS,
    );
}
