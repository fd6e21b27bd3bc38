//! The verifier's side (RFC 9901 §7.1 and §7.3): the issuer's signature, then every disclosure
//! replaced into the payload exactly once (digests never repeated, names never colliding, `_sd`
//! and `...` only where they belong, no disclosure left over), then the token's validity and,
//! when the verifier asks for it, the KB-JWT with the key in `cnf.jwk`.

use super::compact::SdJwt;
use super::disclosure::Disclosure;
use super::error::SdJwtError;
use super::issuer_key::IssuerKey;
use super::jws::{Jws, point_from_jwk};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What the verifier expects of a KB-JWT.
pub struct KeyBindingPolicy<'a> {
    pub audience: &'a str,
    pub nonce: &'a str,
    /// Oldest `iat` accepted, in seconds before now.
    pub max_age: u64,
}

/// Seconds a KB-JWT's `iat` or an issuer's `nbf`/`iat` may lie ahead of our clock.
const CLOCK_SKEW: u64 = 60;

pub struct VerifyOptions<'a> {
    pub issuer: IssuerKey<'a>,
    /// The header `typ` required (`dc+sd-jwt`), or `None` to accept any.
    pub typ: Option<&'a str>,
    pub now: u64,
    /// `Some`: a KB-JWT is required and checked; `None`: none is checked.
    pub key_binding: Option<KeyBindingPolicy<'a>>,
}

/// A verified presentation: the claims with the disclosed ones in place (no `_sd`, `_sd_alg`
/// or `...` left), and the issuer JWT's header.
#[derive(Clone, PartialEq)]
pub struct Verified {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub key_bound: bool,
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .field("key_bound", &self.key_bound)
            .finish_non_exhaustive()
    }
}

/// Replaces disclosures into a payload (§7.1 steps 3–5), shared with the holder.
pub(crate) struct Processor<'a> {
    by_digest: BTreeMap<String, &'a Disclosure>,
    used: BTreeSet<String>,
    seen: BTreeSet<String>,
}

impl<'a> Processor<'a> {
    pub(crate) fn new(disclosures: &'a [Disclosure]) -> Result<Self, SdJwtError> {
        let mut by_digest = BTreeMap::new();
        for d in disclosures {
            if by_digest.insert(d.digest(), d).is_some() {
                return Err(SdJwtError::Disclosure("disclosure presented twice"));
            }
        }
        Ok(Processor {
            by_digest,
            used: BTreeSet::new(),
            seen: BTreeSet::new(),
        })
    }

    fn first_sight(&mut self, digest: &str) -> Result<Option<&'a Disclosure>, SdJwtError> {
        if !self.seen.insert(digest.to_owned()) {
            return Err(SdJwtError::Disclosure("digest appears twice"));
        }
        let found = self.by_digest.get(digest).copied();
        if found.is_some() {
            self.used.insert(digest.to_owned());
        }
        Ok(found)
    }

    pub(crate) fn value(&mut self, value: Value) -> Result<Value, SdJwtError> {
        match value {
            Value::Object(map) => self.object(map).map(Value::Object),
            Value::Array(items) => self.array(items).map(Value::Array),
            other => Ok(other),
        }
    }

    fn object(&mut self, mut map: Map<String, Value>) -> Result<Map<String, Value>, SdJwtError> {
        if map.contains_key("...") {
            return Err(SdJwtError::Disclosure("'...' outside an array element"));
        }
        let digests = match map.remove("_sd") {
            None => Vec::new(),
            Some(Value::Array(d)) => d,
            Some(_) => return Err(SdJwtError::Disclosure("_sd is not an array")),
        };
        let mut out = Map::new();
        for (k, v) in map {
            out.insert(k, self.value(v)?);
        }
        for digest in digests {
            let digest = digest
                .as_str()
                .ok_or(SdJwtError::Disclosure("_sd entry is not a string"))?;
            let Some(d) = self.first_sight(digest)? else {
                continue; // a decoy or an undisclosed claim
            };
            let name = d
                .name
                .as_ref()
                .ok_or(SdJwtError::Disclosure("array element disclosure in _sd"))?;
            if out.contains_key(name) {
                return Err(SdJwtError::Disclosure("claim name already present"));
            }
            let value = self.value(d.value.clone())?;
            out.insert(name.clone(), value);
        }
        Ok(out)
    }

    fn array(&mut self, items: Vec<Value>) -> Result<Vec<Value>, SdJwtError> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Value::Object(map) = &item
                && let Some(digest) = map.get("...")
            {
                if map.len() != 1 {
                    return Err(SdJwtError::Disclosure("'...' with other keys"));
                }
                let digest = digest
                    .as_str()
                    .ok_or(SdJwtError::Disclosure("'...' is not a string"))?;
                if let Some(d) = self.first_sight(digest)? {
                    if d.name.is_some() {
                        return Err(SdJwtError::Disclosure(
                            "object property disclosure in array",
                        ));
                    }
                    out.push(self.value(d.value.clone())?);
                }
                continue;
            }
            out.push(self.value(item)?);
        }
        Ok(out)
    }

    pub(crate) fn all_used(&self) -> bool {
        self.used.len() == self.by_digest.len()
    }
}

/// Applies §7.1 steps 3–5 to an issuer payload: the processed claims.
pub(crate) fn process(
    payload: &Map<String, Value>,
    disclosures: &[Disclosure],
) -> Result<Map<String, Value>, SdJwtError> {
    match payload.get("_sd_alg") {
        None => {}
        Some(Value::String(a)) if a == "sha-256" => {}
        Some(_) => return Err(SdJwtError::UnsupportedHash),
    }
    let mut processor = Processor::new(disclosures)?;
    let mut claims = processor.object(payload.clone())?;
    if !processor.all_used() {
        return Err(SdJwtError::Disclosure("disclosure not referenced"));
    }
    claims.remove("_sd_alg");
    Ok(claims)
}

fn number(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, SdJwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or(SdJwtError::Malformed("time claim not a number")),
    }
}

/// Verifies an SD-JWT (with or without KB-JWT) as received.
pub fn verify(presentation: &str, options: &VerifyOptions<'_>) -> Result<Verified, SdJwtError> {
    let sd_jwt = SdJwt::parse(presentation)?;
    let jws = Jws::parse(&sd_jwt.jwt)?;
    if let Some(typ) = options.typ
        && jws.typ() != Some(typ)
    {
        return Err(SdJwtError::Malformed("unexpected typ"));
    }
    let point = options.issuer.resolve(&jws.header, options.now)?;
    jws.verify(&point)?;
    let claims = process(&jws.payload, &sd_jwt.disclosures)?;
    // SD-JWT VC (draft-ietf-oauth-sd-jwt-vc §3.2.2.2): a `dc+sd-jwt` names its type in `vct`.
    if jws.typ() == Some(super::SD_JWT_VC_TYP) && !claims.get("vct").is_some_and(Value::is_string) {
        return Err(SdJwtError::Malformed("SD-JWT VC without vct"));
    }
    if number(&claims, "exp")?.is_some_and(|exp| options.now >= exp) {
        return Err(SdJwtError::Expired("exp"));
    }
    if number(&claims, "nbf")?.is_some_and(|nbf| nbf > options.now + CLOCK_SKEW) {
        return Err(SdJwtError::Expired("nbf"));
    }
    let key_bound = match &options.key_binding {
        None => false,
        Some(policy) => {
            check_key_binding(&sd_jwt, &claims, policy, options.now)?;
            true
        }
    };
    Ok(Verified {
        header: jws.header,
        claims,
        key_bound,
    })
}

fn check_key_binding(
    sd_jwt: &SdJwt,
    claims: &Map<String, Value>,
    policy: &KeyBindingPolicy<'_>,
    now: u64,
) -> Result<(), SdJwtError> {
    use SdJwtError::KeyBinding;
    let kb = sd_jwt
        .kb_jwt
        .as_deref()
        .ok_or(SdJwtError::KeyBindingMissing)?;
    let kb = Jws::parse(kb).map_err(|_| KeyBinding("malformed"))?;
    if kb.typ() != Some("kb+jwt") {
        return Err(KeyBinding("typ"));
    }
    let holder = claims
        .get("cnf")
        .and_then(|c| c.get("jwk"))
        .and_then(point_from_jwk)
        .ok_or(KeyBinding("no cnf.jwk"))?;
    kb.verify(&holder).map_err(|e| match e {
        SdJwtError::UnsupportedAlgorithm => KeyBinding("alg"),
        _ => KeyBinding("signature"),
    })?;
    let text = |name: &str| kb.payload.get(name).and_then(Value::as_str);
    if !text("nonce").is_some_and(|n| eid_crypto::ct_eq(n.as_bytes(), policy.nonce.as_bytes())) {
        return Err(KeyBinding("nonce"));
    }
    if text("aud") != Some(policy.audience) {
        return Err(KeyBinding("aud"));
    }
    let iat = number(&kb.payload, "iat")
        .ok()
        .flatten()
        .ok_or(KeyBinding("iat missing"))?;
    if iat > now + CLOCK_SKEW || iat + policy.max_age < now {
        return Err(KeyBinding("iat not fresh"));
    }
    let expected = super::disclosure::digest(&sd_jwt.without_kb());
    if !text("sd_hash").is_some_and(|h| eid_crypto::ct_eq(h.as_bytes(), expected.as_bytes())) {
        return Err(KeyBinding("sd_hash"));
    }
    Ok(())
}
