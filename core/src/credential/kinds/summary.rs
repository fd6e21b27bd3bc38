//! A document's list entry from its declaration: the holder and the date it is valid until.

use super::declaration::{KindDeclaration, ValueSource};
use crate::credential::HealthRecord;
use crate::credential::cbor::Fields;
use crate::credential::date::Date;
use ciborium::Value;
use std::fmt;

/// What a wallet list shows for a document of any declared kind. `Debug` hides the holder.
#[derive(Clone, PartialEq, Eq)]
pub struct Summary {
    /// The kind's machine name.
    pub kind: String,
    pub title_vi: String,
    pub title_en: String,
    pub holder: String,
    pub valid_until: Option<Date>,
}

impl fmt::Debug for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Summary")
            .field("kind", &self.kind)
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

/// The summary of `doc` (a validated document of `declaration`'s kind).
pub fn summarise(declaration: &KindDeclaration, doc: &Value) -> Summary {
    let holder = text(&declaration.summary.holder, doc).unwrap_or_default();
    let valid_until = declaration
        .summary
        .valid_until
        .as_ref()
        .and_then(|s| date(s, doc));
    Summary {
        kind: declaration.name.clone(),
        title_vi: declaration.label_vi.clone(),
        title_en: declaration.label_en.clone(),
        holder,
        valid_until,
    }
}

/// The value at a dotted path of maps.
fn at<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(doc, |v, key| Fields::new(v, "").ok()?.get(key))
}

fn as_date(v: &Value) -> Option<Date> {
    match v {
        Value::Tag(crate::credential::cbor::TAG_FULL_DATE, inner) => {
            Date::parse_iso(inner.as_text()?)
        }
        _ => None,
    }
}

fn text(source: &ValueSource, doc: &Value) -> Option<String> {
    match source {
        ValueSource::Field { path } => at(doc, path)?.as_text().map(str::to_owned),
        ValueSource::FhirPatientName { field } => {
            HealthRecord::from_json(at(doc, field)?.as_text()?.as_bytes())
                .ok()?
                .patient_name()
        }
        ValueSource::LatestInList { .. } => None,
    }
}

fn date(source: &ValueSource, doc: &Value) -> Option<Date> {
    match source {
        ValueSource::Field { path } => as_date(at(doc, path)?),
        ValueSource::LatestInList { list, field } => {
            let items = at(doc, list)?.as_array()?;
            // Any item without the date: none (a class that never expires).
            items
                .iter()
                .map(|item| at(item, field).and_then(as_date))
                .try_fold(None::<Date>, |max, d| {
                    d.map(|d| Some(max.map_or(d, |m| m.max(d))))
                })
                .flatten()
        }
        ValueSource::FhirPatientName { .. } => None,
    }
}
