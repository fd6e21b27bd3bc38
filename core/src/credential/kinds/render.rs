//! A document's fields with their labels, in declaration order: what an app shows for a kind
//! it was not built with.

use super::declaration::{FieldDeclaration, FieldType, KindDeclaration};
use super::validate::enum_wire;
use crate::credential::cbor::{self, Fields};
use serde::Serialize;
use std::fmt;

/// One field for display. Objects hold their fields as a list of `LabelledField` in `value`;
/// lists hold one such list per item. `Debug` hides the value.
#[derive(Clone, PartialEq, Serialize)]
pub struct LabelledField {
    pub name: String,
    pub label_vi: String,
    pub label_en: String,
    /// [`FieldType::name`].
    #[serde(rename = "type")]
    pub ty: String,
    /// Dates as `YYYY-MM-DD`, bytes as `{"bytes": n}`, enums as their wire value.
    pub value: serde_json::Value,
    /// An enum value's labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_label_vi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_label_en: Option<String>,
}

impl fmt::Debug for LabelledField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabelledField")
            .field("name", &self.name)
            .field("type", &self.ty)
            .finish_non_exhaustive()
    }
}

/// The declared fields of `doc` that it holds, in declaration order.
pub fn render(declaration: &KindDeclaration, doc: &ciborium::Value) -> Vec<LabelledField> {
    Fields::new(doc, "")
        .map(|f| render_fields(&declaration.fields, &f))
        .unwrap_or_default()
}

fn render_fields(fields: &[FieldDeclaration], object: &Fields<'_>) -> Vec<LabelledField> {
    fields
        .iter()
        .filter_map(|field| {
            let value = object.get(&field.name)?;
            let (mut value_label_vi, mut value_label_en) = (None, None);
            let json = match &field.ty {
                FieldType::Object { fields } => {
                    let inner = Fields::new(value, &field.name).ok()?;
                    serde_json::to_value(render_fields(fields, &inner)).ok()?
                }
                FieldType::List { items } => serde_json::Value::Array(
                    value
                        .as_array()?
                        .iter()
                        .filter_map(|item| {
                            let inner = Fields::new(item, &field.name).ok()?;
                            serde_json::to_value(render_fields(items, &inner)).ok()
                        })
                        .collect(),
                ),
                FieldType::Enum { values } => {
                    let wire = enum_wire(value);
                    if let Some(v) = values.iter().find(|v| Some(&v.value) == wire.as_ref()) {
                        value_label_vi = Some(v.label_vi.clone());
                        value_label_en = Some(v.label_en.clone());
                    }
                    cbor::to_display_json(value)
                }
                _ => cbor::to_display_json(value),
            };
            Some(LabelledField {
                name: field.name.clone(),
                label_vi: field.label_vi.clone(),
                label_en: field.label_en.clone(),
                ty: field.ty.name().to_owned(),
                value: json,
                value_label_vi,
                value_label_en,
            })
        })
        .collect()
}
