//! The verifier's check that a presentation discloses nothing beyond the asked claims: every
//! claim in the presented claims that is not among those visible with no disclosure at all must
//! be a requested claim, lie inside one, or lie on the way to one. Array indexes are not held to
//! (a verifier sees the disclosed elements of an array renumbered).

use super::claims_path::same_claim;
use crate::sdjwt::{ClaimPath, PathElem};
use serde_json::Value;

/// Where `at` lies against the requested claims: (inside one: a requested claim is `at` or above
/// it; on the way to one: a requested claim lies below `at`).
fn on_the_way(at: &ClaimPath, requested: &[&ClaimPath]) -> (bool, bool) {
    let inside = requested
        .iter()
        .any(|r| r.0.len() <= at.0.len() && same_claim(&r.0, &at.0[..r.0.len()]));
    let above = requested.iter().any(|r| {
        r.0.len() > at.0.len() && r.0.get(..at.0.len()).is_some_and(|p| same_claim(p, &at.0))
    });
    (inside, above)
}

/// Walks the presented claims against the always-visible ones: every claim that only a
/// disclosure can have brought must be a requested claim, inside one, or on the way to one.
/// Records the disclosed claims; `false` on a claim outside all of them.
pub(crate) fn added(
    value: &Value,
    baseline: Option<&Value>,
    at: &ClaimPath,
    requested: &[&ClaimPath],
    disclosed: &mut Vec<ClaimPath>,
) -> bool {
    let mut check = |child: &Value, base: Option<&Value>, path: ClaimPath| -> bool {
        if base.is_some() {
            return added(child, base, &path, requested, disclosed);
        }
        let (inside, above) = on_the_way(&path, requested);
        if inside {
            disclosed.push(path);
            true
        } else if above {
            disclosed.push(path.clone());
            added(child, None, &path, requested, disclosed)
        } else {
            false
        }
    };
    match value {
        Value::Object(map) => map.iter().all(|(k, v)| {
            let base = baseline.and_then(|b| b.get(k));
            check(v, base, at.then(PathElem::Key(k.clone())))
        }),
        Value::Array(items) => {
            let base_items = baseline.and_then(Value::as_array);
            if let Some(b) = base_items
                && b.len() == items.len()
            {
                return items
                    .iter()
                    .zip(b)
                    .enumerate()
                    .all(|(i, (v, bv))| check(v, Some(bv), at.then(PathElem::Index(i))));
            }
            // Elements were disclosed: those not among the always-visible ones count as added.
            let mut visible: Vec<&Value> =
                base_items.map(|b| b.iter().collect()).unwrap_or_default();
            items.iter().enumerate().all(|(i, v)| {
                if let Some(pos) = visible.iter().position(|b| *b == v) {
                    visible.remove(pos);
                    true
                } else {
                    check(v, None, at.then(PathElem::Index(i)))
                }
            })
        }
        _ => true,
    }
}
