//! The reader's verdict on one presentation, as a desk shows it (`eid mdoc read --json`, the
//! verifier bindings): {valid, doctype, elements, reasons, reader_authenticated, not_returned},
//! the element values as JSON (text, numbers, booleans as they are, byte strings as standard
//! base64, tagged dates as their text, maps and arrays recursively). `not_returned` names what
//! was asked for and did not come (an element the holder's mdoc does not hold, a document it
//! does not hold), so a desk does not take a shorter answer for the whole one.

use super::age_over;
use super::error::CheckError;
use super::reader_session::ReaderOutcome;
use super::request::ItemsRequest;
use super::session::STATUS_SESSION_TERMINATION;
use base64::Engine;
use ciborium::Value;
use serde_json::{Map, Value as Json};

/// One disclosed element.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictElement {
    pub namespace: String,
    pub identifier: String,
    pub value: Json,
}

/// An element asked for and not returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReturned {
    pub doc_type: String,
    pub namespace: String,
    pub identifier: String,
}

/// What the reader concludes. Personal data in `elements`: never log it.
#[derive(Clone, PartialEq)]
pub struct MdocVerdict {
    /// Every document verified (issuer, digests, device authentication, validity).
    pub valid: bool,
    /// The docType of the first document, or the one asked for when none came.
    pub doc_type: String,
    /// Empty unless valid.
    pub elements: Vec<VerdictElement>,
    /// Why not valid (English, one per failure).
    pub reasons: Vec<String>,
    /// The request was signed by the reader (reader authentication offered to the holder).
    pub reader_authenticated: bool,
    /// Elements asked for that no verified document returned (empty unless valid). A requested
    /// `age_over_NN` answered by another threshold (§7.2.5) is returned, not listed here.
    pub not_returned: Vec<NotReturned>,
}

impl std::fmt::Debug for MdocVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdocVerdict")
            .field("valid", &self.valid)
            .field("doc_type", &self.doc_type)
            .field("reasons", &self.reasons)
            .field("not_returned", &self.not_returned)
            .finish_non_exhaustive()
    }
}

impl MdocVerdict {
    /// The verdict on `outcome`, for a request of `asked` (one ItemsRequest per document).
    pub fn from_outcome(
        outcome: ReaderOutcome,
        asked: &[ItemsRequest],
        reader_authenticated: bool,
    ) -> MdocVerdict {
        let mut v = MdocVerdict::empty(asked, reader_authenticated);
        match outcome {
            ReaderOutcome::Response(Ok(docs)) => {
                v.valid = true;
                if let Some(d) = docs.first() {
                    v.doc_type = d.doc_type.clone();
                }
                v.not_returned = asked
                    .iter()
                    .flat_map(|r| r.elements.iter().map(move |e| (&r.doc_type, e)))
                    .filter(|(doc_type, e)| {
                        !docs.iter().any(|d| {
                            d.doc_type == **doc_type
                                && d.elements.iter().any(|(ns, id, value)| {
                                    *ns == e.namespace
                                        && age_over::answers(&e.identifier, id, value)
                                })
                        })
                    })
                    .map(|(doc_type, e)| NotReturned {
                        doc_type: doc_type.clone(),
                        namespace: e.namespace.clone(),
                        identifier: e.identifier.clone(),
                    })
                    .collect();
                v.elements = docs
                    .iter()
                    .flat_map(|d| &d.elements)
                    .map(|(ns, id, value)| VerdictElement {
                        namespace: ns.clone(),
                        identifier: id.clone(),
                        value: cbor_to_json(value),
                    })
                    .collect();
            }
            ReaderOutcome::Response(Err(CheckError::NoDocuments)) => {
                let names: Vec<&str> = asked.iter().map(|r| r.doc_type.as_str()).collect();
                v.reasons.push(format!(
                    "the holder returned none of the documents asked for ({})",
                    names.join(", ")
                ))
            }
            ReaderOutcome::Response(Err(e)) => v.reasons.push(e.to_string()),
            ReaderOutcome::Ended { status } => {
                v.reasons.push(if status == STATUS_SESSION_TERMINATION {
                    "the holder ended the session without a response (declined or refused)"
                        .to_owned()
                } else {
                    format!("the holder answered with status {status}")
                })
            }
        }
        v
    }

    /// A reading that failed before any answer (transport, protocol).
    pub fn failed(
        asked: &[ItemsRequest],
        reader_authenticated: bool,
        reason: String,
    ) -> MdocVerdict {
        let mut v = MdocVerdict::empty(asked, reader_authenticated);
        v.reasons.push(reason);
        v
    }

    /// Not valid, nothing disclosed, no reason yet; the docType is the first one asked for.
    fn empty(asked: &[ItemsRequest], reader_authenticated: bool) -> MdocVerdict {
        MdocVerdict {
            valid: false,
            doc_type: asked
                .first()
                .map(|r| r.doc_type.clone())
                .unwrap_or_default(),
            elements: Vec::new(),
            reasons: Vec::new(),
            reader_authenticated,
            not_returned: Vec::new(),
        }
    }
}

/// A CBOR element value as JSON.
pub fn cbor_to_json(v: &Value) -> Json {
    match v {
        Value::Text(s) => Json::String(s.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Null => Json::Null,
        Value::Integer(i) => i64::try_from(*i).map_or(Json::Null, Json::from),
        Value::Float(f) => Json::from(*f),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Tag(_, inner) => cbor_to_json(inner),
        Value::Array(a) => Json::Array(a.iter().map(cbor_to_json).collect()),
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Value::Text(s) => s.clone(),
                    other => cbor_to_json(other).to_string(),
                };
                out.insert(key, cbor_to_json(v));
            }
            Json::Object(out)
        }
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_outcomes() {
        let v = Value::Map(vec![
            (Value::Text("a".into()), Value::Bytes(vec![1, 2, 3])),
            (
                Value::Integer(1.into()),
                Value::Tag(1004, Box::new(Value::Text("2000-01-02".into()))),
            ),
        ]);
        assert_eq!(
            cbor_to_json(&v),
            serde_json::json!({"a": "AQID", "1": "2000-01-02"})
        );
        let asked = [ItemsRequest::new("d", Vec::new())];
        let declined = MdocVerdict::from_outcome(ReaderOutcome::Ended { status: 20 }, &asked, true);
        assert!(!declined.valid && declined.elements.is_empty());
        assert!(
            declined.reasons[0].contains("without a response"),
            "{declined:?}"
        );
        let bad = MdocVerdict::from_outcome(
            ReaderOutcome::Response(Err(CheckError::DocType)),
            &asked,
            false,
        );
        assert_eq!(bad.reasons, [CheckError::DocType.to_string()]);
        assert_eq!(bad.doc_type, "d");
        let none = MdocVerdict::from_outcome(
            ReaderOutcome::Response(Err(CheckError::NoDocuments)),
            &[asked[0].clone(), ItemsRequest::new("e", Vec::new())],
            false,
        );
        assert_eq!(
            none.reasons,
            ["the holder returned none of the documents asked for (d, e)"]
        );
    }
}
