//! The social insurance book (sổ bảo hiểm xã hội), issued by Viet Nam Social Security (Bảo hiểm
//! xã hội Việt Nam). Its number is the 10-digit social insurance number (mã số BHXH, the last ten
//! characters of the BHYT card code, Decision 1666/QĐ-BHXH). The contribution periods are in
//! order, do not overlap, and add up to the stated total (check `contribution_periods`).
//! Declared only: no typed model (ADR 0043, 0047).

use super::declaration::build::*;
use super::declaration::{CheckFunction, FieldType, KindDeclaration, Rule, SummaryDeclaration};

/// A month as `YYYY-MM`.
fn month(name: &str, vi: &str, en: &str) -> super::declaration::FieldDeclaration {
    field(name, vi, en, FieldType::Text).rule(Rule::Pattern {
        regex: "^[0-9]{4}-(0[1-9]|1[0-2])$".into(),
        description: "must be a month such as 2024-07".into(),
    })
}

pub(crate) fn declaration() -> KindDeclaration {
    let period = FieldType::List {
        items: vec![
            month("from_month", "Từ tháng", "From month"),
            month("to_month", "Đến tháng", "To month"),
            field("employer", "Đơn vị", "Employer", FieldType::Text).plain_text(),
            // VND a month; the salary the contributions are computed on.
            field(
                "salary_base",
                "Tiền lương đóng BHXH (đồng)",
                "Contribution salary (VND)",
                FieldType::Number,
            )
            .rule(Rule::Range {
                min: Some(1),
                max: Some(1_000_000_000),
            }),
        ],
    };
    KindDeclaration {
        name: "social_insurance_book".into(),
        label_vi: "Sổ bảo hiểm xã hội".into(),
        label_en: "Social insurance book".into(),
        issuer: authority(
            "social_insurance",
            "Bảo hiểm xã hội Việt Nam",
            "Viet Nam Social Security",
        ),
        fields: vec![
            field(
                "book_number",
                "Mã số BHXH",
                "Social insurance number",
                FieldType::Text,
            )
            .digits(10),
            field("holder_name", "Họ và tên", "Full name", FieldType::Text).plain_text(),
            field(
                "date_of_birth",
                "Ngày sinh",
                "Date of birth",
                FieldType::Date,
            ),
            id_number_field(),
            field(
                "periods",
                "Quá trình đóng BHXH",
                "Contribution periods",
                period,
            )
            .rule(Rule::Length {
                min: None,
                max: Some(200),
            })
            .check(CheckFunction::ContributionPeriods),
            field(
                "total_months",
                "Tổng số tháng đóng",
                "Total months contributed",
                FieldType::Number,
            )
            .rule(Rule::Range {
                min: Some(0),
                max: Some(1200),
            }),
            field(
                "issuing_authority",
                "Cơ quan BHXH",
                "Social insurance office",
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
