//! Printed CCCD QR parsing over arbitrary text: never panics.

use eid_icao::card_qr;

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(q) = card_qr::parse(&text) {
        assert!(!q.signed);
        assert_eq!(q.id_number.len(), 12);
        assert_eq!(q.date_of_birth.iso().len(), 10);
        assert_eq!(q.issue_date.iso().len(), 10);
    }
}
