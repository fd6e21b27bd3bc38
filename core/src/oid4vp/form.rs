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

/// Whether `uri` is plain `http://` to a loopback host (`127.0.0.1`, `localhost`, `[::1]`): the
/// relying parties of a development setup on this device.
pub fn loopback_http(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    matches!(
        host.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "[::1]"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_is_only_this_device() {
        assert!(loopback_http("http://127.0.0.1:8080/response"));
        assert!(loopback_http("http://localhost/r"));
        assert!(loopback_http("http://[::1]:9/r"));
        for no in [
            "https://127.0.0.1/r",
            "http://127.0.0.1.example.org/r",
            "http://user@127.0.0.1/r",
            "http://bank.example.vn/r",
            "http://10.0.0.1/r",
        ] {
            assert!(!loopback_http(no), "{no}");
        }
    }
}
