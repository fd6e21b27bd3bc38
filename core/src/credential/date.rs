//! Calendar dates of documents (birth, issue, expiry) and their conversion to Unix time.
//!
//! Credentials carry dates as RFC 8943 `full-date` (CBOR tag 1004, `YYYY-MM-DD`), as ISO 18013-5
//! does, rather than as timestamps: a birth date has no time zone.

use std::fmt;

/// A valid Gregorian date between years 1900 and 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

use eid_icao::calendar::days_in_month;

fn number(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Date {
    /// `None` unless the date exists.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        ((1900..=9999).contains(&year) && day >= 1 && day <= days_in_month(year, month))
            .then_some(Date { year, month, day })
    }

    pub fn year(self) -> u16 {
        self.year
    }
    pub fn month(self) -> u8 {
        self.month
    }
    pub fn day(self) -> u8 {
        self.day
    }

    /// `YYYY-MM-DD` (ISO 8601 / RFC 3339 full-date).
    pub fn parse_iso(s: &str) -> Option<Date> {
        let (y, rest) = s.split_once('-')?;
        let (m, d) = rest.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        Date::new(
            number(y)?,
            u8::try_from(number(m)?).ok()?,
            u8::try_from(number(d)?).ok()?,
        )
    }

    /// `DD/MM/YYYY`, as printed on Vietnamese documents and stored in CCCD DG13.
    pub(crate) fn parse_vn(s: &str) -> Option<Date> {
        let mut parts = s.trim().split('/');
        let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || d.is_empty() || d.len() > 2 || m.len() > 2 {
            return None;
        }
        Date::new(
            number(y)?,
            u8::try_from(number(m)?).ok()?,
            u8::try_from(number(d)?).ok()?,
        )
    }

    /// Days since 1970-01-01 (days-from-civil: March-based years put the leap day last).
    pub fn unix_days(self) -> i64 {
        let m = i64::from(self.month);
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Midnight UTC of this date, in Unix seconds (0 before 1970).
    pub fn unix_seconds(self) -> u64 {
        u64::try_from(self.unix_days() * 86_400).unwrap_or(0)
    }

    /// The UTC date of a Unix time.
    pub fn from_unix(seconds: u64) -> Date {
        Date::from_unix_days(i64::try_from(seconds / 86_400).unwrap_or(0)).unwrap_or(Date {
            year: 9999,
            month: 12,
            day: 31,
        })
    }

    /// The date `days` after 1970-01-01 (negative: before), years 1..=9999; the inverse of
    /// [`Date::unix_days`].
    pub fn from_unix_days(days: i64) -> Option<Date> {
        if !(-719_162..=2_932_896).contains(&days) {
            return None;
        }
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Some(Date {
            year: u16::try_from(year).ok()?,
            month: u8::try_from(month).ok()?,
            day: u8::try_from(day).ok()?,
        })
    }

    /// Completed years from this birth date to `today` (a birthday counts from its day; one on
    /// 29 February counts from 1 March in common years). Shared by the mdoc and SD-JWT VC ages.
    pub fn years_until(self, today: Date) -> u32 {
        let years = i32::from(today.year) - i32::from(self.year);
        let before_birthday = (today.month, today.day) < (self.month, self.day);
        u32::try_from(years - i32::from(before_birthday)).unwrap_or(0)
    }

    /// The same day `years` later (29 February becomes 28 February).
    pub fn plus_years(self, years: u16) -> Date {
        let year = self.year.saturating_add(years).min(9999);
        let day = self.day.min(days_in_month(year, self.month));
        Date { year, day, ..self }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_before_and_after_1970_round_trip() {
        for (y, m, d) in [
            (1900, 1, 1),
            (1965, 2, 28),
            (1969, 12, 31),
            (1970, 1, 1),
            (9999, 12, 31),
        ] {
            let date = Date::new(y, m, d).unwrap();
            assert_eq!(Date::from_unix_days(date.unix_days()), Some(date));
        }
        assert_eq!(Date::new(1969, 12, 31).unwrap().unix_days(), -1);
        assert_eq!(Date::from_unix_days(i64::MIN), None);
        assert_eq!(Date::from_unix_days(i64::MAX), None);
    }

    #[test]
    fn parsing_and_validity() {
        let d = Date::new(1990, 3, 7).unwrap();
        assert_eq!(Date::parse_iso("1990-03-07"), Some(d));
        assert_eq!(Date::parse_vn("07/03/1990"), Some(d));
        assert_eq!(Date::parse_vn("7/3/1990"), Some(d));
        assert_eq!(d.to_string(), "1990-03-07");
        for bad in [
            "1990-02-30",
            "1990-13-01",
            "1990-3-07",
            "+990-03-07",
            "1899-01-01",
            "",
        ] {
            assert_eq!(Date::parse_iso(bad), None, "{bad}");
        }
        assert_eq!(Date::parse_vn("29/02/2023"), None);
        assert!(Date::parse_vn("29/02/2024").is_some());
        assert_eq!(Date::parse_vn("Không thời hạn"), None);
    }

    #[test]
    fn unix_round_trip() {
        assert_eq!(Date::from_unix(0), Date::new(1970, 1, 1).unwrap());
        assert_eq!(Date::new(2025, 1, 1).unwrap().unix_seconds(), 1_735_689_600);
        for days in (0..40_000u64).step_by(37) {
            let d = Date::from_unix(days * 86_400 + 3_600);
            assert_eq!(d.unix_days(), i64::try_from(days).unwrap());
            assert!(Date::new(d.year(), d.month(), d.day()).is_some());
        }
        // Before 1970 too (dates of birth travel as signed day counts in QR presentations).
        for days in (-719_162..2_932_897i64).step_by(997) {
            let d = Date::from_unix_days(days).unwrap();
            assert_eq!(d.unix_days(), days);
        }
        assert_eq!(Date::from_unix_days(-1), Date::new(1969, 12, 31));
        assert_eq!(Date::from_unix_days(-719_163), None);
        assert_eq!(Date::from_unix_days(2_932_897), None);
        assert_eq!(
            Date::new(2000, 2, 29).unwrap().plus_years(25),
            Date::new(2025, 2, 28).unwrap()
        );
    }
}
