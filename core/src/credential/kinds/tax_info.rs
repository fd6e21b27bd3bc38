//! Tax information (thông tin thuế), issued by the Tax Department of the Ministry of Finance
//! (Cục Thuế). The personal ID number replaces the individual's tax code (Law on Tax
//! Administration 2019, art. 35(5); Circular 86/2024/TT-BTC, from 1 July 2025): the tax
//! identifier is the 12-digit personal ID number and equals the holder's. Declared only: no
//! typed model (ADR 0043, 0047).

use super::declaration::build::*;
use super::declaration::{CheckFunction, FieldType, KindDeclaration, Rule, SummaryDeclaration};

pub(crate) fn declaration() -> KindDeclaration {
    KindDeclaration {
        name: "tax_info".into(),
        label_vi: "Thông tin thuế".into(),
        label_en: "Tax information".into(),
        issuer: authority("tax", "Bộ Tài chính", "Ministry of Finance"),
        fields: vec![
            field("holder_name", "Họ và tên", "Full name", FieldType::Text).plain_text(),
            id_number_field(),
            field(
                "tax_id",
                "Mã số thuế",
                "Tax identification number",
                FieldType::Text,
            )
            .check(CheckFunction::CccdIdNumber)
            .rule(Rule::SameAs {
                path: "id_number".into(),
            }),
            field(
                "tax_authority",
                "Cơ quan thuế quản lý",
                "Tax office",
                FieldType::Text,
            )
            .plain_text(),
            field(
                "status",
                "Trạng thái",
                "Status",
                FieldType::Enum {
                    values: vec![
                        value("active", "Đang hoạt động", "Active"),
                        value("suspended", "Tạm ngừng hoạt động", "Suspended"),
                        value(
                            "closed",
                            "Chấm dứt hiệu lực mã số thuế",
                            "Tax identifier closed",
                        ),
                    ],
                },
            ),
            field(
                "registration_date",
                "Ngày đăng ký thuế",
                "Registered for tax on",
                FieldType::Date,
            )
            .optional(),
        ],
        summary: SummaryDeclaration {
            holder: path("holder_name"),
            valid_until: None,
        },
        disclosures: Vec::new(),
    }
}
