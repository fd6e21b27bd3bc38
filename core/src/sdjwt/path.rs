//! Claim paths: which claim an issuer makes selectively disclosable or a verifier asks for, as
//! in OpenID4VP's DCQL `path` (a key, an array index, or every element of an array).

/// One step of a claim path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElem {
    Key(String),
    Index(usize),
    /// Every element of an array (DCQL `null`).
    AllElements,
}

/// A path from the top of the claims to one claim, e.g. `["address", "locality"]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClaimPath(pub Vec<PathElem>);

impl ClaimPath {
    /// A path of object keys only.
    pub fn keys(keys: &[&str]) -> ClaimPath {
        ClaimPath(
            keys.iter()
                .map(|k| PathElem::Key((*k).to_owned()))
                .collect(),
        )
    }

    /// This path with one more step.
    pub fn then(&self, step: PathElem) -> ClaimPath {
        let mut steps = self.0.clone();
        steps.push(step);
        ClaimPath(steps)
    }
}
