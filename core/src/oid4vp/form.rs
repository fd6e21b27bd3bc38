//! `application/x-www-form-urlencoded` (query strings, request URI POST bodies, `direct_post`
//! bodies) and the few URI checks OpenID4VP needs. A name given twice is refused: which of two
//! `client_id`s or `state`s counts must never be a matter of parser order.

use super::error::Oid4vpError;
use std::collections::BTreeMap;

/// Largest form body or query accepted.
const MAX_FORM: usize = 2 * 1024 * 1024;

/// Reads a form body or query string.
pub fn decode(text: &str) -> Result<BTreeMap<String, String>, Oid4vpError> {
    if text.len() > MAX_FORM {
        return Err(Oid4vpError::Malformed("form too large"));
    }
    let mut out = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(text.as_bytes()) {
        if out.insert(name.into_owned(), value.into_owned()).is_some() {
            return Err(Oid4vpError::Malformed("parameter given twice"));
        }
    }
    Ok(out)
}

/// Writes a form body or query string.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        s.append_pair(name, value);
    }
    s.finish()
}

/// The host of an `https://` URI (lower case, port left off), or `None` for any other URI.
pub fn https_host(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') {
        return None;
    }
    let host = authority.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}
