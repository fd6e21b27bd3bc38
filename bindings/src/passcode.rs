//! The citizen's passcode as an object whose string form never shows the digits: Kotlin's
//! `toString()`, Swift's `description` and Python's `str()`/`repr()` all give `Passcode(******)`,
//! so logging a `Consent.Passcode` or a passcode argument leaks nothing.

use crate::error::EidError;
use eid_core::account;
use zeroize::Zeroizing;

/// A 6-digit passcode. Made once from the digits the user typed; its string form is redacted.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct Passcode(pub(crate) account::Passcode);

const REDACTED: &str = "Passcode(******)";

impl std::fmt::Display for Passcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Debug for Passcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

#[uniffi::export]
impl Passcode {
    /// Fails with `InvalidInput` unless `digits` are 6 digits.
    #[uniffi::constructor]
    pub fn new(digits: String) -> Result<Self, EidError> {
        let digits = Zeroizing::new(digits);
        Ok(Passcode(account::Passcode::new(&digits)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_string_forms_never_show_the_digits() {
        let p = Passcode::new("135790".into()).unwrap();
        for shown in [p.to_string(), format!("{p:?}")] {
            assert_eq!(shown, "Passcode(******)");
        }
        assert!(Passcode::new("12345".into()).is_err());
    }
}
