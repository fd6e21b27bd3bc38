//! The health record (sổ sức khỏe điện tử) as an HL7 FHIR R4 Bundle in the shape of the
//! International Patient Summary (HL7 IPS IG 1.1, ISO 27269): a `document` Bundle whose first
//! entry is the Composition. Only the structure is checked here, not full FHIR validation.

use super::cbor::{self, Fields};
use super::error::DocumentError;
use ciborium::Value as Cbor;
use serde_json::Value;
use std::fmt;

const LOINC: &str = "http://loinc.org";
/// LOINC 60591-5 "Patient summary Document" (IPS Composition.type).
pub const LOINC_PATIENT_SUMMARY: &str = "60591-5";
/// IPS required sections (IPS IG, Composition sections): LOINC code and name.
pub const REQUIRED_SECTIONS: [(&str, &str); 3] = [
    ("10160-0", "Medication Summary"),
    ("48765-2", "Allergies and Intolerances"),
    ("11450-4", "Problem List"),
];
/// LOINC 882-1 "ABO and Rh group [Type] in Blood".
pub const LOINC_BLOOD_GROUP: &str = "882-1";

/// Bundles larger than this are refused before parsing (a summary, not a full chart).
pub const MAX_BUNDLE_BYTES: usize = 512 * 1024;

/// A structurally checked IPS Bundle. `Debug` is redacted.
#[derive(Clone, PartialEq)]
pub struct HealthRecord {
    bundle: Value,
}

impl fmt::Debug for HealthRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthRecord")
            .field("entries", &entries(&self.bundle).map_or(0, <[Value]>::len))
            .finish_non_exhaustive()
    }
}

fn err(field: &str, reason: &str) -> DocumentError {
    DocumentError::new(field, reason)
}

fn entries(bundle: &Value) -> Option<&[Value]> {
    bundle.get("entry")?.as_array().map(Vec::as_slice)
}

fn resource_type(entry: &Value) -> Option<&str> {
    entry.get("resource")?.get("resourceType")?.as_str()
}

/// Whether a CodeableConcept has a coding `system|code`.
fn has_coding(concept: Option<&Value>, system: &str, code: &str) -> bool {
    concept
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .is_some_and(|codings| {
            codings.iter().any(|c| {
                c.get("system").and_then(Value::as_str) == Some(system)
                    && c.get("code").and_then(Value::as_str) == Some(code)
            })
        })
}

/// Checks the IPS shape; the error names the first requirement that fails.
fn check(bundle: &Value) -> Result<(), DocumentError> {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(err("resourceType", "must be Bundle"));
    }
    // FHIR R4 Bundle.type: a document bundle (IPS IG: Bundle.type = document).
    if bundle.get("type").and_then(Value::as_str) != Some("document") {
        return Err(err("type", "must be document"));
    }
    let entries = entries(bundle).ok_or_else(|| err("entry", "must be a non-empty array"))?;
    let first = entries
        .first()
        .ok_or_else(|| err("entry", "must be a non-empty array"))?;
    // FHIR R4 document bundles: the first entry is the Composition (bundle-rules bdl-11).
    if resource_type(first) != Some("Composition") {
        return Err(err("entry[0]", "must be a Composition"));
    }
    let composition = first.get("resource").unwrap_or(&Value::Null);
    if !has_coding(composition.get("type"), LOINC, LOINC_PATIENT_SUMMARY) {
        return Err(err(
            "Composition.type",
            "must be LOINC 60591-5 (Patient summary)",
        ));
    }
    let sections = composition
        .get("section")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (code, name) in REQUIRED_SECTIONS {
        if !sections
            .iter()
            .any(|s| has_coding(s.get("code"), LOINC, code))
        {
            return Err(err(
                &format!("Composition.section[{code}]"),
                &format!("required {name} section (LOINC {code}) is missing"),
            ));
        }
    }
    let full_urls: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.get("fullUrl").and_then(Value::as_str))
        .collect();
    for (i, section) in sections.iter().enumerate() {
        let refs = section
            .get("entry")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (j, r) in refs.iter().enumerate() {
            let target = r.get("reference").and_then(Value::as_str);
            if !target.is_some_and(|t| full_urls.contains(&t)) {
                return Err(err(
                    &format!("Composition.section[{i}].entry[{j}]"),
                    "reference does not resolve to an entry fullUrl",
                ));
            }
        }
    }
    let has = |ty: &str| entries.iter().any(|e| resource_type(e) == Some(ty));
    if !has("Patient") {
        return Err(err("Patient", "the bundle must hold a Patient"));
    }
    if !has("Immunization") {
        return Err(err("Immunization", "at least one Immunization is required"));
    }
    let blood_group = entries.iter().any(|e| {
        resource_type(e) == Some("Observation")
            && has_coding(
                e.get("resource").and_then(|r| r.get("code")),
                LOINC,
                LOINC_BLOOD_GROUP,
            )
    });
    if !blood_group {
        return Err(err(
            "Observation[882-1]",
            "a blood group Observation (LOINC 882-1) is required",
        ));
    }
    Ok(())
}

impl HealthRecord {
    /// Checks and keeps a Bundle.
    pub fn from_bundle(bundle: Value) -> Result<HealthRecord, DocumentError> {
        check(&bundle)?;
        Ok(HealthRecord { bundle })
    }

    /// Parses FHIR JSON and checks it.
    pub fn from_json(json: &[u8]) -> Result<HealthRecord, DocumentError> {
        if json.len() > MAX_BUNDLE_BYTES {
            return Err(err("bundle", "too large"));
        }
        let bundle = serde_json::from_slice(json).map_err(|_| err("bundle", "not JSON"))?;
        HealthRecord::from_bundle(bundle)
    }

    pub fn bundle(&self) -> &Value {
        &self.bundle
    }

    /// FHIR JSON (keys sorted, so the same bundle gives the same bytes).
    pub fn to_json(&self) -> String {
        self.bundle.to_string()
    }

    fn patient(&self) -> Option<&Value> {
        entries(&self.bundle)?
            .iter()
            .find(|e| resource_type(e) == Some("Patient"))?
            .get("resource")
    }

    /// The patient's name: `HumanName.text`, else family + given.
    pub fn patient_name(&self) -> Option<String> {
        let name = self.patient()?.get("name")?.as_array()?.first()?;
        if let Some(text) = name.get("text").and_then(Value::as_str) {
            return Some(text.to_owned());
        }
        let family = name
            .get("family")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let given: Vec<&str> = name
            .get("given")
            .and_then(Value::as_array)
            .map(|g| g.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // Vietnamese order: family name first.
        Some(
            std::iter::once(family)
                .chain(given)
                .collect::<Vec<_>>()
                .join(" ")
                .trim()
                .to_owned(),
        )
    }

    /// The rules of the kind's declaration (`credential/kinds/`); the error names the field.
    pub fn validate(&self) -> Result<(), DocumentError> {
        crate::credential::kinds::validate(
            super::DocumentKind::HealthRecord.declaration(),
            &self.to_cbor(),
        )
    }

    pub(crate) fn to_cbor(&self) -> Cbor {
        cbor::map(vec![
            ("fhir_version", Some(cbor::text("4.0.1"))),
            ("bundle", Some(cbor::text(self.to_json()))),
        ])
    }

    pub(crate) fn from_cbor(value: &Cbor) -> Result<HealthRecord, DocumentError> {
        crate::credential::kinds::validate(super::DocumentKind::HealthRecord.declaration(), value)?;
        let f = Fields::new(value, "")?;
        if f.text("fhir_version")? != "4.0.1" {
            return Err(err("fhir_version", "must be 4.0.1 (FHIR R4)"));
        }
        HealthRecord::from_json(f.text("bundle")?.as_bytes())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A minimal valid IPS bundle for tests.
    pub(crate) fn ips() -> Value {
        let coding = |code: &str| json!({"coding": [{"system": LOINC, "code": code}]});
        json!({
            "resourceType": "Bundle",
            "type": "document",
            "entry": [
                {"fullUrl": "urn:uuid:c", "resource": {
                    "resourceType": "Composition",
                    "type": coding("60591-5"),
                    "section": [
                        {"code": coding("10160-0"), "entry": [{"reference": "urn:uuid:m"}]},
                        {"code": coding("48765-2"), "entry": [{"reference": "urn:uuid:a"}]},
                        {"code": coding("11450-4"), "entry": [{"reference": "urn:uuid:p"}]}
                    ]}},
                {"fullUrl": "urn:uuid:pt", "resource": {"resourceType": "Patient",
                    "name": [{"family": "Phạm", "given": ["Thu", "Hà"]}]}},
                {"fullUrl": "urn:uuid:m", "resource": {"resourceType": "MedicationStatement"}},
                {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "AllergyIntolerance"}},
                {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Condition"}},
                {"fullUrl": "urn:uuid:i", "resource": {"resourceType": "Immunization"}},
                {"fullUrl": "urn:uuid:o", "resource": {"resourceType": "Observation",
                    "code": coding("882-1")}}
            ]
        })
    }

    fn field_of(bundle: Value) -> String {
        HealthRecord::from_bundle(bundle).unwrap_err().field
    }

    #[test]
    fn valid_bundle_round_trips() {
        let r = HealthRecord::from_bundle(ips()).unwrap();
        assert_eq!(r.patient_name().as_deref(), Some("Phạm Thu Hà"));
        assert_eq!(HealthRecord::from_cbor(&r.to_cbor()).unwrap(), r);
        assert!(!format!("{r:?}").contains("Phạm"));
    }

    #[test]
    fn each_requirement_is_named() {
        let mut b = ips();
        b["resourceType"] = json!("Patient");
        assert_eq!(field_of(b), "resourceType");
        let mut b = ips();
        b["type"] = json!("collection");
        assert_eq!(field_of(b), "type");
        let mut b = ips();
        b["entry"] = json!([]);
        assert_eq!(field_of(b), "entry");
        let mut b = ips();
        b["entry"].as_array_mut().unwrap().swap(0, 1);
        assert_eq!(field_of(b), "entry[0]");
        let mut b = ips();
        b["entry"][0]["resource"]["type"]["coding"][0]["code"] = json!("34133-9");
        assert_eq!(field_of(b), "Composition.type");
        for (i, (code, _)) in REQUIRED_SECTIONS.iter().enumerate() {
            let mut b = ips();
            b["entry"][0]["resource"]["section"]
                .as_array_mut()
                .unwrap()
                .remove(i);
            assert_eq!(field_of(b), format!("Composition.section[{code}]"));
        }
        let mut b = ips();
        b["entry"][0]["resource"]["section"][1]["entry"][0]["reference"] = json!("urn:uuid:x");
        assert_eq!(field_of(b), "Composition.section[1].entry[0]");
        let without = |ty: &str| {
            let mut b = ips();
            b["entry"]
                .as_array_mut()
                .unwrap()
                .retain(|e| e["resource"]["resourceType"] != ty);
            b
        };
        assert_eq!(field_of(without("Patient")), "Patient");
        assert_eq!(field_of(without("Immunization")), "Immunization");
        assert_eq!(field_of(without("Observation")), "Observation[882-1]");
        assert_eq!(HealthRecord::from_json(b"{").unwrap_err().field, "bundle");
    }
}
