//! Small CBOR helpers shared by the document models: strict decoding, and reading a map field
//! by field so that every error names the field (the serde derive would name values instead).

use super::date::Date;
use super::error::DocumentError;
use ciborium::Value;

/// RFC 8943: tag for a `full-date` text string.
pub(crate) const TAG_FULL_DATE: u64 = 1004;

/// Encodes a value (writing to a `Vec` cannot fail; serialisation errors still surface).
pub(crate) fn encode(value: &Value) -> Result<Vec<u8>, ciborium::ser::Error<std::io::Error>> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out)?;
    Ok(out)
}

/// Decodes exactly one CBOR item; trailing bytes are an error so that no data rides along
/// unsigned or unseen.
pub(crate) fn decode(bytes: &[u8]) -> Option<Value> {
    let mut rest = bytes;
    let value: Value = ciborium::from_reader(&mut rest).ok()?;
    rest.is_empty().then_some(value)
}

/// CBOR → JSON for display: text keys, dates as strings, bytes as `{"bytes": n}`.
pub(crate) fn to_display_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Integer(i) => i64::try_from(*i).map_or(J::Null, J::from),
        Value::Bytes(b) => serde_json::json!({ "bytes": b.len() }),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Text(t) => J::String(t.clone()),
        Value::Bool(b) => J::Bool(*b),
        Value::Null => J::Null,
        Value::Tag(_, inner) => to_display_json(inner),
        Value::Array(items) => J::Array(items.iter().map(to_display_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Text(t) => t.clone(),
                        other => to_display_json(other).to_string(),
                    };
                    (key, to_display_json(v))
                })
                .collect(),
        ),
        _ => J::Null,
    }
}

pub(crate) fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

pub(crate) fn date(d: Date) -> Value {
    Value::Tag(TAG_FULL_DATE, Box::new(Value::Text(d.to_string())))
}

/// A map with text keys in the order given; `None` values are left out.
pub(crate) fn map(entries: Vec<(&str, Option<Value>)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (Value::Text(k.to_owned()), v)))
            .collect(),
    )
}

/// A CBOR map read field by field; `prefix` names the map in errors.
pub(crate) struct Fields<'a> {
    prefix: String,
    entries: &'a [(Value, Value)],
}

impl<'a> Fields<'a> {
    /// A map whose keys are all distinct text strings.
    pub(crate) fn new(value: &'a Value, prefix: &str) -> Result<Self, DocumentError> {
        let name = if prefix.is_empty() {
            "document"
        } else {
            prefix
        };
        let Value::Map(entries) = value else {
            return Err(DocumentError::new(name, "must be a map"));
        };
        let mut keys = Vec::with_capacity(entries.len());
        for (k, _) in entries {
            let Value::Text(k) = k else {
                return Err(DocumentError::new(name, "keys must be text"));
            };
            if keys.contains(&k) {
                return Err(DocumentError::new(name, "duplicate key"));
            }
            keys.push(k);
        }
        Ok(Fields {
            prefix: prefix.to_owned(),
            entries,
        })
    }

    pub(crate) fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn err(&self, key: &str, reason: &str) -> DocumentError {
        DocumentError::new(self.name(key), reason)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
            .map(|(_, v)| v)
    }

    fn required(&self, key: &str) -> Result<&'a Value, DocumentError> {
        self.get(key).ok_or_else(|| self.err(key, "missing"))
    }

    pub(crate) fn text(&self, key: &str) -> Result<&'a str, DocumentError> {
        match self.required(key)? {
            Value::Text(t) => Ok(t),
            _ => Err(self.err(key, "must be text")),
        }
    }

    pub(crate) fn date(&self, key: &str) -> Result<Date, DocumentError> {
        match self.required(key)? {
            Value::Tag(TAG_FULL_DATE, inner) => match inner.as_ref() {
                Value::Text(t) => {
                    Date::parse_iso(t).ok_or_else(|| self.err(key, "not a valid date"))
                }
                _ => Err(self.err(key, "must be a full-date (tag 1004) text")),
            },
            _ => Err(self.err(key, "must be a full-date (tag 1004)")),
        }
    }

    pub(crate) fn opt_date(&self, key: &str) -> Result<Option<Date>, DocumentError> {
        self.get(key).map(|_| self.date(key)).transpose()
    }

    pub(crate) fn uint(&self, key: &str) -> Result<u64, DocumentError> {
        match self.required(key)? {
            Value::Integer(i) => u64::try_from(*i).map_err(|_| self.err(key, "must be unsigned")),
            _ => Err(self.err(key, "must be an integer")),
        }
    }

    pub(crate) fn opt_bytes(&self, key: &str) -> Result<Option<&'a [u8]>, DocumentError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b)),
            Some(_) => Err(self.err(key, "must be a byte string")),
        }
    }

    pub(crate) fn array(&self, key: &str) -> Result<&'a [Value], DocumentError> {
        match self.required(key)? {
            Value::Array(a) => Ok(a),
            _ => Err(self.err(key, "must be an array")),
        }
    }

    pub(crate) fn map(&self, key: &str) -> Result<Fields<'a>, DocumentError> {
        Fields::new(self.required(key)?, &self.name(key))
    }

    pub(crate) fn opt_map(&self, key: &str) -> Result<Option<Fields<'a>>, DocumentError> {
        self.get(key).map(|_| self.map(key)).transpose()
    }
}

/// A text field that must be exactly `len` ASCII digits.
pub(crate) fn check_digits(field: &str, value: &str, len: usize) -> Result<(), DocumentError> {
    if value.len() == len && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(DocumentError::new(field, format!("must be {len} digits")))
    }
}
