//! The Digital Credentials Query Language (OpenID4VP 1.0 §6): credential queries (format,
//! `meta`, `claims` with claims path pointers and `values`, `claim_sets`, `multiple`) and
//! credential set queries (`options`, `required`), read with the rules of §6 checked (ids,
//! uniqueness, references) and written back as JSON. Unknown properties are ignored (§6).

use super::error::Oid4vpError;
use crate::sdjwt::{ClaimPath, PathElem};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// The format identifier of SD-JWT VC.
pub const FORMAT_SD_JWT_VC: &str = "dc+sd-jwt";
/// The format identifier of ISO mdoc.
pub const FORMAT_MSO_MDOC: &str = "mso_mdoc";

/// A DCQL query.
#[derive(Debug, Clone, PartialEq)]
pub struct DcqlQuery {
    pub credentials: Vec<CredentialQuery>,
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// One credential query.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialQuery {
    pub id: String,
    pub format: String,
    pub multiple: bool,
    pub meta: Meta,
    pub claims: Option<Vec<ClaimQuery>>,
    pub claim_sets: Option<Vec<Vec<String>>>,
    pub require_cryptographic_holder_binding: bool,
    /// Kept as sent; the wallet does not filter on it (a Verifier checks issuers itself, §6.1.1).
    pub trusted_authorities: Option<Vec<Value>>,
}

/// The format-specific `meta` of a credential query.
#[derive(Debug, Clone, PartialEq)]
pub enum Meta {
    /// `dc+sd-jwt`: the accepted `vct` values (B.3.5, required).
    SdJwtVc { vct_values: Vec<String> },
    /// `mso_mdoc`: the doctype (B.2.3, required).
    Mdoc { doctype_value: String },
    /// Any other format: kept as sent, never matched.
    Other(Map<String, Value>),
}

/// One claims query.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimQuery {
    pub id: Option<String>,
    pub path: ClaimPath,
    /// Expected values (strings, integers, booleans); `None` accepts any.
    pub values: Option<Vec<Value>>,
    /// `mso_mdoc` only (B.2.4): the verifier's IntentToRetain for the element (ISO/IEC 18013-5
    /// §8.3.2.1.2.1); `None`: no statement.
    pub intent_to_retain: Option<bool>,
}

/// One credential set query.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialSetQuery {
    pub options: Vec<Vec<String>>,
    pub required: bool,
}

use Oid4vpError::Malformed;

/// §6.1 / §6.3: non-empty, alphanumeric, `_` or `-`.
fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn id(v: Option<&Value>) -> Result<String, Oid4vpError> {
    match v.and_then(Value::as_str) {
        Some(s) if is_id(s) => Ok(s.to_owned()),
        _ => Err(Malformed("DCQL id")),
    }
}

fn boolean(v: Option<&Value>, default: bool) -> Result<bool, Oid4vpError> {
    match v {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Malformed("DCQL boolean")),
    }
}

fn non_empty_array<'a>(v: &'a Value, what: &'static str) -> Result<&'a Vec<Value>, Oid4vpError> {
    match v.as_array() {
        Some(a) if !a.is_empty() => Ok(a),
        _ => Err(Malformed(what)),
    }
}

fn id_list(v: &Value) -> Result<Vec<String>, Oid4vpError> {
    non_empty_array(v, "DCQL id list")?
        .iter()
        .map(|i| id(Some(i)))
        .collect()
}

/// Reads a claims path pointer (§7): a non-empty array of strings, nulls and non-negative integers.
pub fn path_from_json(v: &Value) -> Result<ClaimPath, Oid4vpError> {
    let steps = non_empty_array(v, "claims path pointer")?
        .iter()
        .map(|step| match step {
            Value::String(k) => Ok(PathElem::Key(k.clone())),
            Value::Null => Ok(PathElem::AllElements),
            Value::Number(n) => n
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .map(PathElem::Index)
                .ok_or(Malformed("claims path index")),
            _ => Err(Malformed("claims path element")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ClaimPath(steps))
}

/// A claims path pointer as JSON.
pub fn path_to_json(path: &ClaimPath) -> Value {
    path.0
        .iter()
        .map(|s| match s {
            PathElem::Key(k) => Value::from(k.as_str()),
            PathElem::Index(i) => Value::from(*i),
            PathElem::AllElements => Value::Null,
        })
        .collect()
}

fn claim_query(v: &Value, format: &str) -> Result<ClaimQuery, Oid4vpError> {
    let obj = v.as_object().ok_or(Malformed("claims query"))?;
    let id = obj.get("id").map(|i| id(Some(i))).transpose()?;
    let path = path_from_json(obj.get("path").ok_or(Malformed("claims path missing"))?)?;
    if format == FORMAT_MSO_MDOC
        && !(path.0.len() == 2 && path.0.iter().all(|s| matches!(s, PathElem::Key(_))))
    {
        return Err(Malformed("mdoc claims path is namespace and element"));
    }
    let values = obj
        .get("values")
        .map(|vals| {
            let vals = non_empty_array(vals, "claims values")?;
            if vals
                .iter()
                .all(|x| x.is_string() || x.is_boolean() || x.is_i64() || x.is_u64())
            {
                Ok(vals.clone())
            } else {
                Err(Malformed("claims values are strings, integers or booleans"))
            }
        })
        .transpose()?;
    let intent_to_retain = match (format, obj.get("intent_to_retain")) {
        (FORMAT_MSO_MDOC, Some(v)) => Some(boolean(Some(v), false)?),
        _ => None,
    };
    Ok(ClaimQuery {
        id,
        path,
        values,
        intent_to_retain,
    })
}

fn meta(format: &str, v: &Value) -> Result<Meta, Oid4vpError> {
    let obj = v.as_object().ok_or(Malformed("meta is required"))?;
    Ok(match format {
        FORMAT_SD_JWT_VC => Meta::SdJwtVc {
            vct_values: non_empty_array(
                obj.get("vct_values").unwrap_or(&Value::Null),
                "vct_values",
            )?
            .iter()
            .map(|x| x.as_str().map(str::to_owned).ok_or(Malformed("vct_values")))
            .collect::<Result<Vec<_>, _>>()?,
        },
        FORMAT_MSO_MDOC => Meta::Mdoc {
            doctype_value: obj
                .get("doctype_value")
                .and_then(Value::as_str)
                .ok_or(Malformed("doctype_value"))?
                .to_owned(),
        },
        _ => Meta::Other(obj.clone()),
    })
}

fn credential_query(v: &Value) -> Result<CredentialQuery, Oid4vpError> {
    let obj = v.as_object().ok_or(Malformed("credential query"))?;
    let id = id(obj.get("id"))?;
    let format = obj
        .get("format")
        .and_then(Value::as_str)
        .ok_or(Malformed("credential query format"))?
        .to_owned();
    let meta = meta(&format, obj.get("meta").unwrap_or(&Value::Null))?;
    let claims = obj
        .get("claims")
        .map(|c| {
            non_empty_array(c, "claims")?
                .iter()
                .map(|q| claim_query(q, &format))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let claim_sets = obj.get("claim_sets").map(|sets| {
        non_empty_array(sets, "claim_sets")?
            .iter()
            .map(id_list)
            .collect::<Result<Vec<_>, _>>()
    });
    let claim_sets = claim_sets.transpose()?;
    if let Some(claims) = &claims {
        let ids: Vec<&String> = claims.iter().filter_map(|c| c.id.as_ref()).collect();
        let unique: BTreeSet<&String> = ids.iter().copied().collect();
        if unique.len() != ids.len() {
            return Err(Malformed("claim id used twice"));
        }
        if let Some(sets) = &claim_sets {
            if ids.len() != claims.len() {
                return Err(Malformed("claim_sets need every claim to have an id"));
            }
            if !sets.iter().flatten().all(|i| unique.contains(i)) {
                return Err(Malformed("claim_sets names an unknown claim"));
            }
        }
    } else if claim_sets.is_some() {
        return Err(Malformed("claim_sets without claims"));
    }
    let trusted_authorities = obj
        .get("trusted_authorities")
        .map(|t| non_empty_array(t, "trusted_authorities").cloned())
        .transpose()?;
    Ok(CredentialQuery {
        id,
        multiple: boolean(obj.get("multiple"), false)?,
        require_cryptographic_holder_binding: boolean(
            obj.get("require_cryptographic_holder_binding"),
            true,
        )?,
        format,
        meta,
        claims,
        claim_sets,
        trusted_authorities,
    })
}

impl DcqlQuery {
    /// Reads and checks a DCQL query.
    pub fn parse(v: &Value) -> Result<DcqlQuery, Oid4vpError> {
        let obj = v
            .as_object()
            .ok_or(Malformed("dcql_query is not an object"))?;
        let credentials = non_empty_array(
            obj.get("credentials").unwrap_or(&Value::Null),
            "credentials",
        )?
        .iter()
        .map(credential_query)
        .collect::<Result<Vec<_>, _>>()?;
        let ids: BTreeSet<&str> = credentials.iter().map(|c| c.id.as_str()).collect();
        if ids.len() != credentials.len() {
            return Err(Malformed("credential query id used twice"));
        }
        let credential_sets = obj
            .get("credential_sets")
            .map(|sets| {
                non_empty_array(sets, "credential_sets")?
                    .iter()
                    .map(|set| {
                        let set = set.as_object().ok_or(Malformed("credential set"))?;
                        let options = non_empty_array(
                            set.get("options").unwrap_or(&Value::Null),
                            "credential set options",
                        )?
                        .iter()
                        .map(id_list)
                        .collect::<Result<Vec<_>, _>>()?;
                        if !options.iter().flatten().all(|i| ids.contains(i.as_str())) {
                            return Err(Malformed("credential set names an unknown query"));
                        }
                        Ok(CredentialSetQuery {
                            options,
                            required: boolean(set.get("required"), true)?,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(DcqlQuery {
            credentials,
            credential_sets,
        })
    }

    /// The query as JSON.
    pub fn to_json(&self) -> Value {
        let credentials: Vec<Value> = self
            .credentials
            .iter()
            .map(CredentialQuery::to_json)
            .collect();
        let mut out = json!({ "credentials": credentials });
        if let Some(sets) = &self.credential_sets {
            out["credential_sets"] = sets
                .iter()
                .map(|s| json!({"options": s.options, "required": s.required}))
                .collect();
        }
        out
    }

    /// The credential query with this id.
    pub fn credential(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|c| c.id == id)
    }
}

impl CredentialQuery {
    fn to_json(&self) -> Value {
        let meta = match &self.meta {
            Meta::SdJwtVc { vct_values } => json!({ "vct_values": vct_values }),
            Meta::Mdoc { doctype_value } => json!({ "doctype_value": doctype_value }),
            Meta::Other(m) => Value::Object(m.clone()),
        };
        let mut out = json!({"id": self.id, "format": self.format, "meta": meta});
        if self.multiple {
            out["multiple"] = true.into();
        }
        if !self.require_cryptographic_holder_binding {
            out["require_cryptographic_holder_binding"] = false.into();
        }
        if let Some(claims) = &self.claims {
            out["claims"] = claims
                .iter()
                .map(|c| {
                    let mut q = json!({ "path": path_to_json(&c.path) });
                    if let Some(id) = &c.id {
                        q["id"] = id.as_str().into();
                    }
                    if let Some(v) = &c.values {
                        q["values"] = v.clone().into();
                    }
                    if let Some(retain) = c.intent_to_retain {
                        q["intent_to_retain"] = retain.into();
                    }
                    q
                })
                .collect();
        }
        if let Some(sets) = &self.claim_sets {
            out["claim_sets"] = json!(sets);
        }
        if let Some(t) = &self.trusted_authorities {
            out["trusted_authorities"] = t.clone().into();
        }
        out
    }

    /// Every claims path the query names (all claim sets together).
    pub fn all_paths(&self) -> Vec<&ClaimPath> {
        self.claims.iter().flatten().map(|c| &c.path).collect()
    }

    /// The claims queries of one option: all of them without `claim_sets`, else the option's.
    pub fn options(&self) -> Vec<Vec<&ClaimQuery>> {
        let Some(claims) = &self.claims else {
            return vec![Vec::new()];
        };
        match &self.claim_sets {
            None => vec![claims.iter().collect()],
            Some(sets) => sets
                .iter()
                .map(|set| {
                    set.iter()
                        .filter_map(|id| claims.iter().find(|c| c.id.as_deref() == Some(id)))
                        .collect()
                })
                .collect(),
        }
    }
}
