//! DeviceResponse (ISO/IEC 18013-5 §8.3.2.1.2.2): documents, each with its IssuerSigned and
//! DeviceSigned parts; DeviceAuthentication (§9.1.3.4), the bytes the device signs or MACs.

use super::cbor::{self, Tagged24};
use super::error::MdocError;
use super::issuer_signed::IssuerSigned;
use super::transcript::SessionTranscript;
use ciborium::Value;

/// DeviceResponse status 0: OK.
pub const STATUS_OK: u64 = 0;

/// How the device authenticated the document (the COSE structure, re-encoded from the array).
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceAuth {
    /// COSE_Sign1 with a detached payload.
    Signature(Vec<u8>),
    /// COSE_Mac0 with a detached payload.
    Mac(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSigned {
    /// DeviceNameSpacesBytes as received.
    pub namespaces: Tagged24,
    pub auth: DeviceAuth,
}

impl DeviceSigned {
    fn from_value(value: &Value) -> Result<DeviceSigned, MdocError> {
        const WHAT: &str = "DeviceSigned";
        let m = cbor::map(value, WHAT)?;
        let namespaces = Tagged24::from_value(
            cbor::get(m, "nameSpaces").ok_or(MdocError::Structure(WHAT))?,
            WHAT,
        )?;
        let auth = cbor::map(
            cbor::get(m, "deviceAuth").ok_or(MdocError::Structure(WHAT))?,
            WHAT,
        )?;
        let auth = match (
            cbor::get(auth, "deviceSignature"),
            cbor::get(auth, "deviceMac"),
        ) {
            (Some(s), None) => DeviceAuth::Signature(cbor::encode(s)),
            (None, Some(m)) => DeviceAuth::Mac(cbor::encode(m)),
            _ => return Err(MdocError::Structure("DeviceAuth")),
        };
        Ok(DeviceSigned { namespaces, auth })
    }

    fn to_value(&self) -> Result<Value, MdocError> {
        let (key, cose) = match &self.auth {
            DeviceAuth::Signature(s) => ("deviceSignature", s),
            DeviceAuth::Mac(m) => ("deviceMac", m),
        };
        Ok(Value::Map(vec![
            (Value::from("nameSpaces"), self.namespaces.to_value()),
            (
                Value::from("deviceAuth"),
                Value::Map(vec![(Value::from(key), cbor::decode(cose)?)]),
            ),
        ]))
    }
}

/// DeviceAuthenticationBytes: `#6.24(bstr .cbor ["DeviceAuthentication", SessionTranscript,
/// DocType, DeviceNameSpacesBytes])`, the detached payload of the device signature or MAC.
pub fn device_authentication_bytes(
    transcript: &SessionTranscript,
    doc_type: &str,
    device_namespaces: &Tagged24,
) -> Vec<u8> {
    Tagged24::of(&Value::Array(vec![
        Value::from("DeviceAuthentication"),
        transcript.to_value(),
        Value::from(doc_type),
        device_namespaces.to_value(),
    ]))
    .encoded()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub doc_type: String,
    pub issuer_signed: IssuerSigned,
    pub device_signed: DeviceSigned,
}

impl Document {
    fn from_value(value: &Value) -> Result<Document, MdocError> {
        const WHAT: &str = "Document";
        let m = cbor::map(value, WHAT)?;
        Ok(Document {
            doc_type: cbor::text(cbor::get(m, "docType"), WHAT)?.to_owned(),
            issuer_signed: IssuerSigned::from_value(
                cbor::get(m, "issuerSigned").ok_or(MdocError::Structure(WHAT))?,
            )?,
            device_signed: DeviceSigned::from_value(
                cbor::get(m, "deviceSigned").ok_or(MdocError::Structure(WHAT))?,
            )?,
        })
    }

    fn to_value(&self) -> Result<Value, MdocError> {
        Ok(Value::Map(vec![
            (Value::from("docType"), Value::from(self.doc_type.as_str())),
            (Value::from("issuerSigned"), self.issuer_signed.to_value()?),
            (Value::from("deviceSigned"), self.device_signed.to_value()?),
        ]))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceResponse {
    pub version: String,
    pub documents: Vec<Document>,
    pub status: u64,
}

impl DeviceResponse {
    pub fn parse(bytes: &[u8]) -> Result<DeviceResponse, MdocError> {
        const WHAT: &str = "DeviceResponse";
        let value = cbor::decode(bytes)?;
        let m = cbor::map(&value, WHAT)?;
        let documents = match cbor::get(m, "documents") {
            Some(d) => cbor::array(d, WHAT)?
                .iter()
                .map(Document::from_value)
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(DeviceResponse {
            version: cbor::text(cbor::get(m, "version"), WHAT)?.to_owned(),
            documents,
            status: cbor::uint(cbor::get(m, "status"), WHAT)?,
        })
    }

    pub fn encode(&self) -> Result<Vec<u8>, MdocError> {
        let docs = self
            .documents
            .iter()
            .map(Document::to_value)
            .collect::<Result<_, _>>()?;
        Ok(cbor::encode(&Value::Map(vec![
            (Value::from("version"), Value::from(self.version.as_str())),
            (Value::from("documents"), Value::Array(docs)),
            (Value::from("status"), Value::from(self.status)),
        ])))
    }
}
