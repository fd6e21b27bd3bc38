//! The identity card (thẻ căn cước, CCCD), issued by the Ministry of Public Security.

use super::declaration::build::*;
use super::declaration::{CheckFunction, FieldType, KindDeclaration, SummaryDeclaration};

pub(crate) fn declaration() -> KindDeclaration {
    let sex = FieldType::Enum {
        values: vec![value("M", "Nam", "Male"), value("F", "Nữ", "Female")],
    };
    let level = FieldType::Enum {
        values: vec![
            value("1", "Mức độ 1", "Level 1"),
            value("2", "Mức độ 2", "Level 2"),
        ],
    };
    let account = FieldType::Object {
        fields: vec![
            field("id", "Mã tài khoản", "Account ID", FieldType::Text).plain_text(),
            field("level", "Mức độ", "Level", level),
        ],
    };
    KindDeclaration {
        name: "identity".into(),
        label_vi: "Thẻ căn cước".into(),
        label_en: "Identity card".into(),
        issuer: authority("police", "Bộ Công an", "Ministry of Public Security"),
        fields: vec![
            field(
                "id_number",
                "Số định danh cá nhân",
                "Personal identification number",
                FieldType::Text,
            )
            .check(CheckFunction::CccdIdNumber),
            field("full_name", "Họ và tên", "Full name", FieldType::Text).plain_text(),
            field("birth_date", "Ngày sinh", "Date of birth", FieldType::Date),
            field("sex", "Giới tính", "Sex", sex),
            field("nationality", "Quốc tịch", "Nationality", FieldType::Text).plain_text(),
            field(
                "place_of_origin",
                "Quê quán",
                "Place of origin",
                FieldType::Text,
            )
            .plain_text(),
            field(
                "place_of_residence",
                "Nơi thường trú",
                "Place of residence",
                FieldType::Text,
            )
            .plain_text(),
            field("issue_date", "Ngày cấp", "Date of issue", FieldType::Date)
                .after("birth_date", false),
            field(
                "expiry_date",
                "Có giá trị đến",
                "Date of expiry",
                FieldType::Date,
            )
            .optional()
            .after("issue_date", true),
            field("portrait", "Ảnh chân dung", "Portrait", FieldType::Bytes)
                .optional()
                .check(CheckFunction::Jpeg),
            field(
                "account",
                "Tài khoản định danh điện tử",
                "Electronic identification account",
                account,
            )
            .optional(),
        ],
        summary: SummaryDeclaration {
            holder: path("full_name"),
            valid_until: Some(path("expiry_date")),
        },
        disclosures: vec![
            disclosure(
                "airport",
                &[
                    ("full_name", "full_name"),
                    ("date_of_birth", "birth_date"),
                    ("sex", "sex"),
                    ("id_number", "id_number"),
                    ("nationality", "nationality"),
                    ("card_expiry", "expiry_date"),
                ],
            ),
            disclosure("age_over_18", &[("age_over_18", "birth_date")]),
            disclosure(
                "full",
                &[
                    ("full_name", "full_name"),
                    ("date_of_birth", "birth_date"),
                    ("sex", "sex"),
                    ("id_number", "id_number"),
                    ("nationality", "nationality"),
                    ("place_of_origin", "place_of_origin"),
                    ("place_of_residence", "place_of_residence"),
                    ("issue_date", "issue_date"),
                    ("card_expiry", "expiry_date"),
                ],
            ),
            disclosure(
                "accommodation",
                &[
                    ("full_name", "full_name"),
                    ("date_of_birth", "birth_date"),
                    ("id_number", "id_number"),
                    ("place_of_residence", "place_of_residence"),
                ],
            ),
        ],
    }
}
