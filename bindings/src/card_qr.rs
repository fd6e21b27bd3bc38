//! The printed CCCD QR code: the reader's `eid_icao::card_qr::CardQr` crosses as it is.

use crate::error::EidError;
pub use eid_icao::card_qr::{CardQr, QrDate};

/// What the QR printed on a CCCD says. `signed` is always false.
#[uniffi::remote(Record)]
pub struct CardQr {
    pub id_number: String,
    pub old_id_number: Option<String>,
    pub full_name: String,
    /// ISO 8601 date.
    pub date_of_birth: QrDate,
    pub sex: String,
    pub address: String,
    /// ISO 8601 date.
    pub issue_date: QrDate,
    pub signed: bool,
}

// A date of the printed QR crosses as its ISO 8601 text, `YYYY-MM-DD`.
uniffi::custom_type!(QrDate, String, {
    remote,
    lower: |d| d.iso(),
    try_lift: |s| iso_date(&s).ok_or_else(|| uniffi::deps::anyhow::anyhow!("not an ISO 8601 date")),
});

/// `YYYY-MM-DD` as a date that exists (the rule the card QR's own dates follow).
fn iso_date(s: &str) -> Option<QrDate> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse::<u16>().ok())
            .flatten()
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(0..4)?;
    let month = u8::try_from(digits(5..7)?).ok()?;
    let day = u8::try_from(digits(8..10)?).ok()?;
    ((1900..=9999).contains(&year) && eid_icao::calendar::is_date(year, month, day))
        .then_some(QrDate { year, month, day })
}

/// Parses the QR printed on the front of a CCCD.
#[uniffi::export]
pub fn parse_card_qr(text: String) -> Result<CardQr, EidError> {
    Ok(eid_icao::card_qr::parse(&text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_cross_as_iso_text_and_only_real_dates_come_back() {
        for (text, date) in [("2001-01-01", (2001, 1, 1)), ("2024-02-29", (2024, 2, 29))] {
            let d = iso_date(text).unwrap();
            assert_eq!((d.year, d.month, d.day), date);
            assert_eq!(d.iso(), text);
        }
        for bad in [
            "2001-02-29",
            "2001-13-01",
            "1899-01-01",
            "2001-1-01",
            "2001/01/01",
            "+001-01-01",
            "",
        ] {
            assert_eq!(iso_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn maps_fields_and_errors() {
        let q =
            parse_card_qr("079201234567||Trần Thị Lan|01012001|Nữ|Hà Nội|02022022".into()).unwrap();
        assert_eq!(
            (q.date_of_birth.iso().as_str(), q.signed),
            ("2001-01-01", false)
        );
        assert!(matches!(
            parse_card_qr("x".into()),
            Err(EidError::InvalidInput { .. })
        ));
    }
}
