//! Processing a claims path pointer on a JSON credential (OpenID4VP 1.0 §7.1.1): from the root,
//! keys select object members (elements without the key leave the selection), `null` selects
//! every element of the selected arrays, an index one element; a step of the wrong kind or an
//! empty result is an error. Each result comes with its concrete path (keys and indexes only),
//! which is what the holder discloses.

use crate::sdjwt::{ClaimPath, PathElem};
use serde_json::Value;

/// The claims a path selects, each with its concrete path; `None` when processing fails.
pub fn select<'a>(root: &'a Value, path: &ClaimPath) -> Option<Vec<(ClaimPath, &'a Value)>> {
    let mut selected: Vec<(ClaimPath, &Value)> = vec![(ClaimPath(Vec::new()), root)];
    for step in &path.0 {
        let mut next = Vec::new();
        for (at, value) in selected {
            match (step, value) {
                (PathElem::Key(k), Value::Object(map)) => {
                    if let Some(v) = map.get(k) {
                        next.push((at.then(PathElem::Key(k.clone())), v));
                    }
                }
                (PathElem::AllElements, Value::Array(items)) => {
                    for (i, v) in items.iter().enumerate() {
                        next.push((at.then(PathElem::Index(i)), v));
                    }
                }
                (PathElem::Index(i), Value::Array(items)) => {
                    if let Some(v) = items.get(*i) {
                        next.push((at.then(PathElem::Index(*i)), v));
                    }
                }
                _ => return None,
            }
        }
        selected = next;
    }
    (!selected.is_empty()).then_some(selected)
}

/// Whether a requested path reaches a concrete claim path: the same length, keys equal, and an
/// index or `null` in the request matching any index (a verifier sees disclosed array elements
/// renumbered, so it cannot hold the holder to an index).
pub fn same_claim(requested: &[PathElem], concrete: &[PathElem]) -> bool {
    requested.len() == concrete.len()
        && requested.iter().zip(concrete).all(|(r, c)| match (r, c) {
            (PathElem::Key(a), PathElem::Key(b)) => a == b,
            (PathElem::Index(_) | PathElem::AllElements, PathElem::Index(_)) => true,
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> ClaimPath {
        crate::oid4vp::dcql::path_from_json(&v).unwrap()
    }

    /// The example credential and pointers of OpenID4VP 1.0 §7.2.
    #[test]
    fn the_specification_examples_select_what_it_says() {
        let c = json!({
            "name": "Arthur Dent",
            "address": {"street_address": "42 Market Street", "locality": "Milliways", "postal_code": "12345"},
            "degrees": [
                {"type": "Bachelor of Science", "university": "University of Betelgeuse"},
                {"type": "Master of Science", "university": "University of Betelgeuse"}
            ],
            "nationalities": ["British", "Betelgeusian"]
        });
        let values = |path| {
            select(&c, &p(path))
                .unwrap()
                .into_iter()
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(values(json!(["name"])), [json!("Arthur Dent")]);
        assert_eq!(values(json!(["address"])), [c["address"].clone()]);
        assert_eq!(
            values(json!(["address", "street_address"])),
            [json!("42 Market Street")]
        );
        assert_eq!(
            values(json!(["degrees", null, "type"])),
            [json!("Bachelor of Science"), json!("Master of Science")]
        );
        assert_eq!(values(json!(["nationalities", 1])), [json!("Betelgeusian")]);
        let (at, _) = &select(&c, &p(json!(["degrees", null, "type"]))).unwrap()[1];
        assert_eq!(
            at,
            &ClaimPath::keys(&["degrees"])
                .then(PathElem::Index(1))
                .then(PathElem::Key("type".into()))
        );
        // Errors: a key on a string, null on an object, an index past the end, a missing key.
        assert!(select(&c, &p(json!(["name", "first"]))).is_none());
        assert!(select(&c, &p(json!(["address", null]))).is_none());
        assert!(select(&c, &p(json!(["nationalities", 2]))).is_none());
        assert!(select(&c, &p(json!(["birthdate"]))).is_none());
    }
}
