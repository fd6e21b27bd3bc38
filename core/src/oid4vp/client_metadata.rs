//! The relying party's metadata in a request (`client_metadata`, OpenID4VP 1.0 §5.1): the JWK
//! set to encrypt the response to, the content encryptions it supports, and the formats and
//! algorithms it accepts (B.3.5).

use super::error::Oid4vpError;
use super::jwe::{Enc, choose_key};
use serde_json::Value;

/// The relying party's metadata from `client_metadata` (§5.1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientMetadata {
    pub jwks: Option<Value>,
    pub encrypted_response_enc_values_supported: Vec<String>,
    pub vp_formats_supported: Option<Value>,
}

impl ClientMetadata {
    pub(crate) fn parse(v: Option<&Value>) -> Result<ClientMetadata, Oid4vpError> {
        let Some(v) = v else {
            return Ok(ClientMetadata::default());
        };
        let obj = v
            .as_object()
            .ok_or(Oid4vpError::Malformed("client_metadata"))?;
        let encs = match obj.get("encrypted_response_enc_values_supported") {
            None => Vec::new(),
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|e| e.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(Oid4vpError::Malformed(
                    "encrypted_response_enc_values_supported",
                ))?,
            Some(_) => {
                return Err(Oid4vpError::Malformed(
                    "encrypted_response_enc_values_supported",
                ));
            }
        };
        Ok(ClientMetadata {
            jwks: obj.get("jwks").cloned(),
            encrypted_response_enc_values_supported: encs,
            vp_formats_supported: obj.get("vp_formats_supported").cloned(),
        })
    }

    /// Whether the RP accepts our mdoc presentations: ES256 (COSE -7, or the fully specified
    /// -9, ESP256) for IssuerAuth and the device signature when its `vp_formats_supported` names
    /// `mso_mdoc` algorithms (B.2.2); no entry, no limit.
    pub fn accepts_our_mdoc(&self) -> bool {
        let Some(format) = self
            .vp_formats_supported
            .as_ref()
            .and_then(|f| f.get(super::dcql::FORMAT_MSO_MDOC))
        else {
            return true;
        };
        ["issuerauth_alg_values", "deviceauth_alg_values"]
            .iter()
            .all(|name| {
                format
                    .get(*name)
                    .and_then(Value::as_array)
                    .is_none_or(|algs| algs.iter().any(|a| matches!(a.as_i64(), Some(-7 | -9))))
            })
    }

    /// Whether the RP accepts our SD-JWT VC presentations: ES256 for the issuer JWT and the KB-JWT
    /// when its `vp_formats_supported` names `dc+sd-jwt` algorithms (B.3.5); no entry, no limit.
    pub fn accepts_our_sd_jwt(&self) -> bool {
        let Some(format) = self
            .vp_formats_supported
            .as_ref()
            .and_then(|f| f.get(super::dcql::FORMAT_SD_JWT_VC))
        else {
            return true;
        };
        ["sd-jwt_alg_values", "kb-jwt_alg_values"]
            .iter()
            .all(|name| {
                format
                    .get(*name)
                    .and_then(Value::as_array)
                    .is_none_or(|algs| algs.iter().any(|a| a.as_str() == Some("ES256")))
            })
    }

    /// The encryption key (from `jwks`) and content encryption (the first of the RP's supported
    /// values we also support; A128GCM when it names none, §8.3).
    pub fn encryption(&self) -> Result<(Value, Enc), Oid4vpError> {
        let key =
            self.jwks
                .as_ref()
                .and_then(choose_key)
                .cloned()
                .ok_or(Oid4vpError::Encryption(
                    "no P-256 ECDH-ES key in client_metadata.jwks",
                ))?;
        let enc = if self.encrypted_response_enc_values_supported.is_empty() {
            Enc::A128Gcm
        } else {
            self.encrypted_response_enc_values_supported
                .iter()
                .find_map(|e| Enc::from_name(e))
                .ok_or(Oid4vpError::Encryption("no supported enc"))?
        };
        Ok((key, enc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_metadata_encryption_and_formats() {
        let key = json!({"kty": "EC", "crv": "P-256", "use": "enc", "alg": "ECDH-ES", "kid": "k1",
            "x": "YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk",
            "y": "Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk"});
        let sig_key = json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ECDH-ES", "kid": "s",
            "x": "YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk",
            "y": "Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk"});
        let m = |v: Value| ClientMetadata::parse(Some(&v)).unwrap();
        // The spec's §8.3 example metadata: the P-256 key, A128GCM (A128CBC-HS256 not ours).
        let md = m(json!({"jwks": {"keys": [sig_key, key]},
            "encrypted_response_enc_values_supported": ["A128CBC-HS256", "A128GCM"]}));
        let (chosen, enc) = md.encryption().unwrap();
        assert_eq!((chosen["kid"].as_str(), enc), (Some("k1"), Enc::A128Gcm));
        let md = m(json!({"jwks": {"keys": [key]}}));
        assert_eq!(
            md.encryption().unwrap().1,
            Enc::A128Gcm,
            "A128GCM by default"
        );
        let md = m(json!({"jwks": {"keys": [key]},
            "encrypted_response_enc_values_supported": ["A256CBC-HS512"]}));
        assert!(md.encryption().is_err());
        assert!(
            m(json!({"jwks": {"keys": [sig_key]}}))
                .encryption()
                .is_err()
        );
        // mso_mdoc: ES256 (-7) or ESP256 (-9) for issuer and device; a MAC-only verifier is not served.
        assert!(m(json!({})).accepts_our_mdoc());
        let mdoc = |v: Value| {
            m(json!({"vp_formats_supported": {"mso_mdoc": {"deviceauth_alg_values": v}}}))
        };
        assert!(mdoc(json!([-65537, -9])).accepts_our_mdoc());
        assert!(mdoc(json!([-7])).accepts_our_mdoc());
        assert!(!mdoc(json!([-65537])).accepts_our_mdoc());
        // vp_formats_supported: ES256 must be among the listed algorithms.
        assert!(m(json!({})).accepts_our_sd_jwt());
        assert!(m(json!({"vp_formats_supported": {"mso_mdoc": {}}})).accepts_our_sd_jwt());
        let formats = |sd: Value, kb: Value| json!({"vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": sd, "kb-jwt_alg_values": kb}}});
        assert!(m(formats(json!(["ES256", "ES384"]), json!(["ES256"]))).accepts_our_sd_jwt());
        assert!(!m(formats(json!(["EdDSA"]), json!(["ES256"]))).accepts_our_sd_jwt());
        assert!(!m(formats(json!(["ES256"]), json!(["ES384"]))).accepts_our_sd_jwt());
    }
}
