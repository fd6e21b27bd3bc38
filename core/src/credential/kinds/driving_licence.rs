//! The driving licence (giấy phép lái xe, GPLX). Classes are read by their issue date: the
//! 2025 set from 1 January 2025, the old set before (see `credential/driving.rs`).

use super::declaration::build::*;
use super::declaration::{
    CheckFunction, FieldType, KindDeclaration, Rule, SummaryDeclaration, ValueSource,
};
use crate::credential::driving::MAX_POINTS;

pub(crate) fn declaration() -> KindDeclaration {
    let classes = FieldType::List {
        items: vec![
            field("class", "Hạng", "Class", FieldType::Text).check(CheckFunction::LicenceClass),
            field("issue_date", "Ngày cấp", "Date of issue", FieldType::Date)
                .after("birth_date", false),
            field(
                "expiry_date",
                "Có giá trị đến",
                "Valid until",
                FieldType::Date,
            )
            .optional()
            .after("issue_date", true),
        ],
    };
    KindDeclaration {
        name: "driving_licence".into(),
        label_vi: "Giấy phép lái xe".into(),
        label_en: "Driving licence".into(),
        issuer: authority(
            "transport",
            "Bộ Giao thông vận tải",
            "Ministry of Transport",
        ),
        fields: vec![
            field(
                "number",
                "Số giấy phép lái xe",
                "Licence number",
                FieldType::Text,
            )
            .digits(12),
            field("holder_name", "Họ và tên", "Full name", FieldType::Text).plain_text(),
            field("birth_date", "Ngày sinh", "Date of birth", FieldType::Date),
            field("classes", "Các hạng", "Classes", classes).rule(Rule::Length {
                min: Some(1),
                max: Some(25),
            }),
            field(
                "issuing_authority",
                "Cơ quan cấp",
                "Issuing authority",
                FieldType::Text,
            )
            .plain_text(),
            field("points", "Số điểm", "Points", FieldType::Number).rule(Rule::Range {
                min: Some(0),
                max: Some(i64::from(MAX_POINTS)),
            }),
        ],
        summary: SummaryDeclaration {
            holder: path("holder_name"),
            valid_until: Some(ValueSource::LatestInList {
                list: "classes".into(),
                field: "expiry_date".into(),
            }),
        },
        disclosures: vec![disclosure(
            "driving",
            &[
                ("licence_number", "number"),
                ("licence_classes", "classes"),
                ("licence_valid_until", "classes.expiry_date"),
                ("points", "points"),
            ],
        )],
    }
}
