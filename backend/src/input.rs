//! The formats the server accepts in request fields, in one place: `openapi.json` states the same
//! patterns (a test feeds sample strings through both), and phones are compared in one form.

/// `client_request_id` (and a client's `x-request-id`): 1–64 of `A-Z a-z 0-9 - _`.
pub const CLIENT_REQUEST_ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// An ID number (CCCD): 12 digits.
pub const ID_NUMBER_PATTERN: &str = "^[0-9]{12}$";
/// A Vietnamese mobile number: `0` or `+84`, then 9 digits.
pub const PHONE_PATTERN: &str = "^(0|\\+84)[0-9]{9}$";
/// An SMS code: 6 digits.
pub const SMS_CODE_PATTERN: &str = "^[0-9]{6}$";

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

pub fn is_client_request_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn is_id_number(s: &str) -> bool {
    digits(s, 12)
}

pub fn is_sms_code(s: &str) -> bool {
    digits(s, 6)
}

/// The registry's form of a mobile number (`0` and 9 digits) for `0…` or `+84…`; `None` when
/// `s` is not a mobile number.
pub fn normalise_phone(s: &str) -> Option<String> {
    let national = s.strip_prefix("+84").or_else(|| s.strip_prefix('0'))?;
    digits(national, 9).then(|| format!("0{national}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_take_the_registry_form() {
        assert_eq!(
            normalise_phone("+84912345678").as_deref(),
            Some("0912345678")
        );
        assert_eq!(normalise_phone("0912345678").as_deref(), Some("0912345678"));
        for bad in [
            "912345678",
            "09123456789",
            "+8491234567",
            "+840912345678",
            "84912345678",
            "+84 912345678",
            "0912３45678",
            "",
        ] {
            assert_eq!(normalise_phone(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_and_codes() {
        assert!(is_id_number("001099012345") && !is_id_number("00109901234"));
        assert!(is_sms_code("012345") && !is_sms_code("12345") && !is_sms_code("12345a"));
        assert!(is_client_request_id("req-1_A") && !is_client_request_id("a b"));
        assert!(!is_client_request_id("") && !is_client_request_id(&"a".repeat(65)));
    }
}
