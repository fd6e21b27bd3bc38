//! DeviceEngagement (ISO/IEC 18013-5 §8.2.1.1) and its QR form, the `mdoc:` URI (§8.2.2.3):
//! the holder's ephemeral key (EDeviceKey) and how a reader may reach it.

use super::cbor::{self, Tagged24};
use super::cose_key::CoseKey;
use super::error::MdocError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value;

/// The URI scheme of a QR device engagement.
pub const MDOC_URI_SCHEME: &str = "mdoc:";
/// Cipher suite 1: ECDH on a curve of Table 22, HKDF-SHA-256, AES-256-GCM (§9.1.5.2), the only
/// one defined.
pub const CIPHER_SUITE_1: u64 = 1;

/// A DeviceEngagement, with the bytes it was read from (they enter the SessionTranscript).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEngagement {
    /// e.g. "1.0"
    pub version: String,
    /// EDeviceKeyBytes as received.
    pub e_device_key_bytes: Tagged24,
    pub e_device_key: CoseKey,
    /// DeviceRetrievalMethods (key 2) as they are: [type, version, options] arrays.
    pub retrieval_methods: Vec<Value>,
    encoded: Vec<u8>,
}

impl DeviceEngagement {
    /// Builds an engagement for `key` with the given retrieval methods.
    pub fn new(e_device_key: CoseKey, retrieval_methods: Vec<Value>) -> DeviceEngagement {
        let e_device_key_bytes = Tagged24::of(&e_device_key.to_cose());
        let mut map = vec![
            (Value::from(0), Value::from("1.0")),
            (
                Value::from(1),
                Value::Array(vec![
                    Value::from(CIPHER_SUITE_1),
                    e_device_key_bytes.to_value(),
                ]),
            ),
        ];
        if !retrieval_methods.is_empty() {
            map.push((Value::from(2), Value::Array(retrieval_methods.clone())));
        }
        DeviceEngagement {
            version: "1.0".into(),
            e_device_key_bytes,
            e_device_key,
            retrieval_methods,
            encoded: cbor::encode(&Value::Map(map)),
        }
    }

    /// Reads a DeviceEngagement; the bytes are kept as read.
    pub fn parse(bytes: &[u8]) -> Result<DeviceEngagement, MdocError> {
        const WHAT: &str = "DeviceEngagement";
        let value = cbor::decode(bytes)?;
        let m = cbor::map(&value, WHAT)?;
        let version = cbor::text(cbor::get_int(m, 0), WHAT)?.to_owned();
        let security = cbor::array(cbor::get_int(m, 1).ok_or(MdocError::Structure(WHAT))?, WHAT)?;
        let [suite, key] = security else {
            return Err(MdocError::Structure(WHAT));
        };
        if cbor::uint(Some(suite), WHAT)? != CIPHER_SUITE_1 {
            return Err(MdocError::Structure("DeviceEngagement cipher suite"));
        }
        let e_device_key_bytes = Tagged24::from_value(key, WHAT)?;
        let e_device_key = CoseKey::from_cose(&e_device_key_bytes.item()?)?;
        if !e_device_key.curve().agrees() {
            return Err(MdocError::Key);
        }
        let retrieval_methods = match cbor::get_int(m, 2) {
            Some(v) => cbor::array(v, WHAT)?.to_vec(),
            None => Vec::new(),
        };
        Ok(DeviceEngagement {
            version,
            e_device_key_bytes,
            e_device_key,
            retrieval_methods,
            encoded: bytes.to_vec(),
        })
    }

    /// The encoded DeviceEngagement (DeviceEngagementBytes is its tag-24 wrap).
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// `mdoc:` + base64url without padding (§8.2.2.3).
    pub fn to_uri(&self) -> String {
        format!("{MDOC_URI_SCHEME}{}", URL_SAFE_NO_PAD.encode(&self.encoded))
    }

    /// Reads an `mdoc:` URI.
    pub fn from_uri(uri: &str) -> Result<DeviceEngagement, MdocError> {
        let b64 = uri.strip_prefix(MDOC_URI_SCHEME).ok_or(MdocError::Uri)?;
        let bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|_| MdocError::Uri)?;
        DeviceEngagement::parse(&bytes)
    }
}
