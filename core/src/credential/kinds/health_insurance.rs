//! The health insurance card (thẻ bảo hiểm y tế, BHYT), issued by Viet Nam Social Security.

use super::declaration::build::*;
use super::declaration::{CheckFunction, FieldType, KindDeclaration, SummaryDeclaration};

pub(crate) fn declaration() -> KindDeclaration {
    let facility = FieldType::Object {
        fields: vec![
            field("code", "Mã cơ sở", "Facility code", FieldType::Text).digits(5),
            field("name", "Tên cơ sở", "Facility name", FieldType::Text).plain_text(),
        ],
    };
    KindDeclaration {
        name: "health_insurance".into(),
        label_vi: "Thẻ bảo hiểm y tế".into(),
        label_en: "Health insurance card".into(),
        issuer: authority(
            "social_insurance",
            "Bảo hiểm xã hội Việt Nam",
            "Viet Nam Social Security",
        ),
        fields: vec![
            field("code", "Mã thẻ BHYT", "Card code", FieldType::Text)
                .check(CheckFunction::BhytCode),
            field("holder_name", "Họ và tên", "Full name", FieldType::Text).plain_text(),
            field("birth_date", "Ngày sinh", "Date of birth", FieldType::Date),
            field(
                "facility",
                "Nơi đăng ký khám bệnh, chữa bệnh ban đầu",
                "Registered primary care facility",
                facility,
            ),
            field(
                "valid_from",
                "Giá trị sử dụng từ",
                "Valid from",
                FieldType::Date,
            )
            .after("birth_date", false),
            field(
                "valid_to",
                "Giá trị sử dụng đến",
                "Valid to",
                FieldType::Date,
            )
            .after("valid_from", false),
            field(
                "five_years_continuous",
                "Thời điểm đủ 5 năm liên tục",
                "Five continuous years from",
                FieldType::Date,
            )
            .optional(),
        ],
        summary: SummaryDeclaration {
            holder: path("holder_name"),
            valid_until: Some(path("valid_to")),
        },
        disclosures: vec![disclosure(
            "clinic",
            &[
                ("full_name", "holder_name"),
                ("date_of_birth", "birth_date"),
                ("sex", "identity:sex"),
                ("bhyt_code", "code"),
                ("benefit_level", "code"),
                ("registered_facility_code", "facility.code"),
                ("registered_facility", "facility.name"),
                ("valid_from", "valid_from"),
                ("valid_to", "valid_to"),
            ],
        )],
    }
}
