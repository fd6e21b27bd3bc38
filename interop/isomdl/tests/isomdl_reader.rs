//! SpruceID's isomdl as the mdoc reader against our holder (`eid wallet mdoc present --tcp`):
//! isomdl parses our engagement QR, derives the session keys, encrypts its DeviceRequest,
//! decrypts our DeviceResponse and runs its checks: the document signer and IACA against
//! ISO/IEC 18013-5 Annex B (its `ValidationRuleset::Mdl`: validity, key usage, extended key
//! usage, issuer alternative name, CRL distribution point, key identifiers, country), the
//! issuer signature, and the device signature over DeviceAuthentication with its own
//! SessionTranscript. isomdl's reader asks for the mDL only and does not check digests,
//! validity or device MACs (`Unsupported`); @auth0/mdl and Multipaz do (docs/adr/0071).
//!
//! Run: scripts/interop-isomdl.sh (builds `eid` if needed).

use anyhow::{Context, Result};
use eid_interop_isomdl::eid::Eid;
use eid_interop_isomdl::gatt::GattClient;
use isomdl::definitions::SessionData;
use isomdl::definitions::device_request::{DataElements, Namespaces};
use isomdl::definitions::helpers::NonEmptyMap;
use isomdl::definitions::x509::X5Chain;
use isomdl::definitions::x509::trust_anchor::{PemTrustAnchor, TrustAnchorRegistry, TrustPurpose};
use isomdl::definitions::x509::validation::ValidationRuleset;
use isomdl::presentation::authentication::{AuthenticationStatus, ResponseAuthenticationOutcome};
use isomdl::presentation::reader::SessionManager;
use serde_json::Value;
use std::collections::BTreeMap;

const MDL: &str = "org.iso.18013.5.1.mDL";
const MDL_NS: &str = "org.iso.18013.5.1";
/// The licence as a road check asks for it: who, which licence, which classes, and the face.
const MDL_ELEMENTS: [&str; 10] = [
    "family_name",
    "given_name",
    "birth_date",
    "issue_date",
    "expiry_date",
    "issuing_country",
    "issuing_authority",
    "document_number",
    "driving_privileges",
    "portrait",
];

/// A backend and an activated wallet of its own for each test (about a second).
fn eid() -> Result<Eid> {
    Eid::start()
}

fn registry(pem: &str, purpose: TrustPurpose) -> TrustAnchorRegistry {
    TrustAnchorRegistry::from_pem_certificates(vec![PemTrustAnchor {
        certificate_pem: pem.to_owned(),
        purpose,
    }])
    .expect("trust anchor")
}

fn request(elements: &[&str]) -> Namespaces {
    let items: BTreeMap<String, bool> = elements.iter().map(|e| ((*e).to_owned(), false)).collect();
    let items = DataElements::try_from(items).expect("elements");
    NonEmptyMap::new(MDL_NS.to_owned(), items)
}

/// isomdl's reading of one holder: its verdict and the raw SessionData of the holder's answer.
struct Reading {
    outcome: ResponseAuthenticationOutcome,
    answer: SessionData,
}

fn isomdl_reads(
    holder: &eid_interop_isomdl::eid::Holder,
    trust: TrustAnchorRegistry,
) -> Result<Reading> {
    isomdl_asks(holder, trust, &MDL_ELEMENTS)
}

/// [`isomdl_reads`] asking for `elements` of the mDL namespace.
fn isomdl_asks(
    holder: &eid_interop_isomdl::eid::Holder,
    trust: TrustAnchorRegistry,
    elements: &[&str],
) -> Result<Reading> {
    let (mut reader, establishment, _ble_ident) =
        SessionManager::establish_session(holder.uri.clone(), request(elements), trust)?;
    let mut link = GattClient::connect(&holder.address)?;
    link.start()?;
    link.send(&establishment)?;
    let answer = link
        .receive()?
        .context("the holder ended without answering")?;
    link.end();
    Ok(Reading {
        outcome: reader.handle_response(&answer),
        answer: isomdl::cbor::from_slice(&answer)?,
    })
}

#[test]
fn isomdl_reads_our_licence_and_finds_the_issuer_and_the_device_valid() -> Result<()> {
    let eid = eid()?;
    let ours = eid.our_reading(MDL, &MDL_ELEMENTS)?;
    let mut holder = eid.present(&[])?;
    let r = isomdl_reads(&holder, registry(&eid.iaca_pem, TrustPurpose::Iaca))?;
    assert!(holder.wait()?.success(), "{}", holder.stderr());
    let o = &r.outcome;
    assert!(o.errors.is_empty(), "isomdl's errors: {:?}", o.errors);
    assert_eq!(o.issuer_authentication, AuthenticationStatus::Valid);
    assert_eq!(o.device_authentication, AuthenticationStatus::Valid);
    assert!(r.answer.data.is_some() && r.answer.status.is_none());

    // Every element asked for came, with the value our reader found (isomdl drops values it
    // cannot turn into JSON, so a missing one would show here).
    let got = o
        .response
        .get(MDL_NS)
        .and_then(Value::as_object)
        .context("no mDL namespace")?;
    let mut names: Vec<&str> = got.keys().map(String::as_str).collect();
    let mut asked = MDL_ELEMENTS.to_vec();
    names.sort_unstable();
    asked.sort_unstable();
    assert_eq!(names, asked);
    // The text and date elements as our reader prints them (the structured ones below).
    let structured = ["driving_privileges", "portrait"];
    for name in MDL_ELEMENTS.iter().filter(|n| !structured.contains(n)) {
        assert_eq!(got[*name], ours[*name], "{name}");
    }
    // The classes, in order, each with its code and issue date (full-date, tag 1004).
    let codes = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                p["vehicle_category_code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    assert!(!codes(&got["driving_privileges"]).is_empty());
    assert_eq!(
        codes(&got["driving_privileges"]),
        codes(&ours["driving_privileges"])
    );
    assert_eq!(
        got["driving_privileges"][0]["issue_date"],
        ours["driving_privileges"][0]["issue_date"]
    );
    // The portrait arrives whole: isomdl gives bytes as numbers, a JPEG starts FF D8.
    let portrait = got["portrait"].as_array().context("portrait bytes")?;
    assert!(portrait.len() > 1000);
    assert_eq!(
        (&portrait[0], &portrait[1]),
        (&Value::from(0xFF), &Value::from(0xD8))
    );
    Ok(())
}

#[test]
fn isomdl_takes_our_answer_naming_an_element_the_licence_does_not_hold() -> Result<()> {
    // Our licence holds no eye colour: the Document names it in `errors` (ErrorCode 0), which
    // isomdl reads with its own types (a namespace map, a non-empty element map, an int code)
    // before it checks the rest as usual. The third synthetic citizen was born in 1969.
    let eid = eid()?;
    let mut holder = eid.present(&[])?;
    // age_over_20 is not issued either: our holder answers it with age_over_21 (§7.2.5).
    let asked = [
        "family_name",
        "eye_colour",
        "document_number",
        "age_over_20",
    ];
    let r = isomdl_asks(&holder, registry(&eid.iaca_pem, TrustPurpose::Iaca), &asked)?;
    assert!(holder.wait()?.success(), "{}", holder.stderr());
    let o = &r.outcome;
    assert!(o.errors.is_empty(), "isomdl's errors: {:?}", o.errors);
    assert_eq!(o.issuer_authentication, AuthenticationStatus::Valid);
    assert_eq!(o.device_authentication, AuthenticationStatus::Valid);
    let got = o
        .response
        .get(MDL_NS)
        .and_then(Value::as_object)
        .context("no mDL namespace")?;
    let mut names: Vec<&str> = got.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["age_over_21", "document_number", "family_name"]);
    assert_eq!(got["age_over_21"], Value::Bool(true));
    assert!(
        holder
            .stderr()
            .contains("org.iso.18013.5.1/eye_colour (not in your document: not sent)"),
        "{}",
        holder.stderr()
    );
    Ok(())
}

#[test]
fn a_wallet_without_a_licence_answers_isomdl_with_no_documents_array() -> Result<()> {
    // `documents` is `[+ Document]`: isomdl's type for it is a non-empty list, so an empty
    // array does not decode at all (isomdl reported "decryption_errors" for it). Left out,
    // with `documentErrors` naming the mDL, the answer decodes and isomdl says plainly that
    // the device sent no mDL.
    let eid = eid()?;
    let mut holder = eid.dev_holder(&["--holds", "org.iso.23220.photoid.1"])?;
    let r = isomdl_asks(
        &holder,
        registry(&eid.iaca_pem, TrustPurpose::Iaca),
        &["family_name"],
    )?;
    assert!(holder.wait()?.success(), "{}", holder.stderr());
    assert!(r.answer.data.is_some(), "an answer, not a termination");
    let errors = serde_json::to_value(&r.outcome.errors)?;
    assert_eq!(
        errors,
        serde_json::json!({"parsing_errors": ["Device did not transmit any data."]})
    );
    assert!(r.outcome.response.is_empty());
    Ok(())
}

#[test]
fn isomdl_refuses_our_document_signer_under_an_iaca_that_did_not_issue_it() -> Result<()> {
    // The reader CA is a root of its own: as an IACA it anchors nothing of ours.
    let eid = eid()?;
    let mut holder = eid.present(&[])?;
    let r = isomdl_reads(&holder, registry(&eid.reader_ca_pem, TrustPurpose::Iaca))?;
    assert!(holder.wait()?.success(), "{}", holder.stderr());
    assert_eq!(
        r.outcome.issuer_authentication,
        AuthenticationStatus::Invalid
    );
    let errors = serde_json::to_string(&r.outcome.errors)?;
    assert!(errors.contains("no valid trust anchor"), "{errors}");
    // The device signature does not depend on the trust anchor.
    assert_eq!(r.outcome.device_authentication, AuthenticationStatus::Valid);
    Ok(())
}

#[test]
fn a_holder_that_requires_reader_authentication_gives_isomdls_unsigned_request_nothing()
-> Result<()> {
    let eid = eid()?;
    let mut holder = eid.present(&["--require-reader-auth"])?;
    let r = isomdl_reads(&holder, registry(&eid.iaca_pem, TrustPurpose::Iaca))?;
    assert!(holder.wait()?.success(), "{}", holder.stderr());
    assert!(r.answer.data.is_none(), "nothing disclosed");
    assert_eq!(
        r.answer.status.map(u64::from),
        Some(20),
        "session termination"
    );
    assert_eq!(
        r.outcome.issuer_authentication,
        AuthenticationStatus::Unchecked
    );
    assert!(r.outcome.response.is_empty());
    assert!(
        holder.stderr().contains("ReaderRefused(Unsigned)"),
        "{}",
        holder.stderr()
    );
    Ok(())
}

#[test]
fn isomdl_finds_our_reader_certificate_and_iaca_fit_annex_b() -> Result<()> {
    let eid = eid()?;
    // The backend's reader certificate under its reader CA (isomdl's reader ruleset: validity,
    // key usage, mdlReaderAuth, key identifiers, issuer).
    let reader = X5Chain::builder()
        .with_pem_certificate(eid.reader_cert_pem.as_bytes())?
        .build()?;
    let outcome = ValidationRuleset::MdlReaderOneStep.validate(
        &reader,
        &registry(&eid.reader_ca_pem, TrustPurpose::ReaderCa),
    );
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    // ... and not under the IACA, nor as a document signer.
    let outcome = ValidationRuleset::MdlReaderOneStep
        .validate(&reader, &registry(&eid.iaca_pem, TrustPurpose::ReaderCa));
    assert!(!outcome.errors.is_empty());
    let outcome =
        ValidationRuleset::Mdl.validate(&reader, &registry(&eid.reader_ca_pem, TrustPurpose::Iaca));
    assert!(
        !outcome.errors.is_empty(),
        "a reader certificate is no document signer"
    );
    // The PEM we hand verifiers round-trips through isomdl's parser.
    let iaca = X5Chain::builder()
        .with_pem_certificate(eid.iaca_pem.as_bytes())?
        .build()?;
    assert!(iaca.end_entity_common_name().contains("IACA"));
    Ok(())
}
