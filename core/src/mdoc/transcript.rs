//! SessionTranscript (ISO/IEC 18013-5 §9.1.5.1): `[DeviceEngagementBytes, EReaderKeyBytes,
//! Handover]`, bound into the session keys, the device authentication and the reader
//! authentication. QR engagement has a `null` handover; NFC the handover select and request.

use super::cbor::{self, Tagged24};
use super::error::MdocError;
use ciborium::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct SessionTranscript {
    pub device_engagement_bytes: Tagged24,
    pub e_reader_key_bytes: Tagged24,
    /// `null` (QR), or the NFC handover `[Hs, Hr]`, as received.
    pub handover: Value,
}

impl SessionTranscript {
    /// The transcript of a session engaged by QR (handover `null`).
    pub fn new(device_engagement: &[u8], e_reader_key_bytes: Tagged24, handover: Value) -> Self {
        SessionTranscript {
            device_engagement_bytes: Tagged24::new(device_engagement.to_vec()),
            e_reader_key_bytes,
            handover,
        }
    }

    /// The transcript as a CBOR array (what DeviceAuthentication and ReaderAuthentication embed).
    pub fn to_value(&self) -> Value {
        Value::Array(vec![
            self.device_engagement_bytes.to_value(),
            self.e_reader_key_bytes.to_value(),
            self.handover.clone(),
        ])
    }

    /// SessionTranscriptBytes: `#6.24(bstr .cbor SessionTranscript)`, the HKDF salt's input.
    pub fn bytes(&self) -> Vec<u8> {
        Tagged24::of(&self.to_value()).encoded()
    }

    /// Reads SessionTranscriptBytes.
    pub fn parse_bytes(bytes: &[u8]) -> Result<SessionTranscript, MdocError> {
        const WHAT: &str = "SessionTranscript";
        let item = Tagged24::from_encoded(bytes, WHAT)?.item()?;
        let [de, rk, handover] = cbor::array(&item, WHAT)? else {
            return Err(MdocError::Structure(WHAT));
        };
        Ok(SessionTranscript {
            device_engagement_bytes: Tagged24::from_value(de, WHAT)?,
            e_reader_key_bytes: Tagged24::from_value(rk, WHAT)?,
            handover: handover.clone(),
        })
    }
}
