//! The e-health book (sổ sức khỏe điện tử), issued by the Ministry of Health: the citizen's
//! record of encounters, measurements, diagnoses, immunisations, allergies and medicines as an
//! HL7 FHIR R4 Bundle (JSON text in `bundle`), with the summary a list and a clinic desk show
//! first (blood group, allergies recorded, last encounter). The bundle is checked by
//! `fhir_book.rs` (check `e_health_book_bundle`), which also ties the summary fields and the
//! holder's ID number to it. Declared only: no typed model (ADRs 0043, 0051).

use super::declaration::build::*;
use super::declaration::{
    CheckFunction, EnumValue, FieldType, KindDeclaration, Rule, SummaryDeclaration,
};

/// ABO and Rh(D) groups: the wire value is what the bundle's blood group Observation (LOINC
/// 882-1) carries as its `valueCodeableConcept.text`.
pub(crate) fn blood_groups() -> Vec<EnumValue> {
    ["A", "B", "AB", "O"]
        .into_iter()
        .flat_map(|abo| {
            [
                value(
                    &format!("{abo}+"),
                    &format!("Nhóm {abo}, Rh(D) dương"),
                    &format!("{abo} Rh(D) positive"),
                ),
                value(
                    &format!("{abo}-"),
                    &format!("Nhóm {abo}, Rh(D) âm"),
                    &format!("{abo} Rh(D) negative"),
                ),
            ]
        })
        .collect()
}

pub(crate) fn declaration() -> KindDeclaration {
    KindDeclaration {
        name: "e_health_book".into(),
        label_vi: "Sổ sức khỏe điện tử".into(),
        label_en: "Electronic health book".into(),
        issuer: authority("health", "Bộ Y tế", "Ministry of Health"),
        fields: vec![
            field("holder_name", "Họ và tên", "Full name", FieldType::Text).plain_text(),
            field("birth_date", "Ngày sinh", "Date of birth", FieldType::Date),
            id_number_field(),
            // Summary fields: checked against the bundle by `e_health_book_bundle`.
            field(
                "blood_type",
                "Nhóm máu",
                "Blood group",
                FieldType::Enum {
                    values: blood_groups(),
                },
            )
            .optional(),
            field(
                "allergy_count",
                "Số dị ứng đã ghi nhận",
                "Allergies recorded",
                FieldType::Number,
            )
            .rule(Rule::Range {
                min: Some(0),
                max: Some(100),
            }),
            field(
                "last_encounter",
                "Lần khám gần nhất",
                "Last encounter",
                FieldType::Date,
            )
            .optional()
            .after("birth_date", false),
            field(
                "as_of",
                "Cập nhật đến ngày",
                "Recorded up to",
                FieldType::Date,
            )
            .after("birth_date", false),
            field(
                "fhir_version",
                "Phiên bản FHIR",
                "FHIR version",
                FieldType::Enum {
                    values: vec![value("4.0.1", "FHIR R4", "FHIR R4")],
                },
            ),
            field(
                "bundle",
                "Sổ sức khỏe (FHIR R4 Bundle)",
                "Health book (FHIR R4 Bundle)",
                FieldType::Text,
            )
            .check(CheckFunction::EHealthBookBundle),
        ],
        summary: SummaryDeclaration {
            holder: path("holder_name"),
            valid_until: None,
        },
        disclosures: Vec::new(),
    }
}
