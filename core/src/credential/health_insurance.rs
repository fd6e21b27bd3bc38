//! The health insurance card (BHYT: thẻ bảo hiểm y tế), issued by Viet Nam Social Security
//! (BHXH: Bảo hiểm Xã hội Việt Nam).
//!
//! The 15-character card code is `^[A-Z]{2}[1-5][0-9]{2}[0-9]{10}$` (Decision 1666/QĐ-BHXH,
//! 2020): beneficiary group (e.g. DN employees of enterprises, HS pupils, HT pensioners), benefit
//! level 1–5, 2-digit province code, 10-digit social insurance number (mã số BHXH).

use super::cbor::{self, Fields};
use super::date::Date;
use super::error::DocumentError;
use ciborium::Value;
use std::fmt;

/// A checked BHYT card code. `Debug` is redacted (it holds the social insurance number).
#[derive(Clone, PartialEq, Eq)]
pub struct BhytCode(String);

impl fmt::Debug for BhytCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BhytCode(redacted)")
    }
}

impl BhytCode {
    /// Checks each part of the code in order; the error names the part that fails.
    pub fn parse(code: &str) -> Result<BhytCode, DocumentError> {
        let b = code.as_bytes();
        if b.len() != 15 || !code.is_ascii() {
            return Err(DocumentError::new("code", "must be 15 ASCII characters"));
        }
        let part = |r: std::ops::Range<usize>| b.get(r).unwrap_or_default();
        if !part(0..2).iter().all(u8::is_ascii_uppercase) {
            return Err(DocumentError::new(
                "code.group",
                "beneficiary group must be two capital letters",
            ));
        }
        if !matches!(b.get(2), Some(b'1'..=b'5')) {
            return Err(DocumentError::new(
                "code.benefit_level",
                "benefit level must be a digit 1 to 5",
            ));
        }
        if !part(3..5).iter().all(u8::is_ascii_digit) {
            return Err(DocumentError::new(
                "code.province",
                "province code must be two digits",
            ));
        }
        if !part(5..15).iter().all(u8::is_ascii_digit) {
            return Err(DocumentError::new(
                "code.social_insurance_number",
                "social insurance number must be ten digits",
            ));
        }
        Ok(BhytCode(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Beneficiary group (mã đối tượng), e.g. `DN`, `HS`, `HT`.
    pub fn group(&self) -> &str {
        self.0.get(0..2).unwrap_or_default()
    }

    /// Benefit level (mức hưởng) 1–5: share of costs covered (1 and 2: 100 %, 3: 95 %, 4: 80 %,
    /// 5: 100 % including out-of-list costs).
    pub fn benefit_level(&self) -> u8 {
        self.0.as_bytes().get(2).map_or(0, |b| b.wrapping_sub(b'0'))
    }

    /// Province code (mã tỉnh) of the issuing social security office.
    pub fn province_code(&self) -> &str {
        self.0.get(3..5).unwrap_or_default()
    }

    /// Social insurance number (mã số BHXH), the holder's lifelong number.
    pub fn social_insurance_number(&self) -> &str {
        self.0.get(5..15).unwrap_or_default()
    }
}

/// The registered primary-care facility (nơi đăng ký khám chữa bệnh ban đầu).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryCareFacility {
    /// 5-digit facility code: 2-digit province + 3-digit facility (mã KCB).
    pub code: String,
    pub name: String,
}

/// BHYT: thẻ bảo hiểm y tế. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct HealthInsuranceCard {
    pub code: BhytCode,
    pub holder_name: String,
    pub date_of_birth: Date,
    pub facility: PrimaryCareFacility,
    pub valid_from: Date,
    pub valid_to: Date,
    /// Date from which the holder has five continuous years of cover (thời điểm đủ 5 năm liên
    /// tục), which raises benefits; `None` when not yet reached or unknown.
    pub five_years_continuous: Option<Date>,
}

impl fmt::Debug for HealthInsuranceCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthInsuranceCard")
            .field("benefit_level", &self.benefit_level())
            .field("valid_to", &self.valid_to)
            .finish_non_exhaustive()
    }
}

impl HealthInsuranceCard {
    pub fn benefit_level(&self) -> u8 {
        self.code.benefit_level()
    }

    pub fn province_code(&self) -> &str {
        self.code.province_code()
    }

    /// The rules of the kind's declaration (`credential/kinds/`); the error names the field.
    pub fn validate(&self) -> Result<(), DocumentError> {
        crate::credential::kinds::validate(
            super::DocumentKind::HealthInsurance.declaration(),
            &self.to_cbor(),
        )
    }

    pub(crate) fn to_cbor(&self) -> Value {
        cbor::map(vec![
            ("code", Some(cbor::text(self.code.as_str()))),
            ("holder_name", Some(cbor::text(&self.holder_name))),
            ("birth_date", Some(cbor::date(self.date_of_birth))),
            (
                "facility",
                Some(cbor::map(vec![
                    ("code", Some(cbor::text(&self.facility.code))),
                    ("name", Some(cbor::text(&self.facility.name))),
                ])),
            ),
            ("valid_from", Some(cbor::date(self.valid_from))),
            ("valid_to", Some(cbor::date(self.valid_to))),
            (
                "five_years_continuous",
                self.five_years_continuous.map(cbor::date),
            ),
        ])
    }

    pub(crate) fn from_cbor(value: &Value) -> Result<HealthInsuranceCard, DocumentError> {
        crate::credential::kinds::validate(
            super::DocumentKind::HealthInsurance.declaration(),
            value,
        )?;
        let f = Fields::new(value, "")?;
        let facility = f.map("facility")?;
        let card = HealthInsuranceCard {
            code: BhytCode::parse(f.text("code")?)?,
            holder_name: f.text("holder_name")?.to_owned(),
            date_of_birth: f.date("birth_date")?,
            facility: PrimaryCareFacility {
                code: facility.text("code")?.to_owned(),
                name: facility.text("name")?.to_owned(),
            },
            valid_from: f.date("valid_from")?,
            valid_to: f.date("valid_to")?,
            five_years_continuous: f.opt_date("five_years_continuous")?,
        };
        Ok(card)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_parts() {
        let c = BhytCode::parse("DN4790123456789").unwrap();
        assert_eq!(
            (c.group(), c.benefit_level(), c.province_code()),
            ("DN", 4, "79")
        );
        assert_eq!(c.social_insurance_number(), "0123456789");
        assert_eq!(format!("{c:?}"), "BhytCode(redacted)");
    }

    #[test]
    fn each_rule_names_its_part() {
        for (code, field) in [
            ("DN479012345678", "code"),
            ("DN47901234567890", "code"),
            ("ĐN479012345678", "code"),
            ("Dn4790123456789", "code.group"),
            ("D14790123456789", "code.group"),
            ("DN0790123456789", "code.benefit_level"),
            ("DN6790123456789", "code.benefit_level"),
            ("DNX790123456789", "code.benefit_level"),
            ("DN47A0123456789", "code.province"),
            ("DN479012345678A", "code.social_insurance_number"),
            ("DN479-123456789", "code.social_insurance_number"),
        ] {
            assert_eq!(BhytCode::parse(code).unwrap_err().field, field, "{code}");
        }
    }
}
