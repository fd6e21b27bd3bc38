//! The vaccination record (sổ tiêm chủng điện tử), issued by the Ministry of Health from the
//! national immunisation registry. Vaccines come from a declared code list keyed by CDC CVX
//! codes; doses are in date order and none after the record's date (check `doses_in_order`).
//! Declared only: no typed model (ADR 0043).

use super::declaration::build::*;
use super::declaration::{
    CheckFunction, EnumValue, FieldType, KindDeclaration, Rule, SummaryDeclaration,
};

/// The vaccines a record may name: CVX code, Vietnamese and English names (the national
/// expanded programme's vaccines and the common others).
pub(crate) fn vaccines() -> Vec<EnumValue> {
    [
        ("19", "Vắc xin phòng lao (BCG)", "BCG"),
        (
            "08",
            "Vắc xin viêm gan B (trẻ em)",
            "Hepatitis B, adolescent or pediatric",
        ),
        (
            "45",
            "Vắc xin viêm gan B",
            "Hepatitis B, unspecified formulation",
        ),
        (
            "20",
            "Vắc xin bạch hầu, ho gà, uốn ván (DTaP)",
            "DTaP (diphtheria, tetanus, acellular pertussis)",
        ),
        (
            "10",
            "Vắc xin bại liệt (IPV)",
            "IPV (poliovirus, inactivated)",
        ),
        (
            "03",
            "Vắc xin sởi, quai bị, rubella (MMR)",
            "MMR (measles, mumps, rubella)",
        ),
        ("62", "Vắc xin HPV (4 chủng)", "HPV, quadrivalent"),
        ("141", "Vắc xin cúm mùa", "Influenza, seasonal, injectable"),
        (
            "213",
            "Vắc xin COVID-19",
            "SARS-CoV-2 (COVID-19) vaccine, unspecified formulation",
        ),
    ]
    .into_iter()
    .map(|(code, vi, en)| value(code, vi, en))
    .collect()
}

pub(crate) fn declaration() -> KindDeclaration {
    let dose = FieldType::List {
        items: vec![
            field(
                "vaccine",
                "Vắc xin",
                "Vaccine",
                FieldType::Enum { values: vaccines() },
            ),
            field("dose_number", "Mũi số", "Dose number", FieldType::Number).rule(Rule::Range {
                min: Some(1),
                max: Some(10),
            }),
            field("date", "Ngày tiêm", "Date given", FieldType::Date).after("birth_date", false),
            field(
                "facility",
                "Cơ sở tiêm chủng",
                "Administering facility",
                FieldType::Text,
            )
            .plain_text(),
            field("lot_number", "Số lô", "Lot number", FieldType::Text)
                .optional()
                .plain_text(),
        ],
    };
    KindDeclaration {
        name: "vaccination".into(),
        label_vi: "Sổ tiêm chủng".into(),
        label_en: "Vaccination record".into(),
        issuer: authority("health", "Bộ Y tế", "Ministry of Health"),
        fields: vec![
            field("holder_name", "Họ và tên", "Full name", FieldType::Text).plain_text(),
            field("birth_date", "Ngày sinh", "Date of birth", FieldType::Date),
            id_number_field(),
            field("doses", "Các mũi tiêm", "Doses", dose)
                .rule(Rule::Length {
                    min: Some(1),
                    max: Some(100),
                })
                .check(CheckFunction::DosesInOrder),
            field(
                "as_of",
                "Cập nhật đến ngày",
                "Recorded up to",
                FieldType::Date,
            )
            .after("birth_date", false),
        ],
        summary: SummaryDeclaration {
            holder: path("holder_name"),
            valid_until: None,
        },
        disclosures: Vec::new(),
    }
}
