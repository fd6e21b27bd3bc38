//! The relying party's request (OpenID4VP 1.0 §5): a request object signed with its access
//! certificate's key (`typ` `oauth-authz-req+jwt`, `x5c` chain), the URI that points the wallet
//! to it, and what the relying party keeps until the response arrives.

use super::dcql::DcqlQuery;
use super::error::Oid4vpError;
use super::form;
use super::jwe::Enc;
use super::request::{REQUEST_OBJECT_TYP, ResponseMode, SELF_ISSUED_AUD};
use super::uri::RequestUriMethod;
use crate::sdjwt::{Es256Signer, b64, jwk_from_point, sign_jws};
use base64::Engine;
use eid_crypto::Rng;
use serde_json::{Map, Value, json};

/// The relying party's signing identity.
pub struct RpSigner<'a> {
    /// With its prefix (`x509_san_dns:...` or `x509_hash:...`).
    pub client_id: &'a str,
    pub key: &'a dyn Es256Signer,
    /// Its access certificate and the CAs above it (DER, leaf first).
    pub x5c: &'a [Vec<u8>],
}

/// One request.
pub struct RequestSpec<'a> {
    pub response_uri: &'a str,
    pub response_mode: ResponseMode,
    pub nonce: &'a str,
    pub state: Option<&'a str>,
    pub dcql: &'a DcqlQuery,
    /// For `direct_post.jwt`: the key id and uncompressed P-256 point the wallet encrypts to.
    pub encryption_key: Option<(&'a str, &'a [u8])>,
    pub enc_values: &'a [Enc],
    /// The wallet's `wallet_nonce` when it fetched the request by POST.
    pub wallet_nonce: Option<&'a str>,
    pub issued_at: u64,
    /// Seconds until `exp`.
    pub lifetime: u64,
}

/// What the relying party keeps for the response (keyed by `state` or its session).
#[derive(Clone, PartialEq)]
pub struct PendingRequest {
    pub client_id: String,
    pub nonce: String,
    pub state: Option<String>,
    pub dcql: DcqlQuery,
    pub response_mode: ResponseMode,
    /// The `kid` of the encryption key (`direct_post.jwt`).
    pub kid: Option<String>,
}

impl std::fmt::Debug for PendingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRequest")
            .field("client_id", &self.client_id)
            .field("response_mode", &self.response_mode)
            .finish_non_exhaustive()
    }
}

/// The DCQL query for the PID SD-JWT VC (credential query id `pid`) asking for the claims at
/// `paths` (a top-level claim is a one-element path, `["age_equal_or_over", "18"]` one inside an
/// object): what a relying party of the hub asks (`eid rp serve`, the backend's OIDC facade).
pub fn pid_query(paths: &[&[&str]]) -> Result<DcqlQuery, Oid4vpError> {
    let claims: Vec<Value> = paths.iter().map(|p| json!({ "path": p })).collect();
    DcqlQuery::parse(&json!({"credentials": [{
        "id": "pid", "format": super::dcql::FORMAT_SD_JWT_VC,
        "meta": {"vct_values": [crate::sdjwt::PID_VCT]},
        "claims": claims
    }]}))
}

/// The DCQL query for an mdoc of `doc_type` (credential query id `mdoc`, format `mso_mdoc`,
/// `meta.doctype_value`) asking for the `(namespace, element)` pairs of `elements`, each with
/// `intent_to_retain` when given (OpenID4VP 1.0 B.2.3, B.2.4).
pub fn mdoc_query(
    doc_type: &str,
    elements: &[(&str, &str)],
    intent_to_retain: Option<bool>,
) -> Result<DcqlQuery, Oid4vpError> {
    let claims: Vec<Value> = elements
        .iter()
        .map(|(ns, id)| {
            let mut q = json!({ "path": [ns, id] });
            if let Some(retain) = intent_to_retain {
                q["intent_to_retain"] = retain.into();
            }
            q
        })
        .collect();
    DcqlQuery::parse(&json!({"credentials": [{
        "id": "mdoc", "format": super::dcql::FORMAT_MSO_MDOC,
        "meta": {"doctype_value": doc_type},
        "claims": claims
    }]}))
}

/// A fresh random value (128 bits, base64url) for `nonce`, `state` or `wallet_nonce`.
pub fn fresh_nonce(rng: &mut dyn Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    b64(&bytes)
}

/// Signs the request object; gives it and the [`PendingRequest`] to keep.
pub fn request_object(
    rp: &RpSigner<'_>,
    spec: &RequestSpec<'_>,
) -> Result<(String, PendingRequest), Oid4vpError> {
    request_object_with(rp, spec, &[])
}

/// [`request_object`] with `verifier_info` (§5.1; e.g. `on_behalf_of_info`) when not empty.
pub fn request_object_with(
    rp: &RpSigner<'_>,
    spec: &RequestSpec<'_>,
    verifier_info: &[Value],
) -> Result<(String, PendingRequest), Oid4vpError> {
    let mut payload = Map::new();
    payload.insert("client_id".into(), rp.client_id.into());
    payload.insert("aud".into(), SELF_ISSUED_AUD.into());
    payload.insert("response_type".into(), "vp_token".into());
    payload.insert("response_mode".into(), spec.response_mode.name().into());
    payload.insert("response_uri".into(), spec.response_uri.into());
    payload.insert("nonce".into(), spec.nonce.into());
    if let Some(state) = spec.state {
        payload.insert("state".into(), state.into());
    }
    if let Some(n) = spec.wallet_nonce {
        payload.insert("wallet_nonce".into(), n.into());
    }
    payload.insert("dcql_query".into(), spec.dcql.to_json());
    if !verifier_info.is_empty() {
        payload.insert("verifier_info".into(), verifier_info.into());
    }
    payload.insert("iat".into(), spec.issued_at.into());
    payload.insert("exp".into(), (spec.issued_at + spec.lifetime).into());
    // B.2.2 / B.3.4: the algorithms we accept (COSE -7 = ES256 for mdoc issuer and device).
    let mut metadata = json!({
        "vp_formats_supported": {
            "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]},
            "mso_mdoc": {"issuerauth_alg_values": [-7], "deviceauth_alg_values": [-7]}
        }
    });
    let kid = match (spec.response_mode, spec.encryption_key) {
        (ResponseMode::DirectPostJwt, None) => {
            return Err(Oid4vpError::Encryption(
                "direct_post.jwt needs an encryption key",
            ));
        }
        (_, Some((kid, point))) => {
            let mut jwk = jwk_from_point(point).ok_or(Oid4vpError::Encryption("key"))?;
            jwk["kid"] = kid.into();
            jwk["use"] = "enc".into();
            jwk["alg"] = "ECDH-ES".into();
            metadata["jwks"] = json!({ "keys": [jwk] });
            let encs: Vec<&str> = spec.enc_values.iter().map(|e| e.name()).collect();
            if !encs.is_empty() {
                metadata["encrypted_response_enc_values_supported"] = encs.into();
            }
            Some(kid.to_owned())
        }
        (_, None) => None,
    };
    payload.insert("client_metadata".into(), metadata);
    let mut header = Map::new();
    header.insert("typ".into(), REQUEST_OBJECT_TYP.into());
    let std_b64 = base64::engine::general_purpose::STANDARD;
    header.insert(
        "x5c".into(),
        rp.x5c
            .iter()
            .map(|c| Value::from(std_b64.encode(c)))
            .collect(),
    );
    let jwt = sign_jws(header, &payload, rp.key).map_err(|_| Oid4vpError::Signing)?;
    Ok((
        jwt,
        PendingRequest {
            client_id: rp.client_id.to_owned(),
            nonce: spec.nonce.to_owned(),
            state: spec.state.map(str::to_owned),
            dcql: spec.dcql.clone(),
            response_mode: spec.response_mode,
            kid,
        },
    ))
}

/// The URI that opens the wallet (same device) or goes into the QR code (cross device):
/// `base` (e.g. `openid4vp://`) with `client_id`, `request_uri` and `request_uri_method`.
pub fn authorization_uri(
    base: &str,
    client_id: &str,
    request_uri: &str,
    method: RequestUriMethod,
) -> String {
    let method = match method {
        RequestUriMethod::Get => "get",
        RequestUriMethod::Post => "post",
    };
    let query = form::encode(&[
        ("client_id", client_id),
        ("request_uri", request_uri),
        ("request_uri_method", method),
    ]);
    format!("{base}?{query}")
}
