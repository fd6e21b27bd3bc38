//! The judicial record extract (phiếu lý lịch tư pháp), issued by the Ministry of Justice's
//! National Centre for Judicial Records (Law on Judicial Records 2009): form no. 1 (for the
//! person, or an agency asking about them) or no. 2 (the person's full record). It is used
//! within a validity the requester sets; the extract carries it, after its issue date, and the
//! list shows it expired after that. Declared only: no typed model (ADR 0043).

use super::declaration::build::*;
use super::declaration::{CheckFunction, FieldType, KindDeclaration, Rule, SummaryDeclaration};

pub(crate) fn declaration() -> KindDeclaration {
    let conviction = FieldType::List {
        items: vec![
            field("judgment", "Bản án số", "Judgment number", FieldType::Text).plain_text(),
            field("court", "Tòa án", "Court", FieldType::Text).plain_text(),
            field("date", "Ngày tuyên án", "Date of judgment", FieldType::Date)
                .after("birth_date", false),
            field("offence", "Tội danh", "Offence", FieldType::Text).plain_text(),
            field("sentence", "Hình phạt", "Sentence", FieldType::Text).plain_text(),
        ],
    };
    KindDeclaration {
        name: "judicial_record".into(),
        label_vi: "Phiếu lý lịch tư pháp".into(),
        label_en: "Judicial record extract".into(),
        issuer: authority("justice", "Bộ Tư pháp", "Ministry of Justice"),
        fields: vec![
            field("number", "Số phiếu", "Extract number", FieldType::Text).rule(Rule::Pattern {
                regex: "^[0-9]{1,10}/[0-9]{4}/LLTP$".into(),
                description: "must be a number such as 123/2025/LLTP".into(),
            }),
            field(
                "form",
                "Mẫu phiếu",
                "Form",
                FieldType::Enum {
                    values: vec![
                        value(
                            "1",
                            "Phiếu lý lịch tư pháp số 1",
                            "Judicial record extract no. 1",
                        ),
                        value(
                            "2",
                            "Phiếu lý lịch tư pháp số 2",
                            "Judicial record extract no. 2",
                        ),
                    ],
                },
            ),
            field("holder_name", "Họ và tên", "Full name", FieldType::Text).plain_text(),
            field("birth_date", "Ngày sinh", "Date of birth", FieldType::Date),
            id_number_field(),
            field(
                "result",
                "Tình trạng án tích",
                "Criminal record",
                FieldType::Enum {
                    values: vec![
                        value("none", "Không có án tích", "No criminal record"),
                        value("convicted", "Có án tích", "Has a criminal record"),
                    ],
                },
            )
            .check(CheckFunction::JudicialResult),
            field("convictions", "Các án tích", "Convictions", conviction)
                .optional()
                .rule(Rule::Length {
                    min: None,
                    max: Some(50),
                }),
            field(
                "issuing_authority",
                "Cơ quan cấp",
                "Issuing authority",
                FieldType::Text,
            )
            .plain_text(),
            field("issue_date", "Ngày cấp", "Date of issue", FieldType::Date)
                .after("birth_date", false),
            // Valid until a day after the issue date at the earliest.
            field(
                "valid_until",
                "Có giá trị đến",
                "Valid until",
                FieldType::Date,
            )
            .after("issue_date", true),
        ],
        summary: SummaryDeclaration {
            holder: path("holder_name"),
            valid_until: Some(path("valid_until")),
        },
        disclosures: Vec::new(),
    }
}
