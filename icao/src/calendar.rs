//! The Gregorian calendar's month lengths, for every layer that checks a date (the chip's
//! YYMMDD, the printed card QR, credential dates).

/// Whether `year` is a Gregorian leap year.
pub fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Days in `month` (1 to 12) of `year`; 0 for a month that does not exist.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Whether day `day` of `month` exists in `year`.
pub fn is_date(year: u16, month: u8, day: u8) -> bool {
    day >= 1 && day <= days_in_month(year, month)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_lengths_and_leap_years() {
        assert!(is_date(2024, 2, 29) && is_date(2000, 2, 29));
        assert!(!is_date(2023, 2, 29) && !is_date(1900, 2, 29));
        assert!(!is_date(2001, 2, 31) && !is_date(2001, 4, 31) && is_date(2001, 12, 31));
        assert!(!is_date(2001, 0, 1) && !is_date(2001, 13, 1) && !is_date(2001, 1, 0));
    }
}
