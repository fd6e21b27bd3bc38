//! The session messages (ISO/IEC 18013-5 §9.1.1.4): SessionEstablishment (the reader's
//! EReaderKey and its first encrypted request) and SessionData (encrypted data and/or status).

use super::cbor::{self, Tagged24};
use super::cose_key::CoseKey;
use super::error::MdocError;
use ciborium::Value;

/// SessionData status 20: session termination (§9.1.1.4, table 20).
pub const STATUS_SESSION_TERMINATION: u64 = 20;
/// Status 10: error, session encryption.
pub const STATUS_ENCRYPTION_ERROR: u64 = 10;
/// Status 11: error, CBOR decoding.
pub const STATUS_DECODING_ERROR: u64 = 11;

#[derive(Debug, Clone, PartialEq)]
pub struct SessionEstablishment {
    /// EReaderKeyBytes as received (they enter the SessionTranscript).
    pub e_reader_key_bytes: Tagged24,
    pub e_reader_key: CoseKey,
    /// The encrypted DeviceRequest.
    pub data: Vec<u8>,
}

impl SessionEstablishment {
    pub fn parse(bytes: &[u8]) -> Result<SessionEstablishment, MdocError> {
        const WHAT: &str = "SessionEstablishment";
        let value = cbor::decode(bytes)?;
        let m = cbor::map(&value, WHAT)?;
        let e_reader_key_bytes = Tagged24::from_value(
            cbor::get(m, "eReaderKey").ok_or(MdocError::Structure(WHAT))?,
            WHAT,
        )?;
        let e_reader_key = CoseKey::from_cose(&e_reader_key_bytes.item()?)?;
        let data = cbor::bytes(cbor::get(m, "data"), WHAT)?.to_vec();
        Ok(SessionEstablishment {
            e_reader_key_bytes,
            e_reader_key,
            data,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        cbor::encode(&Value::Map(vec![
            (
                Value::from("eReaderKey"),
                self.e_reader_key_bytes.to_value(),
            ),
            (Value::from("data"), Value::Bytes(self.data.clone())),
        ]))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionData {
    pub data: Option<Vec<u8>>,
    pub status: Option<u64>,
}

impl SessionData {
    pub fn parse(bytes: &[u8]) -> Result<SessionData, MdocError> {
        const WHAT: &str = "SessionData";
        let value = cbor::decode(bytes)?;
        let m = cbor::map(&value, WHAT)?;
        let data = match cbor::get(m, "data") {
            Some(v) => Some(cbor::bytes(Some(v), WHAT)?.to_vec()),
            None => None,
        };
        let status = match cbor::get(m, "status") {
            Some(v) => Some(cbor::uint(Some(v), WHAT)?),
            None => None,
        };
        if data.is_none() && status.is_none() {
            return Err(MdocError::Structure(WHAT));
        }
        Ok(SessionData { data, status })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut m = Vec::new();
        if let Some(d) = &self.data {
            m.push((Value::from("data"), Value::Bytes(d.clone())));
        }
        if let Some(s) = self.status {
            m.push((Value::from("status"), Value::from(s)));
        }
        cbor::encode(&Value::Map(m))
    }
}
