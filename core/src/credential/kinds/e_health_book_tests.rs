//! The e-health book (ADR 0051): a valid and an invalid value for each rule of its FHIR R4
//! Bundle check (`fhir_book.rs`) and of its summary fields.

use super::{data_elements, loinc_check_digit};
use crate::credential::{DeclaredDocument, Document, DocumentKind};
use serde_json::{Value, json};

const KIND: DocumentKind = DocumentKind::EHealthBook;
const ID: &str = "048185012345";

fn url(n: u8) -> String {
    format!("urn:uuid:00000000-0000-4000-8000-0000000000{n:02x}")
}

fn quantity(value: f64, unit: &str) -> Value {
    json!({"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit})
}

fn loinc(code: &str, display: &str) -> Value {
    json!({"coding": [{"system": "http://loinc.org", "code": code, "display": display}]})
}

/// A small valid bundle: the Patient, a clinic and a doctor, one encounter with a blood
/// pressure panel and a weight, the blood group, a condition, an immunisation, an allergy and a
/// medicine.
pub(crate) fn sample_bundle() -> Value {
    let patient = json!({"reference": url(1)});
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": "2025-06-01T00:00:00+07:00",
        "entry": [
            {"fullUrl": url(1), "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:example:vn:cccd", "value": ID}],
                "name": [{"text": "Trần Thị Bình", "family": "Trần", "given": ["Thị", "Bình"]}],
                "gender": "female",
                "birthDate": "1985-04-12"
            }},
            {"fullUrl": url(2), "resource": {"resourceType": "Organization", "name": "Trạm Y tế Phường 3"}},
            {"fullUrl": url(3), "resource": {"resourceType": "Practitioner", "name": [{"text": "BS. Lê Văn Cường"}]}},
            {"fullUrl": url(4), "resource": {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "subject": patient,
                "participant": [{"individual": {"reference": url(3)}}],
                "period": {"start": "2025-03-05T08:00:00+07:00", "end": "2025-03-05T08:30:00+07:00"},
                "serviceProvider": {"reference": url(2)}
            }},
            {"fullUrl": url(5), "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": loinc("85354-9", "Blood pressure panel"),
                "subject": patient,
                "encounter": {"reference": url(4)},
                "effectiveDateTime": "2025-03-05T08:10:00+07:00",
                "component": [
                    {"code": loinc("8480-6", "Systolic blood pressure"), "valueQuantity": quantity(128.0, "mm[Hg]")},
                    {"code": loinc("8462-4", "Diastolic blood pressure"), "valueQuantity": quantity(82.0, "mm[Hg]")}
                ]
            }},
            {"fullUrl": url(6), "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": loinc("29463-7", "Body weight"),
                "subject": patient,
                "encounter": {"reference": url(4)},
                "effectiveDateTime": "2025-03-05",
                "valueQuantity": quantity(54.5, "kg")
            }},
            {"fullUrl": url(7), "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": loinc("882-1", "ABO and Rh group [Type] in Blood"),
                "subject": patient,
                "effectiveDateTime": "2003-05-01",
                "valueCodeableConcept": {"text": "A+"}
            }},
            {"fullUrl": url(8), "resource": {
                "resourceType": "Condition",
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10", "display": "Essential (primary) hypertension"}]},
                "subject": patient,
                "onsetDateTime": "2022-09-01",
                "recordedDate": "2022-09-01"
            }},
            {"fullUrl": url(9), "resource": {
                "resourceType": "Immunization",
                "status": "completed",
                "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "213"}]},
                "patient": patient,
                "occurrenceDateTime": "2021-08-10"
            }},
            {"fullUrl": url(10), "resource": {
                "resourceType": "AllergyIntolerance",
                "code": {"text": "Penicillin"},
                "patient": patient,
                "recordedDate": "2019-01-10"
            }},
            {"fullUrl": url(11), "resource": {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "C08CA01"}]},
                "subject": patient,
                "effectivePeriod": {"start": "2022-09-01"}
            }}
        ]
    })
}

/// A valid e-health book as JSON typed by the declaration.
pub(crate) fn sample() -> Value {
    json!({
        "holder_name": "Trần Thị Bình",
        "birth_date": "1985-04-12",
        "id_number": ID,
        "blood_type": "A+",
        "allergy_count": 1,
        "last_encounter": "2025-03-05",
        "as_of": "2025-06-01",
        "fhir_version": "4.0.1",
        "bundle": sample_bundle().to_string(),
    })
}

/// The sample with `edit` applied to the bundle (and `doc` to the other fields): `Ok` or the
/// failing path and reason.
fn check_with(
    edit: impl FnOnce(&mut Value),
    doc: impl FnOnce(&mut Value),
) -> Result<(), (String, String)> {
    let mut b = sample_bundle();
    edit(&mut b);
    let mut d = sample();
    d["bundle"] = json!(b.to_string());
    doc(&mut d);
    DeclaredDocument::from_json(KIND, &d)
        .map(|_| ())
        .map_err(|e| (e.field, e.reason))
}

fn check(edit: impl FnOnce(&mut Value)) -> Result<(), (String, String)> {
    check_with(edit, |_| {})
}

fn path(r: Result<(), (String, String)>) -> String {
    let (field, reason) = r.expect_err("must be refused");
    // Never a value: not the ID number, not a name, not a date.
    for value in [ID, "Trần", "2025-", "1985-"] {
        assert!(
            !field.contains(value) && !reason.contains(value),
            "{field}: {reason}"
        );
    }
    field
}

fn resource(b: &mut Value, i: usize) -> &mut Value {
    &mut b["entry"][i]["resource"]
}

#[test]
fn the_sample_is_valid_and_carries_its_bundle() {
    assert_eq!(check(|_| {}), Ok(()));
    assert!(KIND.is_declared_only());
    assert_eq!(KIND.as_str(), "e_health_book");
    assert_eq!(KIND.title(), "Sổ sức khỏe điện tử");
    let doc = Document::Declared(DeclaredDocument::from_json(KIND, &sample()).unwrap());
    assert_eq!(doc.fhir_bundle(), Some(sample_bundle()));
    assert_eq!(doc.summary().holder, "Trần Thị Bình");
    assert_eq!(doc.summary().valid_until, None);
    // The health record's title no longer claims the e-health book's name.
    assert_ne!(DocumentKind::HealthRecord.title(), KIND.title());
    assert!(!format!("{doc:?}").contains("Trần"));
    // Counted: the primitive values of the resources (11 of them, 76 values).
    assert_eq!(data_elements(&sample_bundle()), 76);
    let mut fewer = sample_bundle();
    fewer["entry"][1]["resource"]["name"] = Value::Null;
    assert_eq!(data_elements(&fewer), 75);
}

#[test]
fn bundle_resource_type_and_type() {
    assert_eq!(
        path(check(|b| b["resourceType"] = json!("Patient"))),
        "bundle.resourceType"
    );
    assert_eq!(
        path(check(|b| b["type"] = json!("transaction"))),
        "bundle.type"
    );
    assert_eq!(path(check(|b| b["entry"] = json!([]))), "bundle.entry");
    // A document bundle starts with its Composition.
    assert_eq!(
        path(check(|b| b["type"] = json!("document"))),
        "bundle.entry[0]"
    );
    let composition = json!({"fullUrl": url(0xc0), "resource": {
        "resourceType": "Composition", "status": "final", "type": loinc("60591-5", "Patient summary Document"),
        "subject": {"reference": url(1)}, "date": "2025-06-01", "author": [{"reference": url(2)}],
        "title": "Sổ sức khỏe điện tử"}});
    let as_document = |b: &mut Value| {
        b["type"] = json!("document");
        b["entry"].as_array_mut().unwrap().insert(0, composition);
    };
    assert_eq!(check(as_document), Ok(()));
    let mut bad = sample_bundle();
    bad["entry"] = json!("not a list");
    assert_eq!(path(check(|b| *b = bad)), "bundle.entry");
    let r = check_with(|_| {}, |d| d["bundle"] = json!("{\"resourceType\":"));
    assert_eq!(path(r), "bundle");
}

#[test]
fn full_urls_and_resource_types() {
    // Upper-case hex, a server URL, a missing one, a duplicate.
    let upper = "urn:uuid:00000000-0000-4000-8000-0000000000AB";
    assert_eq!(
        path(check(|b| b["entry"][1]["fullUrl"] = json!(upper))),
        "bundle.entry[1].fullUrl"
    );
    let server = "https://fhir.example/Organization/2";
    assert_eq!(
        path(check(|b| b["entry"][1]["fullUrl"] = json!(server))),
        "bundle.entry[1].fullUrl"
    );
    assert_eq!(
        path(check(|b| b["entry"][1]
            .as_object_mut()
            .unwrap()
            .remove("fullUrl")
            .map(|_| ())
            .unwrap())),
        "bundle.entry[1].fullUrl"
    );
    let r = check(|b| b["entry"][2]["fullUrl"] = json!(url(2)));
    assert_eq!(
        r,
        Err(("bundle.entry[2].fullUrl".into(), "used twice".into()))
    );
    // A resource the book does not hold.
    assert_eq!(
        path(check(|b| resource(b, 1)["resourceType"] = json!("Claim"))),
        "bundle.entry[1].resource.resourceType"
    );
    assert_eq!(
        path(check(|b| resource(b, 1)["resourceType"] = json!(7))),
        "bundle.entry[1].resource.resourceType"
    );
}

#[test]
fn the_patient_is_the_holder() {
    // Exactly one Patient.
    let second = |b: &mut Value| {
        let mut p = b["entry"][0].clone();
        p["fullUrl"] = json!(url(0xee));
        b["entry"].as_array_mut().unwrap().push(p);
    };
    assert_eq!(path(check(second)), "bundle.entry");
    let none = |b: &mut Value| {
        resource(b, 0)["resourceType"] = json!("Practitioner");
    };
    assert_eq!(path(check(none)), "bundle.entry");
    // The holder's ID number under the CCCD system.
    assert_eq!(
        path(check(
            |b| resource(b, 0)["identifier"][0]["value"] = json!("048185012346")
        )),
        "bundle.entry[0].resource.identifier"
    );
    assert_eq!(
        path(check(
            |b| resource(b, 0)["identifier"][0]["system"] = json!("urn:example:vn:bhyt")
        )),
        "bundle.entry[0].resource.identifier"
    );
    // The document's id_number changed, the bundle's not.
    let r = check_with(|_| {}, |d| d["id_number"] = json!("001085012345"));
    assert_eq!(path(r), "bundle.entry[0].resource.identifier");
    // Born on the document's birth date.
    assert_eq!(
        path(check(|b| resource(b, 0)["birthDate"] = json!("1985-04-13"))),
        "bundle.entry[0].resource.birthDate"
    );
    assert_eq!(
        path(check(|b| resource(b, 0)["birthDate"] = json!("1985-02-30"))),
        "bundle.entry[0].resource.birthDate"
    );
}

#[test]
fn references_resolve_to_the_right_type() {
    assert_eq!(
        path(check(
            |b| resource(b, 4)["encounter"]["reference"] = json!(url(0x77))
        )),
        "bundle.entry[4].resource.encounter.reference"
    );
    assert_eq!(
        path(check(
            |b| resource(b, 4)["encounter"]["reference"] = json!(7)
        )),
        "bundle.entry[4].resource.encounter.reference"
    );
    let (field, reason) =
        check(|b| resource(b, 4)["subject"]["reference"] = json!(url(2))).unwrap_err();
    assert_eq!(
        (field.as_str(), reason.as_str()),
        (
            "bundle.entry[4].resource.subject",
            "must reference a Patient"
        )
    );
    assert_eq!(
        path(check(
            |b| resource(b, 3)["serviceProvider"]["reference"] = json!(url(3))
        )),
        "bundle.entry[3].resource.serviceProvider"
    );
    assert_eq!(
        path(check(
            |b| resource(b, 3)["participant"][0]["individual"]["reference"] = json!(url(1))
        )),
        "bundle.entry[3].resource.participant[0].individual"
    );
}

#[test]
fn dates_in_order_and_within_the_life() {
    // An encounter ending before it starts: the same day, and across days.
    assert_eq!(
        path(check(
            |b| resource(b, 3)["period"]["end"] = json!("2025-03-05T07:59:59+07:00")
        )),
        "bundle.entry[3].resource.period.end"
    );
    assert_eq!(
        path(check(
            |b| resource(b, 3)["period"]["end"] = json!("2025-03-04")
        )),
        "bundle.entry[3].resource.period.end"
    );
    // The same instant in another zone is not before.
    assert_eq!(
        check(|b| resource(b, 3)["period"]["end"] = json!("2025-03-05T01:00:00Z")),
        Ok(())
    );
    // Observations within the person's life: not before birth, not after the record's date.
    assert_eq!(
        path(check(
            |b| resource(b, 5)["effectiveDateTime"] = json!("1985-04-11")
        )),
        "bundle.entry[5].resource.effectiveDateTime"
    );
    assert_eq!(
        check(|b| resource(b, 5)["effectiveDateTime"] = json!("1985-04-12")),
        Ok(())
    );
    assert_eq!(
        path(check(
            |b| resource(b, 5)["effectiveDateTime"] = json!("2025-06-02")
        )),
        "bundle.entry[5].resource.effectiveDateTime"
    );
    assert_eq!(
        check(|b| resource(b, 5)["effectiveDateTime"] = json!("2025-06-01T23:00:00+07:00")),
        Ok(())
    );
    // Nor after the person's death.
    let deceased = |b: &mut Value| resource(b, 0)["deceasedDateTime"] = json!("2025-01-01");
    let at = path(check(deceased));
    assert!(at.starts_with("bundle.entry[3].resource.period."), "{at}");
    // Dates FHIR R4 would not take, or without the day.
    for bad in [
        "2025-02-30",
        "2025-03",
        "2025",
        "05/03/2025",
        "2025-03-05T08:00:00",
        "2025-03-05T24:00:00Z",
        "2025-03-05T08:00+07:00",
        "2025-03-05T08:00:00.+07:00",
        "2025-03-05T08:00:00+15:00",
    ] {
        assert_eq!(
            path(check(|b| resource(b, 4)["effectiveDateTime"] = json!(bad))),
            "bundle.entry[4].resource.effectiveDateTime",
            "{bad}"
        );
    }
    assert_eq!(
        check(|b| resource(b, 4)["effectiveDateTime"] = json!("2025-03-05T08:10:00.250Z")),
        Ok(())
    );
    // An observation needs its date; an encounter its start.
    assert_eq!(
        path(check(|b| resource(b, 5)
            .as_object_mut()
            .unwrap()
            .remove("effectiveDateTime")
            .map(|_| ())
            .unwrap())),
        "bundle.entry[5].resource.effectiveDateTime"
    );
    let no_start = |b: &mut Value| {
        resource(b, 3)["period"] = json!({"end": "2025-03-05"});
    };
    assert_eq!(
        path(check_with(no_start, |d| d
            .as_object_mut()
            .unwrap()
            .remove("last_encounter")
            .map(|_| ())
            .unwrap())),
        "bundle.entry[3].resource.period.start"
    );
}

#[test]
fn code_systems() {
    // Observations: LOINC, with the check digit.
    assert_eq!(
        path(check(
            |b| resource(b, 5)["code"]["coding"][0]["system"] = json!("http://snomed.info/sct")
        )),
        "bundle.entry[5].resource.code.coding[0].system"
    );
    assert_eq!(
        path(check(
            |b| resource(b, 5)["code"]["coding"][0]["code"] = json!("29463-8")
        )),
        "bundle.entry[5].resource.code.coding[0].code"
    );
    assert_eq!(
        path(check(
            |b| resource(b, 4)["component"][1]["code"]["coding"][0]["system"] = json!("loinc")
        )),
        "bundle.entry[4].resource.component[1].code.coding[0].system"
    );
    assert_eq!(
        path(check(
            |b| resource(b, 5)["code"] = json!({"text": "Cân nặng"})
        )),
        "bundle.entry[5].resource.code.coding"
    );
    // Quantities: UCUM, in the unit of the vital sign, with a number.
    assert_eq!(
        path(check(
            |b| resource(b, 5)["valueQuantity"]["system"] = json!("http://unitsofmeasure.com")
        )),
        "bundle.entry[5].resource.valueQuantity.system"
    );
    let pounds = check(|b| resource(b, 5)["valueQuantity"]["code"] = json!("[lb_av]"));
    assert_eq!(
        pounds,
        Err((
            "bundle.entry[5].resource.valueQuantity.code".into(),
            "must be UCUM kg for LOINC 29463-7".into()
        ))
    );
    assert_eq!(
        path(check(
            |b| resource(b, 4)["component"][0]["valueQuantity"]["code"] = json!("mmHg")
        )),
        "bundle.entry[4].resource.component[0].valueQuantity.code"
    );
    assert_eq!(
        path(check(
            |b| resource(b, 5)["valueQuantity"]["value"] = json!("54.5")
        )),
        "bundle.entry[5].resource.valueQuantity.value"
    );
    // Conditions: ICD-10.
    assert_eq!(
        path(check(
            |b| resource(b, 7)["code"]["coding"][0]["system"] = json!("http://snomed.info/sct")
        )),
        "bundle.entry[7].resource.code.coding[0].system"
    );
    for good in ["J45.9", "U07.1", "E11", "K21.9"] {
        assert_eq!(
            check(|b| resource(b, 7)["code"]["coding"][0]["code"] = json!(good)),
            Ok(()),
            "{good}"
        );
    }
    for bad in ["I1", "i10", "I10.", "I10.123", "110", "I10 "] {
        assert_eq!(
            path(check(
                |b| resource(b, 7)["code"]["coding"][0]["code"] = json!(bad)
            )),
            "bundle.entry[7].resource.code.coding[0].code",
            "{bad}"
        );
    }
    // Immunizations: CVX, from the vaccination record's list.
    assert_eq!(
        check(|b| resource(b, 8)["vaccineCode"]["coding"][0]["code"] = json!("141")),
        Ok(())
    );
    assert_eq!(
        path(check(
            |b| resource(b, 8)["vaccineCode"]["coding"][0]["code"] = json!("999")
        )),
        "bundle.entry[8].resource.vaccineCode.coding[0].code"
    );
    assert_eq!(
        path(check(
            |b| resource(b, 8)["vaccineCode"]["coding"][0]["system"] =
                json!("http://snomed.info/sct")
        )),
        "bundle.entry[8].resource.vaccineCode.coding[0].system"
    );
}

#[test]
fn summary_fields_say_what_the_bundle_says() {
    let with = |doc: fn(&mut Value)| check_with(|_| {}, doc);
    assert_eq!(path(with(|d| d["blood_type"] = json!("O+"))), "blood_type");
    assert_eq!(
        path(with(|d| {
            d.as_object_mut().unwrap().remove("blood_type");
        })),
        "blood_type"
    );
    // No blood group in the bundle: none in the summary.
    let no_group = |b: &mut Value| {
        b["entry"].as_array_mut().unwrap().remove(6);
    };
    assert_eq!(path(check(no_group)), "blood_type");
    assert_eq!(
        check_with(no_group, |d| {
            d.as_object_mut().unwrap().remove("blood_type");
        }),
        Ok(())
    );
    // Not a declared blood group.
    assert_eq!(path(with(|d| d["blood_type"] = json!("C+"))), "blood_type");
    assert_eq!(
        path(with(|d| d["allergy_count"] = json!(2))),
        "allergy_count"
    );
    assert_eq!(
        path(with(|d| d["allergy_count"] = json!(-1))),
        "allergy_count"
    );
    assert_eq!(
        path(with(|d| d["last_encounter"] = json!("2025-03-04"))),
        "last_encounter"
    );
    assert_eq!(
        path(with(|d| {
            d.as_object_mut().unwrap().remove("last_encounter");
        })),
        "last_encounter"
    );
    assert_eq!(
        path(with(|d| d["fhir_version"] = json!("5.0.0"))),
        "fhir_version"
    );
    assert_eq!(
        path(with(|d| d["id_number"] = json!("999185012345"))),
        "id_number"
    );
}

/// The LOINC Users' Guide's worked example (12345 → 5) and codes the book uses.
#[test]
fn loinc_check_digits() {
    assert_eq!(loinc_check_digit("12345"), Some(5));
    for code in [
        "8480-6", "8462-4", "29463-7", "8302-2", "39156-5", "8867-4", "8310-5", "882-1", "85354-9",
        "60591-5", "10160-0", "48765-2", "11450-4",
    ] {
        let (n, c) = code.split_once('-').unwrap();
        assert_eq!(
            loinc_check_digit(n).map(|d| d.to_string()),
            Some(c.into()),
            "{code}"
        );
    }
    assert_eq!(loinc_check_digit(""), None);
    assert_eq!(loinc_check_digit("12a"), None);
}
