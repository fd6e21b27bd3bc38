//! The authorization request URI the wallet is opened with (same device) or scans (cross
//! device): `openid4vp://?client_id=...&request_uri=...[&request_uri_method=post]`, the request
//! object by value (`request=`), or plain parameters (unsigned, test relying parties only); an
//! `https://` link of the wallet carries the same query (OpenID4VP 1.0 §5, RFC 9101 §5).

use super::error::Oid4vpError;
use super::form;
use serde_json::Value;
use std::collections::BTreeMap;

/// How the wallet fetches a request object by reference (§5.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestUriMethod {
    Get,
    Post,
}

/// Where the request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestSource {
    /// The signed request object itself (`request=`).
    Object(String),
    /// The request object is fetched from `request_uri` (an `https` URI).
    Reference {
        request_uri: String,
        method: RequestUriMethod,
    },
    /// Plain request parameters (no request object).
    Parameters(BTreeMap<String, String>),
}

/// A parsed authorization request URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationUri {
    pub client_id: String,
    pub source: RequestSource,
}

/// Parses an `openid4vp:` or `https:` authorization request URI.
pub fn parse_authorization_uri(uri: &str) -> Result<AuthorizationUri, Oid4vpError> {
    use Oid4vpError::Malformed;
    let scheme_ok = uri.starts_with("openid4vp:") || uri.starts_with("https://");
    if !scheme_ok {
        return Err(Malformed("not an openid4vp: or https: URI"));
    }
    let query = uri
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or_default())
        .ok_or(Malformed("no query"))?;
    let mut params = form::decode(query)?;
    let client_id = params
        .remove("client_id")
        .filter(|c| !c.is_empty())
        .ok_or(Malformed("client_id missing"))?;
    let request = params.remove("request");
    let request_uri = params.remove("request_uri");
    let method = params.remove("request_uri_method");
    let source = match (request, request_uri) {
        (Some(_), Some(_)) => return Err(Malformed("both request and request_uri")),
        (Some(jwt), None) => {
            if method.is_some() {
                return Err(Malformed("request_uri_method without request_uri"));
            }
            RequestSource::Object(jwt)
        }
        (None, Some(request_uri)) => {
            // The request object is signed: a development RP on this device's loopback may serve
            // it over plain http.
            if form::https_host(&request_uri).is_none() && !form::loopback_http(&request_uri) {
                return Err(Malformed("request_uri is not https"));
            }
            let method = match method.as_deref() {
                None | Some("get") => RequestUriMethod::Get,
                Some("post") => RequestUriMethod::Post,
                Some(_) => return Err(Malformed("invalid_request_uri_method")),
            };
            RequestSource::Reference {
                request_uri,
                method,
            }
        }
        (None, None) => {
            if method.is_some() {
                return Err(Malformed("request_uri_method without request_uri"));
            }
            params.insert("client_id".into(), client_id.clone());
            RequestSource::Parameters(params)
        }
    };
    Ok(AuthorizationUri { client_id, source })
}

/// The body of the wallet's POST to a `request_uri` (`request_uri_method=post`, §5.10.1):
/// `wallet_metadata` and `wallet_nonce`, both optional. Sent with `Content-Type:
/// application/x-www-form-urlencoded` and `Accept: application/oauth-authz-req+jwt`.
pub fn request_uri_post_body(
    wallet_nonce: Option<&str>,
    wallet_metadata: Option<&Value>,
) -> String {
    let metadata = wallet_metadata.map(Value::to_string);
    let mut pairs = Vec::new();
    if let Some(m) = &metadata {
        pairs.push(("wallet_metadata", m.as_str()));
    }
    if let Some(n) = wallet_nonce {
        pairs.push(("wallet_nonce", n));
    }
    form::encode(&pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_reference_by_value_and_refusals() {
        let u = parse_authorization_uri(
            "openid4vp://?client_id=x509_san_dns%3Aclient.example.org&request_uri=https%3A%2F%2Fclient.example.org%2Frequest%2Fvapof4ql2i7m41m68uep&request_uri_method=post",
        )
        .unwrap();
        assert_eq!(u.client_id, "x509_san_dns:client.example.org");
        assert_eq!(
            u.source,
            RequestSource::Reference {
                request_uri: "https://client.example.org/request/vapof4ql2i7m41m68uep".into(),
                method: RequestUriMethod::Post
            }
        );
        let u =
            parse_authorization_uri("https://wallet.example/?client_id=x&request=a.b.c").unwrap();
        assert_eq!(u.source, RequestSource::Object("a.b.c".into()));
        for bad in [
            "openid4vp://?request_uri=https%3A%2F%2Fa",
            "openid4vp://?client_id=x&request_uri=http%3A%2F%2Fa%2Fr",
            "openid4vp://?client_id=x&request_uri=https%3A%2F%2Fa%2Fr&request_uri_method=PUT",
            "openid4vp://?client_id=x&request=a&request_uri=https%3A%2F%2Fa",
            "openid4vp://?client_id=x&client_id=y&request=a",
            "openid4vp://?client_id=x&request_uri_method=get",
            "mailto:?client_id=x",
        ] {
            assert!(parse_authorization_uri(bad).is_err(), "{bad}");
        }
        let body = request_uri_post_body(Some("qPmxiNFCR3QTm19POc8u"), None);
        assert_eq!(body, "wallet_nonce=qPmxiNFCR3QTm19POc8u");
    }
}
