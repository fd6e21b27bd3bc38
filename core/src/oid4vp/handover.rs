//! The SessionTranscript of an mdoc presented over OpenID4VP invoked by redirects (OpenID4VP 1.0
//! Appendix B.2.6.1): `[null, null, OpenID4VPHandover]`, where OpenID4VPHandover is
//! `["OpenID4VPHandover", sha-256(cbor(OpenID4VPHandoverInfo))]` and OpenID4VPHandoverInfo is
//! `[client_id, nonce, jwkThumbprint, response_uri]`: the client identifier with its prefix, the
//! request's nonce, the RFC 7638 SHA-256 thumbprint (a byte string) of the verifier's response
//! encryption key when the response is encrypted (`direct_post.jwt`), else `null`, and the
//! response URI. Both sides build it from the same four values, so a DeviceResponse made for one
//! relying party, nonce, key or endpoint does not verify for another. Proven against the
//! specification's example in `core/tests/oid4vp_mdoc_spec_example.rs`.

use super::error::Oid4vpError;
use crate::mdoc::SessionTranscript;
use crate::sdjwt::{jwk_from_point, point_from_jwk};
use ciborium::Value;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// The handover's fixed identifier.
pub const HANDOVER_ID: &str = "OpenID4VPHandover";

/// The four values the handover binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverInfo<'a> {
    /// `client_id` with its prefix (`x509_san_dns:...`).
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// The SHA-256 JWK thumbprint of the response encryption key; `None` unencrypted.
    pub jwk_thumbprint: Option<[u8; 32]>,
    /// `response_uri` (or `redirect_uri`, for the response modes that use it).
    pub response_uri: &'a str,
}

/// The RFC 7638 SHA-256 thumbprint of a P-256 public key (uncompressed SEC1 point): the hash of
/// `{"crv":"P-256","kty":"EC","x":...,"y":...}`, members in that order, no whitespace.
pub fn jwk_thumbprint(point: &[u8]) -> Option<[u8; 32]> {
    let jwk = jwk_from_point(point)?;
    let member = |k: &str| jwk.get(k).and_then(Json::as_str).map(str::to_owned);
    let (x, y) = (member("x")?, member("y")?);
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    Some(Sha256::digest(canonical.as_bytes()).into())
}

/// [`jwk_thumbprint`] of a public P-256 JWK (e.g. the one chosen from `client_metadata.jwks`).
pub fn jwk_thumbprint_of(jwk: &Json) -> Option<[u8; 32]> {
    jwk_thumbprint(&point_from_jwk(jwk)?)
}

fn encode(value: &Value) -> Result<Vec<u8>, Oid4vpError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|_| Oid4vpError::Malformed("CBOR"))?;
    Ok(out)
}

impl HandoverInfo<'_> {
    /// OpenID4VPHandoverInfo encoded as CBOR (OpenID4VPHandoverInfoBytes).
    pub fn encoded(&self) -> Result<Vec<u8>, Oid4vpError> {
        encode(&Value::Array(vec![
            Value::from(self.client_id),
            Value::from(self.nonce),
            self.jwk_thumbprint
                .map_or(Value::Null, |t| Value::Bytes(t.to_vec())),
            Value::from(self.response_uri),
        ]))
    }

    /// OpenID4VPHandover: `["OpenID4VPHandover", sha-256(OpenID4VPHandoverInfoBytes)]`.
    pub fn handover(&self) -> Result<Value, Oid4vpError> {
        let hash = Sha256::digest(self.encoded()?);
        Ok(Value::Array(vec![
            Value::from(HANDOVER_ID),
            Value::Bytes(hash.to_vec()),
        ]))
    }

    /// The SessionTranscript `[null, null, OpenID4VPHandover]`.
    pub fn session_transcript(&self) -> Result<SessionTranscript, Oid4vpError> {
        Ok(SessionTranscript::without_engagement(self.handover()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bound_value_changes_the_transcript() {
        let base = HandoverInfo {
            client_id: "x509_san_dns:rp.example.vn",
            nonce: "n-1",
            jwk_thumbprint: None,
            response_uri: "https://rp.example.vn/response",
        };
        let t = |i: &HandoverInfo<'_>| i.session_transcript().unwrap().encoded();
        let variants = [
            HandoverInfo {
                client_id: "x509_san_dns:other.example.vn",
                ..base.clone()
            },
            HandoverInfo {
                nonce: "n-2",
                ..base.clone()
            },
            HandoverInfo {
                jwk_thumbprint: Some([0; 32]),
                ..base.clone()
            },
            HandoverInfo {
                response_uri: "https://rp.example.vn/other",
                ..base.clone()
            },
        ];
        for v in &variants {
            assert_ne!(t(v), t(&base), "{v:?}");
        }
        // Starts with array(3), null, null.
        assert_eq!(&t(&base)[..3], &[0x83, 0xf6, 0xf6]);
        assert!(jwk_thumbprint(&[4u8; 10]).is_none());
    }
}
