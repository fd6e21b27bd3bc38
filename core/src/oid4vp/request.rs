//! The wallet's reading of an authorization request (OpenID4VP 1.0 §5): a signed request object
//! (JAR, RFC 9101; `typ` `oauth-authz-req+jwt`, ES256) whose `x5c` chain reaches an RP trust
//! anchor and whose leaf certificate fits the `client_id` (`x509_san_dns` / `x509_hash`), or
//! plain parameters from a `redirect_uri:` test relying party when the policy allows them. Then
//! the parameters (`response_type` vp_token, `response_mode` direct_post[.jwt], `response_uri`,
//! `nonce`, `state`, `dcql_query`, `client_metadata`), the relying party's registration
//! (response URI, a purpose covering the query), and `exp`/`iat`/`aud`/`wallet_nonce`.

use super::client_id::{ClientId, ClientIdPrefix, dns_names};
use super::client_metadata::ClientMetadata;
use super::dcql::DcqlQuery;
use super::error::Oid4vpError;
use super::form::{https_host, loopback_http};
use super::scope::RpRegistration;
use super::verifier_info::{self, OnBehalfOf};
use crate::sdjwt::{Jws, x5c_chain};
use der::asn1::ObjectIdentifier;
use eid_crypto::trust::TrustStore;
use eid_crypto::x509::p256_point;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The `typ` of a request object (RFC 9101 §10.8).
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";
/// The content type of a request object fetched from a `request_uri` (the wallet's `Accept`).
pub const REQUEST_OBJECT_CONTENT_TYPE: &str = "application/oauth-authz-req+jwt";
/// The `aud` of a request object under static discovery (§5.8).
pub const SELF_ISSUED_AUD: &str = "https://self-issued.me/v2";
/// Seconds a request object's `iat` may lie ahead of our clock.
const CLOCK_SKEW: u64 = 60;

/// How the response travels (§8.2, §8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    DirectPost,
    DirectPostJwt,
}

impl ResponseMode {
    pub fn name(self) -> &'static str {
        match self {
            ResponseMode::DirectPost => "direct_post",
            ResponseMode::DirectPostJwt => "direct_post.jwt",
        }
    }
}

/// The relying party as its access certificate names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpCertificate {
    pub subject: String,
    pub dns_names: Vec<String>,
    /// The subject's organizationName (the legal name in an access certificate of the hub).
    pub organization: Option<String>,
    /// The subject's serialNumber (the business registration number in the hub's certificates).
    pub serial_number: Option<String>,
}

/// A verified authorization request: what the wallet shows (relying party, purpose, claims) and
/// what it needs to answer.
#[derive(Clone, PartialEq)]
pub struct AuthorizationRequest {
    pub client_id: ClientId,
    /// `None` for an unsigned test relying party.
    pub certificate: Option<RpCertificate>,
    pub registration: RpRegistration,
    /// The registered purpose that covers the query.
    pub purpose: String,
    pub response_mode: ResponseMode,
    pub response_uri: String,
    pub nonce: String,
    pub state: Option<String>,
    pub dcql: DcqlQuery,
    pub client_metadata: ClientMetadata,
    /// The relying party an intermediary asks for (`verifier_info`, docs/adr/0050).
    pub on_behalf_of: Option<OnBehalfOf>,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("client_id", &self.client_id.as_str())
            .field("purpose", &self.purpose)
            .field("response_mode", &self.response_mode)
            .finish_non_exhaustive()
    }
}

/// What the wallet trusts and allows.
pub struct WalletPolicy<'a> {
    /// The RP CA(s) whose access certificates the wallet accepts.
    pub rp_trust: &'a TrustStore,
    /// The registered relying parties.
    pub registrations: &'a [RpRegistration],
    pub now: u64,
    /// Unsigned requests of `redirect_uri:` clients (test relying parties).
    pub allow_unsigned_test_rps: bool,
    /// The `wallet_nonce` the wallet sent in its POST to the `request_uri`, if any.
    pub wallet_nonce: Option<&'a str>,
}

/// Verifies a signed request object fetched for (or sent with) a URI naming `uri_client_id`.
pub fn verify_request_object(
    jwt: &str,
    uri_client_id: &str,
    policy: &WalletPolicy<'_>,
) -> Result<AuthorizationRequest, Oid4vpError> {
    let jws = Jws::parse(jwt.trim()).map_err(|_| Oid4vpError::Malformed("request object"))?;
    if jws.typ() != Some(REQUEST_OBJECT_TYP) {
        return Err(Oid4vpError::Malformed("request object typ"));
    }
    let claimed = jws
        .payload
        .get("client_id")
        .and_then(Value::as_str)
        .ok_or(Oid4vpError::Malformed("client_id missing"))?;
    if claimed != uri_client_id {
        return Err(Oid4vpError::ClientId("client_id differs from the URI's"));
    }
    let client_id = ClientId::parse(claimed)?;
    let chain = x5c_chain(&jws.header, policy.rp_trust, policy.now).map_err(|e| match e {
        crate::sdjwt::SdJwtError::Malformed(_) => Oid4vpError::Malformed("x5c"),
        _ => Oid4vpError::UntrustedRp,
    })?;
    let leaf = chain.first().ok_or(Oid4vpError::UntrustedRp)?;
    client_id.check_leaf(leaf)?;
    let point = p256_point(&leaf.certificate).ok_or(Oid4vpError::Unsupported("RP key type"))?;
    jws.verify(&point).map_err(|e| match e {
        crate::sdjwt::SdJwtError::UnsupportedAlgorithm => {
            Oid4vpError::Unsupported("request object alg")
        }
        _ => Oid4vpError::RequestSignature,
    })?;
    check_validity(&jws.payload, policy)?;
    let subject = leaf.certificate.tbs_certificate().subject();
    let certificate = RpCertificate {
        subject: subject.to_string(),
        dns_names: dns_names(leaf),
        organization: subject_attribute(subject, &ORGANIZATION),
        serial_number: subject_attribute(subject, &SERIAL_NUMBER),
    };
    from_parameters(client_id, Some(certificate), &jws.payload, policy)
}

/// X.520 organizationName (2.5.4.10).
const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// X.520 serialNumber (2.5.4.5).
const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");

/// The first value of attribute `oid` in a name, as UTF8String or PrintableString text.
fn subject_attribute(name: &x509_cert::name::Name, oid: &ObjectIdentifier) -> Option<String> {
    name.iter().find(|atv| atv.oid == *oid).and_then(|atv| {
        atv.value.decode_as::<String>().ok().or_else(|| {
            atv.value
                .decode_as::<der::asn1::PrintableStringRef<'_>>()
                .ok()
                .map(|p| p.as_str().to_owned())
        })
    })
}

fn check_validity(
    payload: &Map<String, Value>,
    policy: &WalletPolicy<'_>,
) -> Result<(), Oid4vpError> {
    use Oid4vpError::RequestValidity;
    let number = |name: &str| {
        payload
            .get(name)
            .map(|v| v.as_u64().ok_or(RequestValidity("time claim")))
    };
    if let Some(exp) = number("exp").transpose()?
        && policy.now >= exp
    {
        return Err(RequestValidity("exp"));
    }
    if let Some(iat) = number("iat").transpose()?
        && iat > policy.now + CLOCK_SKEW
    {
        return Err(RequestValidity("iat in the future"));
    }
    if let Some(nbf) = number("nbf").transpose()?
        && nbf > policy.now + CLOCK_SKEW
    {
        return Err(RequestValidity("nbf"));
    }
    let aud_ok = match payload.get("aud") {
        None => true,
        Some(Value::String(a)) => a == SELF_ISSUED_AUD,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(SELF_ISSUED_AUD)),
        Some(_) => false,
    };
    if !aud_ok {
        return Err(RequestValidity("aud"));
    }
    if let Some(sent) = policy.wallet_nonce {
        let got = payload.get("wallet_nonce").and_then(Value::as_str);
        if !got.is_some_and(|g| eid_crypto::ct_eq(g.as_bytes(), sent.as_bytes())) {
            return Err(RequestValidity("wallet_nonce"));
        }
    }
    Ok(())
}

/// Reads unsigned request parameters (from the URI): only a `redirect_uri:` client, only when
/// the policy allows test relying parties.
pub fn unsigned_request(
    params: &BTreeMap<String, String>,
    policy: &WalletPolicy<'_>,
) -> Result<AuthorizationRequest, Oid4vpError> {
    let client_id = ClientId::parse(
        params
            .get("client_id")
            .ok_or(Oid4vpError::Malformed("client_id missing"))?,
    )?;
    if !matches!(client_id.prefix, ClientIdPrefix::RedirectUri(_)) {
        return Err(Oid4vpError::ClientId(
            "an x509 client must send a signed request object",
        ));
    }
    if !policy.allow_unsigned_test_rps {
        return Err(Oid4vpError::ClientId("unsigned requests are not allowed"));
    }
    let mut payload = Map::new();
    for (name, value) in params {
        let value = match name.as_str() {
            "dcql_query" | "client_metadata" => {
                serde_json::from_str(value).map_err(|_| Oid4vpError::Malformed("JSON parameter"))?
            }
            _ => Value::from(value.as_str()),
        };
        payload.insert(name.clone(), value);
    }
    from_parameters(client_id, None, &payload, policy)
}

fn text<'a>(p: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Oid4vpError> {
    match p.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Oid4vpError::Malformed("parameter is not a string")),
    }
}

fn from_parameters(
    client_id: ClientId,
    certificate: Option<RpCertificate>,
    p: &Map<String, Value>,
    policy: &WalletPolicy<'_>,
) -> Result<AuthorizationRequest, Oid4vpError> {
    use Oid4vpError::{Malformed, Unsupported};
    if text(p, "response_type")? != Some("vp_token") {
        return Err(Unsupported("response_type other than vp_token"));
    }
    let response_mode = match text(p, "response_mode")? {
        Some("direct_post") => ResponseMode::DirectPost,
        Some("direct_post.jwt") => ResponseMode::DirectPostJwt,
        _ => return Err(Unsupported("response_mode other than direct_post[.jwt]")),
    };
    if p.contains_key("redirect_uri") {
        return Err(Malformed("redirect_uri with direct_post"));
    }
    if p.contains_key("transaction_data") {
        return Err(Unsupported("transaction_data"));
    }
    if p.contains_key("scope") {
        return Err(Unsupported("scope instead of dcql_query"));
    }
    let response_uri = match (text(p, "response_uri")?, &client_id.prefix) {
        (Some(u), ClientIdPrefix::RedirectUri(r)) if u != r => {
            return Err(Oid4vpError::ResponseUri);
        }
        (Some(u), _) => u.to_owned(),
        (None, ClientIdPrefix::RedirectUri(r)) => r.clone(),
        (None, _) => return Err(Malformed("response_uri missing")),
    };
    // https, or plain http to this device's loopback: only a development hub registers such a
    // URI (the registration check below), so a production wallet never sends there.
    if https_host(&response_uri).is_none() && !loopback_http(&response_uri) {
        return Err(Oid4vpError::ResponseUri);
    }
    let nonce = text(p, "nonce")?
        .filter(|n| !n.is_empty())
        .ok_or(Malformed("nonce missing"))?
        .to_owned();
    let state = text(p, "state")?.map(str::to_owned);
    let dcql = DcqlQuery::parse(p.get("dcql_query").ok_or(Malformed("dcql_query missing"))?)?;
    let client_metadata = ClientMetadata::parse(p.get("client_metadata"))?;
    if response_mode == ResponseMode::DirectPostJwt {
        client_metadata.encryption()?;
    }
    if !client_metadata.accepts_our_sd_jwt() {
        return Err(Unsupported("the RP accepts no ES256 SD-JWT VC"));
    }
    let asks_mdoc = dcql
        .credentials
        .iter()
        .any(|c| c.format == super::dcql::FORMAT_MSO_MDOC);
    if asks_mdoc && !client_metadata.accepts_our_mdoc() {
        return Err(Unsupported("the RP accepts no ES256 mdoc"));
    }
    let registration = policy
        .registrations
        .iter()
        .find(|r| r.client_id == client_id.as_str())
        .ok_or(Oid4vpError::Unregistered)?;
    if !registration.response_uris.contains(&response_uri) {
        return Err(Oid4vpError::ResponseUri);
    }
    let purpose = registration.purpose_for(&dcql)?.name.clone();
    let on_behalf_of = verifier_info::check(p, registration, &dcql, policy.registrations)?;
    Ok(AuthorizationRequest {
        client_id,
        certificate,
        registration: registration.clone(),
        purpose,
        response_mode,
        response_uri,
        nonce,
        state,
        dcql,
        client_metadata,
        on_behalf_of,
    })
}
