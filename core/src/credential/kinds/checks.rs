//! The check functions a declaration names ([`CheckFunction`]): rules that need code. Each
//! reports the field's path (or a path inside it) and the rule, never the value.

use super::declaration::CheckFunction;
use crate::credential::cbor::Fields;
use crate::credential::{BhytCode, DocumentError, HealthRecord, LicenceClass};
use ciborium::Value;

/// Province codes that open a personal ID number (Circular 59/2021/TT-BCA, appendix: the
/// codes of the 63 provinces and centrally-run cities).
const PROVINCE_CODES: [&str; 63] = [
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020",
    "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038",
    "040", "042", "044", "045", "046", "048", "049", "051", "052", "054", "056", "058", "060",
    "062", "064", "066", "067", "068", "070", "072", "074", "075", "077", "079", "080", "082",
    "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096",
];

pub(crate) fn run(
    function: CheckFunction,
    value: &Value,
    path: &str,
    object: &Fields<'_>,
) -> Result<(), DocumentError> {
    let fail = |reason: &str| Err(DocumentError::new(path, reason));
    match function {
        CheckFunction::CccdIdNumber => {
            let id = value.as_text().unwrap_or_default();
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                fail("must be 12 digits")
            } else if !PROVINCE_CODES.contains(&id.get(..3).unwrap_or_default()) {
                fail("does not start with a province code")
            } else {
                Ok(())
            }
        }
        CheckFunction::BhytCode => BhytCode::parse(value.as_text().unwrap_or_default()).map(|_| ()),
        CheckFunction::Jpeg => match value {
            // JPEG SOI marker (ITU-T T.81 B.1.1.3).
            Value::Bytes(b) if b.starts_with(&[0xFF, 0xD8]) => Ok(()),
            _ => fail("not a JPEG image"),
        },
        CheckFunction::FhirIpsBundle => {
            HealthRecord::from_json(value.as_text().unwrap_or_default().as_bytes()).map(|_| ())
        }
        CheckFunction::LicenceClass => {
            // The issue date is checked as its own field; without one there is no set to read.
            let Some(issued) = object
                .get("issue_date")
                .and_then(|_| object.date("issue_date").ok())
            else {
                return Ok(());
            };
            let class = value
                .as_text()
                .and_then(|code| LicenceClass::parse(code, issued));
            let Some(class) = class else {
                return fail(
                    "class set does not match the issue date (2025 classes from 2025-01-01)",
                );
            };
            if object.get("expiry_date").is_none() && !class.may_be_indefinite() {
                return Err(DocumentError::new(
                    object.name("expiry_date"),
                    "required for this class",
                ));
            }
            Ok(())
        }
        CheckFunction::Vin => super::vin::check(value.as_text().unwrap_or_default())
            .map_err(|reason| DocumentError::new(path, reason)),
        CheckFunction::DosesInOrder => doses_in_order(value, path, object),
        CheckFunction::EHealthBookBundle => super::fhir_book::check(value, path, object),
        CheckFunction::JudicialResult => {
            let entries = match object.get("convictions") {
                Some(Value::Array(a)) => a.len(),
                _ => 0,
            };
            match (value.as_text(), entries) {
                (Some("none"), 0) => Ok(()),
                (Some("none"), _) => Err(DocumentError::new(
                    object.name("convictions"),
                    "must be empty when the result is no criminal record",
                )),
                (Some("convicted"), 0) => Err(DocumentError::new(
                    object.name("convictions"),
                    "required when the result is a criminal record",
                )),
                _ => Ok(()),
            }
        }
        CheckFunction::CivilRegistrationNumber => {
            super::civil_checks::registration_number(value, path, object)
        }
        CheckFunction::SpouseHolder => super::civil_checks::spouse_holder(value, path, object),
        CheckFunction::ContributionPeriods => {
            super::civil_checks::contribution_periods(value, path, object)
        }
    }
}

/// Doses in the order given: each no earlier than the one before, none after the document's
/// `as_of` date (a record never holds a dose from its future), each vaccine's dose numbers
/// rising. Item types are checked before this runs.
fn doses_in_order(value: &Value, path: &str, object: &Fields<'_>) -> Result<(), DocumentError> {
    let Value::Array(doses) = value else {
        return Ok(());
    };
    let as_of = object.get("as_of").and_then(|_| object.date("as_of").ok());
    let mut previous: Option<crate::credential::Date> = None;
    let mut numbers: Vec<(String, i128)> = Vec::new();
    for (i, dose) in doses.iter().enumerate() {
        let item = Fields::new(dose, &format!("{path}[{i}]"))?;
        let date = item.date("date")?;
        if previous.is_some_and(|p| date < p) {
            return Err(DocumentError::new(
                item.name("date"),
                "earlier than the dose before it (doses are in date order)",
            ));
        }
        if as_of.is_some_and(|a| date > a) {
            return Err(DocumentError::new(
                item.name("date"),
                "in the future of the record (after as_of)",
            ));
        }
        previous = Some(date);
        let vaccine = item
            .get("vaccine")
            .and_then(super::validate::enum_wire)
            .unwrap_or_default();
        let number = match item.get("dose_number") {
            Some(Value::Integer(n)) => i128::from(*n),
            _ => 0,
        };
        if let Some((_, last)) = numbers.iter_mut().find(|(v, _)| *v == vaccine) {
            if number <= *last {
                return Err(DocumentError::new(
                    item.name("dose_number"),
                    "not above the previous dose of this vaccine",
                ));
            }
            *last = number;
        } else {
            numbers.push((vaccine, number));
        }
    }
    Ok(())
}
