//! The wallet's evaluation of a DCQL query (OpenID4VP 1.0 §6.4) over its SD-JWT VCs and mdocs:
//! which credentials match each credential query (format, `vct_values` or `doctype_value`,
//! holder binding, `trusted_authorities` of type `aki`, claims with `values`, the first
//! satisfiable claim set), which credential queries to answer (every one, or the first
//! satisfiable option of each credential set, optional sets when they can be met), and for each
//! presentation the concrete claim paths to disclose (for an mdoc, `[namespace, element]`),
//! nothing more.

use super::claims_path;
use super::dcql::{
    ClaimQuery, CredentialQuery, DcqlQuery, FORMAT_MSO_MDOC, FORMAT_SD_JWT_VC, Meta,
};
use super::error::Oid4vpError;
use crate::mdoc::{IssuerSigned, cbor_to_json};
use crate::sdjwt::{ClaimPath, Es256Signer, Jws, SdJwt, b64, process};
use base64::Engine;
use eid_crypto::cose::{Sign1, Tagging, x5chain_leaf};
use eid_crypto::x509::{SignerCertificate, authority_key_identifier};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The credential itself, as issued.
#[derive(Clone)]
pub enum Held {
    /// An SD-JWT VC with every disclosure.
    SdJwt(SdJwt),
    /// An mdoc: its docType and the IssuerSigned with every element.
    Mdoc {
        doc_type: String,
        issuer_signed: IssuerSigned,
    },
}

/// A credential the wallet holds (an SD-JWT VC with every disclosure, or an mdoc with every
/// element) and the device key it is bound to (`cnf`, or the MSO's DeviceKey).
pub struct WalletCredential<'a> {
    /// The wallet's own name for it (shown to the citizen, kept in the transaction log).
    pub handle: String,
    pub held: Held,
    pub device_key: &'a dyn Es256Signer,
    /// The claims as JSON: the SD-JWT VC's with every disclosure in place, or the mdoc's
    /// `{namespace: {element: value}}`.
    claims: Value,
    /// The authority key identifiers (base64url) of the issuer's certificates (`x5c`, or the
    /// document signer of the MSO's x5chain).
    akis: Vec<String>,
}

impl std::fmt::Debug for WalletCredential<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletCredential")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

fn aki_of(der: &[u8]) -> Option<String> {
    let cert = SignerCertificate::from_der(der).ok()?;
    authority_key_identifier(&cert.certificate).map(|k| b64(&k))
}

impl<'a> WalletCredential<'a> {
    /// Reads an SD-JWT VC's claims with every disclosure in place (the wallet's own view).
    pub fn new(
        handle: &str,
        issued: SdJwt,
        device_key: &'a dyn Es256Signer,
    ) -> Result<WalletCredential<'a>, Oid4vpError> {
        let jws = Jws::parse(&issued.jwt)?;
        let claims = Value::Object(process(&jws.payload, &issued.disclosures)?);
        let akis = jws
            .header
            .get("x5c")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(c.as_str()?)
                    .ok()?;
                aki_of(&der)
            })
            .collect();
        Ok(WalletCredential {
            handle: handle.to_owned(),
            held: Held::SdJwt(issued),
            device_key,
            claims,
            akis,
        })
    }

    /// An mdoc of `doc_type` (its IssuerSigned as issued, every element) bound to `device_key`.
    /// The caller has verified it (the wallet keeps only MSOs that check against its IACAs).
    pub fn mdoc(
        handle: &str,
        doc_type: &str,
        issuer_signed: IssuerSigned,
        device_key: &'a dyn Es256Signer,
    ) -> WalletCredential<'a> {
        let mut namespaces = Map::new();
        for (ns, items) in &issuer_signed.namespaces {
            let elements: Map<String, Value> = items
                .iter()
                .map(|i| (i.element_identifier.clone(), cbor_to_json(&i.element_value)))
                .collect();
            namespaces.insert(ns.clone(), Value::Object(elements));
        }
        let akis = Sign1::decode(&issuer_signed.issuer_auth, Tagging::Untagged)
            .and_then(|s| s.unprotected_x5chain().and_then(x5chain_leaf).cloned())
            .and_then(|der| aki_of(&der))
            .into_iter()
            .collect();
        WalletCredential {
            handle: handle.to_owned(),
            held: Held::Mdoc {
                doc_type: doc_type.to_owned(),
                issuer_signed,
            },
            device_key,
            claims: Value::Object(namespaces),
            akis,
        }
    }

    /// The SD-JWT VC, if this is one.
    pub fn sd_jwt(&self) -> Option<&SdJwt> {
        match &self.held {
            Held::SdJwt(s) => Some(s),
            Held::Mdoc { .. } => None,
        }
    }

    /// The credential's type.
    pub fn vct(&self) -> Option<&str> {
        match &self.held {
            Held::SdJwt(_) => self.claims.get("vct").and_then(Value::as_str),
            Held::Mdoc { .. } => None,
        }
    }

    /// The mdoc's docType, if this is an mdoc.
    pub fn doc_type(&self) -> Option<&str> {
        match &self.held {
            Held::Mdoc { doc_type, .. } => Some(doc_type),
            Held::SdJwt(_) => None,
        }
    }

    /// The credential's claims with every disclosure in place (an mdoc's as
    /// `{namespace: {element: value}}`).
    pub fn claims(&self) -> &Value {
        &self.claims
    }
}

/// One presentation to make: the credential query it answers, the wallet credential (index),
/// and the concrete claim paths to disclose.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    pub query_id: String,
    pub credential: usize,
    pub disclose: Vec<ClaimPath>,
}

/// What the wallet would send for a query (shown to the citizen before consent).
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub presentations: Vec<Selected>,
}

/// The claims of one claims query in the credential: their concrete paths, keeping only values
/// that match `values` when given (a claim whose value does not match counts as absent, §6.4.1).
fn claim_matches(claims: &Value, q: &ClaimQuery) -> Option<Vec<ClaimPath>> {
    let found: Vec<ClaimPath> = claims_path::select(claims, &q.path)?
        .into_iter()
        .filter(|(_, v)| q.values.as_ref().is_none_or(|vals| vals.contains(v)))
        .map(|(at, _)| at)
        .collect();
    (!found.is_empty()).then_some(found)
}

/// §6.1.1: with `trusted_authorities` of type `aki` only, a credential matches when one value is
/// the authority key identifier of a certificate in its issuer's `x5c`. A list with a type we
/// cannot evaluate (`etsi_tl`, `openid_federation`) does not filter: that entry might match, and
/// the verifier checks issuers itself.
fn trusted_authority(query: &CredentialQuery, c: &WalletCredential<'_>) -> bool {
    let Some(list) = &query.trusted_authorities else {
        return true;
    };
    let is_aki = |t: &Value| t.get("type").and_then(Value::as_str) == Some("aki");
    if !list.iter().all(is_aki) {
        return true;
    }
    list.iter()
        .filter_map(|t| t.get("values").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .any(|a| c.akis.iter().any(|k| k == a))
}

/// The claim paths to disclose if `credential` answers `query`, or `None`.
fn credential_matches(query: &CredentialQuery, c: &WalletCredential<'_>) -> Option<Vec<ClaimPath>> {
    match (&c.held, &query.meta) {
        (Held::SdJwt(_), Meta::SdJwtVc { vct_values: vcts })
            if query.format == FORMAT_SD_JWT_VC =>
        {
            if !c.vct().is_some_and(|v| vcts.iter().any(|x| x == v)) {
                return None;
            }
            if query.require_cryptographic_holder_binding && c.claims.get("cnf").is_none() {
                return None;
            }
        }
        // An MSO always names its device key: holder binding holds.
        (Held::Mdoc { doc_type, .. }, Meta::Mdoc { doctype_value })
            if query.format == FORMAT_MSO_MDOC && doc_type == doctype_value => {}
        _ => return None,
    }
    if !trusted_authority(query, c) {
        return None;
    }
    // §6.4.1: the first option (claim set) the credential can satisfy.
    query.options().into_iter().find_map(|option| {
        let mut paths = Vec::new();
        for q in option {
            paths.extend(claim_matches(&c.claims, q)?);
        }
        Some(paths)
    })
}

/// Evaluates the query over the wallet's credentials.
pub fn select(
    query: &DcqlQuery,
    wallet: &[WalletCredential<'_>],
) -> Result<Selection, Oid4vpError> {
    let mut candidates: BTreeMap<&str, Vec<Selected>> = BTreeMap::new();
    for q in &query.credentials {
        let mut found: Vec<Selected> = wallet
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                credential_matches(q, c).map(|disclose| Selected {
                    query_id: q.id.clone(),
                    credential: i,
                    disclose,
                })
            })
            .collect();
        if !q.multiple {
            found.truncate(1);
        }
        if !found.is_empty() {
            candidates.insert(&q.id, found);
        }
    }
    let chosen: Vec<&str> = match &query.credential_sets {
        None => {
            if candidates.len() != query.credentials.len() {
                return Err(Oid4vpError::NoMatch);
            }
            query.credentials.iter().map(|c| c.id.as_str()).collect()
        }
        Some(sets) => {
            let mut chosen = Vec::new();
            for set in sets {
                let option = set
                    .options
                    .iter()
                    .find(|o| o.iter().all(|id| candidates.contains_key(id.as_str())));
                match option {
                    Some(o) => chosen.extend(o.iter().map(String::as_str)),
                    None if set.required => return Err(Oid4vpError::NoMatch),
                    None => {}
                }
            }
            // In the order of `credentials`, each once.
            query
                .credentials
                .iter()
                .map(|c| c.id.as_str())
                .filter(|id| chosen.contains(id))
                .collect()
        }
    };
    let presentations = chosen
        .into_iter()
        .flat_map(|id| candidates.remove(id).unwrap_or_default())
        .collect();
    Ok(Selection { presentations })
}
