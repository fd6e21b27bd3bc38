//! The MSO's dates (ISO/IEC 18013-5 §9.1.2.4): `tdate` (tag 0) in the form
//! `YYYY-MM-DDThh:mm:ssZ`, no fractional seconds, UTC only; read as Unix seconds.

use super::cbor::TAG_TDATE;
use crate::credential::Date;
use ciborium::Value;

/// Unix seconds of a tagged tdate; `None` if it is not exactly the profile's form.
pub(crate) fn tdate_seconds(value: &Value) -> Option<u64> {
    let Value::Tag(TAG_TDATE, inner) = value else {
        return None;
    };
    parse(inner.as_text()?)
}

/// The tagged tdate of Unix seconds.
pub(crate) fn tdate(seconds: u64) -> Value {
    let date = Date::from_unix(seconds);
    let s = seconds % 86_400;
    Value::Tag(
        TAG_TDATE,
        Box::new(Value::Text(format!(
            "{date}T{:02}:{:02}:{:02}Z",
            s / 3600,
            s / 60 % 60,
            s % 60
        ))),
    )
}

fn parse(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let date = Date::parse_iso(s.get(..10)?)?;
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    (h < 24 && m < 60 && sec < 60).then(|| date.unix_seconds() + h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tdates() {
        let v = Value::Tag(0, Box::new(Value::Text("2020-10-01T13:30:02Z".into())));
        assert_eq!(tdate_seconds(&v), Some(1_601_559_002));
        assert_eq!(tdate(1_601_559_002), v);
        for bad in [
            "2020-10-01T13:30:02.5Z",
            "2020-10-01T13:30:02+01:00",
            "2020-13-01T13:30:02Z",
            "2020-10-01T24:00:00Z",
            "2020-10-01 13:30:02Z",
            "2020-10-01T1+:30:02Z",
        ] {
            let v = Value::Tag(0, Box::new(Value::Text(bad.into())));
            assert_eq!(tdate_seconds(&v), None, "{bad}");
        }
        assert_eq!(
            tdate_seconds(&Value::Text("2020-10-01T13:30:02Z".into())),
            None
        );
    }
}
