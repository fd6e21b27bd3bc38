//! The QR code printed on the front of a CCCD:
//! `ID12|CMND9|name|DDMMYYYY|sex|address|DDMMYYYY` (CMND may be empty; an older 6-field form
//! omits it). It is not signed: anyone can print one, so the result is marked unsigned.

use serde::Serialize;
use thiserror::Error;

/// Longest name or address taken, in characters (the printed QR holds far less).
const MAX_TEXT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CardQrError {
    #[error("card QR must have 6 or 7 fields separated by '|', found {0}")]
    FieldCount(usize),
    #[error("card QR field '{0}' is invalid")]
    Field(&'static str),
}

/// A calendar date from the printed QR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QrDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl QrDate {
    fn parse(s: &str, field: &'static str) -> Result<Self, CardQrError> {
        let bad = || CardQrError::Field(field);
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| {
            s.get(r).and_then(|v| v.parse::<u16>().ok()).ok_or_else(bad)
        };
        let (day, month, year) = (num(0..2)? as u8, num(2..4)? as u8, num(4..8)?);
        // A date that exists: no 31 February, no 29 February 2001.
        if !(1900..=9999).contains(&year) || !crate::calendar::is_date(year, month, day) {
            return Err(bad());
        }
        Ok(QrDate { year, month, day })
    }

    /// ISO 8601 `YYYY-MM-DD`.
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// What the printed QR says. `signed` is always false: nothing vouches for these fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardQr {
    pub id_number: String,
    pub old_id_number: Option<String>,
    pub full_name: String,
    pub date_of_birth: QrDate,
    pub sex: String,
    pub address: String,
    pub issue_date: QrDate,
    pub signed: bool,
}

fn digits(s: &str, len: usize, field: &'static str) -> Result<String, CardQrError> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(CardQrError::Field(field))
    }
}

/// Parses the printed QR text.
pub fn parse(text: &str) -> Result<CardQr, CardQrError> {
    let fields: Vec<&str> = text.trim().split('|').collect();
    let (id, old, rest) = match fields.as_slice() {
        [id, old, rest @ ..] if fields.len() == 7 => (*id, Some(*old), rest),
        [id, rest @ ..] if fields.len() == 6 => (*id, None, rest),
        _ => return Err(CardQrError::FieldCount(fields.len())),
    };
    let [name, dob, sex, address, issued] = rest else {
        return Err(CardQrError::FieldCount(fields.len()));
    };
    let id_number = digits(id.trim(), 12, "ID number")?;
    let old_id_number = match old.map(str::trim) {
        None | Some("") => None,
        Some(o) => Some(digits(o, 9, "old ID number")?),
    };
    // Shown to people: NFC, and nothing invisible that changes how it reads (crate::text).
    let full_name =
        crate::text::display_text(name, MAX_TEXT).map_err(|_| CardQrError::Field("name"))?;
    let address =
        crate::text::display_text(address, MAX_TEXT).map_err(|_| CardQrError::Field("address"))?;
    Ok(CardQr {
        id_number,
        old_id_number,
        full_name,
        date_of_birth: QrDate::parse(dob.trim(), "date of birth")?,
        sex: crate::text::nfc(sex.trim()),
        address,
        issue_date: QrDate::parse(issued.trim(), "issue date")?,
        signed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seven_and_six_field_forms() {
        let q =
            parse("079201234567|123456789|Nguyễn Văn An|07031990|Nam|Số 1 Lê Lợi, Huế|15082021")
                .unwrap();
        assert_eq!(q.id_number, "079201234567");
        assert_eq!(q.old_id_number.as_deref(), Some("123456789"));
        assert_eq!(q.date_of_birth.iso(), "1990-03-07");
        assert_eq!(
            q.issue_date,
            QrDate {
                year: 2021,
                month: 8,
                day: 15
            }
        );
        assert!(!q.signed);
        let q = parse("079201234567||Trần Thị Lan|01012001|Nữ|Hà Nội|02022022").unwrap();
        assert_eq!(q.old_id_number, None);
        let q = parse("079201234567|Trần Thị Lan|01012001|Nữ|Hà Nội|02022022").unwrap();
        assert_eq!((q.old_id_number, q.sex.as_str()), (None, "Nữ"));
    }

    #[test]
    fn rejects_bad_fields() {
        assert_eq!(parse("a|b"), Err(CardQrError::FieldCount(2)));
        assert_eq!(
            parse("07920123456|x|N|07031990|Nam|A|15082021"),
            Err(CardQrError::Field("ID number"))
        );
        assert_eq!(
            parse("079201234567|12|N|07031990|Nam|A|15082021"),
            Err(CardQrError::Field("old ID number"))
        );
        assert_eq!(
            parse("079201234567||N|07131990|Nam|A|15082021"),
            Err(CardQrError::Field("date of birth"))
        );
        assert_eq!(
            parse("079201234567|| |07031990|Nam|A|15082021"),
            Err(CardQrError::Field("name"))
        );
        assert_eq!(
            parse("079201234567||N|07031990|Nam|A|1508202"),
            Err(CardQrError::Field("issue date"))
        );
    }

    /// Issue 12: names and addresses come out in NFC; bidirectional controls and zero-width
    /// characters in them are refused (b40b263 passed them through).
    #[test]
    fn names_are_nfc_and_invisible_characters_refused() {
        let q = parse("079201234567||Tra\u{302}\u{300}n Thi\u{323} Lan|01012001|Nu\u{31B}\u{303}|Ha\u{300} Nô\u{323}i|02022022")
            .unwrap();
        assert_eq!(q.full_name, "Trần Thị Lan");
        assert_eq!(q.address, "Hà Nội");
        assert_eq!(q.sex, "Nữ");
        for c in [
            '\u{202E}', '\u{2067}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{FEFF}', '\u{2060}',
        ] {
            assert_eq!(
                parse(&format!(
                    "079201234567||Trần{c} Thị Lan|01012001|Nữ|Hà Nội|02022022"
                )),
                Err(CardQrError::Field("name")),
                "{c:?}"
            );
            assert_eq!(
                parse(&format!(
                    "079201234567||Trần Thị Lan|01012001|Nữ|Hà{c} Nội|02022022"
                )),
                Err(CardQrError::Field("address")),
                "{c:?}"
            );
        }
    }

    /// Issue 12: dates that do not exist are refused (b40b263 took any day 1 to 31).
    #[test]
    fn dates_must_exist() {
        for (dob, ok) in [
            ("31022001", false),
            ("29022001", false),
            ("29021900", false),
            ("31042001", false),
            ("29022000", true),
            ("29022024", true),
            ("31122001", true),
            ("01010000", false),
        ] {
            let text = format!("079201234567||N|{dob}|Nam|A|15082021");
            assert_eq!(parse(&text).is_ok(), ok, "{dob}");
        }
        assert_eq!(
            parse("079201234567||N|07031990|Nam|A|31092021"),
            Err(CardQrError::Field("issue date"))
        );
    }

    /// Issue 14: a QR written with tone marks before the vowel marks (ầ as a + ̀ + ̂, ữ as
    /// u + ̃ + ̛) reads as the NFC name a card shows.
    #[test]
    fn tone_marks_before_vowel_marks_read_as_nfc() {
        let q = parse(
            "079201234567||Tra\u{300}\u{302}n Thi\u{323} Lan|01012001|Nu\u{303}\u{31B}|\
             Ha\u{300} No\u{323}\u{302}i, \u{110}u\u{301}\u{31B}c Ho\u{300}\u{302}ng|02022022",
        )
        .unwrap();
        assert_eq!(q.full_name, "Trần Thị Lan");
        assert_eq!(q.sex, "Nữ");
        assert_eq!(q.address, "Hà Nội, Đức Hồng");
        assert_eq!(crate::text::mrz_ascii(&q.full_name), "TRAN THI LAN");
    }
}
