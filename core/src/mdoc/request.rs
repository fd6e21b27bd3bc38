//! DeviceRequest and ItemsRequest (ISO/IEC 18013-5 §8.3.2.1.2.1): the documents and elements a
//! reader asks for, each element with its intent to retain, optionally signed by the reader
//! (readerAuth over ReaderAuthentication, §9.1.4).

use super::cbor::{self, Tagged24};
use super::error::MdocError;
use super::transcript::SessionTranscript;
use ciborium::Value;

/// One requested element: namespace, identifier, whether the reader intends to retain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedElement {
    pub namespace: String,
    pub identifier: String,
    pub intent_to_retain: bool,
}

/// An ItemsRequest with the bytes it was read from (readerAuth signs them).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsRequest {
    pub doc_type: String,
    pub elements: Vec<RequestedElement>,
    /// ItemsRequestBytes as received.
    pub bytes: Tagged24,
}

impl ItemsRequest {
    pub fn new(doc_type: &str, elements: Vec<RequestedElement>) -> ItemsRequest {
        let mut namespaces: Vec<(Value, Value)> = Vec::new();
        for e in &elements {
            let entry = (
                Value::from(e.identifier.as_str()),
                Value::Bool(e.intent_to_retain),
            );
            cbor::push_under(&mut namespaces, &e.namespace, entry);
        }
        let value = Value::Map(vec![
            (Value::from("docType"), Value::from(doc_type)),
            (Value::from("nameSpaces"), Value::Map(namespaces)),
        ]);
        ItemsRequest {
            doc_type: doc_type.to_owned(),
            elements,
            bytes: Tagged24::of(&value),
        }
    }

    /// Reads an encoded ItemsRequest (the inner bytes of ItemsRequestBytes).
    pub fn parse(inner: &[u8]) -> Result<ItemsRequest, MdocError> {
        ItemsRequest::from_tagged(Tagged24::new(inner.to_vec()))
    }

    fn from_tagged(bytes: Tagged24) -> Result<ItemsRequest, MdocError> {
        const WHAT: &str = "ItemsRequest";
        let value = bytes.item()?;
        let m = cbor::map(&value, WHAT)?;
        let doc_type = cbor::text(cbor::get(m, "docType"), WHAT)?.to_owned();
        let namespaces = cbor::map(
            cbor::get(m, "nameSpaces").ok_or(MdocError::Structure(WHAT))?,
            WHAT,
        )?;
        let mut elements = Vec::new();
        for (ns, items) in namespaces {
            let namespace = cbor::text(Some(ns), WHAT)?;
            for (id, retain) in cbor::map(items, WHAT)? {
                elements.push(RequestedElement {
                    namespace: namespace.to_owned(),
                    identifier: cbor::text(Some(id), WHAT)?.to_owned(),
                    intent_to_retain: retain.as_bool().ok_or(MdocError::Structure(WHAT))?,
                });
            }
        }
        Ok(ItemsRequest {
            doc_type,
            elements,
            bytes,
        })
    }
}

/// One DocRequest: the items and, if the reader signed them, its readerAuth COSE_Sign1.
#[derive(Debug, Clone, PartialEq)]
pub struct DocRequest {
    pub items: ItemsRequest,
    /// readerAuth, re-encoded from the received array (its signed parts are bstrs, kept exact).
    pub reader_auth: Option<Vec<u8>>,
}

impl DocRequest {
    /// ReaderAuthenticationBytes: the detached payload readerAuth signs (§9.1.4.4).
    pub fn reader_authentication_bytes(&self, transcript: &SessionTranscript) -> Vec<u8> {
        Tagged24::of(&Value::Array(vec![
            Value::from("ReaderAuthentication"),
            transcript.to_value(),
            self.items.bytes.to_value(),
        ]))
        .encoded()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRequest {
    pub version: String,
    pub doc_requests: Vec<DocRequest>,
}

impl DeviceRequest {
    pub fn parse(bytes: &[u8]) -> Result<DeviceRequest, MdocError> {
        const WHAT: &str = "DeviceRequest";
        let value = cbor::decode(bytes)?;
        let m = cbor::map(&value, WHAT)?;
        let version = cbor::text(cbor::get(m, "version"), WHAT)?.to_owned();
        let mut doc_requests = Vec::new();
        for d in cbor::array(
            cbor::get(m, "docRequests").ok_or(MdocError::Structure(WHAT))?,
            WHAT,
        )? {
            let dm = cbor::map(d, "DocRequest")?;
            let items = ItemsRequest::from_tagged(Tagged24::from_value(
                cbor::get(dm, "itemsRequest").ok_or(MdocError::Structure("DocRequest"))?,
                "DocRequest",
            )?)?;
            let reader_auth = cbor::get(dm, "readerAuth").map(cbor::encode);
            doc_requests.push(DocRequest { items, reader_auth });
        }
        Ok(DeviceRequest {
            version,
            doc_requests,
        })
    }

    /// A request without reader authentication.
    pub fn encode(&self) -> Vec<u8> {
        let docs = self
            .doc_requests
            .iter()
            .map(|d| {
                let mut m = vec![(Value::from("itemsRequest"), d.items.bytes.to_value())];
                if let Some(ra) = d.reader_auth.as_ref().and_then(|b| cbor::decode(b).ok()) {
                    m.push((Value::from("readerAuth"), ra));
                }
                Value::Map(m)
            })
            .collect();
        cbor::encode(&Value::Map(vec![
            (Value::from("version"), Value::from(self.version.as_str())),
            (Value::from("docRequests"), Value::Array(docs)),
        ]))
    }
}
