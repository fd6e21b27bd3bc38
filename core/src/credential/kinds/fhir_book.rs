//! The e-health book's HL7 FHIR R4 Bundle (check `e_health_book_bundle`, ADR 0051): what a
//! clinic's clerk would check before trusting the book, not full FHIR validation (the outside
//! FHIR model library in `python/tests/test_e_health_book.py` checks the R4 structure).
//!
//! - the Bundle is a `collection` or a `document` (a document's first entry a Composition);
//! - every entry has a `urn:uuid:` fullUrl, unique, and a resource of the types the book holds;
//! - exactly one Patient, identified by the holder's ID number (`id_number`) and born on
//!   `birth_date`;
//! - every `reference` resolves to an entry, and `subject`/`patient`/`encounter`/... to an entry
//!   of the right type;
//! - every clinical date within the person's life: not before the birth date, not after the
//!   record's `as_of` date (nor a `deceasedDateTime`); a period's start not after its end;
//! - code systems: Observation codes LOINC (with the LOINC check digit), quantities UCUM (the
//!   unit a vital sign is measured in), Condition codes ICD-10, Immunization codes CVX from the
//!   vaccination record's list;
//! - the document's summary fields (`blood_type`, `allergy_count`, `last_encounter`) say what
//!   the bundle says.
//!
//! Errors name the element (`bundle.entry[3].resource.code.coding[0].system`) and the rule,
//! never a value.

use super::vaccination::vaccines;
use crate::credential::DocumentError;
use crate::credential::cbor::Fields;
use crate::credential::date::Date;
use crate::credential::health_record::{LOINC_BLOOD_GROUP, MAX_BUNDLE_BYTES};
use ciborium::Value as Cbor;
use serde_json::Value;

/// LOINC (observation codes).
pub const LOINC_SYSTEM: &str = "http://loinc.org";
/// WHO ICD-10 (conditions), as FHIR R4 names it.
pub const ICD10_SYSTEM: &str = "http://hl7.org/fhir/sid/icd-10";
/// CDC CVX (vaccines), as FHIR R4 names it.
pub const CVX_SYSTEM: &str = "http://hl7.org/fhir/sid/cvx";
/// UCUM (units of quantities).
pub const UCUM_SYSTEM: &str = "http://unitsofmeasure.org";
/// The identifier system of the personal ID number (số định danh cá nhân) on the Patient. The
/// ministry has published no FHIR NamingSystem for it yet; this placeholder (RFC 6963 `example`
/// namespace) is the one place to change when it does (ADR 0051).
pub const CCCD_IDENTIFIER_SYSTEM: &str = "urn:example:vn:cccd";

/// The resource types an e-health book holds.
pub const RESOURCE_TYPES: [&str; 10] = [
    "Patient",
    "Encounter",
    "Observation",
    "Condition",
    "Immunization",
    "AllergyIntolerance",
    "MedicationStatement",
    "Organization",
    "Practitioner",
    "Composition",
];

/// Vital signs (LOINC) and the UCUM unit each is recorded in (FHIR R4 vital signs profiles).
pub const VITAL_SIGN_UNITS: [(&str, &str); 7] = [
    ("8480-6", "mm[Hg]"), // Systolic blood pressure
    ("8462-4", "mm[Hg]"), // Diastolic blood pressure
    ("8302-2", "cm"),     // Body height
    ("29463-7", "kg"),    // Body weight
    ("39156-5", "kg/m2"), // Body mass index
    ("8867-4", "/min"),   // Heart rate
    ("8310-5", "Cel"),    // Body temperature
];

/// Elements whose value is a FHIR date, dateTime or instant of a clinical event.
const DATE_KEYS: [&str; 11] = [
    "effectiveDateTime",
    "occurrenceDateTime",
    "onsetDateTime",
    "abatementDateTime",
    "recordedDate",
    "dateAsserted",
    "issued",
    "date",
    "start",
    "end",
    "lastOccurrence",
];

/// Reference elements and the resource types they may point to.
const TARGETS: [(&str, &[&str]); 7] = [
    ("subject", &["Patient"]),
    ("patient", &["Patient"]),
    ("encounter", &["Encounter"]),
    ("serviceProvider", &["Organization"]),
    ("managingOrganization", &["Organization"]),
    ("individual", &["Practitioner"]),
    ("performer", &["Practitioner", "Organization"]),
];

/// A FHIR date/dateTime/instant with a full date: the day, and the instant when a time is given.
#[derive(Clone, Copy)]
struct When {
    date: Date,
    instant: Option<i64>,
}

/// `YYYY-MM-DD`, optionally `Thh:mm:ss(.fff)` and a zone (`Z` or `±hh:mm`, required with a
/// time: FHIR R4 dateTime). Partial dates (`YYYY`, `YYYY-MM`) are refused: a clerk needs the day.
fn parse_when(s: &str) -> Option<When> {
    let date = Date::parse_iso(s.get(..10)?)?;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(When {
            date,
            instant: None,
        });
    }
    let time = rest.strip_prefix('T')?;
    let num = |a: usize, b: usize, max: i64| -> Option<i64> {
        let t = time.get(a..b)?;
        let n: i64 = t
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())??;
        (n <= max).then_some(n)
    };
    let (h, m, sec) = (num(0, 2, 23)?, num(3, 5, 59)?, num(6, 8, 60)?);
    if time.get(2..3) != Some(":") || time.get(5..6) != Some(":") {
        return None;
    }
    let mut zone = time.get(8..)?;
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = &fraction[digits..];
    }
    let offset = match zone {
        "Z" => 0,
        z if z.len() == 6 && z.get(3..4) == Some(":") => {
            let sign = match z.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let part = |a: usize, b: usize| -> Option<i64> {
                let t = z.get(a..b)?;
                t.bytes()
                    .all(|c| c.is_ascii_digit())
                    .then(|| t.parse().ok())?
            };
            let (oh, om) = (part(1, 3)?, part(4, 6)?);
            if oh > 14 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    Some(When {
        date,
        instant: Some(date.unix_days() * 86_400 + h * 3600 + m * 60 + sec - offset),
    })
}

/// Whether `end` is before `start`: by the instant when both have a time, else by the day.
fn before(end: When, start: When) -> bool {
    match (end.instant, start.instant) {
        (Some(e), Some(s)) => e < s,
        _ => end.date < start.date,
    }
}

/// The LOINC check digit (LOINC Users' Guide, "Calculating Mod 10 check digits"): the digits in
/// odd positions from the right, read as a number and doubled, written before the digits in even
/// positions; the check digit brings the sum of those digits up to a multiple of ten.
pub fn loinc_check_digit(number: &str) -> Option<u8> {
    if number.is_empty() || number.len() > 8 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: Vec<u64> = number.bytes().rev().map(|b| u64::from(b - b'0')).collect();
    let odd = digits.iter().step_by(2).rev().fold(0u64, |n, d| n * 10 + d);
    let even: u64 = digits.iter().skip(1).step_by(2).sum();
    let doubled = (odd * 2)
        .to_string()
        .bytes()
        .map(|b| u64::from(b - b'0'))
        .sum::<u64>();
    Some(((10 - (doubled + even) % 10) % 10) as u8)
}

/// A LOINC code `NNNNN-C` whose check digit is right.
fn is_loinc(code: &str) -> bool {
    let Some((number, check)) = code.split_once('-') else {
        return false;
    };
    check.len() == 1 && loinc_check_digit(number).is_some_and(|c| check == c.to_string())
}

/// A WHO ICD-10 code: a letter, two digits, optionally a dot and one or two characters
/// (`I10`, `J45.9`, `U07.1`).
fn is_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    let head =
        b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit();
    head && match b.get(3..) {
        Some([]) => true,
        Some([b'.', rest @ ..]) => {
            (1..=2).contains(&rest.len())
                && rest
                    .iter()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        }
        _ => false,
    }
}

/// `urn:uuid:` and a UUID in its canonical lower-case form (RFC 9562 section 4; FHIR R4 Bundle
/// fullUrl for resources without a server).
fn is_urn_uuid(url: &str) -> bool {
    let Some(uuid) = url.strip_prefix("urn:uuid:") else {
        return false;
    };
    uuid.len() == 36
        && uuid.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// A JSON key as a path segment: FHIR element names are short ASCII words; anything else (which
/// could carry data) is written `?`.
fn segment(key: &str) -> &str {
    if !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        key
    } else {
        "?"
    }
}

fn fail(at: impl Into<String>, reason: impl Into<String>) -> DocumentError {
    DocumentError::new(at, reason)
}

/// The resource of an entry and its type.
fn resource_of(entry: &Value) -> Option<(&Value, &str)> {
    let r = entry.get("resource")?;
    Some((r, r.get("resourceType")?.as_str()?))
}

/// What the walk over the resources needs.
struct Context<'a> {
    /// (fullUrl, resource type) of every entry.
    entries: Vec<(&'a str, &'a str)>,
    born: Option<Date>,
    /// The last day a clinical date may fall on.
    until: Option<Date>,
}

impl Context<'_> {
    fn type_of(&self, url: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(u, _)| *u == url)
            .map(|(_, t)| *t)
    }
}

/// References resolve (to the right type), clinical dates lie within the person's life and
/// periods run forward, everywhere inside `v`.
fn walk(v: &Value, at: &str, ctx: &Context<'_>) -> Result<(), DocumentError> {
    match v {
        Value::Object(map) => {
            let period = (
                map.get("start")
                    .and_then(Value::as_str)
                    .and_then(parse_when),
                map.get("end").and_then(Value::as_str).and_then(parse_when),
            );
            if let (Some(s), Some(e)) = period
                && before(e, s)
            {
                return Err(fail(format!("{at}.end"), "before the period's start"));
            }
            for (key, x) in map {
                let here = format!("{at}.{}", segment(key));
                if key == "reference" {
                    let Some(url) = x.as_str() else {
                        return Err(fail(here, "must be text"));
                    };
                    if ctx.type_of(url).is_none() {
                        return Err(fail(here, "does not resolve to an entry of the bundle"));
                    }
                }
                if let Some((_, types)) = TARGETS.iter().find(|(k, _)| k == key) {
                    // A list of references (performer) or one (subject).
                    let refs: Vec<&Value> = match x {
                        Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for r in refs {
                        let target = r
                            .get("reference")
                            .or_else(|| r.get("actor").and_then(|a| a.get("reference")))
                            .and_then(Value::as_str)
                            .and_then(|u| ctx.type_of(u));
                        if target.is_some_and(|t| !types.contains(&t)) {
                            return Err(fail(
                                here,
                                format!("must reference a {}", types.join(" or ")),
                            ));
                        }
                    }
                }
                if DATE_KEYS.contains(&key.as_str()) {
                    let Some(when) = x.as_str().and_then(parse_when) else {
                        return Err(fail(
                            here,
                            "must be a FHIR date or dateTime with the day (YYYY-MM-DD)",
                        ));
                    };
                    if ctx.born.is_some_and(|b| when.date < b) {
                        return Err(fail(here, "before the person's date of birth"));
                    }
                    if ctx.until.is_some_and(|u| when.date > u) {
                        return Err(fail(
                            here,
                            "after the record's as_of date (or the person's death)",
                        ));
                    }
                }
                walk(x, &here, ctx)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                walk(x, &format!("{at}[{i}]"), ctx)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The codings of a CodeableConcept (at least one), as (path, system, code).
fn codings<'a>(
    concept: Option<&'a Value>,
    at: &str,
) -> Result<Vec<(String, &'a str, &'a str)>, DocumentError> {
    let list = concept
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| fail(format!("{at}.coding"), "must hold at least one coding"))?;
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            let here = format!("{at}.coding[{i}]");
            let system = c.get("system").and_then(Value::as_str);
            let code = c.get("code").and_then(Value::as_str);
            match (system, code) {
                (Some(s), Some(k)) => Ok((here, s, k)),
                _ => Err(fail(here, "must have a system and a code")),
            }
        })
        .collect()
}

/// Every coding of `concept` in `system`, each code passing `valid`.
fn coded(
    concept: Option<&Value>,
    at: &str,
    system: &str,
    name: &str,
    valid: impl Fn(&str) -> bool,
    invalid: &str,
) -> Result<Vec<String>, DocumentError> {
    let mut codes = Vec::new();
    for (here, s, code) in codings(concept, at)? {
        if s != system {
            return Err(fail(
                format!("{here}.system"),
                format!("must be {name} ({system})"),
            ));
        }
        if !valid(code) {
            return Err(fail(format!("{here}.code"), invalid.to_owned()));
        }
        codes.push(code.to_owned());
    }
    Ok(codes)
}

/// A UCUM quantity with a number, in the unit its LOINC code is measured in (if a vital sign).
fn quantity(q: &Value, at: &str, loinc: &[String]) -> Result<(), DocumentError> {
    if !q.get("value").is_some_and(Value::is_number) {
        return Err(fail(format!("{at}.value"), "must be a number"));
    }
    if q.get("system").and_then(Value::as_str) != Some(UCUM_SYSTEM) {
        return Err(fail(
            format!("{at}.system"),
            format!("must be UCUM ({UCUM_SYSTEM})"),
        ));
    }
    let code = q.get("code").and_then(Value::as_str).unwrap_or_default();
    if code.is_empty() {
        return Err(fail(format!("{at}.code"), "must be a UCUM unit code"));
    }
    for l in loinc {
        if let Some((_, unit)) = VITAL_SIGN_UNITS.iter().find(|(c, _)| c == l)
            && code != *unit
        {
            return Err(fail(
                format!("{at}.code"),
                format!("must be UCUM {unit} for LOINC {l}"),
            ));
        }
    }
    Ok(())
}

/// An Observation's (or one of its components') code and value.
fn observation(r: &Value, at: &str) -> Result<(), DocumentError> {
    let loinc = coded(
        r.get("code"),
        &format!("{at}.code"),
        LOINC_SYSTEM,
        "LOINC",
        is_loinc,
        "must be a LOINC code with its check digit",
    )?;
    if let Some(q) = r.get("valueQuantity") {
        quantity(q, &format!("{at}.valueQuantity"), &loinc)?;
    }
    if let Some(components) = r.get("component").and_then(Value::as_array) {
        for (i, c) in components.iter().enumerate() {
            observation(c, &format!("{at}.component[{i}]"))?;
        }
    }
    Ok(())
}

fn codes_of(r: &Value, ty: &str, at: &str) -> Result<(), DocumentError> {
    match ty {
        "Observation" => {
            if !r.get("effectiveDateTime").is_some_and(Value::is_string) {
                return Err(fail(
                    format!("{at}.effectiveDateTime"),
                    "an observation needs the date it was made",
                ));
            }
            observation(r, at)
        }
        "Condition" => coded(
            r.get("code"),
            &format!("{at}.code"),
            ICD10_SYSTEM,
            "ICD-10",
            is_icd10,
            "must be an ICD-10 code (such as I10 or J45.9)",
        )
        .map(|_| ()),
        "Immunization" => {
            let known = vaccines();
            coded(
                r.get("vaccineCode"),
                &format!("{at}.vaccineCode"),
                CVX_SYSTEM,
                "CVX",
                |c| known.iter().any(|v| v.value == c),
                "must be a CVX code of the vaccination record's list",
            )
            .map(|_| ())
        }
        "Encounter" => {
            let start = r.get("period").and_then(|p| p.get("start"));
            if !start.is_some_and(Value::is_string) {
                return Err(fail(
                    format!("{at}.period.start"),
                    "an encounter needs its start",
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The number of data elements the bundle's resources carry: every primitive value (text,
/// number, true/false) under an entry's resource, its `resourceType` aside.
pub fn data_elements(bundle: &Value) -> usize {
    fn count(v: &Value) -> usize {
        match v {
            Value::Object(m) => m
                .iter()
                .filter(|(k, _)| *k != "resourceType")
                .map(|(_, x)| count(x))
                .sum(),
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Null => 0,
            _ => 1,
        }
    }
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(0, |e| {
            e.iter().filter_map(|x| x.get("resource")).map(count).sum()
        })
}

/// The check of the `bundle` field at `path` (JSON text), against the document's other fields
/// in `doc`.
pub(crate) fn check(value: &Cbor, path: &str, doc: &Fields<'_>) -> Result<(), DocumentError> {
    let text = value.as_text().unwrap_or_default();
    if text.len() > MAX_BUNDLE_BYTES {
        return Err(fail(path, "too large"));
    }
    let bundle: Value =
        serde_json::from_str(text).map_err(|_| fail(path, "not JSON (FHIR R4 JSON)"))?;
    let at = |rest: &str| format!("{path}.{rest}");
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(fail(at("resourceType"), "must be Bundle"));
    }
    let ty = bundle.get("type").and_then(Value::as_str);
    if !matches!(ty, Some("collection" | "document")) {
        return Err(fail(at("type"), "must be collection or document"));
    }
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| fail(at("entry"), "must be a non-empty list"))?;

    // Entries: fullUrl and resource type.
    let mut listed: Vec<(&str, &str)> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let url = entry.get("fullUrl").and_then(Value::as_str);
        let Some(url) = url.filter(|u| is_urn_uuid(u)) else {
            return Err(fail(
                at(&format!("entry[{i}].fullUrl")),
                "must be urn:uuid: and a lower-case UUID",
            ));
        };
        if listed.iter().any(|(u, _)| *u == url) {
            return Err(fail(at(&format!("entry[{i}].fullUrl")), "used twice"));
        }
        let Some((_, rt)) = resource_of(entry).filter(|(_, t)| RESOURCE_TYPES.contains(t)) else {
            return Err(fail(
                at(&format!("entry[{i}].resource.resourceType")),
                format!("must be one of {}", RESOURCE_TYPES.join(", ")),
            ));
        };
        listed.push((url, rt));
    }
    // A document bundle starts with its Composition (FHIR R4 bdl-11).
    if ty == Some("document") && listed.first().map(|(_, t)| *t) != Some("Composition") {
        return Err(fail(
            at("entry[0]"),
            "a document bundle starts with a Composition",
        ));
    }

    // The Patient: one, the holder.
    let patients: Vec<usize> = (0..listed.len())
        .filter(|i| listed[*i].1 == "Patient")
        .collect();
    let &[p] = patients.as_slice() else {
        return Err(fail(at("entry"), "must hold exactly one Patient"));
    };
    let patient = entries[p].get("resource").unwrap_or(&Value::Null);
    let patient_at = at(&format!("entry[{p}].resource"));
    let id_number = doc.get("id_number").and_then(Cbor::as_text);
    let identified = patient
        .get("identifier")
        .and_then(Value::as_array)
        .is_some_and(|ids| {
            ids.iter().any(|id| {
                id.get("system").and_then(Value::as_str) == Some(CCCD_IDENTIFIER_SYSTEM)
                    && id.get("value").and_then(Value::as_str) == id_number
            })
        });
    if !identified {
        return Err(fail(
            format!("{patient_at}.identifier"),
            format!("must carry the holder's id_number (system {CCCD_IDENTIFIER_SYSTEM})"),
        ));
    }
    let date_field = |key: &str| doc.get(key).and_then(|_| doc.date(key).ok());
    let born = date_field("birth_date");
    let birth_date = patient
        .get("birthDate")
        .and_then(Value::as_str)
        .and_then(Date::parse_iso);
    if birth_date.is_none() || birth_date != born {
        return Err(fail(
            format!("{patient_at}.birthDate"),
            "must be the holder's birth_date",
        ));
    }
    let deceased = match patient.get("deceasedDateTime") {
        None => None,
        Some(d) => Some(d.as_str().and_then(parse_when).ok_or_else(|| {
            fail(
                format!("{patient_at}.deceasedDateTime"),
                "must be a FHIR dateTime with the day",
            )
        })?),
    };
    let until = match (date_field("as_of"), deceased) {
        (Some(a), Some(d)) => Some(a.min(d.date)),
        (a, d) => a.or(d.map(|d| d.date)),
    };

    // References, dates, codes.
    let ctx = Context {
        entries: listed.clone(),
        born,
        until,
    };
    for (i, entry) in entries.iter().enumerate() {
        let Some((resource, rt)) = resource_of(entry) else {
            continue;
        };
        let here = at(&format!("entry[{i}].resource"));
        walk(resource, &here, &ctx)?;
        codes_of(resource, rt, &here)?;
    }

    summary_matches(entries, &listed, doc)
}

/// `blood_type`, `allergy_count` and `last_encounter` say what the bundle says.
fn summary_matches(
    entries: &[Value],
    listed: &[(&str, &str)],
    doc: &Fields<'_>,
) -> Result<(), DocumentError> {
    let of_type = |t: &'static str| {
        entries
            .iter()
            .zip(listed)
            .filter(move |(_, (_, rt))| *rt == t)
            .filter_map(|(e, _)| e.get("resource"))
    };
    let blood: Vec<&str> = of_type("Observation")
        .filter(|r| {
            codings(r.get("code"), "")
                .is_ok_and(|c| c.iter().any(|(_, _, k)| *k == LOINC_BLOOD_GROUP))
        })
        .filter_map(|r| r.get("valueCodeableConcept")?.get("text")?.as_str())
        .collect();
    let stated = doc.get("blood_type").and_then(Cbor::as_text);
    let agrees = match stated {
        None => blood.is_empty(),
        Some(b) => !blood.is_empty() && blood.iter().all(|x| *x == b),
    };
    if !agrees {
        return Err(fail(
            doc.name("blood_type"),
            "does not match the bundle's blood group Observation (LOINC 882-1)",
        ));
    }
    let allergies = of_type("AllergyIntolerance").count() as i128;
    let stated = match doc.get("allergy_count") {
        Some(Cbor::Integer(n)) => Some(i128::from(*n)),
        _ => None,
    };
    if stated != Some(allergies) {
        return Err(fail(
            doc.name("allergy_count"),
            "does not match the bundle's AllergyIntolerance entries",
        ));
    }
    let last = of_type("Encounter")
        .filter_map(|r| r.get("period")?.get("start")?.as_str().and_then(parse_when))
        .map(|w| w.date)
        .max();
    let stated = doc
        .get("last_encounter")
        .and_then(|_| doc.date("last_encounter").ok());
    if stated != last {
        return Err(fail(
            doc.name("last_encounter"),
            "does not match the latest Encounter of the bundle",
        ));
    }
    Ok(())
}
