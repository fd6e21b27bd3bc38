//! The driving licence (GPLX: giấy phép lái xe).
//!
//! Classes changed on 1 January 2025 (Law on Road Traffic Order and Safety 2024, art. 57): the new
//! set is A1, A, B1, B, C1, C, D1, D2, D, BE, C1E, CE, D1E, D2E, DE; licences issued before keep
//! the old set A1–A4, B1, B2, C, D, E, F (Circular 12/2017/TT-BGTVT). A1, B1, C and D exist in
//! both with different meanings (old B1 is a car class, new B1 a motorcycle class), so each set
//! has its own variants (`LegacyB1` vs `B1`), and a printed code is read by its issue date: the
//! same rule the law uses. On the wire a class is its printed code; the date decides the set.

use super::cbor::{self, Fields};
use super::date::Date;
use super::error::DocumentError;
use ciborium::Value;
use std::fmt;

/// Day the 2025 class set took effect.
fn new_classes_from() -> Date {
    Date::new(2025, 1, 1).unwrap_or_else(|| Date::from_unix(1_735_689_600))
}

/// A licence class (hạng giấy phép lái xe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LicenceClass {
    // 2025 set.
    A1,
    A,
    B1,
    B,
    C1,
    C,
    D1,
    D2,
    D,
    BE,
    C1E,
    CE,
    D1E,
    D2E,
    DE,
    // Set in force before 2025.
    LegacyA1,
    LegacyA2,
    LegacyA3,
    LegacyA4,
    LegacyB1,
    LegacyB2,
    LegacyC,
    LegacyD,
    LegacyE,
    LegacyF,
}

use LicenceClass as L;

const NEW: [(LicenceClass, &str); 15] = [
    (L::A1, "A1"),
    (L::A, "A"),
    (L::B1, "B1"),
    (L::B, "B"),
    (L::C1, "C1"),
    (L::C, "C"),
    (L::D1, "D1"),
    (L::D2, "D2"),
    (L::D, "D"),
    (L::BE, "BE"),
    (L::C1E, "C1E"),
    (L::CE, "CE"),
    (L::D1E, "D1E"),
    (L::D2E, "D2E"),
    (L::DE, "DE"),
];

const LEGACY: [(LicenceClass, &str); 10] = [
    (L::LegacyA1, "A1"),
    (L::LegacyA2, "A2"),
    (L::LegacyA3, "A3"),
    (L::LegacyA4, "A4"),
    (L::LegacyB1, "B1"),
    (L::LegacyB2, "B2"),
    (L::LegacyC, "C"),
    (L::LegacyD, "D"),
    (L::LegacyE, "E"),
    (L::LegacyF, "F"),
];

impl LicenceClass {
    /// The code printed on the licence.
    pub fn code(self) -> &'static str {
        NEW.iter()
            .chain(LEGACY.iter())
            .find(|(c, _)| *c == self)
            .map(|(_, s)| *s)
            .unwrap_or_default()
    }

    /// Whether the class belongs to the set in force before 2025.
    pub fn is_legacy(self) -> bool {
        LEGACY.iter().any(|(c, _)| *c == self)
    }

    /// Reads a printed code: the 2025 set for licences issued from 1 January 2025, the old set
    /// before. `None` for a code that does not exist in that set (e.g. B2 issued in 2025).
    pub fn parse(code: &str, issued: Date) -> Option<LicenceClass> {
        let set: &[(LicenceClass, &str)] = if issued >= new_classes_from() {
            &NEW
        } else {
            &LEGACY
        };
        set.iter().find(|(_, s)| *s == code).map(|(c, _)| *c)
    }

    /// Classes issued without an expiry date: motorcycles (2024 law art. 57(5); old A1–A3).
    pub fn may_be_indefinite(self) -> bool {
        matches!(
            self,
            L::A1 | L::A | L::B1 | L::LegacyA1 | L::LegacyA2 | L::LegacyA3
        )
    }
}

impl fmt::Display for LicenceClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One class on the licence, with its own dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassEntitlement {
    pub class: LicenceClass,
    pub issue_date: Date,
    /// `None` only for classes that never expire ([`LicenceClass::may_be_indefinite`]).
    pub expiry_date: Option<Date>,
}

/// GPLX: giấy phép lái xe. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct DrivingLicence {
    /// 12-digit licence number.
    pub number: String,
    pub holder_name: String,
    pub date_of_birth: Date,
    pub classes: Vec<ClassEntitlement>,
    /// Issuing authority (cơ quan cấp), e.g. the provincial transport department.
    pub issuing_authority: String,
    /// Points left of 12 (2024 law art. 58): licences with 0 points cannot be used.
    pub points: u8,
}

impl fmt::Debug for DrivingLicence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DrivingLicence")
            .field(
                "classes",
                &self.classes.iter().map(|c| c.class).collect::<Vec<_>>(),
            )
            .field("points", &self.points)
            .finish_non_exhaustive()
    }
}

/// Most points a licence holds.
pub const MAX_POINTS: u8 = 12;

impl DrivingLicence {
    /// The rules of the kind's declaration (`credential/kinds/`); the error names the field.
    pub fn validate(&self) -> Result<(), DocumentError> {
        crate::credential::kinds::validate(
            super::DocumentKind::DrivingLicence.declaration(),
            &self.to_cbor(),
        )
    }

    /// When the licence stops being usable for every class: `None` if some class never expires.
    pub fn valid_until(&self) -> Option<Date> {
        self.classes
            .iter()
            .map(|c| c.expiry_date)
            .try_fold(None::<Date>, |max, e| {
                e.map(|e| Some(max.map_or(e, |m| m.max(e))))
            })
            .flatten()
    }

    pub(crate) fn to_cbor(&self) -> Value {
        let classes = self
            .classes
            .iter()
            .map(|c| {
                cbor::map(vec![
                    ("class", Some(cbor::text(c.class.code()))),
                    ("issue_date", Some(cbor::date(c.issue_date))),
                    ("expiry_date", c.expiry_date.map(cbor::date)),
                ])
            })
            .collect();
        cbor::map(vec![
            ("number", Some(cbor::text(&self.number))),
            ("holder_name", Some(cbor::text(&self.holder_name))),
            ("birth_date", Some(cbor::date(self.date_of_birth))),
            ("classes", Some(Value::Array(classes))),
            (
                "issuing_authority",
                Some(cbor::text(&self.issuing_authority)),
            ),
            ("points", Some(Value::from(self.points))),
        ])
    }

    pub(crate) fn from_cbor(value: &Value) -> Result<DrivingLicence, DocumentError> {
        crate::credential::kinds::validate(
            super::DocumentKind::DrivingLicence.declaration(),
            value,
        )?;
        let f = Fields::new(value, "")?;
        let mut classes = Vec::new();
        for (i, v) in f.array("classes")?.iter().enumerate() {
            let c = Fields::new(v, &format!("classes[{i}]"))?;
            let issue_date = c.date("issue_date")?;
            let class = LicenceClass::parse(c.text("class")?, issue_date).ok_or_else(|| {
                DocumentError::new(c.name("class"), "no such class for this issue date")
            })?;
            classes.push(ClassEntitlement {
                class,
                issue_date,
                expiry_date: c.opt_date("expiry_date")?,
            });
        }
        let licence = DrivingLicence {
            number: f.text("number")?.to_owned(),
            holder_name: f.text("holder_name")?.to_owned(),
            date_of_birth: f.date("birth_date")?,
            classes,
            issuing_authority: f.text("issuing_authority")?.to_owned(),
            points: u8::try_from(f.uint("points")?)
                .map_err(|_| DocumentError::new("points", "must be 0 to 12"))?,
        };
        Ok(licence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    fn licence() -> DrivingLicence {
        DrivingLicence {
            number: "790123456789".into(),
            holder_name: "Lê Văn Nam".into(),
            date_of_birth: d(1990, 1, 1),
            classes: vec![
                ClassEntitlement {
                    class: L::LegacyA1,
                    issue_date: d(2010, 5, 1),
                    expiry_date: None,
                },
                ClassEntitlement {
                    class: L::B,
                    issue_date: d(2025, 3, 1),
                    expiry_date: Some(d(2035, 3, 1)),
                },
            ],
            issuing_authority: "Sở Giao thông Vận tải TP. Hồ Chí Minh".into(),
            points: 12,
        }
    }

    #[test]
    fn shared_codes_are_read_by_issue_date() {
        assert_eq!(
            LicenceClass::parse("B1", d(2024, 12, 31)),
            Some(L::LegacyB1)
        );
        assert_eq!(LicenceClass::parse("B1", d(2025, 1, 1)), Some(L::B1));
        assert_eq!(LicenceClass::parse("B2", d(2025, 1, 1)), None);
        assert_eq!(LicenceClass::parse("BE", d(2020, 1, 1)), None);
        assert_eq!(NEW.len() + LEGACY.len(), 25);
        for (c, s) in NEW.iter().chain(LEGACY.iter()) {
            assert_eq!(c.code(), *s);
            let date = if c.is_legacy() {
                d(2020, 1, 1)
            } else {
                d(2025, 6, 1)
            };
            assert_eq!(LicenceClass::parse(s, date), Some(*c));
        }
    }

    #[test]
    fn rules() {
        let l = licence();
        l.validate().unwrap();
        assert_eq!(DrivingLicence::from_cbor(&l.to_cbor()).unwrap(), l);
        assert_eq!(l.valid_until(), None);
        assert!(!format!("{l:?}").contains("Nam"));

        let mut bad = l.clone();
        bad.points = 13;
        assert_eq!(bad.validate().unwrap_err().field, "points");
        let mut bad = l.clone();
        bad.number = "79012345678".into();
        assert_eq!(bad.validate().unwrap_err().field, "number");
        let mut bad = l.clone();
        bad.classes[1].expiry_date = None;
        assert_eq!(bad.validate().unwrap_err().field, "classes[1].expiry_date");
        let mut bad = l.clone();
        bad.classes[1].class = L::LegacyB2;
        assert_eq!(bad.validate().unwrap_err().field, "classes[1].class");
        let mut bad = l.clone();
        bad.classes.clear();
        assert_eq!(bad.validate().unwrap_err().field, "classes");
        let mut dated = l;
        dated.classes[0].expiry_date = Some(d(2040, 1, 1));
        assert_eq!(dated.valid_until(), Some(d(2040, 1, 1)));
    }
}
