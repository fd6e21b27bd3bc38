//! Compact JWS (RFC 7515) with ES256 only, over eid-crypto's ES256 (ring), and P-256 JWKs
//! (RFC 7517/7518). The signature is checked over the header and payload exactly as received;
//! the JSON is parsed only after that. Our signers give low-S signatures; signatures of other
//! issuers are accepted in either S form, as JWS does (docs/adr/0029).

use super::error::SdJwtError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Largest compact JWS accepted (an issuer JWT with its x5c chain fits easily).
const MAX_JWS: usize = 256 * 1024;

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Signs with ES256: gives r || s (64 bytes) over the message. Implemented for a P-256 key
/// here and by the wallet for its device key.
pub trait Es256Signer {
    fn sign_es256(&self, message: &[u8]) -> Option<[u8; 64]>;
}

impl Es256Signer for p256::ecdsa::SigningKey {
    fn sign_es256(&self, message: &[u8]) -> Option<[u8; 64]> {
        use p256::ecdsa::signature::Signer;
        let sig: p256::ecdsa::Signature = self.sign(message);
        eid_crypto::es256::normalize_raw(&sig.to_bytes())
    }
}

/// A parsed compact JWS whose JSON has been read (the signature is not yet checked).
#[derive(Clone)]
pub struct Jws {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

fn json_object(part: &str) -> Result<Map<String, Value>, SdJwtError> {
    let bytes = unb64(part).ok_or(SdJwtError::Malformed("base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(SdJwtError::Malformed("not a JSON object")),
    }
}

// Payloads hold personal data: Debug shows the header's alg and typ and the claim names only.
impl std::fmt::Debug for Jws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jws")
            .field("alg", &self.header.get("alg"))
            .field("typ", &self.header.get("typ"))
            .field("claims", &self.payload.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Jws {
    /// Parses `header.payload.signature`.
    pub fn parse(compact: &str) -> Result<Jws, SdJwtError> {
        if compact.len() > MAX_JWS {
            return Err(SdJwtError::Malformed("too large"));
        }
        let mut parts = compact.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SdJwtError::Malformed("not three JWS parts"));
        };
        let header = json_object(h)?;
        // RFC 7515 §4.1.11: we understand no extension, so any `crit` header is refused.
        if header.contains_key("crit") {
            return Err(SdJwtError::Malformed("crit header"));
        }
        let payload = json_object(p)?;
        let signature = unb64(s).ok_or(SdJwtError::Malformed("signature"))?;
        Ok(Jws {
            header,
            payload,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    /// The header's `typ`.
    pub fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }

    /// Checks `alg` is ES256 and the signature verifies with the uncompressed P-256 point.
    pub fn verify(&self, point: &[u8]) -> Result<(), SdJwtError> {
        if self.header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return Err(SdJwtError::UnsupportedAlgorithm);
        }
        if self.signature.len() != 64 {
            return Err(SdJwtError::BadSignature);
        }
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| SdJwtError::BadSignature)
    }
}

/// Signs `header` (to which `alg: ES256` is added) and `payload` into a compact JWS.
pub fn sign(
    mut header: Map<String, Value>,
    payload: &Map<String, Value>,
    signer: &dyn Es256Signer,
) -> Result<String, SdJwtError> {
    header.insert("alg".into(), Value::from("ES256"));
    let h = b64(&serde_json::to_vec(&header).map_err(|_| SdJwtError::Signing)?);
    let p = b64(&serde_json::to_vec(payload).map_err(|_| SdJwtError::Signing)?);
    let input = format!("{h}.{p}");
    let sig = signer
        .sign_es256(input.as_bytes())
        .ok_or(SdJwtError::Signing)?;
    Ok(format!("{input}.{}", b64(&sig)))
}

/// A header with `typ` and, when the chain is not empty, `x5c` (standard base64 DER, leaf first).
pub(crate) fn header(typ: &str, x5c: &[Vec<u8>]) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("typ".into(), typ.into());
    if !x5c.is_empty() {
        let std_b64 = base64::engine::general_purpose::STANDARD;
        let chain = x5c.iter().map(|c| Value::from(std_b64.encode(c)));
        header.insert("x5c".into(), chain.collect());
    }
    header
}

/// The public JWK of an uncompressed P-256 point (`{"kty":"EC","crv":"P-256","x","y"}`).
pub fn jwk_from_point(point: &[u8]) -> Option<Value> {
    if point.len() != 65 || point.first() != Some(&4) {
        return None;
    }
    let (x, y) = point.get(1..33).zip(point.get(33..65))?;
    Some(serde_json::json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}))
}

/// The uncompressed point of a public P-256 JWK; `None` for any other key or a JWK carrying a
/// private part.
pub fn point_from_jwk(jwk: &Value) -> Option<Vec<u8>> {
    let jwk = jwk.as_object()?;
    if jwk.get("kty")?.as_str()? != "EC" || jwk.get("crv")?.as_str()? != "P-256" {
        return None;
    }
    if jwk.contains_key("d") {
        return None;
    }
    let x = unb64(jwk.get("x")?.as_str()?)?;
    let y = unb64(jwk.get("y")?.as_str()?)?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let mut point = Vec::with_capacity(65);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    // On the curve?
    p256::PublicKey::from_sec1_bytes(&point).ok()?;
    Some(point)
}
