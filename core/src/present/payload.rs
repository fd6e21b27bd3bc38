//! What a QR carries: an offline presentation or an online token, as text in the QR
//! alphanumeric alphabet (a prefix, then base45, RFC 9285).
//!
//! Offline, `VN1:` + base45 of the CBOR array `[credential: bstr, created_at: uint,
//! nonce: bstr / null, signature: bstr(64)]`; the signature is ES256 (r || s) by the credential's
//! device key over [`Presentation::signing_input`].
//!
//! Online, `VNT1:` + base45 of `[account: tstr, token id: bstr(16), profile: uint,
//! expires_at: uint, signature: bstr(64)]`, signed by the account's bound device key over
//! [`Token::signing_input`]. The verifier redeems it at the backend.

use super::error::PresentError;
use super::profile::Profile;
use ciborium::Value;

pub const OFFLINE_PREFIX: &str = "VN1:";
pub const TOKEN_PREFIX: &str = "VNT1:";
/// How long an offline presentation is valid after it was made (seconds).
pub const PRESENTATION_LIFETIME: u64 = 60;
/// How long an online token is valid (seconds).
pub const TOKEN_LIFETIME: u64 = 60;
/// How far in the future a presentation's time may be (the phone's clock ahead of the
/// scanner's). No tolerance applies to the age: older than the lifetime is refused.
pub const FUTURE_SKEW: u64 = 30;
/// Longest text accepted (far above any QR this wallet makes).
pub const MAX_TEXT: usize = 4096;

fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail for these values.
    let _ = ciborium::into_writer(value, &mut out);
    out
}

fn sig64(v: &Value) -> Option<[u8; 64]> {
    v.as_bytes()?.as_slice().try_into().ok()
}

/// ES256 check of a raw r || s signature with an uncompressed SEC1 point: low-S only
/// ([`crate::es256`]).
pub fn verify_es256(point: &[u8], message: &[u8], signature: &[u8]) -> bool {
    crate::es256::verify_raw(point, message, signature)
}

/// A DER ECDSA signature (what key stores give) as low-S r || s.
pub fn raw_signature(der: &[u8]) -> Result<[u8; 64], PresentError> {
    crate::es256::raw_from_der(der).ok_or(PresentError::Signing)
}

fn decode_text(text: &str, prefix: &str) -> Result<Vec<u8>, PresentError> {
    let body = text
        .trim()
        .strip_prefix(prefix)
        .ok_or(PresentError::NotAPresentation)?;
    base45::decode(body).map_err(|_| PresentError::Malformed("base45"))
}

/// An offline presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presentation {
    pub credential: Vec<u8>,
    pub created_at: u64,
    pub nonce: Option<Vec<u8>>,
    pub signature: [u8; 64],
}

impl Presentation {
    /// What the device key signs: CBOR `["VN-EID presentation v1", credential, created_at,
    /// nonce / null]`.
    pub fn signing_input(credential: &[u8], created_at: u64, nonce: Option<&[u8]>) -> Vec<u8> {
        encode(&Value::Array(vec![
            Value::Text("VN-EID presentation v1".into()),
            Value::Bytes(credential.to_vec()),
            Value::from(created_at),
            nonce.map_or(Value::Null, |n| Value::Bytes(n.to_vec())),
        ]))
    }

    pub fn encode(&self) -> Vec<u8> {
        encode(&Value::Array(vec![
            Value::Bytes(self.credential.clone()),
            Value::from(self.created_at),
            self.nonce.clone().map_or(Value::Null, Value::Bytes),
            Value::Bytes(self.signature.to_vec()),
        ]))
    }

    pub fn decode(bytes: &[u8]) -> Result<Presentation, PresentError> {
        let bad = PresentError::Malformed("presentation");
        let value = crate::credential::cbor_decode(bytes).ok_or(bad.clone())?;
        let [credential, created_at, nonce, signature] =
            value.as_array().map(Vec::as_slice).ok_or(bad.clone())?
        else {
            return Err(bad);
        };
        let p = Presentation {
            credential: credential.as_bytes().ok_or(bad.clone())?.clone(),
            created_at: created_at
                .as_integer()
                .and_then(|i| u64::try_from(i).ok())
                .ok_or(bad.clone())?,
            nonce: match nonce {
                Value::Null => None,
                Value::Bytes(n) if (1..=64).contains(&n.len()) => Some(n.clone()),
                _ => return Err(bad),
            },
            signature: sig64(signature).ok_or(bad.clone())?,
        };
        // One encoding only: CBOR allows others for the same values (`undefined` reads as
        // null, longer integer heads), and a changed byte must never verify.
        if p.encode() != bytes {
            return Err(bad);
        }
        Ok(p)
    }

    pub fn to_text(&self) -> String {
        format!("{OFFLINE_PREFIX}{}", base45::encode(self.encode()))
    }

    /// Checks the device signature with the credential's device key (uncompressed point).
    pub fn device_signature_ok(&self, device_key: &[u8]) -> bool {
        let input = Self::signing_input(&self.credential, self.created_at, self.nonce.as_deref());
        verify_es256(device_key, &input, &self.signature)
    }
}

/// An online token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub account: String,
    pub id: [u8; 16],
    pub profile: Profile,
    pub expires_at: u64,
    pub signature: [u8; 64],
}

impl Token {
    /// What the device key signs: CBOR `["VN-EID token v1", account, id, profile, expires_at]`.
    pub fn signing_input(
        account: &str,
        id: &[u8; 16],
        profile: Profile,
        expires_at: u64,
    ) -> Vec<u8> {
        encode(&Value::Array(vec![
            Value::Text("VN-EID token v1".into()),
            Value::Text(account.to_owned()),
            Value::Bytes(id.to_vec()),
            Value::from(profile.code()),
            Value::from(expires_at),
        ]))
    }

    pub fn encode(&self) -> Vec<u8> {
        encode(&Value::Array(vec![
            Value::Text(self.account.clone()),
            Value::Bytes(self.id.to_vec()),
            Value::from(self.profile.code()),
            Value::from(self.expires_at),
            Value::Bytes(self.signature.to_vec()),
        ]))
    }

    pub fn decode(bytes: &[u8]) -> Result<Token, PresentError> {
        let bad = PresentError::Malformed("token");
        let value = crate::credential::cbor_decode(bytes).ok_or(bad.clone())?;
        let [account, id, profile, expires_at, signature] =
            value.as_array().map(Vec::as_slice).ok_or(bad.clone())?
        else {
            return Err(bad);
        };
        let uint = |v: &Value| v.as_integer().and_then(|i| u64::try_from(i).ok());
        let t = Token {
            account: account
                .as_text()
                .filter(|a| (1..=64).contains(&a.len()))
                .ok_or(bad.clone())?
                .to_owned(),
            id: id
                .as_bytes()
                .and_then(|b| b.as_slice().try_into().ok())
                .ok_or(bad.clone())?,
            profile: uint(profile)
                .and_then(Profile::from_code)
                .ok_or(bad.clone())?,
            expires_at: uint(expires_at).ok_or(bad.clone())?,
            signature: sig64(signature).ok_or(bad.clone())?,
        };
        if t.encode() != bytes {
            return Err(bad);
        }
        Ok(t)
    }

    pub fn to_text(&self) -> String {
        format!("{TOKEN_PREFIX}{}", base45::encode(self.encode()))
    }

    pub fn signature_ok(&self, device_key: &[u8]) -> bool {
        let input = Self::signing_input(&self.account, &self.id, self.profile, self.expires_at);
        verify_es256(device_key, &input, &self.signature)
    }
}

/// What a scanned text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrPayload {
    Offline(Presentation),
    Token(Token),
}

impl QrPayload {
    pub fn parse(text: &str) -> Result<QrPayload, PresentError> {
        if text.len() > MAX_TEXT {
            return Err(PresentError::Malformed("text too long"));
        }
        let t = text.trim();
        if t.starts_with(TOKEN_PREFIX) {
            Ok(QrPayload::Token(Token::decode(&decode_text(
                t,
                TOKEN_PREFIX,
            )?)?))
        } else {
            Ok(QrPayload::Offline(Presentation::decode(&decode_text(
                t,
                OFFLINE_PREFIX,
            )?)?))
        }
    }
}
