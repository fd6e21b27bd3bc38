//! The relying party's check of a response (OpenID4VP 1.0 §8, §14.1): decrypt
//! (`direct_post.jwt`), the `state`, the `vp_token` shape (query ids, one presentation unless
//! `multiple`), each SD-JWT VC (issuer chain to the trust anchors, disclosures, KB-JWT with `aud`
//! = our client identifier, our nonce, fresh `iat`, `sd_hash`), its Token Status List entry, that
//! the presentations satisfy the DCQL query (credential sets, `vct`, a claim set) and disclose
//! nothing outside the claims asked, and last that the nonce was never accepted before. mdoc
//! presentations (`mso_mdoc`) are checked by `mdoc_verify` with the relying party's
//! [`MdocPolicy`] ([`verify_response_with`]).

use super::claims_path;
use super::dcql::{CredentialQuery, DcqlQuery, FORMAT_MSO_MDOC, FORMAT_SD_JWT_VC, Meta};
use super::error::Oid4vpError;
use super::form;
use super::jwe;
use super::mdoc_verify::{self, MdocPolicy, VerifiedMdoc};
use super::minimal::added;
use super::request::ResponseMode;
use super::rp_request::PendingRequest;
use crate::sdjwt::{
    self, ClaimPath, IssuerKey, Jws, KeyBindingPolicy, SD_JWT_VC_TYP, SdJwt, StatusList,
    StatusReference, VALID, VerifyOptions,
};
use eid_crypto::trust::TrustStore;
use p256::SecretKey;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The nonces of accepted responses: a nonce is accepted once.
pub trait NonceLedger {
    /// Records `nonce`; `false` if it was already recorded.
    fn consume(&mut self, nonce: &str) -> bool;
}

/// A [`NonceLedger`] in memory (one process; the hub keeps its own in the database).
#[derive(Debug, Default)]
pub struct MemoryNonceLedger(BTreeSet<String>);

impl NonceLedger for MemoryNonceLedger {
    fn consume(&mut self, nonce: &str) -> bool {
        self.0.insert(nonce.to_owned())
    }
}

/// What the relying party trusts.
pub struct ResponsePolicy<'a> {
    /// The credential issuers' trust anchors.
    pub issuer_trust: &'a TrustStore,
    pub now: u64,
    /// Oldest KB-JWT `iat` accepted, in seconds before now.
    pub max_age: u64,
    /// The Token Status List at a URI (fetched and verified by the caller); `None`: unknown.
    pub status_list: &'a dyn Fn(&str) -> Option<StatusList>,
    /// The private key of `direct_post.jwt` responses.
    pub decryption_key: Option<&'a SecretKey>,
}

/// One verified presentation.
#[derive(Clone, PartialEq)]
pub struct VerifiedPresentation {
    pub query_id: String,
    /// The credential's claims as presented (always-visible ones and the disclosed ones).
    pub claims: Map<String, Value>,
    /// Where the disclosures were (concrete paths of the selectively disclosed claims; an
    /// mdoc's `[namespace, element]`).
    pub disclosed: Vec<ClaimPath>,
    /// For an mdoc: the verified document (docType, document signer, MSO).
    pub mdoc: Option<VerifiedMdoc>,
}

impl std::fmt::Debug for VerifiedPresentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedPresentation")
            .field("query_id", &self.query_id)
            .field("disclosed", &self.disclosed)
            .finish_non_exhaustive()
    }
}

/// The response's parameters, decrypted when they came as a JWE.
fn parameters(
    pending: &PendingRequest,
    body: &str,
    policy: &ResponsePolicy<'_>,
) -> Result<Map<String, Value>, Oid4vpError> {
    let form = form::decode(body)?;
    if form.contains_key("error") {
        return Err(Oid4vpError::Declined);
    }
    match pending.response_mode {
        ResponseMode::DirectPost => {
            if form.contains_key("response") {
                return Err(Oid4vpError::Encryption("encrypted response to direct_post"));
            }
            let mut out = Map::new();
            let token = form
                .get("vp_token")
                .ok_or(Oid4vpError::Malformed("vp_token missing"))?;
            let token: Value = serde_json::from_str(token)
                .map_err(|_| Oid4vpError::Malformed("vp_token is not JSON"))?;
            out.insert("vp_token".into(), token);
            if let Some(state) = form.get("state") {
                out.insert("state".into(), state.as_str().into());
            }
            Ok(out)
        }
        ResponseMode::DirectPostJwt => {
            if form.contains_key("vp_token") {
                return Err(Oid4vpError::Encryption(
                    "unencrypted response to direct_post.jwt",
                ));
            }
            let jwe = form
                .get("response")
                .ok_or(Oid4vpError::Malformed("response missing"))?;
            let key = policy
                .decryption_key
                .ok_or(Oid4vpError::Encryption("no decryption key"))?;
            let decrypted = jwe::decrypt(jwe, key, pending.kid.as_deref())?;
            match serde_json::from_slice(&decrypted.plaintext) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(Oid4vpError::Malformed(
                    "decrypted response is not a JSON object",
                )),
            }
        }
    }
}

/// Verifies a response body posted to our response URI for `pending` (SD-JWT VCs only: an mdoc
/// presentation is refused without an [`MdocPolicy`]).
pub fn verify_response(
    pending: &PendingRequest,
    body: &str,
    policy: &ResponsePolicy<'_>,
    ledger: &mut dyn NonceLedger,
) -> Result<Vec<VerifiedPresentation>, Oid4vpError> {
    verify_response_with(pending, body, policy, None, ledger)
}

/// [`verify_response`], with mdoc presentations checked under `mdoc`.
pub fn verify_response_with(
    pending: &PendingRequest,
    body: &str,
    policy: &ResponsePolicy<'_>,
    mdoc: Option<&MdocPolicy<'_>>,
    ledger: &mut dyn NonceLedger,
) -> Result<Vec<VerifiedPresentation>, Oid4vpError> {
    let params = parameters(pending, body, policy)?;
    let state = params.get("state").and_then(Value::as_str);
    let state_ok = match (&pending.state, state) {
        (None, None) => true,
        (Some(want), Some(got)) => eid_crypto::ct_eq(want.as_bytes(), got.as_bytes()),
        _ => false,
    };
    if !state_ok {
        return Err(Oid4vpError::State);
    }
    let token = params
        .get("vp_token")
        .and_then(Value::as_object)
        .ok_or(Oid4vpError::Malformed("vp_token is not an object"))?;
    let mut out = Vec::new();
    for (id, list) in token {
        let query = pending
            .dcql
            .credential(id)
            .ok_or(Oid4vpError::NotSatisfied(
                "presentation for an unknown query",
            ))?;
        let list = list
            .as_array()
            .filter(|l| !l.is_empty())
            .ok_or(Oid4vpError::Malformed(
                "vp_token entry is not a non-empty array",
            ))?;
        if !query.multiple && list.len() != 1 {
            return Err(Oid4vpError::NotSatisfied(
                "several presentations without multiple",
            ));
        }
        for p in list {
            let p = p
                .as_str()
                .ok_or(Oid4vpError::Malformed("presentation is not a string"))?;
            if query.format == FORMAT_MSO_MDOC {
                let mdoc =
                    mdoc.ok_or(Oid4vpError::Unsupported("mso_mdoc without an IACA policy"))?;
                out.push(mdoc_verify::presentation(pending, query, p, policy, mdoc)?);
            } else {
                out.push(presentation(pending, query, p, policy)?);
            }
        }
    }
    let returned: BTreeSet<&str> = token.keys().map(String::as_str).collect();
    credential_sets_satisfied(&pending.dcql, &returned)?;
    if !ledger.consume(&pending.nonce) {
        return Err(Oid4vpError::Replay);
    }
    Ok(out)
}

fn credential_sets_satisfied(
    dcql: &DcqlQuery,
    returned: &BTreeSet<&str>,
) -> Result<(), Oid4vpError> {
    use Oid4vpError::NotSatisfied;
    let Some(sets) = &dcql.credential_sets else {
        return if returned.len() == dcql.credentials.len() {
            Ok(())
        } else {
            Err(NotSatisfied("a requested credential is missing"))
        };
    };
    for set in sets {
        let met = set
            .options
            .iter()
            .any(|o| o.iter().all(|id| returned.contains(id.as_str())));
        if set.required && !met {
            return Err(NotSatisfied("a required credential set is not met"));
        }
    }
    let offered: BTreeSet<&str> = sets
        .iter()
        .flat_map(|s| s.options.iter().flatten())
        .map(String::as_str)
        .collect();
    if !returned.is_subset(&offered) {
        return Err(NotSatisfied("a credential outside every credential set"));
    }
    Ok(())
}

fn presentation(
    pending: &PendingRequest,
    query: &CredentialQuery,
    compact: &str,
    policy: &ResponsePolicy<'_>,
) -> Result<VerifiedPresentation, Oid4vpError> {
    if query.format != FORMAT_SD_JWT_VC {
        return Err(Oid4vpError::Unsupported("presentation format"));
    }
    let verified = sdjwt::verify(
        compact,
        &VerifyOptions {
            issuer: IssuerKey::X5c(policy.issuer_trust),
            typ: Some(SD_JWT_VC_TYP),
            now: policy.now,
            key_binding: Some(KeyBindingPolicy {
                audience: &pending.client_id,
                nonce: &pending.nonce,
                max_age: policy.max_age,
            }),
        },
    )?;
    check_status(&verified.claims, policy)?;
    if let Meta::SdJwtVc { vct_values: vcts } = &query.meta {
        let vct = verified.claims.get("vct").and_then(Value::as_str);
        if !vct.is_some_and(|v| vcts.iter().any(|x| x == v)) {
            return Err(Oid4vpError::NotSatisfied("vct not requested"));
        }
    }
    // What the verifier sees with no disclosure: the always-visible claims.
    let sd_jwt = SdJwt::parse(compact)?;
    let jws = Jws::parse(&sd_jwt.jwt)?;
    let baseline = Value::Object(sdjwt::process(&jws.payload, &[])?);
    let claims = Value::Object(verified.claims);
    let mut satisfied_any = false;
    for option in query.options() {
        let satisfied = option
            .iter()
            .all(|q| claims_path::select(&claims, &q.path).is_some());
        if !satisfied {
            continue;
        }
        satisfied_any = true;
        let requested: Vec<&ClaimPath> = option.iter().map(|q| &q.path).collect();
        let mut disclosed = Vec::new();
        if added(
            &claims,
            Some(&baseline),
            &ClaimPath(Vec::new()),
            &requested,
            &mut disclosed,
        ) {
            let Value::Object(claims) = claims else {
                return Err(Oid4vpError::Malformed("claims"));
            };
            return Ok(VerifiedPresentation {
                query_id: query.id.clone(),
                claims,
                disclosed,
                mdoc: None,
            });
        }
    }
    Err(if satisfied_any {
        Oid4vpError::OverDisclosure
    } else {
        Oid4vpError::NotSatisfied("no claim set of the query is met")
    })
}

fn check_status(
    claims: &Map<String, Value>,
    policy: &ResponsePolicy<'_>,
) -> Result<(), Oid4vpError> {
    if claims.get("status").is_none() {
        return Ok(());
    }
    let reference = StatusReference::from_claims(claims)
        .ok_or(Oid4vpError::Status("status claim malformed"))?;
    let list =
        (policy.status_list)(&reference.uri).ok_or(Oid4vpError::Status("list unavailable"))?;
    match list.get(reference.idx) {
        Some(VALID) => Ok(()),
        Some(_) => Err(Oid4vpError::Status("revoked or suspended")),
        None => Err(Oid4vpError::Status("index outside the list")),
    }
}

/// The verified claims by query id (convenience for callers that want one map per query).
pub fn by_query(
    presentations: &[VerifiedPresentation],
) -> BTreeMap<&str, Vec<&VerifiedPresentation>> {
    let mut out: BTreeMap<&str, Vec<&VerifiedPresentation>> = BTreeMap::new();
    for p in presentations {
        out.entry(p.query_id.as_str()).or_default().push(p);
    }
    out
}
