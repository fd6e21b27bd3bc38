//! Document history (issue 18, docs/adr/0056): when a sync replaces a document by a new version
//! of the issuer (licence points deducted, a card renewed), the wallet records what changed —
//! the labelled fields of the kind's declaration whose value differs, old and new — and when.
//! Entries are sealed in the store (`history` table) like documents; values never leave it.

use super::{Result, Wallet, WalletError};
use crate::credential::DocumentKind;
use crate::credential::kinds::LabelledField;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One field that changed. `old` is `None` for a field the new version added, `new` for one it
/// dropped. Values are shown as the document shows them (enum labels in Vietnamese).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Dotted path of the field (`points`, `facility.name`).
    pub field: String,
    pub label_vi: String,
    pub label_en: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl fmt::Debug for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldChange")
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

/// A document replaced by a new version: which, when, and what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Wall-clock time of the sync that brought the new version, Unix milliseconds.
    pub at_ms: i64,
    pub kind: DocumentKind,
    /// The new version's id (what `list` shows now) and the one it replaced.
    pub document_id: String,
    pub previous_id: String,
    /// The new version's credential validity start (when the issuer re-issued it), Unix seconds.
    pub issued_at: u64,
    pub changes: Vec<FieldChange>,
}

/// A leaf's value as shown: the enum label when there is one, text as is, others as JSON.
fn shown(f: &LabelledField) -> String {
    match (&f.value_label_vi, &f.value) {
        (Some(l), _) => l.clone(),
        (_, serde_json::Value::String(s)) => s.clone(),
        (_, v) => v.to_string(),
    }
}

/// Leaves of labelled fields, flattened with dotted paths (list items by index).
fn leaves(fields: &[LabelledField], prefix: &str, out: &mut Vec<(String, LabelledField)>) {
    for f in fields {
        let path = if prefix.is_empty() {
            f.name.clone()
        } else {
            format!("{prefix}.{}", f.name)
        };
        match f.ty.as_str() {
            "object" => {
                let inner: Vec<LabelledField> = nested(&f.value);
                leaves(&inner, &path, out);
            }
            "list" => {
                for (i, item) in f.value.as_array().into_iter().flatten().enumerate() {
                    leaves(&nested(item), &format!("{path}[{i}]"), out);
                }
            }
            _ => out.push((path, f.clone())),
        }
    }
}

/// Labelled fields serialised inside an object's or a list item's value, read back.
fn nested(value: &serde_json::Value) -> Vec<LabelledField> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            Some(LabelledField {
                name: v.get("name")?.as_str()?.to_owned(),
                label_vi: v.get("label_vi")?.as_str()?.to_owned(),
                label_en: v.get("label_en")?.as_str()?.to_owned(),
                ty: v.get("type")?.as_str()?.to_owned(),
                value: v.get("value")?.clone(),
                value_label_vi: v
                    .get("value_label_vi")
                    .and_then(|l| l.as_str())
                    .map(str::to_owned),
                value_label_en: v
                    .get("value_label_en")
                    .and_then(|l| l.as_str())
                    .map(str::to_owned),
            })
        })
        .collect()
}

/// The fields of `new` whose value differs from `old`'s, in the new version's order (then
/// those only the old one had).
pub fn diff(old: &[LabelledField], new: &[LabelledField]) -> Vec<FieldChange> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    leaves(old, "", &mut a);
    leaves(new, "", &mut b);
    let mut out = Vec::new();
    for (path, f) in &b {
        let before = a.iter().find(|(p, _)| p == path).map(|(_, o)| shown(o));
        let after = shown(f);
        if before.as_deref() != Some(after.as_str()) {
            out.push(FieldChange {
                field: path.clone(),
                label_vi: f.label_vi.clone(),
                label_en: f.label_en.clone(),
                old: before,
                new: Some(after),
            });
        }
    }
    for (path, f) in &a {
        if !b.iter().any(|(p, _)| p == path) {
            out.push(FieldChange {
                field: path.clone(),
                label_vi: f.label_vi.clone(),
                label_en: f.label_en.clone(),
                old: Some(shown(f)),
                new: None,
            });
        }
    }
    out
}

impl Wallet {
    /// History entries of a sync that stores `new` (checked credentials) and removes `removed`:
    /// each removed document of a kind that arrives anew (one document per kind) gives an
    /// entry, encoded for the store. A removed document that cannot be read gives none.
    pub(super) fn history_of_sync(
        &self,
        new: &[crate::credential::VerifiedCredential],
        removed: &[String],
        at_ms: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>> {
        let mut out = Vec::new();
        for id in removed {
            let Ok((_, old)) = self.document(id) else {
                continue;
            };
            let Some(next) = new.iter().find(|n| n.kind == old.kind && n.id != old.id) else {
                continue;
            };
            let entry = HistoryEntry {
                at_ms,
                kind: next.kind,
                document_id: next.id.clone(),
                previous_id: old.id.clone(),
                issued_at: next.validity.not_before,
                changes: diff(
                    &old.document.labelled_fields(),
                    &next.document.labelled_fields(),
                ),
            };
            let bytes =
                serde_json::to_vec(&entry).map_err(|_| WalletError::Corrupt("history entry"))?;
            out.push((at_ms, bytes));
        }
        Ok(out)
    }

    /// The history of document `id`, newest first: the entries of every version that led to
    /// it (the chain of `previous_id`s), so a document renewed twice shows both changes.
    pub fn history(&self, id: &str) -> Result<Vec<HistoryEntry>> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        let all = self
            .store
            .history()
            .map_err(WalletError::from_store)?
            .iter()
            .map(|e| {
                serde_json::from_slice::<HistoryEntry>(&e.record)
                    .map_err(|_| WalletError::Corrupt("history entry"))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::new();
        let mut current = id.to_owned();
        for e in all.iter().rev() {
            if e.document_id == current {
                current = e.previous_id.clone();
                out.push(e.clone());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str, value: serde_json::Value) -> LabelledField {
        LabelledField {
            name: name.into(),
            label_vi: format!("vi {name}"),
            label_en: format!("en {name}"),
            ty: "text".into(),
            value,
            value_label_vi: None,
            value_label_en: None,
        }
    }

    #[test]
    fn diff_names_changed_added_and_dropped_fields() {
        let old = vec![
            leaf("number", "790123456789".into()),
            leaf("points", 12.into()),
            leaf("note", "x".into()),
        ];
        let new = vec![
            leaf("number", "790123456789".into()),
            leaf("points", 9.into()),
            leaf("extra", "y".into()),
        ];
        let d = diff(&old, &new);
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(d[0].field, "points");
        assert_eq!(d[0].label_en, "en points");
        assert_eq!(
            (d[0].old.as_deref(), d[0].new.as_deref()),
            (Some("12"), Some("9"))
        );
        assert_eq!((d[1].field.as_str(), d[1].old.as_deref()), ("extra", None));
        assert_eq!((d[2].field.as_str(), d[2].new.as_deref()), ("note", None));
        assert!(diff(&new, &new).is_empty());
        // Debug never shows values.
        assert!(!format!("{:?}", d[0]).contains('9'));
    }

    #[test]
    fn diff_walks_objects_and_lists() {
        let obj = |v: &str| LabelledField {
            ty: "object".into(),
            value: serde_json::to_value(vec![leaf("name", v.into())]).unwrap(),
            ..leaf("facility", serde_json::Value::Null)
        };
        let d = diff(&[obj("A")], &[obj("B")]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "facility.name");
        assert_eq!(
            (d[0].old.as_deref(), d[0].new.as_deref()),
            (Some("A"), Some("B"))
        );
    }
}
