//! The printed CCCD QR code.

use crate::error::EidError;

/// What the QR printed on a CCCD says. `signed` is always false.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CardQr {
    pub id_number: String,
    pub old_id_number: Option<String>,
    pub full_name: String,
    /// ISO 8601 date.
    pub date_of_birth: String,
    pub sex: String,
    pub address: String,
    /// ISO 8601 date.
    pub issue_date: String,
    pub signed: bool,
}

/// Parses the QR printed on the front of a CCCD.
#[uniffi::export]
pub fn parse_card_qr(text: String) -> Result<CardQr, EidError> {
    let q = eid_icao::card_qr::parse(&text)?;
    Ok(CardQr {
        id_number: q.id_number,
        old_id_number: q.old_id_number,
        full_name: q.full_name,
        date_of_birth: q.date_of_birth.iso(),
        sex: q.sex,
        address: q.address,
        issue_date: q.issue_date.iso(),
        signed: q.signed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_fields_and_errors() {
        let q =
            parse_card_qr("079201234567||Trần Thị Lan|01012001|Nữ|Hà Nội|02022022".into()).unwrap();
        assert_eq!((q.date_of_birth.as_str(), q.signed), ("2001-01-01", false));
        assert!(matches!(
            parse_card_qr("x".into()),
            Err(EidError::InvalidInput { .. })
        ));
    }
}
