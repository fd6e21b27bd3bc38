//! The check functions of the civil kinds (ADR 0047): civil-status registration numbers, the
//! holder of a marriage certificate, and a social insurance book's contribution periods. Like
//! every check, they name the field and the rule, never the value.

use crate::credential::DocumentError;
use crate::credential::cbor::Fields;
use ciborium::Value;

/// `N/YYYY`: a serial of 1 to 6 digits (no leading zero), a slash, and the year of the
/// sibling `registration_date` (a civil-status book runs per year, its entries numbered from 1).
pub(crate) fn registration_number(
    value: &Value,
    path: &str,
    object: &Fields<'_>,
) -> Result<(), DocumentError> {
    let fail = |reason: &str| Err(DocumentError::new(path, reason));
    let text = value.as_text().unwrap_or_default();
    let Some((serial, year)) = text.split_once('/') else {
        return fail("must be a registration number such as 123/2024");
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(serial) || serial.len() > 6 || serial.starts_with('0') || !digits(year) {
        return fail("must be a registration number such as 123/2024");
    }
    if year.len() != 4 {
        return fail("must end in a four-digit year");
    }
    let registered = object
        .get("registration_date")
        .and_then(|_| object.date("registration_date").ok());
    match registered {
        Some(d) if d.year().to_string() != year => {
            fail("year is not the year of the registration date")
        }
        _ => Ok(()),
    }
}

/// The holder's name is one of the spouses' names.
pub(crate) fn spouse_holder(
    value: &Value,
    path: &str,
    object: &Fields<'_>,
) -> Result<(), DocumentError> {
    let name_of = |spouse: &str| {
        object
            .get(spouse)
            .and_then(|v| Fields::new(v, "").ok())
            .and_then(|f| f.get("full_name"))
    };
    if [name_of("husband"), name_of("wife")].contains(&Some(value)) {
        Ok(())
    } else {
        Err(DocumentError::new(
            path,
            "must be the name of one of the spouses",
        ))
    }
}

/// A month `YYYY-MM` as a count of months (the field's pattern checks its form first).
fn month(text: &str) -> Option<i64> {
    let (y, m) = text.split_once('-')?;
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then_some(y * 12 + m - 1)
}

/// Each period from ≤ to, the periods in order and not overlapping (a month is paid once), and
/// their months (both ends counted) adding up to the top-level `total_months`.
pub(crate) fn contribution_periods(
    value: &Value,
    path: &str,
    object: &Fields<'_>,
) -> Result<(), DocumentError> {
    let Value::Array(periods) = value else {
        return Ok(());
    };
    let mut previous_to: Option<i64> = None;
    let mut total: i64 = 0;
    for (i, period) in periods.iter().enumerate() {
        let item = Fields::new(period, &format!("{path}[{i}]"))?;
        let read = |key: &str| {
            item.get(key)
                .and_then(Value::as_text)
                .and_then(month)
                .ok_or_else(|| DocumentError::new(item.name(key), "must be a month (YYYY-MM)"))
        };
        let (from, to) = (read("from_month")?, read("to_month")?);
        if to < from {
            return Err(DocumentError::new(
                item.name("to_month"),
                "before its from month",
            ));
        }
        if previous_to.is_some_and(|p| from <= p) {
            return Err(DocumentError::new(
                item.name("from_month"),
                "not after the period before it (periods are in order and do not overlap)",
            ));
        }
        previous_to = Some(to);
        total += to - from + 1;
    }
    let stated = match object.get("total_months") {
        Some(Value::Integer(n)) => i128::from(*n),
        _ => return Ok(()),
    };
    if stated == i128::from(total) {
        Ok(())
    } else {
        Err(DocumentError::new(
            object.name("total_months"),
            "is not the sum of the contribution periods",
        ))
    }
}
