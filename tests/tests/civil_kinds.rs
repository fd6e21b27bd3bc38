//! Issue 18, the civil kinds end to end (ADR 0047): the reference backend issues a birth
//! certificate, a marriage certificate (to the married), a social insurance book, residence and
//! tax information at sync from its synthetic registry; the wallet stores them, checks each
//! under the issuer certificate authorised for exactly that kind, and shows them with their
//! declared labels in order. An issuer of another kind (the judicial record's issuer signing a
//! birth certificate, the BHYT card's a social insurance book) is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // test helpers outside #[test] fns

mod common;

use common::{Backend, activate, backends, client, wallet};
use eid_core::credential::{Date, Document, DocumentKind};
use eid_core::runtime::block_on;
use eid_core::wallet::DocumentStatus;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens::{Citizen, citizens};
use eid_fixtures::civil_kinds;
use serde_json::json;

const CIVIL: [DocumentKind; 5] = [
    DocumentKind::BirthCertificate,
    DocumentKind::MarriageCertificate,
    DocumentKind::SocialInsuranceBook,
    DocumentKind::Residence,
    DocumentKind::TaxInfo,
];

#[test]
fn the_backend_issues_the_civil_kinds_at_sync_and_the_wallet_shows_them() {
    let married = citizens()
        .into_iter()
        .find(|c| c.spouse_name.is_some())
        .unwrap();
    let single = citizens()
        .into_iter()
        .find(|c| c.spouse_name.is_none())
        .unwrap();
    for (db, server) in backends() {
        eprintln!("civil kinds on {db}");
        round_trip(&server, &married, true);
        round_trip(&server, &single, false);
    }
}

fn round_trip(server: &Backend, c: &Citizen, married: bool) {
    let api = client(&server.url);
    let dir = tempfile::tempdir().unwrap();
    let w = wallet(dir.path());
    activate(&w, &api, c, Faults::default()).unwrap();
    block_on(w.sync(&api, None, Some(&common::pass())))
        .unwrap()
        .unwrap();
    let docs = w.documents().unwrap();
    // The registry's documents were made on the day of the birth certificate's issue date.
    let birth = docs
        .iter()
        .find(|d| d.kind == DocumentKind::BirthCertificate)
        .expect("every citizen has a birth certificate");
    let birth = w.document(&birth.id).unwrap().1.document.fields_json();
    let seeded = Date::parse_iso(birth["issue_date"].as_str().unwrap()).unwrap();
    let expected = civil_kinds::for_citizen(c, seeded.unix_seconds()).unwrap();
    assert_eq!(
        docs.iter()
            .filter(|d| d.kind == DocumentKind::MarriageCertificate)
            .count(),
        usize::from(married)
    );
    assert_eq!(
        docs.len(),
        DocumentKind::ALL.len() - usize::from(!married),
        "one document of each kind the citizen holds"
    );
    for kind in CIVIL {
        let Some(info) = docs.iter().find(|d| d.kind == kind) else {
            assert_eq!(kind, DocumentKind::MarriageCertificate);
            continue;
        };
        assert_eq!(w.status_of(info), DocumentStatus::Valid, "{kind}");
        assert_eq!(info.holder, c.full_name, "{kind}");
        assert_eq!(info.title, kind.declaration().label_vi);
        assert_eq!(info.valid_until, None, "{kind}");
        // `document` checks the signature and the trust list again.
        let (_, v) = w.document(&info.id).unwrap();
        assert_eq!(v.kind, kind);
        let issuer = server.app.state().keys.issuer(kind).unwrap();
        assert_eq!(v.issuer_certificate, issuer.certificate(), "{kind}");
        for other in DocumentKind::ALL.into_iter().filter(|k| *k != kind) {
            let theirs = server.app.state().keys.issuer(other).unwrap();
            assert_ne!(theirs.certificate(), issuer.certificate(), "{kind}/{other}");
        }
        let Document::Declared(_) = &v.document else {
            panic!("{kind} is held as its declaration")
        };
        // The registry's values, labelled in declaration order.
        let shown = v.document.labelled_fields();
        let want = expected.iter().find(|d| d.kind() == kind).unwrap();
        assert_eq!(shown, want.labelled_fields(), "{kind}");
        let declared: Vec<&str> = kind
            .declaration()
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| shown.iter().any(|s| s.name == *n))
            .collect();
        let names: Vec<&str> = shown.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, declared, "{kind}");
    }
    let shown = |kind: DocumentKind| {
        let info = docs.iter().find(|d| d.kind == kind).unwrap();
        w.document(&info.id).unwrap().1.document.labelled_fields()
    };
    let birth = shown(DocumentKind::BirthCertificate);
    assert_eq!(birth[0].label_vi, "Số đăng ký");
    assert_eq!(birth[3].value, json!(c.full_name));
    let tax = shown(DocumentKind::TaxInfo);
    assert_eq!(tax[2].label_vi, "Mã số thuế");
    assert_eq!(tax[2].value, json!(c.id_number));
    let book = shown(DocumentKind::SocialInsuranceBook);
    assert_eq!(book[4].label_vi, "Quá trình đóng BHXH");
    if married {
        let marriage = shown(DocumentKind::MarriageCertificate);
        assert_eq!(marriage[3].label_vi, "Chồng");
        assert_eq!(marriage[4].label_vi, "Vợ");
    }
}

/// A trusted issuer of another kind cannot sign a civil kind, even of the same authority: the
/// judicial record's issuer (Bo Tu phap) signing a birth certificate, the birth registry a
/// marriage certificate, the BHYT card's issuer a social insurance book, the identity issuer
/// residence information, and the police's any tax information.
#[test]
fn a_wrong_authority_issuer_is_refused() {
    let issuers = eid_fixtures::issuers::Issuers::new().unwrap();
    let c = citizens()
        .into_iter()
        .find(|c| c.spouse_name.is_some())
        .unwrap();
    common::assert_only_the_authorised_issuer_signs(
        &issuers,
        |now| civil_kinds::for_citizen(&c, now).unwrap(),
        &[
            (DocumentKind::BirthCertificate, &issuers.justice),
            (DocumentKind::MarriageCertificate, &issuers.birth_registry),
            (DocumentKind::SocialInsuranceBook, &issuers.social_insurance),
            (DocumentKind::Residence, &issuers.police),
            (DocumentKind::TaxInfo, &issuers.residence),
        ],
        &CIVIL,
    );
}
