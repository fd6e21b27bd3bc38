//! The printed QR of every synthetic citizen parses back to that citizen.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use eid_fixtures::citizens::{citizens, printed_qr};
use eid_icao::card_qr;

#[test]
fn printed_qr_of_every_citizen_parses_back() {
    for c in citizens() {
        let q = card_qr::parse(&printed_qr(&c)).unwrap();
        assert_eq!(q.id_number, c.id_number);
        assert_eq!(q.old_id_number, c.old_id_number);
        assert_eq!(q.full_name, c.full_name);
        assert_eq!(
            q.date_of_birth.iso(),
            format!(
                "{:04}-{:02}-{:02}",
                c.date_of_birth.year, c.date_of_birth.month, c.date_of_birth.day
            )
        );
        assert_eq!(q.address, c.place_of_residence);
        assert!(!q.signed);
    }
}
