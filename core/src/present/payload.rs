//! What a QR carries: an offline presentation or an online token, as text in the QR
//! alphanumeric alphabet (a prefix, then base45, RFC 9285).
//!
//! Offline, `VN1:` + base45 of the CBOR array `[credential: bstr, created_at: uint,
//! nonce: bstr / null, signature: bstr(64)]`; the signature is ES256 (r || s) by the credential's
//! device key over [`Presentation::signing_input`].
//!
//! Online, `VNT2:` + base45 of `[token id: bstr(16), profile: uint, expires_at: uint,
//! signature: bstr(64)]`, signed by the account's bound device key over
//! [`Token::signing_input`]. It names no account: the wallet registers it at the backend
//! (device-signed, with the citizen's consent) before showing it, and the backend finds the
//! account and the device from that registration when the verifier redeems it. The id is random
//! and the expiry is one minute after creation, so nothing in it is shared by one citizen's
//! tokens. The earlier `VNT2:` form (which carried the account) is refused.

use super::error::PresentError;
use super::profile::Profile;
use ciborium::Value;

pub const OFFLINE_PREFIX: &str = "VN1:";
pub const TOKEN_PREFIX: &str = "VNT2:";
/// The earlier online token form, which named the account: recognised only to be refused.
pub const OLD_TOKEN_PREFIX: &str = "VNT1:";
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

/// A DER ECDSA signature (what key stores give) as low-S r || s.
pub fn raw_signature(der: &[u8]) -> Result<[u8; 64], PresentError> {
    eid_crypto::es256::raw_from_der(der).ok_or(PresentError::Signing)
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
    pub(crate) fn device_signature_ok(&self, device_key: &[u8]) -> bool {
        let input = Self::signing_input(&self.credential, self.created_at, self.nonce.as_deref());
        eid_crypto::es256::verify_raw(device_key, &input, &self.signature)
    }
}

/// An online token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: [u8; 16],
    pub profile: Profile,
    pub expires_at: u64,
    pub signature: [u8; 64],
}

impl Token {
    /// What the device key signs: CBOR `["VN-EID token v2", id, profile, expires_at]`.
    pub fn signing_input(id: &[u8; 16], profile: Profile, expires_at: u64) -> Vec<u8> {
        encode(&Value::Array(vec![
            Value::Text("VN-EID token v2".into()),
            Value::Bytes(id.to_vec()),
            Value::from(profile.code()),
            Value::from(expires_at),
        ]))
    }

    pub fn encode(&self) -> Vec<u8> {
        encode(&Value::Array(vec![
            Value::Bytes(self.id.to_vec()),
            Value::from(self.profile.code()),
            Value::from(self.expires_at),
            Value::Bytes(self.signature.to_vec()),
        ]))
    }

    pub fn decode(bytes: &[u8]) -> Result<Token, PresentError> {
        let bad = PresentError::Malformed("token");
        let value = crate::credential::cbor_decode(bytes).ok_or(bad.clone())?;
        let [id, profile, expires_at, signature] =
            value.as_array().map(Vec::as_slice).ok_or(bad.clone())?
        else {
            return Err(bad);
        };
        let uint = |v: &Value| v.as_integer().and_then(|i| u64::try_from(i).ok());
        let t = Token {
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
        let input = Self::signing_input(&self.id, self.profile, self.expires_at);
        eid_crypto::es256::verify_raw(device_key, &input, &self.signature)
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
        if t.starts_with(OLD_TOKEN_PREFIX) {
            return Err(PresentError::Malformed(
                "VNT1 token (named the account): no longer accepted, make a new token",
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token {
            id: [9; 16],
            profile: Profile::AgeOver18,
            expires_at: 1_800_000_060,
            signature: [3; 64],
        }
    }

    #[test]
    fn a_token_round_trips_and_is_smaller_than_one_naming_the_account() {
        let t = token();
        let text = t.to_text();
        assert!(text.starts_with("VNT2:"));
        assert_eq!(QrPayload::parse(&text), Ok(QrPayload::Token(t.clone())));
        // The array head, 17 id, 1 profile, 5 expiry, 66 signature bytes: the `VNT1:` form
        // carried a ~17-byte account id besides.
        assert_eq!(t.encode().len(), 90);
    }

    #[test]
    fn the_old_token_form_naming_the_account_is_refused() {
        // `VNT1:` + [account, id, profile, expires_at, signature], as b40b263 made them.
        let old = encode(&Value::Array(vec![
            Value::Text("VNEID-0123456789".into()),
            Value::Bytes(vec![9; 16]),
            Value::from(Profile::AgeOver18.code()),
            Value::from(1_800_000_060u64),
            Value::Bytes(vec![3; 64]),
        ]));
        let text = format!("{OLD_TOKEN_PREFIX}{}", base45::encode(&old));
        let Err(PresentError::Malformed(why)) = QrPayload::parse(&text) else {
            panic!("an old token parsed")
        };
        assert!(why.contains("VNT1"), "{why}");
        // Nor does its body pass as a new token.
        let as_new = format!("{TOKEN_PREFIX}{}", base45::encode(&old));
        assert!(QrPayload::parse(&as_new).is_err());
    }
}
