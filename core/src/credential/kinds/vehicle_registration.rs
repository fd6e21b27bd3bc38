//! The vehicle registration certificate (giấy chứng nhận đăng ký xe), issued by the traffic
//! police of the Ministry of Public Security (Circular 24/2023/TT-BCA). Declared only: no typed
//! model (ADR 0043).

use super::declaration::build::*;
use super::declaration::{CheckFunction, FieldType, KindDeclaration, Rule, SummaryDeclaration};

/// A plate as printed: a two-digit province code (11–99), the series (one or two letters, a
/// digit after them for motorcycles), a hyphen, then four digits or five as `123.45`
/// (`30A-123.45`, `51F-678.90`, `29B1-234.56`, `30E-1234`).
pub(crate) const PLATE_PATTERN: &str =
    r"^(1[1-9]|[2-9][0-9])[A-Z]{1,2}[0-9]?-([0-9]{4}|[0-9]{3}\.[0-9]{2})$";

pub(crate) fn declaration() -> KindDeclaration {
    KindDeclaration {
        name: "vehicle_registration".into(),
        label_vi: "Giấy chứng nhận đăng ký xe".into(),
        label_en: "Vehicle registration certificate".into(),
        issuer: authority("police", "Bộ Công an", "Ministry of Public Security"),
        fields: vec![
            field(
                "number",
                "Số giấy đăng ký",
                "Certificate number",
                FieldType::Text,
            )
            .digits(6),
            field("plate", "Biển số", "Plate number", FieldType::Text).rule(Rule::Pattern {
                regex: PLATE_PATTERN.into(),
                description: "must be a plate number such as 30A-123.45".into(),
            }),
            field(
                "vehicle_type",
                "Loại xe",
                "Vehicle type",
                FieldType::Enum {
                    values: vec![
                        value("car", "Ô tô", "Car"),
                        value("motorcycle", "Mô tô, xe gắn máy", "Motorcycle"),
                    ],
                },
            ),
            field("owner_name", "Tên chủ xe", "Owner's name", FieldType::Text).plain_text(),
            field(
                "owner_id_number",
                "Số định danh cá nhân của chủ xe",
                "Owner's personal ID number",
                FieldType::Text,
            )
            .check(CheckFunction::CccdIdNumber),
            field("brand", "Nhãn hiệu", "Make", FieldType::Text).plain_text(),
            field("model", "Số loại", "Model", FieldType::Text).plain_text(),
            field("colour", "Màu sơn", "Colour", FieldType::Text).plain_text(),
            field(
                "vin",
                "Số khung (VIN)",
                "Chassis number (VIN)",
                FieldType::Text,
            )
            .check(CheckFunction::Vin),
            field("engine_number", "Số máy", "Engine number", FieldType::Text).rule(
                Rule::Pattern {
                    regex: "^[A-Z0-9-]{6,20}$".into(),
                    description: "must be 6 to 20 capital letters, digits or hyphens".into(),
                },
            ),
            field(
                "registration_date",
                "Ngày đăng ký",
                "Date of registration",
                FieldType::Date,
            ),
            field(
                "issuing_authority",
                "Cơ quan đăng ký",
                "Registering authority",
                FieldType::Text,
            )
            .plain_text(),
        ],
        summary: SummaryDeclaration {
            holder: path("owner_name"),
            valid_until: None,
        },
        disclosures: Vec::new(),
    }
}
