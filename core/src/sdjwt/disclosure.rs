//! Disclosures (RFC 9901 §4.2): base64url of a JSON array `[salt, name, value]` (an object
//! property) or `[salt, value]` (an array element), and their digests: SHA-256 over the
//! base64url text as received (§4.2.3), so no re-encoding ever changes a digest.

use super::error::SdJwtError;
use super::jws::{b64, unb64};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Salt length in bytes: 128 bits, as RFC 9901 §9.3 recommends.
pub(crate) const SALT_BYTES: usize = 16;

/// One disclosure, as received (`encoded`) and as read.
#[derive(Clone, PartialEq)]
pub struct Disclosure {
    pub encoded: String,
    pub salt: String,
    /// The claim name of an object property; `None` for an array element.
    pub name: Option<String>,
    pub value: Value,
}

// Values are personal data: Debug names the claim only.
impl std::fmt::Debug for Disclosure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disclosure")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The base64url SHA-256 digest of a disclosure's text (or of any text: decoys).
pub fn digest(encoded: &str) -> String {
    b64(&Sha256::digest(encoded.as_bytes()))
}

impl Disclosure {
    /// Reads a disclosure; refuses anything but a 2- or 3-element array with a string salt and,
    /// for 3 elements, a string name other than `_sd` and `...` (§7.1 step 3.2).
    pub fn parse(encoded: &str) -> Result<Disclosure, SdJwtError> {
        use SdJwtError::BadDisclosure;
        let bytes = unb64(encoded).ok_or(BadDisclosure("base64url"))?;
        let Ok(Value::Array(mut items)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(BadDisclosure("not a JSON array"));
        };
        let (salt, name, value) = match items.len() {
            2 => {
                let value = items.pop().unwrap_or(Value::Null);
                (items.pop(), None, value)
            }
            3 => {
                let value = items.pop().unwrap_or(Value::Null);
                let name = match items.pop() {
                    Some(Value::String(n)) => n,
                    _ => return Err(BadDisclosure("claim name not a string")),
                };
                if name == "_sd" || name == "..." {
                    return Err(BadDisclosure("reserved claim name"));
                }
                (items.pop(), Some(name), value)
            }
            _ => return Err(BadDisclosure("not 2 or 3 elements")),
        };
        let Some(Value::String(salt)) = salt else {
            return Err(BadDisclosure("salt not a string"));
        };
        Ok(Disclosure {
            encoded: encoded.to_owned(),
            salt,
            name,
            value,
        })
    }

    /// A new disclosure with the given salt (base64url text).
    pub fn new(salt: String, name: Option<&str>, value: Value) -> Disclosure {
        let array = match name {
            Some(n) => Value::Array(vec![salt.clone().into(), n.into(), value.clone()]),
            None => Value::Array(vec![salt.clone().into(), value.clone()]),
        };
        // A serde_json::Value always serialises.
        let encoded = b64(array.to_string().as_bytes());
        Disclosure {
            encoded,
            salt,
            name: name.map(str::to_owned),
            value,
        }
    }

    pub fn digest(&self) -> String {
        digest(&self.encoded)
    }
}
