//! The issuer's side (RFC 9901 §4): conceal the chosen claims behind salted digests (object
//! properties in `_sd`, array elements as `{"...": digest}`), nested claims first so a parent's
//! disclosure carries its children's digests; add decoy digests; sign with ES256.

use super::compact::SdJwt;
use super::disclosure::{self, Disclosure, SALT_BYTES};
use super::error::SdJwtError;
use super::jws::{self, Es256Signer, b64};
use super::path::{ClaimPath, PathElem};
use eid_crypto::Rng;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Claims that SD-JWT VC (§3.2.2.2) and RFC 9901 (§4.1) keep in the clear at the top level.
const NEVER_CONCEALED: &[&str] = &[
    "iss",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "status",
    "_sd_alg",
    "_sd",
];

/// What to issue beyond the claims.
pub struct IssueOptions<'a> {
    /// The header's `typ` (`dc+sd-jwt` for SD-JWT VC).
    pub typ: &'a str,
    /// The issuer's certificate chain (DER, leaf first) for the `x5c` header; may be empty.
    pub x5c: &'a [Vec<u8>],
    /// Decoy digests added to each `_sd` array that holds real ones (RFC 9901 §4.2.5).
    pub decoys: usize,
}

struct Concealer<'a> {
    selected: BTreeSet<Vec<PathElem>>,
    rng: &'a mut dyn Rng,
    decoys: usize,
    disclosures: Vec<Disclosure>,
}

impl Concealer<'_> {
    fn random_b64(&mut self) -> String {
        let mut bytes = [0u8; SALT_BYTES];
        self.rng.fill(&mut bytes);
        b64(&bytes)
    }

    fn disclose(&mut self, name: Option<&str>, value: Value) -> String {
        let salt = self.random_b64();
        let d = Disclosure::new(salt, name, value);
        let digest = d.digest();
        self.disclosures.push(d);
        digest
    }

    fn conceal(&mut self, value: &mut Value, path: &mut Vec<PathElem>) {
        match value {
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                let mut digests = Vec::new();
                for key in keys {
                    path.push(PathElem::Key(key.clone()));
                    if let Some(child) = map.get_mut(&key) {
                        self.conceal(child, path);
                    }
                    if self.selected.contains(path.as_slice())
                        && let Some(child) = map.remove(&key)
                    {
                        digests.push(self.disclose(Some(&key), child));
                    }
                    path.pop();
                }
                if !digests.is_empty() {
                    for _ in 0..self.decoys {
                        let decoy = self.random_b64();
                        digests.push(disclosure::digest(&decoy));
                    }
                    // Sorted, so the order says nothing of the claims (§4.2.4.1).
                    digests.sort();
                    map.insert("_sd".into(), digests.into_iter().map(Value::from).collect());
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(PathElem::Index(i));
                    self.conceal(item, path);
                    if self.selected.contains(path.as_slice()) {
                        let element = std::mem::take(item);
                        let digest = self.disclose(None, element);
                        *item = serde_json::json!({ "...": digest });
                    }
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

/// Issues an SD-JWT: `claims` with the claims at `concealed` made selectively disclosable,
/// `_sd_alg: sha-256`, signed by `signer`. Gives the SD-JWT with every disclosure (no KB-JWT).
pub fn issue(
    claims: &Map<String, Value>,
    concealed: &[ClaimPath],
    options: &IssueOptions<'_>,
    signer: &dyn Es256Signer,
    rng: &mut dyn Rng,
) -> Result<SdJwt, SdJwtError> {
    for path in concealed {
        match path.0.as_slice() {
            [PathElem::Key(k)] if NEVER_CONCEALED.contains(&k.as_str()) => {
                return Err(SdJwtError::Disclosure("claim must stay in the clear"));
            }
            [] => return Err(SdJwtError::Disclosure("empty claim path")),
            _ if path.0.contains(&PathElem::AllElements) => {
                return Err(SdJwtError::Disclosure("issuer paths name single elements"));
            }
            _ => {}
        }
    }
    let mut payload = Value::Object(claims.clone());
    let mut concealer = Concealer {
        selected: concealed.iter().map(|p| p.0.clone()).collect(),
        rng,
        decoys: options.decoys,
        disclosures: Vec::new(),
    };
    concealer.conceal(&mut payload, &mut Vec::new());
    let Value::Object(mut payload) = payload else {
        return Err(SdJwtError::Signing);
    };
    payload.insert("_sd_alg".into(), "sha-256".into());
    let header = jws::header(options.typ, options.x5c);
    let jwt = jws::sign(header, &payload, signer)?;
    Ok(SdJwt {
        jwt,
        disclosures: concealer.disclosures,
        kb_jwt: None,
    })
}
