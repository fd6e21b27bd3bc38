//! The relying party behind an intermediary (docs/adr/0050): OpenID4VP 1.0 §5.1 `verifier_info`,
//! an array of attestations about the verifier (`format`, `data`, optional `credential_ids`),
//! with one format of ours, [`ON_BEHALF_OF`]: the hub's "Log in with e-ID" names the registered
//! relying party it asks for, the purpose that one registered and the claims the hub passes on
//! to it. Bound by the intermediary's signature over the request object; believed only of a
//! relying party the signed registry marks `intermediary`.
//!
//! The wallet refuses an intermediary's request that names no relying party, or one that is not
//! in the registry (unknown or suspended: a suspended one is not published), not registered for
//! the purpose, or that would receive a claim outside that purpose or not asked by the query.
//! Attestations of other formats are ignored (§5.1: at the wallet's discretion).

use super::dcql::{DcqlQuery, path_from_json, path_to_json};
use super::error::Oid4vpError;
use super::scope::{RpRegistration, covers};
use crate::sdjwt::ClaimPath;
use serde_json::{Map, Value, json};

/// Our `verifier_info` format: the relying party an intermediary asks on behalf of.
pub const ON_BEHALF_OF: &str = "urn:vn-eid:verifier-info:on-behalf-of:1";

/// The relying party behind an intermediary's request, as checked against the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnBehalfOf {
    /// Its registration (client id, legal name, purposes).
    pub registration: RpRegistration,
    /// Its registered purpose the intermediary asks for.
    pub purpose: String,
    /// The claims the intermediary passes on to it (a subset of those the wallet discloses).
    pub claims: Vec<ClaimPath>,
}

/// The `verifier_info` entry an intermediary puts in its request object.
pub fn on_behalf_of_info(client_id: &str, purpose: &str, claims: &[ClaimPath]) -> Value {
    let claims: Vec<Value> = claims.iter().map(path_to_json).collect();
    json!({
        "format": ON_BEHALF_OF,
        "data": {"client_id": client_id, "purpose": purpose, "claims": claims},
    })
}

/// Reads and checks `verifier_info` of a request by `requester` asking `query`.
pub(crate) fn check(
    p: &Map<String, Value>,
    requester: &RpRegistration,
    query: &DcqlQuery,
    registrations: &[RpRegistration],
) -> Result<Option<OnBehalfOf>, Oid4vpError> {
    use Oid4vpError::{Malformed, OnBehalfOf as Refused};
    let mut named = None;
    if let Some(info) = p.get("verifier_info") {
        let list = info
            .as_array()
            .filter(|l| !l.is_empty())
            .ok_or(Malformed("verifier_info is not a non-empty array"))?;
        for entry in list {
            let format = entry
                .get("format")
                .and_then(Value::as_str)
                .ok_or(Malformed("verifier_info format"))?;
            let data = entry
                .get("data")
                .filter(|d| d.is_object() || d.is_string())
                .ok_or(Malformed("verifier_info data"))?;
            if let Some(ids) = entry.get("credential_ids") {
                let ok = ids
                    .as_array()
                    .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string));
                if !ok {
                    return Err(Malformed("verifier_info credential_ids"));
                }
            }
            if format == ON_BEHALF_OF {
                if named.is_some() {
                    return Err(Malformed("verifier_info names two relying parties"));
                }
                named = Some(data);
            }
        }
    }
    let data = match (named, requester.intermediary) {
        (None, false) => return Ok(None),
        (None, true) => {
            return Err(Refused(
                "the intermediary does not name the relying party it asks for",
            ));
        }
        (Some(_), false) => {
            return Err(Refused(
                "only an intermediary may ask on behalf of another relying party",
            ));
        }
        (Some(d), true) => d,
    };
    let text = |name: &str| {
        data.get(name)
            .and_then(Value::as_str)
            .ok_or(Malformed("verifier_info data"))
    };
    let (client_id, purpose) = (text("client_id")?, text("purpose")?);
    let claims = data
        .get("claims")
        .and_then(Value::as_array)
        .ok_or(Malformed("verifier_info data"))?
        .iter()
        .map(path_from_json)
        .collect::<Result<Vec<_>, _>>()?;
    let registration = registrations
        .iter()
        .find(|r| r.client_id == client_id)
        .ok_or(Refused(
            "the relying party behind the intermediary is unknown or suspended",
        ))?;
    if registration.intermediary {
        return Err(Refused("an intermediary behind an intermediary"));
    }
    let registered = registration
        .purposes
        .iter()
        .find(|p| p.name == purpose)
        .ok_or(Refused(
            "the relying party behind the intermediary did not register this purpose",
        ))?;
    if !claims.iter().all(|c| registered.allows(c)) {
        return Err(Refused(
            "claims passed on outside the registered purpose of the relying party behind the intermediary",
        ));
    }
    let asked: Vec<&ClaimPath> = query
        .credentials
        .iter()
        .flat_map(|c| c.all_paths())
        .collect();
    if !claims.iter().all(|c| asked.iter().any(|a| covers(a, c))) {
        return Err(Malformed(
            "verifier_info names a claim the query does not ask",
        ));
    }
    Ok(Some(OnBehalfOf {
        registration: registration.clone(),
        purpose: purpose.to_owned(),
        claims,
    }))
}
