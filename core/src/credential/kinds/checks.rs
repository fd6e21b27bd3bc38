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
    }
}
