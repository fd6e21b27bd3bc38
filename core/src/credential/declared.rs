//! A document of a kind that has no typed model: its `doc` CBOR map, checked against the kind's
//! declaration (`credential/kinds/`) whenever one is made. Vehicle registrations, vaccination
//! records and judicial record extracts are held this way (ADR 0043): the declaration is the
//! whole of what the wallet knows about them.

use super::DocumentKind;
use super::cbor;
use super::date::Date;
use super::error::DocumentError;
use super::kinds::{FieldDeclaration, FieldType, validate};
use ciborium::Value;
use std::fmt;

/// A validated document of a declared-only kind. `Debug` shows the kind only.
#[derive(Clone, PartialEq)]
pub struct DeclaredDocument {
    kind: DocumentKind,
    doc: Value,
}

impl fmt::Debug for DeclaredDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeclaredDocument")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl DeclaredDocument {
    /// The `doc` map of a credential of `kind`, checked against its declaration.
    pub fn from_cbor(kind: DocumentKind, doc: &Value) -> Result<DeclaredDocument, DocumentError> {
        if !kind.is_declared_only() {
            return Err(DocumentError::new("kind", "has a typed model"));
        }
        validate(kind.declaration(), doc)?;
        Ok(DeclaredDocument {
            kind,
            doc: doc.clone(),
        })
    }

    /// A document from JSON typed by the declaration: dates as `YYYY-MM-DD` strings (encoded as
    /// RFC 8943 full-dates), numbers as integers, enums as their wire value. Fields the
    /// declaration does not know are refused; then every rule is checked.
    pub fn from_json(
        kind: DocumentKind,
        json: &serde_json::Value,
    ) -> Result<DeclaredDocument, DocumentError> {
        if !kind.is_declared_only() {
            return Err(DocumentError::new("kind", "has a typed model"));
        }
        let doc = json_to_cbor(&kind.declaration().fields, json)?;
        DeclaredDocument::from_cbor(kind, &doc)
    }

    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    pub(crate) fn to_cbor(&self) -> Value {
        self.doc.clone()
    }

    /// A top-level text field.
    pub(crate) fn text(&self, key: &str) -> Option<&str> {
        cbor::Fields::new(&self.doc, "").ok()?.text(key).ok()
    }
}

/// A document's JSON typed by the declared `fields` as its CBOR `doc` map (not yet checked
/// against the rules): also what issues the kinds declared as data (docs/adr/0060).
pub(crate) fn json_to_cbor(
    fields: &[FieldDeclaration],
    json: &serde_json::Value,
) -> Result<Value, DocumentError> {
    object_to_cbor(fields, json, "")
}

fn object_to_cbor(
    fields: &[FieldDeclaration],
    json: &serde_json::Value,
    prefix: &str,
) -> Result<Value, DocumentError> {
    let name = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    let Some(object) = json.as_object() else {
        return Err(DocumentError::new(
            if prefix.is_empty() {
                "document"
            } else {
                prefix
            },
            "must be a map",
        ));
    };
    if let Some(unknown) = object
        .keys()
        .find(|k| !fields.iter().any(|f| &f.name == *k))
    {
        return Err(DocumentError::new(name(unknown), "not a declared field"));
    }
    let mut entries = Vec::new();
    // In declaration order, so equal documents are equal bytes.
    for field in fields {
        if let Some(value) = object.get(&field.name) {
            let path = name(&field.name);
            entries.push((
                cbor::text(field.name.as_str()),
                value_to_cbor(field, value, &path)?,
            ));
        }
    }
    Ok(Value::Map(entries))
}

pub(super) fn value_to_cbor(
    field: &FieldDeclaration,
    value: &serde_json::Value,
    path: &str,
) -> Result<Value, DocumentError> {
    use serde_json::Value as J;
    let wrong = |what: &str| DocumentError::new(path, format!("must be {what}"));
    Ok(match (&field.ty, value) {
        (FieldType::Text, J::String(s)) => cbor::text(s.as_str()),
        (FieldType::Date, J::String(s)) => {
            cbor::date(Date::parse_iso(s).ok_or_else(|| wrong("a date (YYYY-MM-DD)"))?)
        }
        (FieldType::Number, J::Number(n)) => {
            Value::Integer(n.as_i64().ok_or_else(|| wrong("an integer"))?.into())
        }
        (FieldType::Bool, J::Bool(b)) => Value::Bool(*b),
        (FieldType::Enum { .. }, J::String(s)) => cbor::text(s.as_str()),
        (FieldType::Enum { .. }, J::Number(n)) => {
            Value::Integer(n.as_i64().ok_or_else(|| wrong("an integer"))?.into())
        }
        (FieldType::Object { fields }, J::Object(_)) => object_to_cbor(fields, value, path)?,
        (FieldType::List { items }, J::Array(list)) => Value::Array(
            list.iter()
                .enumerate()
                .map(|(i, item)| object_to_cbor(items, item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        (ty, _) => return Err(wrong(ty.name())),
    })
}
