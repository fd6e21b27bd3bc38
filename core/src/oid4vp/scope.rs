//! What a relying party registered (issue 16): its client identifier, name, the response URIs it
//! may use and, per purpose, the claims it may ask for. The wallet answers a request only when one
//! registered purpose covers every claim the DCQL query names (all claim sets together), and
//! checks each claim it is about to disclose once more; otherwise nothing is disclosed.

use super::dcql::DcqlQuery;
use super::error::Oid4vpError;
use crate::sdjwt::{ClaimPath, PathElem};

/// One purpose and the claim paths it allows (a path allows everything below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    pub name: String,
    pub claims: Vec<ClaimPath>,
}

/// A relying party as registered with the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpRegistration {
    /// With its prefix, e.g. `x509_san_dns:bank.example.vn`.
    pub client_id: String,
    pub name: String,
    pub response_uris: Vec<String>,
    pub purposes: Vec<Purpose>,
    /// It asks on behalf of another registered relying party (the hub, docs/adr/0050).
    pub intermediary: bool,
}

/// Whether `allowed` covers `requested`: `allowed` is a prefix of it, step by step, where an
/// allowed `null` covers any index or `null` and an allowed index only itself.
pub fn covers(allowed: &ClaimPath, requested: &ClaimPath) -> bool {
    allowed.0.len() <= requested.0.len()
        && allowed
            .0
            .iter()
            .zip(&requested.0)
            .all(|(a, r)| match (a, r) {
                (PathElem::Key(a), PathElem::Key(r)) => a == r,
                (PathElem::AllElements, PathElem::Index(_) | PathElem::AllElements) => true,
                (PathElem::Index(a), PathElem::Index(r)) => a == r,
                _ => false,
            })
}

impl Purpose {
    pub fn allows(&self, requested: &ClaimPath) -> bool {
        self.claims.iter().any(|a| covers(a, requested))
    }
}

impl RpRegistration {
    /// The narrowest registered purpose that covers every claim the query names: the one
    /// allowing the fewest claim paths, the first registered on a tie (an age check asked by a
    /// relying party also registered for eKYC is shown to the citizen as the age check).
    pub fn purpose_for(&self, query: &DcqlQuery) -> Result<&Purpose, Oid4vpError> {
        let requested: Vec<&ClaimPath> = query
            .credentials
            .iter()
            .flat_map(|c| c.all_paths())
            .collect();
        self.purposes
            .iter()
            .filter(|p| requested.iter().all(|r| p.allows(r)))
            .min_by_key(|p| p.claims.len())
            .ok_or(Oid4vpError::Scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_narrowest_covering_purpose_is_named() {
        let purpose = |name: &str| Purpose {
            name: name.into(),
            claims: crate::oid4vp::purposes::known_claims(name).unwrap(),
        };
        let reg = RpRegistration {
            client_id: "x509_san_dns:bank.example.vn".into(),
            name: "Bank".into(),
            response_uris: vec![],
            purposes: vec![purpose("ekyc"), purpose("age_check")],
            intermediary: false,
        };
        let query = |path: serde_json::Value| {
            DcqlQuery::parse(&serde_json::json!({"credentials": [{
                "id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["x"]},
                "claims": [{"path": path}]
            }]}))
            .unwrap()
        };
        let age = query(serde_json::json!(["age_equal_or_over", "18"]));
        assert_eq!(reg.purpose_for(&age).unwrap().name, "age_check");
        let name = query(serde_json::json!(["given_name"]));
        assert_eq!(reg.purpose_for(&name).unwrap().name, "ekyc");
        let phone = query(serde_json::json!(["phone_number"]));
        assert_eq!(reg.purpose_for(&phone).unwrap_err(), Oid4vpError::Scope);
    }

    #[test]
    fn coverage_is_by_prefix_and_null_covers_indexes() {
        let k = |keys: &[&str]| ClaimPath::keys(keys);
        assert!(covers(&k(&["address"]), &k(&["address", "formatted"])));
        assert!(!covers(&k(&["address", "formatted"]), &k(&["address"])));
        assert!(!covers(
            &k(&["age_equal_or_over", "18"]),
            &k(&["age_equal_or_over", "21"])
        ));
        let all = k(&["nationalities"]).then(PathElem::AllElements);
        assert!(covers(
            &all,
            &k(&["nationalities"]).then(PathElem::Index(3))
        ));
        assert!(!covers(
            &k(&["nationalities"]).then(PathElem::Index(0)),
            &all
        ));
    }
}
