//! DG13 of the Vietnamese CCCD: the holder's civil data, which the MRZ does not carry.
//!
//! `6D { SEQUENCE { INTEGER version, OID, SET OF SEQUENCE { INTEGER fieldNo, value } } }`, field
//! numbers in shared/ARCHITECTURE.md. Cards differ, so parsing is by field number and lenient:
//! any string type, values that are strings or (nested) sequences of strings, missing and unknown
//! fields, any order. The structure is walked with the BER-TLV reader rather than `der` so that
//! non-minimal lengths and unsorted SETs written by real cards are accepted; the OID is decoded
//! with `der`.

use eid_crypto::tlv::{self, Tlv};
use serde::Serialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// Why DG13 could not be read. Never carries field values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Dg13Error {
    #[error("DG13 is not a valid TLV structure")]
    Structure,
    #[error("DG13 holds no field list")]
    NoFields,
}

/// Field numbers of DG13.
pub mod field {
    pub const ID_NUMBER: u32 = 1;
    pub const FULL_NAME: u32 = 2;
    pub const DATE_OF_BIRTH: u32 = 3;
    pub const SEX: u32 = 4;
    pub const NATIONALITY: u32 = 5;
    pub const ETHNICITY: u32 = 6;
    pub const RELIGION: u32 = 7;
    pub const PLACE_OF_ORIGIN: u32 = 8;
    pub const PLACE_OF_RESIDENCE: u32 = 9;
    pub const IDENTIFYING_MARKS: u32 = 10;
    pub const ISSUE_DATE: u32 = 11;
    pub const EXPIRY_DATE: u32 = 12;
    /// A sequence: father, mother.
    pub const PARENTS: u32 = 13;
    /// A sequence: spouse.
    pub const SPOUSE: u32 = 14;
    pub const OLD_ID_NUMBER: u32 = 15;
    /// Meaning unclear; kept as read.
    pub const UNKNOWN_16: u32 = 16;
}

/// English key of a field number, for JSON output.
pub fn field_name(number: u32) -> Option<&'static str> {
    Some(match number {
        field::ID_NUMBER => "id_number",
        field::FULL_NAME => "full_name",
        field::DATE_OF_BIRTH => "date_of_birth",
        field::SEX => "sex",
        field::NATIONALITY => "nationality",
        field::ETHNICITY => "ethnicity",
        field::RELIGION => "religion",
        field::PLACE_OF_ORIGIN => "place_of_origin",
        field::PLACE_OF_RESIDENCE => "place_of_residence",
        field::IDENTIFYING_MARKS => "identifying_marks",
        field::ISSUE_DATE => "issue_date",
        field::EXPIRY_DATE => "expiry_date",
        field::PARENTS => "parents",
        field::SPOUSE => "spouse",
        field::OLD_ID_NUMBER => "old_id_number",
        _ => return None,
    })
}

/// Parsed DG13. `fields` maps every field number found, known or not, to its string values in
/// card order (nested sequences flattened); serialises as `{version, oid, fields: {"1": [...]}}`.
/// `Debug` shows field numbers only (no personal data).
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dg13 {
    pub version: Option<i64>,
    /// Dotted OID of the structure, when present.
    pub oid: Option<String>,
    pub fields: BTreeMap<u32, Vec<String>>,
}

/// Nesting limit for field values: deep enough for any card, shallow enough for hostile input.
const MAX_DEPTH: usize = 6;

/// Reads DG13 (with its `6D` tag).
pub fn parse(dg13: &[u8]) -> Result<Dg13, Dg13Error> {
    let outer = tlv::read_exact(dg13, 0x6D).map_err(|_| Dg13Error::Structure)?;
    let mut out = Dg13::default();
    let mut found = false;
    // Look for the SET of fields in the content, or one SEQUENCE down.
    scan(outer.value, &mut out, &mut found, 0)?;
    if found {
        Ok(out)
    } else {
        Err(Dg13Error::NoFields)
    }
}

fn scan(content: &[u8], out: &mut Dg13, found: &mut bool, depth: usize) -> Result<(), Dg13Error> {
    if depth > 2 {
        return Ok(());
    }
    for item in tlv::Iter::new(content) {
        let t = item.map_err(|_| Dg13Error::Structure)?;
        match t.tag {
            0x02 if out.version.is_none() => out.version = integer(t.value),
            0x06 if out.oid.is_none() => {
                out.oid = der::asn1::ObjectIdentifier::from_bytes(t.value)
                    .ok()
                    .map(|o| o.to_string());
            }
            0x31 => {
                *found = true;
                fields(t.value, out)?;
            }
            0x30 => {
                // Either the wrapping SEQUENCE, or (on some cards) field entries without a SET.
                if is_field_entry(&t) {
                    *found = true;
                    entry(&t, out)?;
                } else {
                    scan(t.value, out, found, depth + 1)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A SEQUENCE whose first element is a small INTEGER followed by something: a field entry.
fn is_field_entry(t: &Tlv<'_>) -> bool {
    let mut it = t.children();
    matches!(it.next(), Some(Ok(first)) if first.tag == 0x02 && first.value.len() <= 2)
        && matches!(it.next(), Some(Ok(second)) if second.tag != 0x06 && second.tag != 0x31)
}

fn fields(set: &[u8], out: &mut Dg13) -> Result<(), Dg13Error> {
    for item in tlv::Iter::new(set) {
        let t = item.map_err(|_| Dg13Error::Structure)?;
        if t.tag == 0x30 {
            entry(&t, out)?;
        }
    }
    Ok(())
}

fn entry(t: &Tlv<'_>, out: &mut Dg13) -> Result<(), Dg13Error> {
    let mut it = t.children();
    let number = match it.next() {
        Some(Ok(n)) if n.tag == 0x02 => integer(n.value)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(Dg13Error::Structure)?,
        Some(Err(_)) => return Err(Dg13Error::Structure),
        _ => return Ok(()),
    };
    let mut values = Vec::new();
    for item in it {
        let v = item.map_err(|_| Dg13Error::Structure)?;
        collect(&v, &mut values, 0)?;
    }
    out.fields.entry(number).or_default().extend(values);
    Ok(())
}

/// Appends the strings of a value, flattening SEQUENCEs and SETs.
fn collect(t: &Tlv<'_>, values: &mut Vec<String>, depth: usize) -> Result<(), Dg13Error> {
    if depth > MAX_DEPTH {
        return Err(Dg13Error::Structure);
    }
    match t.tag {
        0x30 | 0x31 => {
            for item in t.children() {
                let child = item.map_err(|_| Dg13Error::Structure)?;
                collect(&child, values, depth + 1)?;
            }
        }
        // INTEGER: as decimal text (some cards may number relatives inside field 13).
        0x02 => {
            if depth == 0 {
                values.push(integer(t.value).map(|v| v.to_string()).unwrap_or_default());
            }
        }
        0x05 => {}
        _ if t.is_constructed() => {
            for item in t.children() {
                let child = item.map_err(|_| Dg13Error::Structure)?;
                collect(&child, values, depth + 1)?;
            }
        }
        _ => values.push(text(t.tag, t.value)),
    }
    Ok(())
}

/// Decodes a string of any ASN.1 string type (unknown types as UTF-8 or else Latin-1), in NFC
/// with Vietnamese marks in order ([`crate::text::nfc`]), whatever form the card wrote.
fn text(tag: u32, value: &[u8]) -> String {
    crate::text::nfc(&raw_text(tag, value))
}

fn raw_text(tag: u32, value: &[u8]) -> String {
    match tag {
        // BMPString: UTF-16BE.
        0x1E => {
            let units: Vec<u16> = value
                .chunks(2)
                .map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => match std::str::from_utf8(value) {
            Ok(s) => s.to_owned(),
            Err(_) => value.iter().map(|b| char::from(*b)).collect(),
        },
    }
    .trim_end_matches('\0')
    .trim()
    .to_owned()
}

/// A DER INTEGER of up to 8 bytes.
fn integer(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let init: i64 = if negative { -1 } else { 0 };
    Some(bytes.iter().fold(init, |acc, b| (acc << 8) | i64::from(*b)))
}

impl std::fmt::Debug for Dg13 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dg13")
            .field("version", &self.version)
            .field("oid", &self.oid)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Dg13 {
    /// All values of a field.
    pub fn values(&self, number: u32) -> &[String] {
        self.fields
            .get(&number)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The first value of a field, if not empty.
    pub fn get(&self, number: u32) -> Option<&str> {
        self.values(number)
            .first()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn nth(&self, number: u32, index: usize) -> Option<&str> {
        self.values(number)
            .get(index)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn id_number(&self) -> Option<&str> {
        self.get(field::ID_NUMBER)
    }
    pub fn full_name(&self) -> Option<&str> {
        self.get(field::FULL_NAME)
    }
    /// As on the card, usually `DD/MM/YYYY`.
    pub fn date_of_birth(&self) -> Option<&str> {
        self.get(field::DATE_OF_BIRTH)
    }
    /// As on the card: `Nam` or `Nữ`.
    pub fn sex(&self) -> Option<&str> {
        self.get(field::SEX)
    }
    pub fn nationality(&self) -> Option<&str> {
        self.get(field::NATIONALITY)
    }
    pub fn ethnicity(&self) -> Option<&str> {
        self.get(field::ETHNICITY)
    }
    pub fn religion(&self) -> Option<&str> {
        self.get(field::RELIGION)
    }
    pub fn place_of_origin(&self) -> Option<&str> {
        self.get(field::PLACE_OF_ORIGIN)
    }
    pub fn place_of_residence(&self) -> Option<&str> {
        self.get(field::PLACE_OF_RESIDENCE)
    }
    pub fn identifying_marks(&self) -> Option<&str> {
        self.get(field::IDENTIFYING_MARKS)
    }
    pub fn issue_date(&self) -> Option<&str> {
        self.get(field::ISSUE_DATE)
    }
    /// May be a date or a text such as `Không thời hạn` (no expiry).
    pub fn expiry_date(&self) -> Option<&str> {
        self.get(field::EXPIRY_DATE)
    }
    pub fn father_name(&self) -> Option<&str> {
        self.nth(field::PARENTS, 0)
    }
    pub fn mother_name(&self) -> Option<&str> {
        self.nth(field::PARENTS, 1)
    }
    pub fn spouse_name(&self) -> Option<&str> {
        self.get(field::SPOUSE)
    }
    pub fn old_id_number(&self) -> Option<&str> {
        self.get(field::OLD_ID_NUMBER)
    }

    /// Known fields by English name (first value; all values for parents), for JSON output.
    pub fn named(&self) -> BTreeMap<&'static str, Vec<String>> {
        self.fields
            .iter()
            .filter_map(|(n, v)| field_name(*n).map(|name| (name, v.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlv::encode;

    fn utf8(s: &str) -> Vec<u8> {
        encode(0x0C, s.as_bytes())
    }
    fn printable(s: &str) -> Vec<u8> {
        encode(0x13, s.as_bytes())
    }
    fn entry(n: u8, value: &[u8]) -> Vec<u8> {
        encode(0x30, &[encode(0x02, &[n]), value.to_vec()].concat())
    }
    fn dg13(entries: &[Vec<u8>]) -> Vec<u8> {
        let body = [
            encode(0x02, &[1]),
            encode(0x06, &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37]),
            encode(0x31, &entries.concat()),
        ]
        .concat();
        encode(0x6D, &encode(0x30, &body))
    }

    fn full() -> Vec<u8> {
        dg13(&[
            entry(1, &printable("001203004567")),
            entry(2, &utf8("Nguyễn Văn An")),
            entry(3, &printable("15/06/2003")),
            entry(4, &utf8("Nam")),
            entry(5, &utf8("Việt Nam")),
            entry(6, &utf8("Kinh")),
            entry(7, &utf8("Không")),
            entry(8, &utf8("Xã Tân Lập, Hà Nội")),
            entry(9, &utf8("Số 1 Lê Lợi, Phường 2, Huế")),
            entry(10, &utf8("Nốt ruồi C:1cm trên đuôi mắt trái")),
            entry(11, &printable("01/02/2022")),
            entry(12, &printable("15/06/2028")),
            entry(
                13,
                &encode(0x30, &[utf8("Trần Văn Bình"), utf8("Lê Thị Mai")].concat()),
            ),
            entry(14, &encode(0x30, &utf8("Phạm Thị Lan"))),
            entry(15, &printable("123456789")),
            entry(16, &utf8("x")),
            entry(42, &utf8("future field")),
        ])
    }

    #[test]
    fn every_field() {
        let d = parse(&full()).unwrap();
        assert_eq!(d.version, Some(1));
        assert_eq!(d.oid.as_deref(), Some("1.3.6.1.4.1.311"));
        assert_eq!(d.id_number(), Some("001203004567"));
        assert_eq!(d.full_name(), Some("Nguyễn Văn An"));
        assert_eq!(d.date_of_birth(), Some("15/06/2003"));
        assert_eq!(d.sex(), Some("Nam"));
        assert_eq!(d.nationality(), Some("Việt Nam"));
        assert_eq!(d.ethnicity(), Some("Kinh"));
        assert_eq!(d.religion(), Some("Không"));
        assert_eq!(d.place_of_origin(), Some("Xã Tân Lập, Hà Nội"));
        assert_eq!(d.place_of_residence(), Some("Số 1 Lê Lợi, Phường 2, Huế"));
        assert_eq!(
            d.identifying_marks(),
            Some("Nốt ruồi C:1cm trên đuôi mắt trái")
        );
        assert_eq!(d.issue_date(), Some("01/02/2022"));
        assert_eq!(d.expiry_date(), Some("15/06/2028"));
        assert_eq!(d.father_name(), Some("Trần Văn Bình"));
        assert_eq!(d.mother_name(), Some("Lê Thị Mai"));
        assert_eq!(d.spouse_name(), Some("Phạm Thị Lan"));
        assert_eq!(d.old_id_number(), Some("123456789"));
        assert_eq!(d.values(16), ["x"]);
        assert_eq!(d.values(42), ["future field"]);
        assert_eq!(d.named()["parents"].len(), 2);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["fields"]["2"][0], "Nguyễn Văn An");
        assert_eq!(json["fields"]["42"][0], "future field");
    }

    #[test]
    fn missing_fields_and_plain_string_relatives() {
        // Parents as two plain strings, no spouse, no old number, fields out of order.
        let d = parse(&dg13(&[
            entry(13, &[utf8("Cha"), utf8("Mẹ")].concat()),
            entry(2, &utf8("Tên")),
            entry(1, &printable("001203004567")),
        ]))
        .unwrap();
        assert_eq!(
            (d.father_name(), d.mother_name()),
            (Some("Cha"), Some("Mẹ"))
        );
        assert_eq!(d.spouse_name(), None);
        assert_eq!(d.old_id_number(), None);
        assert_eq!(d.religion(), None);
        // Doubly nested parents, empty spouse.
        let nested = encode(
            0x30,
            &[encode(0x30, &utf8("Cha")), encode(0x30, &utf8("Mẹ"))].concat(),
        );
        let d = parse(&dg13(&[entry(13, &nested), entry(14, &encode(0x30, &[]))])).unwrap();
        assert_eq!(
            (d.father_name(), d.mother_name()),
            (Some("Cha"), Some("Mẹ"))
        );
        assert_eq!(d.spouse_name(), None);
    }

    #[test]
    fn lenient_string_types_and_layouts() {
        // BMPString, IA5String, no wrapping SEQUENCE, no version, no OID.
        let bmp: Vec<u8> = "Hà".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let body = encode(
            0x31,
            &[
                entry(2, &encode(0x1E, &bmp)),
                entry(5, &encode(0x16, b"VN")),
            ]
            .concat(),
        );
        let d = parse(&encode(0x6D, &body)).unwrap();
        assert_eq!(d.full_name(), Some("Hà"));
        assert_eq!(d.nationality(), Some("VN"));
        assert_eq!(d.version, None);
        // Non-minimal length encoding (81 05) is accepted.
        let e = vec![0x30, 0x81, 0x07, 0x02, 0x01, 0x04, 0x0C, 0x02, b'N', b'u'];
        let d = parse(&dg13(&[e])).unwrap();
        assert_eq!(d.sex(), Some("Nu"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert_eq!(parse(&[]), Err(Dg13Error::Structure));
        assert_eq!(parse(&[0x6D, 0x00]), Err(Dg13Error::NoFields));
        assert_eq!(parse(&[0x61, 0x00]), Err(Dg13Error::Structure));
        assert!(parse(&[0x6D, 0x04, 0x30, 0x02, 0x31, 0x05]).is_err());
        // A field number that does not fit.
        assert!(
            parse(&dg13(&[encode(
                0x30,
                &[encode(0x02, &[0x80; 9]), utf8("x")].concat()
            )]))
            .is_err()
        );
        // Deep nesting stops with an error instead of recursing without bound.
        let mut deep = utf8("x");
        for _ in 0..50 {
            deep = encode(0x30, &deep);
        }
        assert!(parse(&dg13(&[entry(13, &deep)])).is_err());
        let full = full();
        for cut in 0..full.len() {
            let _ = parse(&full[..cut]);
        }
        for i in 0..full.len() {
            let mut m = full.clone();
            m[i] ^= 0xFF;
            let _ = parse(&m);
        }
        let e = Dg13Error::Structure;
        assert!(!format!("{e:?}{e}").contains("Nguy"));
        assert!(!format!("{:?}", parse(&full).unwrap()).contains("Nguy"));
    }

    /// Names and addresses come out in NFC whatever form the card wrote: NFD, tone marks before
    /// the vowel marks, UTF8String or BMPString.
    #[test]
    fn names_and_addresses_come_out_in_nfc_whatever_the_card_wrote() {
        use unicode_normalization::UnicodeNormalization;
        let bmp = |s: &str| {
            let units: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
            encode(0x1E, &units)
        };
        let name = "Nguyễn Thị Ngọc Ánh";
        let residence = "Số 12 Hẻm 3 Đường Hưởng Lợi, Phường Bến Thành, Quận 1";
        let father = "Đặng Văn Ước";
        let tone_first = |s: &str| -> String {
            // Decompose, then put every tone mark before the vowel mark it follows.
            let mut v: Vec<char> = s.nfd().collect();
            for i in 1..v.len() {
                if matches!(v[i], '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}')
                    && matches!(v[i - 1], '\u{302}' | '\u{306}' | '\u{31B}')
                {
                    v.swap(i - 1, i);
                }
            }
            v.into_iter().collect()
        };
        assert_ne!(tone_first(name), name.nfd().collect::<String>());
        for (form, encode_as) in [
            ("NFD", 0u8),
            ("tone first", 0),
            ("NFD as BMPString", 1),
            ("tone first as BMPString", 1),
        ] {
            let written = |s: &str| -> Vec<u8> {
                let t = if form.starts_with("NFD") {
                    s.nfd().collect()
                } else {
                    tone_first(s)
                };
                assert_ne!(t, s);
                if encode_as == 0 { utf8(&t) } else { bmp(&t) }
            };
            let d = parse(&dg13(&[
                entry(2, &written(name)),
                entry(8, &written("Xã Tân Lập, Hà Nội")),
                entry(9, &written(residence)),
                entry(
                    13,
                    &encode(0x30, &[written(father), written("Lê Thị Mai")].concat()),
                ),
            ]))
            .unwrap();
            assert_eq!(d.full_name(), Some(name), "{form}");
            assert_eq!(d.place_of_origin(), Some("Xã Tân Lập, Hà Nội"), "{form}");
            assert_eq!(d.place_of_residence(), Some(residence), "{form}");
            assert_eq!(d.father_name(), Some(father), "{form}");
            assert_eq!(d.mother_name(), Some("Lê Thị Mai"), "{form}");
            // The ASCII form the MRZ carries for the same name.
            assert_eq!(
                crate::text::mrz_ascii(d.full_name().unwrap()),
                "NGUYEN THI NGOC ANH"
            );
        }
    }
}
