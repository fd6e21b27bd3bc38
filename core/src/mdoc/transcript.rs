//! SessionTranscript (ISO/IEC 18013-5 §9.1.5.1): `[DeviceEngagementBytes, EReaderKeyBytes,
//! Handover]`, bound into the session keys, the device authentication and the reader
//! authentication. QR engagement has a `null` handover; NFC the handover select and request.
//! Presentations without a device engagement (OpenID4VP 1.0 Appendix B.2.6) have `null` for the
//! first two and their own handover.

use super::cbor::{self, Tagged24};
use super::error::MdocError;
use ciborium::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct SessionTranscript {
    /// `None` (`null`) when there was no device engagement (OpenID4VP).
    pub device_engagement_bytes: Option<Tagged24>,
    /// `None` (`null`) when there was no reader ephemeral key (OpenID4VP).
    pub e_reader_key_bytes: Option<Tagged24>,
    /// `null` (QR), the NFC handover `[Hs, Hr]`, or another protocol's handover, as received.
    pub handover: Value,
}

impl SessionTranscript {
    /// The transcript of a session engaged by QR (handover `null`) or NFC.
    pub fn new(
        device_engagement: &[u8],
        e_reader_key_bytes: impl Into<Option<Tagged24>>,
        handover: Value,
    ) -> Self {
        SessionTranscript {
            device_engagement_bytes: Some(Tagged24::new(device_engagement.to_vec())),
            e_reader_key_bytes: e_reader_key_bytes.into(),
            handover,
        }
    }

    /// The transcript of a presentation without device engagement: `[null, null, handover]`
    /// (OpenID4VP 1.0 B.2.6.1 and B.2.6.2).
    pub fn without_engagement(handover: Value) -> Self {
        SessionTranscript {
            device_engagement_bytes: None,
            e_reader_key_bytes: None,
            handover,
        }
    }

    /// The transcript as a CBOR array (what DeviceAuthentication and ReaderAuthentication embed).
    pub fn to_value(&self) -> Value {
        let or_null = |t: &Option<Tagged24>| t.as_ref().map_or(Value::Null, Tagged24::to_value);
        Value::Array(vec![
            or_null(&self.device_engagement_bytes),
            or_null(&self.e_reader_key_bytes),
            self.handover.clone(),
        ])
    }

    /// The transcript encoded as CBOR (the SessionTranscript itself, untagged).
    pub fn encoded(&self) -> Vec<u8> {
        cbor::encode(&self.to_value())
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
        let or_null = |v: &Value| match v {
            Value::Null => Ok(None),
            v => Tagged24::from_value(v, WHAT).map(Some),
        };
        Ok(SessionTranscript {
            device_engagement_bytes: or_null(de)?,
            e_reader_key_bytes: or_null(rk)?,
            handover: handover.clone(),
        })
    }
}
