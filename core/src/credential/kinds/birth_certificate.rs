//! The birth certificate (giấy khai sinh), registered by the commune-level People's Committee
//! (Law on Civil Status 2014, art. 16) and held in the electronic civil-status database of the
//! Ministry of Justice, which issues it to the wallet. The registration number is `N/YYYY`
//! (check `civil_registration_number`, ADR 0047); registration falls between the birth and the
//! certificate's issue date (the record carries its own "now", as the vaccination record's
//! `as_of`: a declaration has no clock). Declared only: no typed model (ADR 0043).

use super::declaration::build::*;
use super::declaration::{
    CheckFunction, FieldDeclaration, FieldType, KindDeclaration, SummaryDeclaration,
};

/// A civil registration's number (`N/YYYY`), on birth and marriage certificates alike.
pub(crate) fn registration_number() -> FieldDeclaration {
    field(
        "number",
        "Số đăng ký",
        "Registration number",
        FieldType::Text,
    )
    .check(CheckFunction::CivilRegistrationNumber)
}

/// The place where a civil registration was made (the commune's People's Committee).
pub(crate) fn registration_place() -> FieldDeclaration {
    field(
        "registration_place",
        "Nơi đăng ký",
        "Place of registration",
        FieldType::Text,
    )
    .plain_text()
}

/// Male and female, as on the identity card.
pub(crate) fn sex() -> FieldType {
    FieldType::Enum {
        values: vec![value("M", "Nam", "Male"), value("F", "Nữ", "Female")],
    }
}

pub(crate) fn declaration() -> KindDeclaration {
    KindDeclaration {
        name: "birth_certificate".into(),
        label_vi: "Giấy khai sinh".into(),
        label_en: "Birth certificate".into(),
        issuer: authority("justice", "Bộ Tư pháp", "Ministry of Justice"),
        fields: vec![
            registration_number(),
            registration_place(),
            field(
                "registration_date",
                "Ngày đăng ký",
                "Date of registration",
                FieldType::Date,
            )
            .after("date_of_birth", false),
            field(
                "full_name",
                "Họ, chữ đệm, tên",
                "Full name",
                FieldType::Text,
            )
            .plain_text(),
            field("sex", "Giới tính", "Sex", sex()),
            field(
                "date_of_birth",
                "Ngày sinh",
                "Date of birth",
                FieldType::Date,
            ),
            field(
                "place_of_birth",
                "Nơi sinh",
                "Place of birth",
                FieldType::Text,
            )
            .plain_text(),
            field("nationality", "Quốc tịch", "Nationality", FieldType::Text).plain_text(),
            field("ethnicity", "Dân tộc", "Ethnicity", FieldType::Text).plain_text(),
            id_number_field(),
            field(
                "father_name",
                "Họ và tên cha",
                "Father's name",
                FieldType::Text,
            )
            .optional()
            .plain_text(),
            field(
                "mother_name",
                "Họ và tên mẹ",
                "Mother's name",
                FieldType::Text,
            )
            .optional()
            .plain_text(),
            // The day this copy (trích lục) was issued: registration is never after it.
            field("issue_date", "Ngày cấp", "Date of issue", FieldType::Date)
                .after("registration_date", false),
        ],
        summary: SummaryDeclaration {
            holder: path("full_name"),
            valid_until: None,
        },
        disclosures: Vec::new(),
    }
}
