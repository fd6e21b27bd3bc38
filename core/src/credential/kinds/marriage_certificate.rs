//! The marriage certificate (giấy chứng nhận kết hôn), registered by the commune-level People's
//! Committee (Law on Civil Status 2014, art. 17–18) and issued from the civil-status database of
//! the Ministry of Justice; each spouse holds an original, so `holder_name` is one of them. The
//! Law on Marriage and Family 2014, art. 8(1)(a) sets the age: a man from full 20 years, a woman
//! from full 18, on the registration date (`age_at` rules); art. 8(2) does not recognise a
//! marriage between persons of the same sex, so the certificate has a husband and a wife.
//! Declared only: no typed model (ADR 0043, 0047).

use super::birth_certificate::{registration_number, registration_place};
use super::declaration::build::*;
use super::declaration::{CheckFunction, FieldType, KindDeclaration, Rule, SummaryDeclaration};

/// A spouse: name, date of birth (of full `age` years on the registration date), nationality,
/// personal ID number (the wife's differs from the husband's: two persons).
fn spouse(age: u16, distinct_from: Option<&str>) -> FieldType {
    let mut id_number = id_number_field();
    if let Some(other) = distinct_from {
        id_number = id_number.rule(Rule::DiffersFrom { path: other.into() });
    }
    FieldType::Object {
        fields: vec![
            field(
                "full_name",
                "Họ, chữ đệm, tên",
                "Full name",
                FieldType::Text,
            )
            .plain_text(),
            field(
                "date_of_birth",
                "Ngày sinh",
                "Date of birth",
                FieldType::Date,
            )
            .age_at("registration_date", age),
            field("nationality", "Quốc tịch", "Nationality", FieldType::Text).plain_text(),
            id_number,
        ],
    }
}

pub(crate) fn declaration() -> KindDeclaration {
    KindDeclaration {
        name: "marriage_certificate".into(),
        label_vi: "Giấy chứng nhận kết hôn".into(),
        label_en: "Marriage certificate".into(),
        issuer: authority("justice", "Bộ Tư pháp", "Ministry of Justice"),
        fields: vec![
            registration_number(),
            registration_place(),
            field(
                "registration_date",
                "Ngày đăng ký",
                "Date of registration",
                FieldType::Date,
            ),
            // Law on Marriage and Family 2014, art. 8(1)(a): men from full 20, women from full 18.
            field("husband", "Chồng", "Husband", spouse(20, None)),
            field("wife", "Vợ", "Wife", spouse(18, Some("husband.id_number"))),
            field(
                "holder_name",
                "Người giữ bản chính",
                "Original held by",
                FieldType::Text,
            )
            .check(CheckFunction::SpouseHolder),
            field("issue_date", "Ngày cấp", "Date of issue", FieldType::Date)
                .after("registration_date", false),
        ],
        summary: SummaryDeclaration {
            holder: path("holder_name"),
            valid_until: None,
        },
        disclosures: Vec::new(),
    }
}
