//! The mdoc document types this wallet holds, as data: their docTypes, namespaces and element
//! identifiers, and the mapping from our documents (`credential/`) to elements.
//!
//! - Identity card → PhotoID (ISO/IEC TS 23220-4 Annex C, WG 4 N 4862): docType and namespace
//!   `org.iso.23220.photoid.1`; the ISO/IEC TS 23220-2 elements in `org.iso.23220.1`; the chip's
//!   SOD and data groups in the DTC namespace `org.iso.23220.dtc.1` (`version`, `sod`, `dg1`..),
//!   so a reader can redo ICAO passive authentication; what DG13 holds beyond any standard
//!   element (place of origin, ethnicity, religion, identifying marks, parents, spouse, old
//!   CMND number) in `vn.gov.cccd.1`.
//! - Driving licence → mDL (ISO/IEC 18013-5 §7.2): `org.iso.18013.5.1.mDL`, elements in
//!   `org.iso.18013.5.1` incl. `driving_privileges` with the printed class codes (the 2025 set
//!   A1 … DE, or the set before 2025 for older licences, told apart by the class's issue date);
//!   the 12-point balance in `vn.gov.gplx.1`.
//! - Health insurance card → the domestic docType and namespace `vn.gov.bhyt.1`.
//!
//! Dates are `full-date` (RFC 8943, tag 1004); age elements are computed on the issuing day.

use super::issue::NamespaceElements;
use crate::credential::{Date, DrivingLicence, HealthInsuranceCard, IdentityCard, Sex};
use ciborium::Value;

/// PhotoID docType (ISO/IEC TS 23220-4 Annex C).
pub const PHOTO_ID_DOCTYPE: &str = "org.iso.23220.photoid.1";
/// ISO/IEC TS 23220-2 generic eID elements.
pub const ISO_23220_NAMESPACE: &str = "org.iso.23220.1";
/// PhotoID-specific elements (23220-4 Table C.2).
pub const PHOTO_ID_NAMESPACE: &str = "org.iso.23220.photoid.1";
/// ICAO 9303 data groups and SOD (23220-4 Table C.3, DTC).
pub const DTC_NAMESPACE: &str = "org.iso.23220.dtc.1";
/// CCCD data from DG13 without a standard element.
pub const CCCD_NAMESPACE: &str = "vn.gov.cccd.1";
/// mDL docType and namespace (ISO/IEC 18013-5 §7.1).
pub const MDL_DOCTYPE: &str = "org.iso.18013.5.1.mDL";
pub const MDL_NAMESPACE: &str = "org.iso.18013.5.1";
/// Vietnamese licence data without an mDL element (the points balance).
pub const GPLX_NAMESPACE: &str = "vn.gov.gplx.1";
/// Health insurance card (BHYT), docType and namespace.
pub const BHYT_DOCTYPE: &str = "vn.gov.bhyt.1";
pub const BHYT_NAMESPACE: &str = "vn.gov.bhyt.1";

/// Every docType issued, in a fixed order.
pub const DOCTYPES: [&str; 3] = [PHOTO_ID_DOCTYPE, MDL_DOCTYPE, BHYT_DOCTYPE];

/// The issuer of the CCCD, named in the PhotoID's `issuing_authority_unicode` (and the PID's
/// issuing authority) by the backend and the fixture mdocs alike.
pub const IDENTITY_CARD_AUTHORITY: &str = "Bộ Công an";
/// ISO 3166-1 alpha-2 of the issuing state.
const VN: &str = "VN";
/// The version of the DTC-VC definition carried (ICAO 9303 data groups, 23220-4 Table C.3).
const DTC_VERSION: &str = "1.0";
/// The `age_over_NN` thresholds issued: few, since every one is a digest in every MSO.
pub const AGE_THRESHOLDS: [u8; 4] = [16, 18, 21, 65];
/// The RFC 8943 tag of a `full-date`.
const TAG_FULL_DATE: u64 = 1004;

/// A `full-date` (`#6.1004(tstr)`, "YYYY-MM-DD").
pub fn full_date(date: Date) -> Value {
    Value::Tag(TAG_FULL_DATE, Box::new(Value::Text(date.to_string())))
}

/// Completed years between `birth` and `today` (a birthday counts from its day; one on 29
/// February counts from 1 March in common years).
pub fn age_on(birth: Date, today: Date) -> u32 {
    birth.years_until(today)
}

/// Family name and given names of a Vietnamese full name: the family name comes first.
fn split_name(full: &str) -> (String, String) {
    let full = full.trim();
    match full.split_once(char::is_whitespace) {
        Some((family, given)) => (family.to_owned(), given.trim().to_owned()),
        None => (full.to_owned(), String::new()),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn el(id: &str, value: Value) -> (String, Value) {
    (id.to_owned(), value)
}

/// The age elements shared by PhotoID and mDL.
fn age_elements(birth: Date, today: Date, out: &mut Vec<(String, Value)>) {
    let age = age_on(birth, today);
    out.push(el("age_in_years", Value::from(age)));
    out.push(el("age_birth_year", Value::from(birth.year())));
    for t in AGE_THRESHOLDS {
        out.push((format!("age_over_{t:02}"), Value::Bool(age >= u32::from(t))));
    }
}

/// ISO/IEC 5218 code of a sex (1 male, 2 female).
fn iso5218(sex: Sex) -> u8 {
    match sex {
        Sex::Male => 1,
        Sex::Female => 2,
    }
}

/// The chip's files carried in the DTC namespace: the SOD and the data groups by number.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ChipFiles {
    pub sod: Vec<u8>,
    /// (data group number, file bytes)
    pub data_groups: Vec<(u8, Vec<u8>)>,
}

impl std::fmt::Debug for ChipFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dgs: Vec<u8> = self.data_groups.iter().map(|(n, _)| *n).collect();
        f.debug_struct("ChipFiles")
            .field("data_groups", &dgs)
            .finish_non_exhaustive()
    }
}

/// The PhotoID elements of an identity card on `today` (the issuing day), with the chip's files
/// in the DTC namespace when given. `issuing_authority` is the card issuer's name.
pub fn photo_id_elements(
    card: &IdentityCard,
    chip: Option<&ChipFiles>,
    issuing_authority: &str,
    today: Date,
) -> Vec<NamespaceElements> {
    let (family, given) = split_name(&card.full_name);
    let mut iso = vec![
        el("family_name", text(&family)),
        el("given_name", text(&given)),
        // 23220-2 §6.3.1.1.3: birth_date is a map, with an approximate_mask only when uncertain.
        el(
            "birth_date",
            Value::Map(vec![(text("birth_date"), full_date(card.date_of_birth))]),
        ),
    ];
    if let Some(photo) = &card.photo {
        iso.push(el("portrait", Value::Bytes(photo.clone())));
    }
    iso.push(el("issue_date", full_date(card.issue_date)));
    // A card issued after its holder's 60th birthday has no expiry: no element rather than an
    // invented date.
    if let Some(expiry) = card.expiry_date {
        iso.push(el("expiry_date", full_date(expiry)));
    }
    iso.push(el("issuing_authority_unicode", text(issuing_authority)));
    iso.push(el("issuing_country", text(VN)));
    age_elements(card.date_of_birth, today, &mut iso);
    iso.push(el("sex", Value::from(iso5218(card.sex))));
    if card.nationality == "VNM" || card.nationality == "VN" || card.nationality == "Việt Nam" {
        iso.push(el("nationality", text(VN)));
    }
    iso.push(el("resident_address", text(&card.place_of_residence)));
    iso.push(el("document_number", text(&card.id_number)));
    let photo_id = vec![el("person_id", text(&card.id_number))];
    let mut cccd = vec![
        el("place_of_origin", text(&card.place_of_origin)),
        el("nationality_text", text(&card.nationality)),
    ];
    cccd.extend(dg13_elements(chip));
    let mut out = vec![
        (ISO_23220_NAMESPACE.to_owned(), iso),
        (PHOTO_ID_NAMESPACE.to_owned(), photo_id),
        (CCCD_NAMESPACE.to_owned(), cccd),
    ];
    if let Some(chip) = chip {
        let mut dtc = vec![
            el("version", text(DTC_VERSION)),
            el("sod", Value::Bytes(chip.sod.clone())),
        ];
        for (n, bytes) in &chip.data_groups {
            dtc.push((format!("dg{n}"), Value::Bytes(bytes.clone())));
        }
        out.push((DTC_NAMESPACE.to_owned(), dtc));
    }
    out
}

/// The DG13 fields no standard element carries, from the chip's DG13 when given (each only
/// when the card has it): ethnicity, religion, identifying marks, parents, spouse and the old
/// 9-digit CMND number.
fn dg13_elements(chip: Option<&ChipFiles>) -> Vec<(String, Value)> {
    let Some(dg13) = chip
        .and_then(|c| c.data_groups.iter().find(|(n, _)| *n == 13))
        .and_then(|(_, bytes)| eid_icao::dg13::parse(bytes).ok())
    else {
        return Vec::new();
    };
    [
        ("ethnicity", dg13.ethnicity()),
        ("religion", dg13.religion()),
        ("identifying_marks", dg13.identifying_marks()),
        ("father_name", dg13.father_name()),
        ("mother_name", dg13.mother_name()),
        ("spouse_name", dg13.spouse_name()),
        ("old_id_number", dg13.old_id_number()),
    ]
    .into_iter()
    .filter_map(|(id, v)| v.filter(|v| !v.trim().is_empty()).map(|v| el(id, text(v))))
    .collect()
}

/// `driving_privileges` (ISO/IEC 18013-5 §7.2.4): one map per class, the printed code as
/// `vehicle_category_code` with the class's own issue and expiry dates.
pub fn driving_privileges(licence: &DrivingLicence) -> Value {
    Value::Array(
        licence
            .classes
            .iter()
            .map(|c| {
                let mut m = vec![
                    (text("vehicle_category_code"), text(c.class.code())),
                    (text("issue_date"), full_date(c.issue_date)),
                ];
                if let Some(expiry) = c.expiry_date {
                    m.push((text("expiry_date"), full_date(expiry)));
                }
                Value::Map(m)
            })
            .collect(),
    )
}

/// The `expiry_date` of an mDL whose licence has a class without term (A1, A, B1 under the 2024
/// Road Traffic Order and Safety Law): the last day a full-date can name. ISO/IEC 18013-5 Table 5
/// makes `expiry_date` mandatory; each class's own term is in `driving_privileges`, where a
/// class without one has no `expiry_date` (docs/adr/0070).
pub const MDL_NO_EXPIRY: (u16, u8, u8) = (9999, 12, 31);

/// The mDL elements of a driving licence on `today`; the portrait from the holder's identity
/// card when the registry has one (the licence record carries none). `expiry_date` is the
/// licence's last class expiry, or [`MDL_NO_EXPIRY`] when a class never expires.
pub fn mdl_elements(
    licence: &DrivingLicence,
    portrait: Option<&[u8]>,
    today: Date,
) -> Vec<NamespaceElements> {
    let (family, given) = split_name(&licence.holder_name);
    let issue = licence.classes.iter().map(|c| c.issue_date).min();
    let mut mdl = vec![
        el("family_name", text(&family)),
        el("given_name", text(&given)),
        el("birth_date", full_date(licence.date_of_birth)),
    ];
    if let Some(issue) = issue {
        mdl.push(el("issue_date", full_date(issue)));
    }
    let (y, m, d) = MDL_NO_EXPIRY;
    let never = Date::new(y, m, d);
    if let Some(expiry) = licence.valid_until().or(never) {
        mdl.push(el("expiry_date", full_date(expiry)));
    }
    mdl.push(el("issuing_country", text(VN)));
    mdl.push(el("issuing_authority", text(&licence.issuing_authority)));
    mdl.push(el("document_number", text(&licence.number)));
    if let Some(p) = portrait {
        mdl.push(el("portrait", Value::Bytes(p.to_vec())));
    }
    mdl.push(el("driving_privileges", driving_privileges(licence)));
    // The distinguishing sign of Viet Nam under the 1968 Vienna Convention.
    mdl.push(el("un_distinguishing_sign", text(VN)));
    let age = age_on(licence.date_of_birth, today);
    mdl.push(el("age_in_years", Value::from(age)));
    mdl.push(el(
        "age_birth_year",
        Value::from(licence.date_of_birth.year()),
    ));
    for t in AGE_THRESHOLDS {
        mdl.push((format!("age_over_{t:02}"), Value::Bool(age >= u32::from(t))));
    }
    let gplx = vec![el("points_remaining", Value::from(licence.points))];
    vec![
        (MDL_NAMESPACE.to_owned(), mdl),
        (GPLX_NAMESPACE.to_owned(), gplx),
    ]
}

/// The BHYT elements of a health insurance card.
pub fn bhyt_elements(card: &HealthInsuranceCard) -> Vec<NamespaceElements> {
    let (family, given) = split_name(&card.holder_name);
    let mut bhyt = vec![
        el("card_number", text(card.code.as_str())),
        el("family_name", text(&family)),
        el("given_name", text(&given)),
        el("birth_date", full_date(card.date_of_birth)),
        el("benefit_level", Value::from(card.benefit_level())),
        el("province_code", text(card.province_code())),
        el("facility_code", text(&card.facility.code)),
        el("facility_name", text(&card.facility.name)),
        el("valid_from", full_date(card.valid_from)),
        el("valid_to", full_date(card.valid_to)),
        el("issuing_country", text(VN)),
    ];
    if let Some(d) = card.five_years_continuous {
        bhyt.push(el("five_years_continuous_from", full_date(d)));
    }
    vec![(BHYT_NAMESPACE.to_owned(), bhyt)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{BhytCode, ClassEntitlement, LicenceClass, PrimaryCareFacility};

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    fn card(birth: Date) -> IdentityCard {
        IdentityCard {
            id_number: "001090012345".into(),
            full_name: "Nguyễn Văn An".into(),
            date_of_birth: birth,
            sex: Sex::Male,
            nationality: "Việt Nam".into(),
            place_of_origin: "Hà Nội".into(),
            place_of_residence: "Hoàn Kiếm, Hà Nội".into(),
            issue_date: d(2021, 4, 1),
            expiry_date: Some(d(2034, 6, 15)),
            photo: Some(vec![0xff, 0xd8]),
            account: None,
        }
    }

    fn get<'a>(ns: &'a [NamespaceElements], n: &str, id: &str) -> Option<&'a Value> {
        ns.iter()
            .find(|(name, _)| name == n)?
            .1
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, v)| v)
    }

    #[test]
    fn age_over_18_turns_true_on_the_18th_birthday_not_the_day_before() {
        let birth = d(2008, 6, 15);
        let before = photo_id_elements(&card(birth), None, "Bo Cong an", d(2026, 6, 14));
        let on = photo_id_elements(&card(birth), None, "Bo Cong an", d(2026, 6, 15));
        let ns = ISO_23220_NAMESPACE;
        assert_eq!(get(&before, ns, "age_over_18"), Some(&Value::Bool(false)));
        assert_eq!(get(&before, ns, "age_in_years"), Some(&Value::from(17)));
        assert_eq!(get(&on, ns, "age_over_18"), Some(&Value::Bool(true)));
        assert_eq!(get(&on, ns, "age_in_years"), Some(&Value::from(18)));
        assert_eq!(get(&on, ns, "age_over_16"), Some(&Value::Bool(true)));
        assert_eq!(get(&on, ns, "age_over_21"), Some(&Value::Bool(false)));
        // Born 29 February: 18 on 1 March of a common year, not on 28 February.
        let leap = d(2008, 2, 29);
        assert_eq!(age_on(leap, d(2026, 2, 28)), 17);
        assert_eq!(age_on(leap, d(2026, 3, 1)), 18);
        assert_eq!(age_on(leap, d(2028, 2, 29)), 20);
        assert_eq!(age_on(d(2030, 1, 1), d(2026, 1, 1)), 0);
    }

    #[test]
    fn photo_id_carries_the_standard_identifiers_and_the_chip_files() {
        let chip = ChipFiles {
            sod: vec![0x77, 1],
            data_groups: vec![(1, vec![0x61]), (13, vec![0x6d])],
        };
        let ns = photo_id_elements(
            &card(d(1990, 1, 2)),
            Some(&chip),
            "Bo Cong an",
            d(2026, 1, 1),
        );
        let names: Vec<&str> = ns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                ISO_23220_NAMESPACE,
                PHOTO_ID_NAMESPACE,
                CCCD_NAMESPACE,
                DTC_NAMESPACE
            ]
        );
        // The mandatory elements of 23220-4 Table C.1.
        for id in [
            "family_name",
            "given_name",
            "birth_date",
            "portrait",
            "issue_date",
            "expiry_date",
            "issuing_authority_unicode",
            "issuing_country",
            "age_over_18",
        ] {
            assert!(get(&ns, ISO_23220_NAMESPACE, id).is_some(), "{id}");
        }
        let iso = ISO_23220_NAMESPACE;
        assert_eq!(get(&ns, iso, "family_name"), Some(&text("Nguyễn")));
        assert_eq!(get(&ns, iso, "given_name"), Some(&text("Văn An")));
        assert_eq!(get(&ns, iso, "issuing_country"), Some(&text("VN")));
        assert_eq!(get(&ns, iso, "sex"), Some(&Value::from(1)));
        assert_eq!(
            get(&ns, iso, "birth_date"),
            Some(&Value::Map(vec![(
                text("birth_date"),
                Value::Tag(1004, Box::new(text("1990-01-02")))
            )]))
        );
        assert_eq!(
            get(&ns, DTC_NAMESPACE, "sod"),
            Some(&Value::Bytes(vec![0x77, 1]))
        );
        assert_eq!(
            get(&ns, DTC_NAMESPACE, "dg13"),
            Some(&Value::Bytes(vec![0x6d]))
        );
        assert_eq!(
            get(&ns, CCCD_NAMESPACE, "place_of_origin"),
            Some(&text("Hà Nội"))
        );
        // No expiry printed: no element.
        let mut no_expiry = card(d(1950, 1, 1));
        no_expiry.expiry_date = None;
        let ns = photo_id_elements(&no_expiry, None, "Bo Cong an", d(2026, 1, 1));
        assert_eq!(get(&ns, iso, "expiry_date"), None);
        assert!(ns.iter().all(|(n, _)| n != DTC_NAMESPACE));
    }

    #[test]
    fn driving_privileges_is_the_18013_5_structure_with_2025_codes() {
        let licence = DrivingLicence {
            number: "790123456789".into(),
            holder_name: "Trần Thị Bình".into(),
            date_of_birth: d(1995, 3, 4),
            classes: vec![
                ClassEntitlement {
                    class: LicenceClass::A,
                    issue_date: d(2025, 2, 1),
                    expiry_date: None,
                },
                ClassEntitlement {
                    class: LicenceClass::C1E,
                    issue_date: d(2025, 2, 1),
                    expiry_date: Some(d(2030, 2, 1)),
                },
                ClassEntitlement {
                    class: LicenceClass::LegacyB2,
                    issue_date: d(2019, 5, 6),
                    expiry_date: Some(d(2029, 5, 6)),
                },
            ],
            issuing_authority: "Sở GTVT Hà Nội".into(),
            points: 9,
        };
        let tag = |s: &str| Value::Tag(1004, Box::new(text(s)));
        let expected = Value::Array(vec![
            Value::Map(vec![
                (text("vehicle_category_code"), text("A")),
                (text("issue_date"), tag("2025-02-01")),
            ]),
            Value::Map(vec![
                (text("vehicle_category_code"), text("C1E")),
                (text("issue_date"), tag("2025-02-01")),
                (text("expiry_date"), tag("2030-02-01")),
            ]),
            Value::Map(vec![
                (text("vehicle_category_code"), text("B2")),
                (text("issue_date"), tag("2019-05-06")),
                (text("expiry_date"), tag("2029-05-06")),
            ]),
        ]);
        assert_eq!(driving_privileges(&licence), expected);
        // Every 2025 class code goes out as printed.
        for code in [
            "A1", "A", "B1", "B", "C1", "C", "D1", "D2", "D", "BE", "C1E", "CE", "D1E", "D2E", "DE",
        ] {
            let class = LicenceClass::parse(code, d(2025, 1, 1)).unwrap();
            assert_eq!(class.code(), code);
        }
        let ns = mdl_elements(&licence, Some(&[1, 2]), d(2026, 3, 3));
        // The mandatory elements of 18013-5 Table 5.
        for id in [
            "family_name",
            "given_name",
            "birth_date",
            "issue_date",
            "expiry_date",
            "issuing_country",
            "issuing_authority",
            "document_number",
            "portrait",
            "driving_privileges",
            "un_distinguishing_sign",
        ] {
            assert!(get(&ns, MDL_NAMESPACE, id).is_some(), "{id}");
        }
        // Class A never expires: the mandatory element says so with the last full-date (class
        // A's own entry in driving_privileges has no expiry_date); without it, the latest class
        // expiry.
        assert_eq!(
            get(&ns, MDL_NAMESPACE, "expiry_date"),
            Some(&tag("9999-12-31"))
        );
        let mut expiring = licence;
        expiring.classes.remove(0);
        let ns2 = mdl_elements(&expiring, None, d(2026, 3, 3));
        assert_eq!(
            get(&ns2, MDL_NAMESPACE, "expiry_date"),
            Some(&tag("2030-02-01"))
        );
        assert_eq!(get(&ns2, MDL_NAMESPACE, "portrait"), None);
        assert_eq!(
            get(&ns, MDL_NAMESPACE, "birth_date"),
            Some(&tag("1995-03-04"))
        );
        assert_eq!(
            get(&ns, MDL_NAMESPACE, "issue_date"),
            Some(&tag("2019-05-06"))
        );
        assert_eq!(
            get(&ns, MDL_NAMESPACE, "age_in_years"),
            Some(&Value::from(30))
        );
        assert_eq!(
            get(&ns, GPLX_NAMESPACE, "points_remaining"),
            Some(&Value::from(9))
        );
    }

    #[test]
    fn bhyt_elements_carry_the_card() {
        let card = HealthInsuranceCard {
            code: BhytCode::parse("DN4010123456789").unwrap(),
            holder_name: "Lê Văn Cường".into(),
            date_of_birth: d(1980, 12, 31),
            facility: PrimaryCareFacility {
                code: "01001".into(),
                name: "Bệnh viện Bạch Mai".into(),
            },
            valid_from: d(2026, 1, 1),
            valid_to: d(2026, 12, 31),
            five_years_continuous: None,
        };
        let ns = bhyt_elements(&card);
        assert_eq!(
            get(&ns, BHYT_NAMESPACE, "card_number"),
            Some(&text("DN4010123456789"))
        );
        assert_eq!(
            get(&ns, BHYT_NAMESPACE, "benefit_level"),
            Some(&Value::from(4))
        );
        assert_eq!(get(&ns, BHYT_NAMESPACE, "province_code"), Some(&text("01")));
        assert_eq!(get(&ns, BHYT_NAMESPACE, "five_years_continuous_from"), None);
    }
}
