//! Issue 18, the e-health book end to end (ADR 0051): the reference backend issues it at sync
//! from its synthetic registry, signed by Bộ Y tế's e-health book certificate (authorised for
//! that kind alone); the wallet stores it, checks it again when shown, shows its summary fields
//! labelled, and gives its FHIR R4 Bundle: the holder's Patient, the same book the registry
//! holds, and the immunisations of the vaccination record synced with it. Bộ Y tế's other
//! issuers (health record, vaccination) cannot sign one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // test helpers outside #[test] fns

mod common;

use common::{Backend, activate, backends, client, wallet};
use eid_core::credential::kinds::data_elements;
use eid_core::credential::{Date, Document, DocumentKind};
use eid_core::runtime::block_on;
use eid_core::wallet::DocumentStatus;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens::citizens;
use eid_fixtures::{declared_kinds, e_health_book};
use serde_json::{Value, json};

const KIND: DocumentKind = DocumentKind::EHealthBook;

#[test]
fn the_backend_issues_the_e_health_book_at_sync_and_the_wallet_shows_its_fhir_bundle() {
    for (db, server) in backends() {
        eprintln!("e-health book on {db}");
        round_trip(&server);
    }
}

fn round_trip(server: &Backend) {
    let api = client(&server.url);
    let c = citizens().remove(3);
    let dir = tempfile::tempdir().unwrap();
    let w = wallet(dir.path());
    activate(&w, &api, &c, Faults::default()).unwrap();
    block_on(w.sync(&api, None, Some(&common::pass())))
        .unwrap()
        .unwrap();
    let docs = w.documents().unwrap();
    assert_eq!(docs.len(), DocumentKind::ALL.len());
    let info = docs.iter().find(|d| d.kind == KIND).expect("synced");
    assert_eq!(w.status_of(info), DocumentStatus::Valid);
    assert_eq!(info.holder, c.full_name);
    assert_eq!(info.title, "Sổ sức khỏe điện tử");
    assert_eq!(info.valid_until, None);

    // Shown: the signature and trust list checked again; Bộ Y tế's e-health book issuer, a
    // certificate of its own.
    let (_, v) = w.document(&info.id).unwrap();
    assert_eq!(v.kind, KIND);
    assert!(
        v.issuer.contains("So suc khoe dien tu") && v.issuer.contains("O=Bo Y te"),
        "{}",
        v.issuer
    );
    let keys = &server.app.state().keys;
    let issuer = keys.issuer(KIND).unwrap();
    assert_eq!(v.issuer_certificate, issuer.certificate());
    for other in [DocumentKind::HealthRecord, DocumentKind::Vaccination] {
        assert_ne!(
            keys.issuer(other).unwrap().certificate(),
            issuer.certificate()
        );
    }
    let Document::Declared(_) = &v.document else {
        panic!("held as its declaration")
    };

    // Labelled summary fields, in declaration order.
    let shown = v.document.labelled_fields();
    let names: Vec<&str> = shown.iter().map(|f| f.name.as_str()).collect();
    let declared: Vec<&str> = KIND
        .declaration()
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| names.contains(n))
        .collect();
    assert_eq!(names, declared);
    let field = |name: &str| shown.iter().find(|f| f.name == name);
    assert_eq!(field("id_number").unwrap().value, json!(c.id_number));
    assert_eq!(
        field("allergy_count").unwrap().label_vi,
        "Số dị ứng đã ghi nhận"
    );
    assert_eq!(field("fhir_version").unwrap().value, json!("4.0.1"));

    // The registry's book, as the fixtures make it for the day it runs to.
    let fields = v.document.fields_json();
    let as_of = Date::parse_iso(fields["as_of"].as_str().unwrap()).unwrap();
    let expected =
        Document::Declared(e_health_book::e_health_book(&c, as_of.unix_seconds()).unwrap());
    assert_eq!(v.document.labelled_fields(), expected.labelled_fields());

    // The bundle: a FHIR R4 collection whose Patient is the holder, 80+ data elements.
    let bundle = v.document.fhir_bundle().unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    assert!(data_elements(&bundle) >= 80, "{}", data_elements(&bundle));
    let resources = |ty: &str| -> Vec<&Value> {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == ty)
            .collect()
    };
    let patient = resources("Patient");
    assert_eq!(patient.len(), 1);
    assert_eq!(patient[0]["identifier"][0]["value"], json!(c.id_number));
    assert_eq!(
        patient[0]["birthDate"], fields["birth_date"],
        "the Patient is the holder"
    );
    assert!(resources("Encounter").len() >= 2);
    assert!(resources("Observation").len() >= 10);
    assert_eq!(
        resources("AllergyIntolerance").len() as u64,
        fields["allergy_count"].as_u64().unwrap()
    );
    // The book's immunisations are the vaccination record's doses, synced with it.
    let vaccination = docs
        .iter()
        .find(|d| d.kind == DocumentKind::Vaccination)
        .unwrap();
    let doses = w
        .document(&vaccination.id)
        .unwrap()
        .1
        .document
        .fields_json();
    let dose_dates: Vec<&Value> = doses["doses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["date"])
        .collect();
    let immunised: Vec<&Value> = resources("Immunization")
        .iter()
        .map(|r| &r["occurrenceDateTime"])
        .collect();
    assert_eq!(immunised, dose_dates);
    assert_eq!(
        doses,
        Document::Declared(declared_kinds::vaccination(&c, as_of.unix_seconds()).unwrap())
            .fields_json()
    );
}

/// Bộ Y tế's health record and vaccination issuers, and the police's identity issuer, are
/// trusted but not for e-health books; its e-health book issuer is.
#[test]
fn only_the_e_health_book_issuer_may_sign_one() {
    let issuers = eid_fixtures::issuers::Issuers::new().unwrap();
    let c = citizens().remove(1);
    common::assert_only_the_authorised_issuer_signs(
        &issuers,
        |now| {
            vec![Document::Declared(
                e_health_book::e_health_book(&c, now).unwrap(),
            )]
        },
        &[
            (KIND, &issuers.health_ministry),
            (KIND, &issuers.vaccination),
            (KIND, &issuers.police),
        ],
        &[KIND],
    );
}
