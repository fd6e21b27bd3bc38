//! The citizen identity card (CCCD: căn cước công dân; since 1 July 2024 "thẻ căn cước") as a
//! wallet credential, built from the chip's MRZ (DG1) and civil data (DG13).

use super::cbor::{self, Fields};
use super::date::Date;
use super::error::DocumentError;
use ciborium::Value;
use eid_icao::dg13::Dg13;
use eid_icao::mrz::Mrz;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Nam
    Male,
    /// Nữ
    Female,
}

impl Sex {
    /// ICAO 9303 / ISO 5218-style letter used on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Sex> {
        match s.trim() {
            "M" | "Nam" => Some(Sex::Male),
            "F" | "Nữ" | "Nu" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// Level of the national e-identity account (Decree 69/2024/NĐ-CP art. 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountLevel {
    /// Registered in the app from the chip and the holder's face.
    Level1 = 1,
    /// Enrolled in person (portrait and fingerprints).
    Level2 = 2,
}

/// The e-identity account bound to the card.
#[derive(Clone, PartialEq, Eq)]
pub struct EidAccount {
    pub id: String,
    pub level: AccountLevel,
}

impl fmt::Debug for EidAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EidAccount")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// CCCD: căn cước công dân. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityCard {
    /// 12-digit personal identification number (số định danh cá nhân).
    pub id_number: String,
    pub full_name: String,
    pub date_of_birth: Date,
    pub sex: Sex,
    pub nationality: String,
    /// Quê quán.
    pub place_of_origin: String,
    /// Nơi thường trú.
    pub place_of_residence: String,
    pub issue_date: Date,
    /// `None`: no expiry ("Không thời hạn", cards issued after the 60th birthday).
    pub expiry_date: Option<Date>,
    /// Portrait as JPEG (from DG2 or the registry).
    pub photo: Option<Vec<u8>>,
    pub account: Option<EidAccount>,
}

impl fmt::Debug for IdentityCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityCard")
            .field("photo", &self.photo.as_ref().map(|p| p.len()))
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// Century of birth from the 4th digit of the ID number (Circular 59/2021/TT-BCA art. 7):
/// 0/1 → 1900s, 2/3 → 2000s, 4/5 → 2100s ...; even male, odd female.
fn century_from_id(id: &str) -> Option<u16> {
    let digit = id.as_bytes().get(3).filter(|b| b.is_ascii_digit())? - b'0';
    Some(1900 + u16::from(digit / 2) * 100)
}

fn mrz_date(yymmdd: &str, century: u16) -> Option<Date> {
    if yymmdd.len() != 6 || !yymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| yymmdd.get(r).and_then(|s| s.parse::<u16>().ok());
    Date::new(
        century + n(0..2)?,
        u8::try_from(n(2..4)?).ok()?,
        u8::try_from(n(4..6)?).ok()?,
    )
}

impl IdentityCard {
    /// From the chip: DG13 for civil data (with diacritics), the MRZ as the fallback for what
    /// both hold. The issue date exists only in DG13. Photo and account are added afterwards.
    pub fn from_chip(mrz: &Mrz, dg13: &Dg13) -> Result<IdentityCard, DocumentError> {
        let id_number = dg13
            .id_number()
            .or(mrz.cccd_id_number())
            .ok_or_else(|| DocumentError::new("id_number", "missing"))?
            .to_owned();
        cbor::check_digits("id_number", &id_number, 12)?;
        if let Some(mrz_id) = mrz.cccd_id_number()
            && mrz_id != id_number
        {
            return Err(DocumentError::new("id_number", "DG13 and MRZ disagree"));
        }
        let century = century_from_id(&id_number).unwrap_or(1900);
        let full_name = match dg13.full_name() {
            Some(n) => n.to_owned(),
            None => format!("{} {}", mrz.primary_identifier, mrz.secondary_identifier)
                .trim()
                .to_owned(),
        };
        let date_of_birth = match dg13.date_of_birth() {
            Some(d) => Date::parse_vn(d),
            None => mrz_date(&mrz.date_of_birth, century),
        }
        .ok_or_else(|| DocumentError::new("date_of_birth", "missing or not a date"))?;
        let sex = dg13
            .sex()
            .or(Some(mrz.sex.as_str()))
            .and_then(Sex::parse)
            .ok_or_else(|| DocumentError::new("sex", "missing or unknown"))?;
        let issue_date = dg13
            .issue_date()
            .and_then(Date::parse_vn)
            .ok_or_else(|| DocumentError::new("issue_date", "missing or not a date"))?;
        let expiry_date = match dg13.expiry_date() {
            // Anything else than a date ("Không thời hạn") means no expiry.
            Some(text) => Date::parse_vn(text),
            // MRZ expiry years are always after the issue date's century start.
            None => mrz_date(&mrz.date_of_expiry, issue_date.year() / 100 * 100),
        };
        let card = IdentityCard {
            id_number,
            full_name,
            date_of_birth,
            sex,
            nationality: dg13
                .nationality()
                .unwrap_or(mrz.nationality.as_str())
                .to_owned(),
            place_of_origin: dg13.place_of_origin().unwrap_or_default().to_owned(),
            place_of_residence: dg13.place_of_residence().unwrap_or_default().to_owned(),
            issue_date,
            expiry_date,
            photo: None,
            account: None,
        };
        card.validate()?;
        Ok(card)
    }

    pub fn with_photo(mut self, jpeg: Vec<u8>) -> Self {
        self.photo = Some(jpeg);
        self
    }

    pub fn with_account(mut self, account: EidAccount) -> Self {
        self.account = Some(account);
        self
    }

    /// The rules of the kind's declaration (`credential/kinds/`); the error names the field.
    pub fn validate(&self) -> Result<(), DocumentError> {
        crate::credential::kinds::validate(
            super::DocumentKind::Identity.declaration(),
            &self.to_cbor(),
        )
    }

    pub(crate) fn to_cbor(&self) -> Value {
        cbor::map(vec![
            ("id_number", Some(cbor::text(&self.id_number))),
            ("full_name", Some(cbor::text(&self.full_name))),
            ("birth_date", Some(cbor::date(self.date_of_birth))),
            ("sex", Some(cbor::text(self.sex.code()))),
            ("nationality", Some(cbor::text(&self.nationality))),
            ("place_of_origin", Some(cbor::text(&self.place_of_origin))),
            (
                "place_of_residence",
                Some(cbor::text(&self.place_of_residence)),
            ),
            ("issue_date", Some(cbor::date(self.issue_date))),
            ("expiry_date", self.expiry_date.map(cbor::date)),
            ("portrait", self.photo.clone().map(Value::Bytes)),
            (
                "account",
                self.account.as_ref().map(|a| {
                    cbor::map(vec![
                        ("id", Some(cbor::text(&a.id))),
                        ("level", Some(Value::from(a.level as u8))),
                    ])
                }),
            ),
        ])
    }

    pub(crate) fn from_cbor(value: &Value) -> Result<IdentityCard, DocumentError> {
        crate::credential::kinds::validate(super::DocumentKind::Identity.declaration(), value)?;
        let f = Fields::new(value, "")?;
        let account = match f.opt_map("account")? {
            None => None,
            Some(a) => Some(EidAccount {
                id: a.text("id")?.to_owned(),
                level: match a.uint("level")? {
                    1 => AccountLevel::Level1,
                    2 => AccountLevel::Level2,
                    _ => return Err(DocumentError::new("account.level", "must be 1 or 2")),
                },
            }),
        };
        let card = IdentityCard {
            id_number: f.text("id_number")?.to_owned(),
            full_name: f.text("full_name")?.to_owned(),
            date_of_birth: f.date("birth_date")?,
            sex: match f.text("sex")? {
                "M" => Sex::Male,
                "F" => Sex::Female,
                _ => return Err(DocumentError::new("sex", "must be M or F")),
            },
            nationality: f.text("nationality")?.to_owned(),
            place_of_origin: f.text("place_of_origin")?.to_owned(),
            place_of_residence: f.text("place_of_residence")?.to_owned(),
            issue_date: f.date("issue_date")?,
            expiry_date: f.opt_date("expiry_date")?,
            photo: f.opt_bytes("portrait")?.map(<[u8]>::to_vec),
            account,
        };
        Ok(card)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eid_icao::{dg13, mrz};

    fn dg13(fields: &[(u32, &str)]) -> Dg13 {
        let mut d = Dg13::default();
        for (n, v) in fields {
            d.fields.insert(*n, vec![(*v).to_owned()]);
        }
        d
    }

    const MRZ: &str = "IDVNM0950123454001095012345<<6\
                       9503151M3503153VNM<<<<<<<<<<<4\
                       TRAN<<THI<MAI<<<<<<<<<<<<<<<<<";

    #[test]
    fn from_chip_prefers_dg13_and_falls_back_to_the_mrz() {
        let m = mrz::parse_text(MRZ).unwrap();
        assert_eq!(m.cccd_id_number(), Some("001095012345"));
        use dg13::field::*;
        let full = dg13(&[
            (ID_NUMBER, "001095012345"),
            (FULL_NAME, "Trần Thị Mai"),
            (DATE_OF_BIRTH, "15/03/1995"),
            (SEX, "Nữ"),
            (NATIONALITY, "Việt Nam"),
            (PLACE_OF_ORIGIN, "Xã Tân Lập, Hà Nội"),
            (PLACE_OF_RESIDENCE, "Số 5 Lê Lợi, Phường 2, Huế"),
            (ISSUE_DATE, "10/08/2021"),
            (EXPIRY_DATE, "15/03/2035"),
        ]);
        let card = IdentityCard::from_chip(&m, &full).unwrap();
        assert_eq!(card.full_name, "Trần Thị Mai");
        assert_eq!(card.sex, Sex::Female);
        assert_eq!(card.expiry_date, Date::new(2035, 3, 15));
        assert!(!format!("{card:?}").contains("Mai"), "Debug is redacted");
        // Round trip through CBOR.
        let back = IdentityCard::from_cbor(&card.to_cbor()).unwrap();
        assert_eq!(back, card);

        // Only the issue date from DG13: the rest comes from the MRZ.
        let sparse = dg13(&[(ISSUE_DATE, "10/08/2021"), (EXPIRY_DATE, "Không thời hạn")]);
        let card = IdentityCard::from_chip(&m, &sparse);
        // Place fields are empty then: rejected, naming the field.
        assert_eq!(card.unwrap_err().field, "place_of_origin");
        let mut sparse = sparse;
        sparse.fields.insert(PLACE_OF_ORIGIN, vec!["x".into()]);
        sparse.fields.insert(PLACE_OF_RESIDENCE, vec!["y".into()]);
        let card = IdentityCard::from_chip(&m, &sparse).unwrap();
        assert_eq!(card.date_of_birth, Date::new(1995, 3, 15).unwrap());
        assert_eq!(card.full_name, "TRAN THI MAI");
        assert_eq!(card.expiry_date, None);
        assert_eq!(card.nationality, "VNM");

        let other = dg13(&[(ID_NUMBER, "001095099999"), (ISSUE_DATE, "10/08/2021")]);
        assert_eq!(
            IdentityCard::from_chip(&m, &other).unwrap_err().field,
            "id_number"
        );
        let no_issue = dg13(&[(ID_NUMBER, "001095012345")]);
        assert_eq!(
            IdentityCard::from_chip(&m, &no_issue).unwrap_err().field,
            "issue_date"
        );
    }

    #[test]
    fn century_digit() {
        assert_eq!(century_from_id("001095012345"), Some(1900));
        assert_eq!(century_from_id("001305012345"), Some(2000));
        assert_eq!(century_from_id("00"), None);
    }
}
