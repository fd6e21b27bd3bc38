//! Checks a document (the credential's `doc` CBOR map) against its kind's declaration: every
//! declared field present when required and of its type, then its rules in order. The first
//! broken rule is reported with the field's path (`facility.code`, `classes[1].expiry_date`),
//! never the value.

use super::checks;
use super::declaration::{FieldDeclaration, FieldType, KindDeclaration, Rule};
use crate::credential::DocumentError;
use crate::credential::cbor::Fields;
use crate::credential::date::Date;
use ciborium::Value;

/// Validates `doc` against `declaration`.
pub fn validate(declaration: &KindDeclaration, doc: &Value) -> Result<(), DocumentError> {
    let root = Fields::new(doc, "")?;
    check_object(&declaration.fields, &root, &root)
}

fn check_object(
    fields: &[FieldDeclaration],
    object: &Fields<'_>,
    root: &Fields<'_>,
) -> Result<(), DocumentError> {
    for field in fields {
        let path = object.name(&field.name);
        let Some(value) = object.get(&field.name) else {
            if field.required {
                return Err(DocumentError::new(path, "missing"));
            }
            continue;
        };
        check_type(field, value, &path, object, root)?;
        for rule in &field.rules {
            check_rule(rule, &field.name, value, &path, object, root)?;
        }
    }
    Ok(())
}

fn check_type(
    field: &FieldDeclaration,
    value: &Value,
    path: &str,
    object: &Fields<'_>,
    root: &Fields<'_>,
) -> Result<(), DocumentError> {
    let wrong = |what: &str| Err(DocumentError::new(path, format!("must be {what}")));
    match &field.ty {
        FieldType::Text if !value.is_text() => wrong("text"),
        FieldType::Date => object.date(&field.name).map(|_| ()),
        FieldType::Number if !value.is_integer() => wrong("an integer"),
        FieldType::Bool if !value.is_bool() => wrong("true or false"),
        FieldType::Bytes if !value.is_bytes() => wrong("a byte string"),
        FieldType::Enum { values } => {
            let wire = enum_wire(value);
            if wire.is_some_and(|w| values.iter().any(|v| v.value == w)) {
                Ok(())
            } else {
                wrong("one of the declared values")
            }
        }
        FieldType::Object { fields } => check_object(fields, &object.map(&field.name)?, root),
        FieldType::List { items } => {
            let Value::Array(list) = value else {
                return wrong("a list");
            };
            for (i, item) in list.iter().enumerate() {
                check_object(items, &Fields::new(item, &format!("{path}[{i}]"))?, root)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// An enum value's wire form: the text, or the integer in decimal.
pub(crate) fn enum_wire(value: &Value) -> Option<String> {
    match value {
        Value::Text(t) => Some(t.clone()),
        Value::Integer(i) => Some(i128::from(*i).to_string()),
        _ => None,
    }
}

fn check_rule(
    rule: &Rule,
    name: &str,
    value: &Value,
    path: &str,
    object: &Fields<'_>,
    root: &Fields<'_>,
) -> Result<(), DocumentError> {
    let fail = |reason: String| Err(DocumentError::new(path, reason));
    match rule {
        Rule::NotBlank => match value.as_text() {
            Some(t) if t.trim().is_empty() => fail("must not be empty".into()),
            _ => Ok(()),
        },
        Rule::Length { min, max } => {
            let len = match value {
                Value::Text(t) => t.chars().count(),
                Value::Array(a) => a.len(),
                _ => return Ok(()),
            };
            if let Some(m) = min.filter(|m| len < *m) {
                fail(format!("at least {m} long"))
            } else if max.is_some_and(|m| len > m) {
                fail("too long".into())
            } else {
                Ok(())
            }
        }
        Rule::Pattern { regex, description } => {
            let Some(text) = value.as_text() else {
                return Ok(());
            };
            // A declaration's pattern that does not compile matches nothing (and the
            // well-formedness check reports it). regex-lite matches in linear time.
            let matches = regex_lite::Regex::new(regex).is_ok_and(|r| r.is_match(text));
            if matches {
                Ok(())
            } else {
                fail(description.clone())
            }
        }
        Rule::Range { min, max } => {
            let Some(n) = value.as_integer().map(i128::from) else {
                return Ok(());
            };
            let below = min.is_some_and(|m| n < i128::from(m));
            let above = max.is_some_and(|m| n > i128::from(m));
            if below || above {
                let bound = |b: &Option<i64>| b.map_or("…".to_owned(), |b| b.to_string());
                fail(format!("must be {} to {}", bound(min), bound(max)))
            } else {
                Ok(())
            }
        }
        Rule::After { field, strict } => {
            let this = date_of(object, name);
            let (Some(this), Some(other)) = (this, sibling_or_root(object, root, field)) else {
                return Ok(());
            };
            if this < other || (*strict && this == other) {
                let word = if *strict { "not after" } else { "before" };
                fail(format!("{word} {}", field.replace('_', " ")))
            } else {
                Ok(())
            }
        }
        Rule::AgeAt { field, years } => {
            let this = date_of(object, name);
            let (Some(birth), Some(at)) = (this, sibling_or_root(object, root, field)) else {
                return Ok(());
            };
            if birth.years_until(at) < u32::from(*years) || birth > at {
                fail(format!(
                    "under {years} years of age on the {}",
                    field.replace('_', " ")
                ))
            } else {
                Ok(())
            }
        }
        Rule::WithinYears { field, years } => {
            let this = date_of(object, name);
            let (Some(end), Some(start)) = (this, sibling_or_root(object, root, field)) else {
                return Ok(());
            };
            if end > start.plus_years(*years) {
                fail(format!(
                    "more than {years} years after the {}",
                    field.replace('_', " ")
                ))
            } else {
                Ok(())
            }
        }
        Rule::SameAs { path: other } => match at_path(root, other) {
            Some(o) if o != value => fail(format!("must equal {}", other.replace('_', " "))),
            _ => Ok(()),
        },
        Rule::DiffersFrom { path: other } => match at_path(root, other) {
            Some(o) if o == value => fail(format!("must differ from {}", other.replace('_', " "))),
            _ => Ok(()),
        },
        Rule::Check { function } => checks::run(*function, value, path, object),
    }
}

/// The value at a dotted path of maps from `root`.
pub(crate) fn at_path<'a>(root: &Fields<'a>, path: &str) -> Option<&'a Value> {
    let (first, rest) = match path.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (path, None),
    };
    let value = root.get(first)?;
    match rest {
        None => Some(value),
        Some(rest) => at_path(&Fields::new(value, "").ok()?, rest),
    }
}

fn date_of(object: &Fields<'_>, key: &str) -> Option<Date> {
    object.get(key)?;
    object.date(key).ok()
}

fn sibling_or_root(object: &Fields<'_>, root: &Fields<'_>, key: &str) -> Option<Date> {
    if object.get(key).is_some() {
        date_of(object, key)
    } else {
        date_of(root, key)
    }
}
