//! The holder's side (RFC 9901 §7.2 and §4.3): choose the disclosures a verifier's claim paths
//! need (each with the disclosures of its parents, and everything below a requested object),
//! then bind the presentation to the device key with a KB-JWT over `sd_hash`, `aud`, `nonce`
//! and `iat`.

use super::compact::SdJwt;
use super::disclosure::Disclosure;
use super::error::SdJwtError;
use super::issuer_key::IssuerKey;
use super::jws::{self, Es256Signer, Jws};
use super::path::{ClaimPath, PathElem};
use super::verify::{VerifyOptions, verify};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What the KB-JWT says.
pub struct KeyBinding<'a> {
    pub audience: &'a str,
    pub nonce: &'a str,
    pub issued_at: u64,
}

struct Chooser<'a> {
    by_digest: BTreeMap<String, &'a Disclosure>,
    chosen: BTreeSet<String>,
}

impl<'a> Chooser<'a> {
    /// The disclosure hidden in an object's `_sd` under `name`.
    fn in_sd(&self, map: &Map<String, Value>, name: &str) -> Option<(String, &'a Disclosure)> {
        map.get("_sd")?.as_array()?.iter().find_map(|d| {
            let digest = d.as_str()?;
            let disclosure = self.by_digest.get(digest)?;
            (disclosure.name.as_deref() == Some(name)).then(|| (digest.to_owned(), *disclosure))
        })
    }

    /// The array's elements as the holder sees them (undisclosable decoys left out), each with
    /// the digest that hides it, if any.
    fn elements(&self, items: &'a [Value]) -> Vec<(Option<String>, &'a Value)> {
        items
            .iter()
            .filter_map(|item| match item.get("...").and_then(Value::as_str) {
                Some(digest) => {
                    let d = self.by_digest.get(digest)?;
                    Some((Some(digest.to_owned()), &d.value))
                }
                None => Some((None, item)),
            })
            .collect()
    }

    /// Chooses every disclosure below `value` (a whole requested object or array).
    fn everything(&mut self, value: &'a Value) {
        match value {
            Value::Object(map) => {
                for d in map
                    .get("_sd")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(disclosure) = d.as_str().and_then(|d| self.by_digest.get(d)) {
                        self.chosen.insert(disclosure.digest());
                        self.everything(&disclosure.value);
                    }
                }
                for (k, v) in map {
                    if k != "_sd" {
                        self.everything(v);
                    }
                }
            }
            Value::Array(items) => {
                for (digest, v) in self.elements(items) {
                    if let Some(d) = digest {
                        self.chosen.insert(d);
                    }
                    self.everything(v);
                }
            }
            _ => {}
        }
    }

    fn path(&mut self, value: &'a Value, path: &[PathElem]) -> Result<(), SdJwtError> {
        let Some((step, rest)) = path.split_first() else {
            self.everything(value);
            return Ok(());
        };
        match (step, value) {
            (PathElem::Key(k), Value::Object(map)) => {
                if let Some(v) = map.get(k).filter(|_| k != "_sd") {
                    return self.path(v, rest);
                }
                let (digest, d) = self.in_sd(map, k).ok_or(SdJwtError::ClaimNotFound)?;
                self.chosen.insert(digest);
                self.path(&d.value, rest)
            }
            (PathElem::Index(i), Value::Array(items)) => {
                let elements = self.elements(items);
                let (digest, v) = elements.get(*i).cloned().ok_or(SdJwtError::ClaimNotFound)?;
                if let Some(d) = digest {
                    self.chosen.insert(d);
                }
                self.path(v, rest)
            }
            (PathElem::AllElements, Value::Array(items)) => {
                for (digest, v) in self.elements(items) {
                    if let Some(d) = digest {
                        self.chosen.insert(d);
                    }
                    self.path(v, rest)?;
                }
                Ok(())
            }
            _ => Err(SdJwtError::ClaimNotFound),
        }
    }
}

/// The holder's check of an SD-JWT it is issued (RFC 9901 §7.2): the verifier's checks without
/// key binding (signature, every disclosure referenced once, validity), and no KB-JWT attached.
pub fn receive(issued: &str, issuer: IssuerKey<'_>, now: u64) -> Result<SdJwt, SdJwtError> {
    let options = VerifyOptions {
        issuer,
        typ: None,
        now,
        key_binding: None,
    };
    verify(issued, &options)?;
    let sd_jwt = SdJwt::parse(issued)?;
    if sd_jwt.kb_jwt.is_some() {
        return Err(SdJwtError::Malformed("issued SD-JWT carries a KB-JWT"));
    }
    Ok(sd_jwt)
}

/// The SD-JWT with only the disclosures the `requested` claim paths need, in the issued order.
pub fn select(issued: &SdJwt, requested: &[ClaimPath]) -> Result<SdJwt, SdJwtError> {
    let jws = Jws::parse(&issued.jwt)?;
    let mut chooser = Chooser {
        by_digest: issued.disclosures.iter().map(|d| (d.digest(), d)).collect(),
        chosen: BTreeSet::new(),
    };
    let payload = Value::Object(jws.payload);
    for path in requested {
        chooser.path(&payload, &path.0)?;
    }
    let chosen = chooser.chosen;
    Ok(SdJwt {
        jwt: issued.jwt.clone(),
        disclosures: issued
            .disclosures
            .iter()
            .filter(|d| chosen.contains(&d.digest()))
            .cloned()
            .collect(),
        kb_jwt: None,
    })
}

/// Adds a KB-JWT signed by the device key (the key in the credential's `cnf.jwk`).
pub fn bind(
    presentation: &SdJwt,
    binding: &KeyBinding<'_>,
    device_key: &dyn Es256Signer,
) -> Result<SdJwt, SdJwtError> {
    let mut header = Map::new();
    header.insert("typ".into(), "kb+jwt".into());
    let mut payload = Map::new();
    payload.insert("iat".into(), binding.issued_at.into());
    payload.insert("aud".into(), binding.audience.into());
    payload.insert("nonce".into(), binding.nonce.into());
    payload.insert(
        "sd_hash".into(),
        super::disclosure::digest(&presentation.without_kb()).into(),
    );
    let kb = jws::sign(header, &payload, device_key)?;
    Ok(SdJwt {
        kb_jwt: Some(kb),
        ..presentation.clone()
    })
}

/// [`select`] then [`bind`]: the compact SD-JWT+KB to send.
pub fn present(
    issued: &SdJwt,
    requested: &[ClaimPath],
    binding: &KeyBinding<'_>,
    device_key: &dyn Es256Signer,
) -> Result<String, SdJwtError> {
    Ok(bind(&select(issued, requested)?, binding, device_key)?.to_compact())
}
