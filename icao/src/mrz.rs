//! DG1: the machine readable zone (ICAO 9303-10 §4.7.1), in the TD1 (ID card, 3×30), TD2 (2×36)
//! and TD3 (passport, 2×44) formats of ICAO 9303-4/-5/-6.
//!
//! A wrong check digit is a finding reported in [`Mrz::checks`], not an error: the chip content is
//! still shown, and passive authentication decides whether it is genuine.

use super::bac::{MrzKey, check_digit};
use super::error::ChipError;
use eid_crypto::tlv;
use serde::Serialize;
use thiserror::Error;

/// Why DG1 could not be read. Never carries MRZ content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MrzError {
    #[error("DG1 is not a valid TLV structure")]
    Structure,
    #[error("DG1 has no MRZ data object (5F1F)")]
    MissingMrz,
    #[error("MRZ has {0} characters, which is no known format")]
    UnknownLength(usize),
    #[error("MRZ contains a character outside A-Z, 0-9 and '<' at position {0}")]
    BadCharacter(usize),
}

/// The size of the document the MRZ comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MrzFormat {
    /// ID-1 card, 3 lines of 30 (ICAO 9303-5); the CCCD.
    Td1,
    /// ID-2 card, 2 lines of 36 (ICAO 9303-6).
    Td2,
    /// Passport, 2 lines of 44 (ICAO 9303-4).
    Td3,
}

impl MrzFormat {
    /// Characters per line and number of lines.
    pub fn shape(self) -> (usize, usize) {
        match self {
            MrzFormat::Td1 => (30, 3),
            MrzFormat::Td2 => (36, 2),
            MrzFormat::Td3 => (44, 2),
        }
    }
}

/// A field protected by a check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MrzField {
    DocumentNumber,
    DateOfBirth,
    DateOfExpiry,
    /// TD3 personal number (optional data).
    PersonalNumber,
    /// The composite check digit over the upper and middle lines.
    Composite,
}

/// The result of one check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckDigit {
    pub field: MrzField,
    pub valid: bool,
}

/// A parsed MRZ. Fields keep the MRZ letters; filler `<` is removed from the ends, and in names
/// it becomes a space. `Debug` shows only the format and check results (no personal data).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Mrz {
    pub format: MrzFormat,
    /// The MRZ as read, lines concatenated without separators.
    pub raw: String,
    /// `I`, `ID`, `P`, ... (filler removed).
    pub document_code: String,
    pub issuing_state: String,
    pub document_number: String,
    /// TD1 upper line optional data, TD2 optional data, TD3 personal number.
    pub optional_data: String,
    /// TD1 middle line optional data (empty for TD2/TD3).
    pub optional_data_2: String,
    /// YYMMDD.
    pub date_of_birth: String,
    /// `M`, `F` or `<` (unspecified).
    pub sex: String,
    /// YYMMDD.
    pub date_of_expiry: String,
    pub nationality: String,
    /// Primary identifier (surname).
    pub primary_identifier: String,
    /// Secondary identifier (given names), words separated by single spaces.
    pub secondary_identifier: String,
    /// Every check digit of the format and whether it matched.
    pub checks: Vec<CheckDigit>,
}

/// Reads DG1 (`61 { 5F1F MRZ }`).
pub fn parse(dg1: &[u8]) -> Result<Mrz, MrzError> {
    let outer = tlv::read_exact(dg1, 0x61).map_err(|_| MrzError::Structure)?;
    let mrz = outer
        .children()
        .find(0x5F1F)
        .map_err(|_| MrzError::Structure)?
        .ok_or(MrzError::MissingMrz)?;
    parse_text_bytes(mrz.value)
}

/// Parses MRZ text; line breaks and spaces between lines are ignored.
pub fn parse_text(text: &str) -> Result<Mrz, MrzError> {
    parse_text_bytes(text.as_bytes())
}

fn parse_text_bytes(bytes: &[u8]) -> Result<Mrz, MrzError> {
    let mut chars = Vec::with_capacity(bytes.len());
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\r' | b'\n' | b' ' => {}
            b'A'..=b'Z' | b'0'..=b'9' | b'<' => chars.push(*b),
            _ => return Err(MrzError::BadCharacter(i)),
        }
    }
    // Only A-Z, 0-9 and '<' remain, so this is ASCII.
    let raw = String::from_utf8_lossy(&chars).into_owned();
    match raw.len() {
        90 => Ok(td1(raw)),
        72 => Ok(td2_or_td3(raw, MrzFormat::Td2)),
        88 => Ok(td2_or_td3(raw, MrzFormat::Td3)),
        n => Err(MrzError::UnknownLength(n)),
    }
}

/// Characters `from..to` (0-based, exclusive) of the MRZ; empty if out of range.
fn cut(raw: &str, from: usize, to: usize) -> &str {
    raw.get(from..to).unwrap_or_default()
}

fn trim_filler(s: &str) -> String {
    s.trim_matches('<').to_owned()
}

fn check(field: MrzField, data: &str, digit: &str) -> CheckDigit {
    let valid = digit
        .bytes()
        .next()
        .is_some_and(|d| d.is_ascii_digit() && d - b'0' == check_digit(data));
    CheckDigit { field, valid }
}

/// Splits a name field into primary and secondary identifiers (ICAO 9303-3 §4.6).
fn names(field: &str) -> (String, String) {
    let (primary, secondary) = field.split_once("<<").unwrap_or((field, ""));
    let words = |s: &str| {
        s.split('<')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (words(primary), words(secondary))
}

/// ICAO 9303-5 §4.2.2: TD1.
fn td1(raw: String) -> Mrz {
    let (l1, l2, l3) = (0, 30, 60);
    let mut doc_field = cut(&raw, l1 + 5, l1 + 14).to_owned();
    let mut doc_check = cut(&raw, l1 + 14, l1 + 15).to_owned();
    let mut optional = cut(&raw, l1 + 15, l1 + 30).to_owned();
    // ICAO 9303-5 §4.2.4 note j: a document number longer than 9 characters continues in the
    // optional data, followed by its check digit; position 15 then holds '<'.
    if doc_check == "<" {
        let ext = optional.split('<').next().unwrap_or_default().to_owned();
        if ext.len() >= 2 {
            let (rest, digit) = ext.split_at(ext.len() - 1);
            doc_field.push_str(rest);
            doc_check = digit.to_owned();
            optional = optional.get(ext.len()..).unwrap_or_default().to_owned();
        }
    }
    let dob = cut(&raw, l2, l2 + 6);
    let exp = cut(&raw, l2 + 8, l2 + 14);
    let composite_data = format!(
        "{}{}{}{}",
        cut(&raw, l1 + 5, l1 + 30),
        cut(&raw, l2, l2 + 7),
        cut(&raw, l2 + 8, l2 + 15),
        cut(&raw, l2 + 18, l2 + 29)
    );
    let checks = vec![
        check(MrzField::DocumentNumber, &doc_field, &doc_check),
        check(MrzField::DateOfBirth, dob, cut(&raw, l2 + 6, l2 + 7)),
        check(MrzField::DateOfExpiry, exp, cut(&raw, l2 + 14, l2 + 15)),
        check(
            MrzField::Composite,
            &composite_data,
            cut(&raw, l2 + 29, l2 + 30),
        ),
    ];
    let (primary, secondary) = names(cut(&raw, l3, l3 + 30));
    Mrz {
        format: MrzFormat::Td1,
        document_code: trim_filler(cut(&raw, l1, l1 + 2)),
        issuing_state: trim_filler(cut(&raw, l1 + 2, l1 + 5)),
        document_number: trim_filler(&doc_field),
        optional_data: trim_filler(&optional),
        optional_data_2: trim_filler(cut(&raw, l2 + 18, l2 + 29)),
        date_of_birth: dob.to_owned(),
        sex: cut(&raw, l2 + 7, l2 + 8).to_owned(),
        date_of_expiry: exp.to_owned(),
        nationality: trim_filler(cut(&raw, l2 + 15, l2 + 18)),
        primary_identifier: primary,
        secondary_identifier: secondary,
        checks,
        raw,
    }
}

/// ICAO 9303-4 §4.2.2 (TD3) and 9303-6 §4.2.2 (TD2): same middle line up to the optional data.
fn td2_or_td3(raw: String, format: MrzFormat) -> Mrz {
    let width = format.shape().0;
    let l2 = width;
    let doc = cut(&raw, l2, l2 + 9);
    let dob = cut(&raw, l2 + 13, l2 + 19);
    let exp = cut(&raw, l2 + 21, l2 + 27);
    let mut checks = vec![
        check(MrzField::DocumentNumber, doc, cut(&raw, l2 + 9, l2 + 10)),
        check(MrzField::DateOfBirth, dob, cut(&raw, l2 + 19, l2 + 20)),
        check(MrzField::DateOfExpiry, exp, cut(&raw, l2 + 27, l2 + 28)),
    ];
    let (optional, composite_end) = if format == MrzFormat::Td3 {
        let personal = cut(&raw, l2 + 28, l2 + 42);
        let digit = cut(&raw, l2 + 42, l2 + 43);
        // ICAO 9303-4 §4.2.2.2: an all-filler personal number may have '<' as its check digit.
        let empty_ok = personal.bytes().all(|b| b == b'<') && digit == "<";
        if !empty_ok {
            checks.push(check(MrzField::PersonalNumber, personal, digit));
        }
        (personal, l2 + 43)
    } else {
        (cut(&raw, l2 + 28, l2 + 35), l2 + 35)
    };
    let composite_data = format!(
        "{}{}{}",
        cut(&raw, l2, l2 + 10),
        cut(&raw, l2 + 13, l2 + 20),
        cut(&raw, l2 + 21, composite_end)
    );
    checks.push(check(
        MrzField::Composite,
        &composite_data,
        cut(&raw, composite_end, composite_end + 1),
    ));
    let (primary, secondary) = names(cut(&raw, 5, width));
    Mrz {
        format,
        document_code: trim_filler(cut(&raw, 0, 2)),
        issuing_state: trim_filler(cut(&raw, 2, 5)),
        document_number: trim_filler(doc),
        optional_data: trim_filler(optional),
        optional_data_2: String::new(),
        date_of_birth: dob.to_owned(),
        sex: cut(&raw, l2 + 20, l2 + 21).to_owned(),
        date_of_expiry: exp.to_owned(),
        nationality: trim_filler(cut(&raw, l2 + 10, l2 + 13)),
        primary_identifier: primary,
        secondary_identifier: secondary,
        checks,
        raw,
    }
}

impl std::fmt::Debug for Mrz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mrz")
            .field("format", &self.format)
            .field("checks", &self.checks)
            .finish_non_exhaustive()
    }
}

impl Mrz {
    /// The fields whose check digit did not match.
    pub fn failed_checks(&self) -> Vec<MrzField> {
        self.checks
            .iter()
            .filter(|c| !c.valid)
            .map(|c| c.field)
            .collect()
    }

    /// Whether every check digit matched.
    pub fn checks_ok(&self) -> bool {
        self.checks.iter().all(|c| c.valid)
    }

    /// The MRZ as lines.
    pub fn lines(&self) -> Vec<&str> {
        let (width, count) = self.format.shape();
        (0..count)
            .map(|i| cut(&self.raw, i * width, (i + 1) * width))
            .collect()
    }

    /// Whether this is a Vietnamese citizen identity card (TD1 issued by VNM).
    pub fn is_cccd(&self) -> bool {
        self.format == MrzFormat::Td1 && self.issuing_state == "VNM"
    }

    /// For a CCCD: the 12-digit personal identification number held in the optional data.
    /// `None` when the optional data does not start with 12 digits.
    pub fn cccd_id_number(&self) -> Option<&str> {
        if !self.is_cccd() {
            return None;
        }
        let id = self.optional_data.get(..12)?;
        id.bytes().all(|b| b.is_ascii_digit()).then_some(id)
    }

    /// The BAC/PACE key from this MRZ (document number, birth and expiry dates).
    pub fn mrz_key(&self) -> Result<MrzKey, ChipError> {
        MrzKey::new(
            &self.document_number,
            &self.date_of_birth,
            &self.date_of_expiry,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ICAO 9303-5 Appendix A (TD1 specimen) and 9303-4 Appendix A (TD3 specimen).
    const TD1: &str = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<";
    const TD3: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";

    fn dg1(text: &str) -> Vec<u8> {
        let mrz: Vec<u8> = text.bytes().filter(|b| *b != b'\n').collect();
        tlv::encode(0x61, &tlv::encode(0x5F1F, &mrz))
    }

    #[test]
    fn td1_specimen() {
        let m = parse(&dg1(TD1)).unwrap();
        assert_eq!(m.format, MrzFormat::Td1);
        assert_eq!(m.document_code, "I");
        assert_eq!(m.issuing_state, "UTO");
        assert_eq!(m.document_number, "D23145890");
        assert_eq!(m.date_of_birth, "740812");
        assert_eq!(m.sex, "F");
        assert_eq!(m.date_of_expiry, "120415");
        assert_eq!(m.nationality, "UTO");
        assert_eq!(m.primary_identifier, "ERIKSSON");
        assert_eq!(m.secondary_identifier, "ANNA MARIA");
        assert!(m.checks_ok(), "{:?}", m.checks);
        assert_eq!(m.checks.len(), 4);
        assert_eq!(m.lines().len(), 3);
        assert_eq!(m.lines()[1], "7408122F1204159UTO<<<<<<<<<<<6");
        assert_eq!(m.cccd_id_number(), None);
        assert!(!format!("{m:?}").contains("ERIKSSON"));
    }

    #[test]
    fn td3_specimen() {
        let m = parse(&dg1(TD3)).unwrap();
        assert_eq!(m.format, MrzFormat::Td3);
        assert_eq!(m.document_code, "P");
        assert_eq!(m.document_number, "L898902C3");
        assert_eq!(m.optional_data, "ZE184226B");
        assert_eq!(m.primary_identifier, "ERIKSSON");
        assert_eq!(m.secondary_identifier, "ANNA MARIA");
        assert_eq!(m.date_of_expiry, "120415");
        assert!(m.checks_ok(), "{:?}", m.checks);
        assert_eq!(m.checks.len(), 5);
        assert_eq!(
            m.mrz_key().unwrap().mrz_information().as_str(),
            "L898902C3674081221204159"
        );
    }

    #[test]
    fn bad_check_digits_are_reported() {
        let bad = TD3.replace("L898902C36", "L898902C35");
        let m = parse_text(&bad).unwrap();
        assert_eq!(
            m.failed_checks(),
            vec![MrzField::DocumentNumber, MrzField::Composite]
        );
        let bad = TD1.replace("7408122F", "7408123F");
        let m = parse_text(&bad).unwrap();
        assert_eq!(
            m.failed_checks(),
            vec![MrzField::DateOfBirth, MrzField::Composite]
        );
        // A letter where a digit belongs is a failed check, not a panic.
        let bad = TD1.replace("1204159", "120415X");
        assert!(
            parse_text(&bad)
                .unwrap()
                .failed_checks()
                .contains(&MrzField::DateOfExpiry)
        );
    }

    #[test]
    fn cccd_id_number_from_optional_data() {
        let id = "001203004567";
        let doc = &id[3..];
        let l1 = format!("IDVNM{doc}{}{id}<<<", check_digit(doc));
        let (dob, exp) = ("030615", "430615");
        let l2a = format!(
            "{dob}{}M{exp}{}VNM<<<<<<<<<<<",
            check_digit(dob),
            check_digit(exp)
        );
        let composite = format!(
            "{}{}{}{}",
            &l1[5..30],
            &l2a[0..7],
            &l2a[8..15],
            &l2a[18..29]
        );
        let l2 = format!("{l2a}{}", check_digit(&composite));
        let l3 = format!("{:<<30}", "NGUYEN<<VAN<AN");
        let m = parse_text(&format!("{l1}{l2}{l3}")).unwrap();
        assert!(m.checks_ok(), "{:?}", m.checks);
        assert!(m.is_cccd());
        assert_eq!(m.document_code, "ID");
        assert_eq!(m.document_number, doc);
        assert_eq!(m.cccd_id_number(), Some(id));
        assert_eq!(m.secondary_identifier, "VAN AN");
    }

    #[test]
    fn long_document_number_continues_in_optional_data() {
        // ICAO 9303-5 §4.2.4: D23145890 + "1234" with check digit after it.
        let doc = "D231458901234";
        let l1 = format!(
            "I<UTO{}<{}{}<<<<<<<<<<",
            &doc[..9],
            &doc[9..],
            check_digit(doc)
        );
        let text = TD1.replacen("I<UTOD231458907<<<<<<<<<<<<<<<", &l1, 1);
        let m = parse_text(&text).unwrap();
        assert_eq!(m.document_number, doc);
        assert!(!m.failed_checks().contains(&MrzField::DocumentNumber));
    }

    #[test]
    fn malformed_dg1_is_an_error() {
        assert_eq!(parse(&[]), Err(MrzError::Structure));
        assert_eq!(parse(&[0x61, 0x00]), Err(MrzError::MissingMrz));
        assert_eq!(
            parse(&tlv::encode(0x61, &tlv::encode(0x5F1F, b"ABC"))),
            Err(MrzError::UnknownLength(3))
        );
        assert_eq!(parse_text("i<UTO"), Err(MrzError::BadCharacter(0)));
        assert!(parse(&[0x61, 0x05, 0x5F, 0x1F, 0x10]).is_err());
        let e = parse_text(&"A".repeat(91)).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("AAAA"));
    }
}
