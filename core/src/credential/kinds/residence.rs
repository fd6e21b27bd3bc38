//! Residence information (thông tin cư trú: thường trú, tạm trú), issued by the police (Bộ Công
//! an) from the national residence database, which replaced the paper household and
//! temporary-residence books (Law on Residence 2020). The permanent residence, and a temporary
//! residence with its start and end (art. 27: registered for a term; the end strictly after the
//! start, and at most 2 years: art. 27(3)). Addresses in the two-level administration since 1 July 2025: the house and street or
//! hamlet, the commune (xã, phường, đặc khu) and the province. Declared only: no typed model
//! (ADR 0043, 0047).

use super::declaration::build::*;
use super::declaration::{FieldDeclaration, FieldType, KindDeclaration, SummaryDeclaration};

/// The longest term of one temporary residence registration (Law on Residence 2020, art.
/// 27(3): "thời hạn tạm trú tối đa là 02 năm", renewable).
const TEMPORARY_RESIDENCE_MAX_YEARS: u16 = 2;

/// An address, every part non-blank.
fn address() -> FieldType {
    FieldType::Object {
        fields: vec![
            field(
                "street",
                "Số nhà, đường phố, thôn, ấp",
                "House number and street, or hamlet",
                FieldType::Text,
            )
            .plain_text(),
            field("commune", "Xã, phường", "Commune or ward", FieldType::Text).plain_text(),
            field(
                "province",
                "Tỉnh, thành phố",
                "Province or city",
                FieldType::Text,
            )
            .plain_text(),
        ],
    }
}

fn address_field(vi: &str, en: &str) -> FieldDeclaration {
    field("address", vi, en, address())
}

pub(crate) fn declaration() -> KindDeclaration {
    let permanent = FieldType::Object {
        fields: vec![
            address_field("Địa chỉ thường trú", "Permanent address"),
            field(
                "registration_date",
                "Ngày đăng ký thường trú",
                "Registered since",
                FieldType::Date,
            )
            .after("date_of_birth", false),
        ],
    };
    let temporary = FieldType::Object {
        fields: vec![
            address_field("Địa chỉ tạm trú", "Temporary address"),
            field("start_date", "Tạm trú từ ngày", "From", FieldType::Date)
                .after("date_of_birth", false),
            field("valid_until", "Tạm trú đến ngày", "Until", FieldType::Date)
                .after("start_date", true)
                .within_years("start_date", TEMPORARY_RESIDENCE_MAX_YEARS),
        ],
    };
    KindDeclaration {
        name: "residence".into(),
        label_vi: "Thông tin cư trú".into(),
        label_en: "Residence information".into(),
        issuer: authority("police", "Bộ Công an", "Ministry of Public Security"),
        fields: vec![
            field("holder_name", "Họ và tên", "Full name", FieldType::Text).plain_text(),
            field(
                "date_of_birth",
                "Ngày sinh",
                "Date of birth",
                FieldType::Date,
            ),
            id_number_field(),
            field(
                "permanent",
                "Nơi thường trú",
                "Permanent residence",
                permanent,
            ),
            field("temporary", "Nơi tạm trú", "Temporary residence", temporary).optional(),
            field(
                "head_of_household",
                "Họ và tên chủ hộ",
                "Head of household",
                FieldType::Text,
            )
            .plain_text(),
            field(
                "relationship",
                "Quan hệ với chủ hộ",
                "Relationship to the head of household",
                FieldType::Text,
            )
            .plain_text(),
            field(
                "as_of",
                "Cập nhật đến ngày",
                "Recorded up to",
                FieldType::Date,
            )
            .after("date_of_birth", false),
        ],
        summary: SummaryDeclaration {
            holder: path("holder_name"),
            valid_until: None,
        },
        disclosures: Vec::new(),
    }
}
