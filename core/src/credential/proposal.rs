//! Citizen-entered data (issue 18, docs/adr/0057): a citizen proposes a change to a document
//! of a kind its authority accepts from citizens (a vaccination given abroad, a new temporary
//! residence), the authority's clerk verifies it, and the record is merged and re-issued. This
//! is the one merge both sides use: the wallet checks a proposal against the document it holds
//! before sending it, the backend against the registry record on arrival and again at the
//! clerk's decision. The rules are the kind's declaration (`kinds/`), nothing else.
//!
//! How a proposal (a JSON map of top-level fields, typed as `DeclaredDocument::from_json` reads
//! them) merges into the current document:
//! - a `list` field's items are added to the record's list, which is then kept in the order of
//!   the items' first date field (a dose given abroad years ago goes before later ones); an
//!   item already in the record is refused;
//! - any other field replaces the record's value (or is added);
//! - `as_of` ("recorded up to"), when the kind declares it, is the authority's: set to the day
//!   of the merge, and refused in a proposal;
//! - the holder's `id_number`, when the kind declares it, must stay the holder's own.
//!
//! Then every rule of the declaration runs on the merged document; the first broken one is the
//! error, naming the field and the rule, never a value.

use super::cbor;
use super::date::Date;
use super::declared::{DeclaredDocument, value_to_cbor};
use super::error::DocumentError;
use super::kinds::FieldType;
use super::{Document, DocumentKind};
use ciborium::Value;

/// The kinds whose authority takes records and changes entered by the citizen: the vaccination
/// record (Bộ Y tế: doses given abroad or outside the national programme) and residence
/// information (Bộ Công an: a temporary residence, tạm trú, the citizen declares).
pub const CITIZEN_ENTERED: [DocumentKind; 2] = [DocumentKind::Vaccination, DocumentKind::Residence];

/// The date field the authority sets when it records a change.
const AS_OF: &str = "as_of";
/// The holder's personal ID number.
const ID_NUMBER: &str = "id_number";

/// Why a proposal cannot be merged. No variant carries a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalError {
    /// The kind is issued from the authority's own records only.
    #[error("{0} is not entered by citizens: its authority issues it from its own records")]
    NotCitizenEntered(DocumentKind),
    /// A field breaks the declaration (or the merge rules above).
    #[error("invalid field {0}")]
    Invalid(DocumentError),
}

impl From<DocumentError> for ProposalError {
    fn from(e: DocumentError) -> Self {
        ProposalError::Invalid(e)
    }
}

/// `current` (the holder's document of `kind`, if any) with the proposal `fields` merged in as
/// the module says, recorded on `today`, checked by every rule of the kind's declaration.
pub fn apply_proposal(
    kind: DocumentKind,
    current: Option<&Document>,
    fields: &serde_json::Value,
    holder_id_number: &str,
    today: Date,
) -> Result<Document, ProposalError> {
    if !CITIZEN_ENTERED.contains(&kind) {
        return Err(ProposalError::NotCitizenEntered(kind));
    }
    let declaration = kind.declaration();
    let proposed = match fields.as_object() {
        Some(o) if !o.is_empty() => o,
        _ => {
            return Err(
                DocumentError::new("fields", "must be a map naming at least one field").into(),
            );
        }
    };
    let mut merged: Vec<(String, Value)> = match current {
        None => Vec::new(),
        Some(doc) if doc.kind() != kind => {
            return Err(
                DocumentError::new("kind", "the current document is of another kind").into(),
            );
        }
        Some(doc) => match doc.to_cbor() {
            Value::Map(entries) => entries
                .into_iter()
                .filter_map(|(k, v)| match k {
                    Value::Text(t) => Some((t, v)),
                    _ => None,
                })
                .collect(),
            _ => return Err(DocumentError::new("document", "must be a map").into()),
        },
    };
    for (key, value) in proposed {
        let Some(field) = declaration.fields.iter().find(|f| &f.name == key) else {
            return Err(DocumentError::new(key.as_str(), "not a declared field").into());
        };
        if key == AS_OF {
            return Err(DocumentError::new(
                AS_OF,
                "is set by the authority when it records the change",
            )
            .into());
        }
        let new = value_to_cbor(field, value, key)?;
        let slot = merged.iter_mut().find(|(k, _)| k == key);
        match (&field.ty, slot, new) {
            (FieldType::List { items }, Some((_, Value::Array(list))), Value::Array(added)) => {
                for (i, item) in added.into_iter().enumerate() {
                    if list.contains(&item) {
                        return Err(DocumentError::new(
                            format!("{key}[{i}]"),
                            "already in the record",
                        )
                        .into());
                    }
                    list.push(item);
                }
                if let Some(date) = items.iter().find(|f| matches!(f.ty, FieldType::Date)) {
                    // Full-dates as ISO text sort in date order; items without one go last.
                    list.sort_by_key(|item| date_text(item, &date.name));
                }
            }
            (_, Some((_, slot)), new) => *slot = new,
            (_, None, new) => merged.push((key.clone(), new)),
        }
    }
    if declaration
        .fields
        .iter()
        .any(|f| f.name == AS_OF && matches!(f.ty, FieldType::Date))
    {
        match merged.iter_mut().find(|(k, _)| k == AS_OF) {
            Some((_, v)) => *v = cbor::date(today),
            None => merged.push((AS_OF.to_owned(), cbor::date(today))),
        }
    }
    if declaration.fields.iter().any(|f| f.name == ID_NUMBER) {
        let holder = merged.iter().find(|(k, _)| k == ID_NUMBER).map(|(_, v)| v);
        if !matches!(holder, Some(Value::Text(t)) if t == holder_id_number) {
            return Err(
                DocumentError::new(ID_NUMBER, "must be the holder's personal ID number").into(),
            );
        }
    }
    // In declaration order, so equal documents are equal bytes.
    let doc = Value::Map(
        declaration
            .fields
            .iter()
            .filter_map(|f| {
                merged
                    .iter()
                    .find(|(k, _)| *k == f.name)
                    .map(|(k, v)| (cbor::text(k.as_str()), v.clone()))
            })
            .collect(),
    );
    Ok(Document::Declared(DeclaredDocument::from_cbor(kind, &doc)?))
}

/// The ISO text of the full-date `key` of a list item; `None` sorts after every date.
fn date_text(item: &Value, key: &str) -> (bool, String) {
    let text = cbor::Fields::new(item, "")
        .ok()
        .and_then(|f| f.date(key).ok())
        .map(|d| d.to_string());
    (text.is_none(), text.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vaccination(holder: &str) -> Document {
        let doc = json!({
            "holder_name": "Nguyễn Văn An",
            "birth_date": "1990-03-01",
            "id_number": holder,
            "doses": [
                {"vaccine": "19", "dose_number": 1, "date": "1990-03-05", "facility": "BV Bạch Mai"},
                {"vaccine": "213", "dose_number": 1, "date": "2021-08-01", "facility": "TYT Phường"}
            ],
            "as_of": "2025-01-01"
        });
        Document::Declared(DeclaredDocument::from_json(DocumentKind::Vaccination, &doc).unwrap())
    }

    const HOLDER: &str = "001090012345";

    fn today() -> Date {
        Date::new(2026, 12, 4).unwrap()
    }

    #[test]
    fn a_dose_given_abroad_is_added_in_date_order_and_as_of_is_today() {
        let current = vaccination(HOLDER);
        let fields = json!({"doses": [
            {"vaccine": "213", "dose_number": 2, "date": "2022-02-10", "facility": "Hôpital Saint-Louis, Paris"}
        ]});
        let merged = apply_proposal(
            DocumentKind::Vaccination,
            Some(&current),
            &fields,
            HOLDER,
            today(),
        )
        .unwrap();
        let json = merged.fields_json();
        let doses = json["doses"].as_array().unwrap();
        assert_eq!(doses.len(), 3);
        assert_eq!(doses[2]["facility"], "Hôpital Saint-Louis, Paris");
        assert_eq!(json["as_of"], "2026-12-04");
        // A dose before the last recorded one goes in its place by date.
        let earlier = json!({"doses": [
            {"vaccine": "03", "dose_number": 1, "date": "2000-06-01", "facility": "Clinic, Bangkok"}
        ]});
        let merged = apply_proposal(
            DocumentKind::Vaccination,
            Some(&merged),
            &earlier,
            HOLDER,
            today(),
        )
        .unwrap();
        assert_eq!(
            merged.fields_json()["doses"][1]["facility"],
            "Clinic, Bangkok"
        );
    }

    #[test]
    fn refusals_name_the_field_and_the_rule() {
        let current = vaccination(HOLDER);
        let cases = [
            (
                json!({"doses": [{"vaccine": "213", "dose_number": 11, "date": "2022-02-10", "facility": "X"}]}),
                "doses[2].dose_number",
                "must be 1 to 10",
            ),
            (
                json!({"doses": [{"vaccine": "999", "dose_number": 2, "date": "2022-02-10", "facility": "X"}]}),
                "doses[2].vaccine",
                "must be one of the declared values",
            ),
            (
                json!({"doses": [{"vaccine": "213", "dose_number": 1, "date": "2021-08-01", "facility": "TYT Phường"}]}),
                "doses[0]",
                "already in the record",
            ),
            (json!({"colour": "blue"}), "colour", "not a declared field"),
            (
                json!({"as_of": "2030-01-01"}),
                "as_of",
                "is set by the authority when it records the change",
            ),
            (
                json!({"id_number": "001090099999"}),
                "id_number",
                "must be the holder's personal ID number",
            ),
            (
                json!({}),
                "fields",
                "must be a map naming at least one field",
            ),
        ];
        for (fields, field, reason) in cases {
            let err = apply_proposal(
                DocumentKind::Vaccination,
                Some(&current),
                &fields,
                HOLDER,
                today(),
            )
            .unwrap_err();
            assert_eq!(
                err,
                ProposalError::Invalid(DocumentError::new(field, reason)),
                "{fields}"
            );
        }
        // A dose after the day of the merge breaks the kind's own dose rule.
        let future = json!({"doses": [{"vaccine": "213", "dose_number": 2, "date": "2027-01-01", "facility": "X"}]});
        let err = apply_proposal(
            DocumentKind::Vaccination,
            Some(&current),
            &future,
            HOLDER,
            today(),
        )
        .unwrap_err();
        assert!(
            matches!(err, ProposalError::Invalid(ref e) if e.field.starts_with("doses")),
            "{err}"
        );
    }

    #[test]
    fn only_citizen_entered_kinds_and_a_whole_record_when_none_is_held() {
        let err = apply_proposal(
            DocumentKind::JudicialRecord,
            None,
            &json!({"form": 1}),
            HOLDER,
            today(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ProposalError::NotCitizenEntered(DocumentKind::JudicialRecord)
        );
        // No record held: the proposal is the whole record, so missing fields are named.
        let err = apply_proposal(
            DocumentKind::Vaccination,
            None,
            &json!({"holder_name": "A", "id_number": HOLDER}),
            HOLDER,
            today(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ProposalError::Invalid(DocumentError::new("birth_date", "missing"))
        );
    }
}
