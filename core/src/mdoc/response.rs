//! DeviceResponse (ISO/IEC 18013-5 §8.3.2.1.2.2): documents, each with its IssuerSigned and
//! DeviceSigned parts and the requested elements it does not return (`errors`), the requested
//! documents not returned (`documentErrors`); DeviceAuthentication (§9.1.3.4), the bytes the
//! device signs or MACs.

use super::cbor::{self, Tagged24};
use super::error::MdocError;
use super::issuer_signed::IssuerSigned;
use super::transcript::SessionTranscript;
use ciborium::Value;

/// DeviceResponse status 0: OK.
pub const STATUS_OK: u64 = 0;

/// ErrorCode 0 (§8.3.2.1.2.2): the data was not returned, no reason given. Negative codes are
/// application-specific, positive ones reserved.
pub const ERROR_DATA_NOT_RETURNED: i64 = 0;

/// A requested element a document does not return, with its ErrorCode (a Document's `errors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementError {
    pub namespace: String,
    pub identifier: String,
    pub code: i64,
}

/// A requested document not returned, with its ErrorCode (one entry of `documentErrors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    pub doc_type: String,
    pub code: i64,
}

fn error_code(value: &Value, what: &'static str) -> Result<i64, MdocError> {
    value
        .as_integer()
        .and_then(|i| i64::try_from(i).ok())
        .ok_or(MdocError::Structure(what))
}

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
    /// Requested elements not returned (`errors`, omitted when empty).
    pub errors: Vec<ElementError>,
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
            errors: match cbor::get(m, "errors") {
                Some(e) => Document::errors_from_value(e)?,
                None => Vec::new(),
            },
        })
    }

    /// `Errors = {+ NameSpace => {+ DataElementIdentifier => ErrorCode}}`.
    fn errors_from_value(value: &Value) -> Result<Vec<ElementError>, MdocError> {
        const WHAT: &str = "Errors";
        let mut out = Vec::new();
        for (ns, items) in cbor::map(value, WHAT)? {
            let namespace = cbor::text(Some(ns), WHAT)?;
            for (id, code) in cbor::map(items, WHAT)? {
                out.push(ElementError {
                    namespace: namespace.to_owned(),
                    identifier: cbor::text(Some(id), WHAT)?.to_owned(),
                    code: error_code(code, WHAT)?,
                });
            }
        }
        Ok(out)
    }

    fn to_value(&self) -> Result<Value, MdocError> {
        let mut m = vec![
            (Value::from("docType"), Value::from(self.doc_type.as_str())),
            (Value::from("issuerSigned"), self.issuer_signed.to_value()?),
            (Value::from("deviceSigned"), self.device_signed.to_value()?),
        ];
        if !self.errors.is_empty() {
            let mut namespaces: Vec<(Value, Value)> = Vec::new();
            for e in &self.errors {
                let entry = (Value::from(e.identifier.as_str()), Value::from(e.code));
                cbor::push_under(&mut namespaces, &e.namespace, entry);
            }
            m.push((Value::from("errors"), Value::Map(namespaces)));
        }
        Ok(Value::Map(m))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceResponse {
    pub version: String,
    /// `documents`, omitted when empty (the CDDL's `[+ Document]` holds at least one).
    pub documents: Vec<Document>,
    /// `documentErrors`, omitted when empty.
    pub document_errors: Vec<DocumentError>,
    pub status: u64,
}

impl DeviceResponse {
    /// A version 1.0 response with status OK returning `documents`.
    pub fn ok(documents: Vec<Document>) -> DeviceResponse {
        DeviceResponse {
            version: "1.0".into(),
            documents,
            document_errors: Vec::new(),
            status: STATUS_OK,
        }
    }

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
        // `documentErrors = [+ {DocType => ErrorCode}]`.
        let mut document_errors = Vec::new();
        if let Some(list) = cbor::get(m, "documentErrors") {
            for entry in cbor::array(list, WHAT)? {
                for (doc_type, code) in cbor::map(entry, "DocumentError")? {
                    document_errors.push(DocumentError {
                        doc_type: cbor::text(Some(doc_type), "DocumentError")?.to_owned(),
                        code: error_code(code, "DocumentError")?,
                    });
                }
            }
        }
        Ok(DeviceResponse {
            version: cbor::text(cbor::get(m, "version"), WHAT)?.to_owned(),
            documents,
            document_errors,
            status: cbor::uint(cbor::get(m, "status"), WHAT)?,
        })
    }

    pub fn encode(&self) -> Result<Vec<u8>, MdocError> {
        let mut m = vec![(Value::from("version"), Value::from(self.version.as_str()))];
        if !self.documents.is_empty() {
            let docs = self
                .documents
                .iter()
                .map(Document::to_value)
                .collect::<Result<_, _>>()?;
            m.push((Value::from("documents"), Value::Array(docs)));
        }
        if !self.document_errors.is_empty() {
            let errors = self
                .document_errors
                .iter()
                .map(|e| {
                    Value::Map(vec![(
                        Value::from(e.doc_type.as_str()),
                        Value::from(e.code),
                    )])
                })
                .collect();
            m.push((Value::from("documentErrors"), Value::Array(errors)));
        }
        m.push((Value::from("status"), Value::from(self.status)));
        Ok(cbor::encode(&Value::Map(m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_without_documents_leaves_the_key_out_and_names_the_errors() {
        let response = DeviceResponse {
            document_errors: vec![DocumentError {
                doc_type: "org.iso.18013.5.1.mDL".into(),
                code: ERROR_DATA_NOT_RETURNED,
            }],
            ..DeviceResponse::ok(Vec::new())
        };
        let bytes = response.encode().unwrap();
        // {"version": "1.0", "documentErrors": [{"org.iso.18013.5.1.mDL": 0}], "status": 0}
        let mut expected = vec![0xa3, 0x67];
        expected.extend(b"version");
        expected.extend([0x63]);
        expected.extend(b"1.0");
        expected.extend([0x6e]);
        expected.extend(b"documentErrors");
        expected.extend([0x81, 0xa1, 0x75]);
        expected.extend(b"org.iso.18013.5.1.mDL");
        expected.extend([0x00, 0x66]);
        expected.extend(b"status");
        expected.extend([0x00]);
        assert_eq!(bytes, expected);
        assert_eq!(DeviceResponse::parse(&bytes).unwrap(), response);
        // Application-specific codes are negative; a text code is not an ErrorCode.
        let mut negative = bytes;
        let at = negative.len() - 9;
        assert_eq!(negative[at], 0x00);
        negative[at] = 0x20; // -1
        assert_eq!(
            DeviceResponse::parse(&negative).unwrap().document_errors[0].code,
            -1
        );
        let text = cbor::encode(&Value::Map(vec![
            (Value::from("version"), Value::from("1.0")),
            (
                Value::from("documentErrors"),
                Value::Array(vec![Value::Map(vec![(Value::from("x"), Value::from("0"))])]),
            ),
            (Value::from("status"), Value::from(0)),
        ]));
        assert_eq!(
            DeviceResponse::parse(&text),
            Err(MdocError::Structure("DocumentError"))
        );
    }
}
