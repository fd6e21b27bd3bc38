//! The health record: the International Patient Summary (tóm tắt hồ sơ sức khỏe), an HL7 FHIR R4
//! IPS bundle, issued by the Ministry of Health. The national e-health book (sổ sức khỏe điện
//! tử) is its own kind, `e_health_book` (ADR 0051). The bundle's structure is checked by a check function (`credential/health_record.rs`).

use super::declaration::build::*;
use super::declaration::{
    CheckFunction, FieldType, KindDeclaration, SummaryDeclaration, ValueSource,
};

pub(crate) fn declaration() -> KindDeclaration {
    KindDeclaration {
        name: "health_record".into(),
        label_vi: "Tóm tắt hồ sơ sức khỏe".into(),
        label_en: "Patient summary (IPS)".into(),
        issuer: authority("health", "Bộ Y tế", "Ministry of Health"),
        fields: vec![
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
                "Tóm tắt hồ sơ sức khỏe (FHIR)",
                "Patient summary (FHIR bundle)",
                FieldType::Text,
            )
            .check(CheckFunction::FhirIpsBundle),
        ],
        summary: SummaryDeclaration {
            holder: ValueSource::FhirPatientName {
                field: "bundle".into(),
            },
            valid_until: None,
        },
        disclosures: Vec::new(),
    }
}
