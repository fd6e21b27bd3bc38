//! The compact serialization (RFC 9901 §4): `<Issuer-signed JWT>~<Disclosure 1>~...~` and, with
//! key binding, `...~<KB-JWT>`. Parsing splits and reads the disclosures; it checks no signature.

use super::disclosure::Disclosure;
use super::error::SdJwtError;

/// Largest SD-JWT accepted, and most disclosures.
const MAX_COMPACT: usize = 1024 * 1024;
const MAX_DISCLOSURES: usize = 4096;

/// An SD-JWT or SD-JWT+KB as received or issued.
#[derive(Clone, PartialEq)]
pub struct SdJwt {
    pub jwt: String,
    pub disclosures: Vec<Disclosure>,
    pub kb_jwt: Option<String>,
}

// The JWT's payload and the disclosures are personal data: Debug names the disclosed claims.
impl std::fmt::Debug for SdJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdJwt")
            .field("disclosures", &self.disclosures)
            .field("key_bound", &self.kb_jwt.is_some())
            .finish_non_exhaustive()
    }
}

impl SdJwt {
    pub fn parse(compact: &str) -> Result<SdJwt, SdJwtError> {
        if compact.len() > MAX_COMPACT {
            return Err(SdJwtError::Malformed("too large"));
        }
        let mut parts: Vec<&str> = compact.split('~').collect();
        if parts.len() < 2 {
            return Err(SdJwtError::Malformed("no '~' after the issuer JWT"));
        }
        if parts.len() > MAX_DISCLOSURES + 2 {
            return Err(SdJwtError::Malformed("too many disclosures"));
        }
        let last = parts.pop().unwrap_or_default();
        let kb_jwt = (!last.is_empty()).then(|| last.to_owned());
        let jwt = parts.remove(0);
        if jwt.is_empty() {
            return Err(SdJwtError::Malformed("issuer JWT missing"));
        }
        let disclosures = parts
            .into_iter()
            .map(|d| {
                if d.is_empty() {
                    Err(SdJwtError::Malformed("empty disclosure"))
                } else {
                    Disclosure::parse(d)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SdJwt {
            jwt: jwt.to_owned(),
            disclosures,
            kb_jwt,
        })
    }

    /// The SD-JWT without its KB-JWT, ending in `~`: what `sd_hash` is taken over.
    pub fn without_kb(&self) -> String {
        let mut out = self.jwt.clone();
        out.push('~');
        for d in &self.disclosures {
            out.push_str(&d.encoded);
            out.push('~');
        }
        out
    }

    /// The compact serialization.
    pub fn to_compact(&self) -> String {
        let mut out = self.without_kb();
        if let Some(kb) = &self.kb_jwt {
            out.push_str(kb);
        }
        out
    }
}
