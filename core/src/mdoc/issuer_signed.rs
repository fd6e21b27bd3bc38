//! IssuerSigned (ISO/IEC 18013-5 §8.3.2.1.2.2): the disclosed elements as IssuerSignedItemBytes
//! (each `#6.24(bstr .cbor IssuerSignedItem)` kept exactly as received, since its digest is in the
//! MSO) and the issuer's COSE_Sign1 over the MSO.

use super::cbor::{self, Tagged24};
use super::error::MdocError;
use ciborium::Value;

/// One disclosed element.
#[derive(Clone, PartialEq)]
pub struct IssuerSignedItem {
    pub digest_id: u64,
    pub random: Vec<u8>,
    pub element_identifier: String,
    pub element_value: Value,
    /// IssuerSignedItemBytes as received: what the MSO digest covers.
    pub bytes: Tagged24,
}

impl std::fmt::Debug for IssuerSignedItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Element values are personal data: identifier and digest ID only.
        f.debug_struct("IssuerSignedItem")
            .field("digest_id", &self.digest_id)
            .field("element_identifier", &self.element_identifier)
            .finish_non_exhaustive()
    }
}

impl IssuerSignedItem {
    /// Builds an item (keys in the order of the standard's examples).
    pub fn new(digest_id: u64, random: Vec<u8>, identifier: &str, value: Value) -> Self {
        let bytes = Tagged24::of(&Value::Map(vec![
            (Value::from("digestID"), Value::from(digest_id)),
            (Value::from("random"), Value::Bytes(random.clone())),
            (Value::from("elementIdentifier"), Value::from(identifier)),
            (Value::from("elementValue"), value.clone()),
        ]));
        IssuerSignedItem {
            digest_id,
            random,
            element_identifier: identifier.to_owned(),
            element_value: value,
            bytes,
        }
    }

    fn from_tagged(bytes: Tagged24) -> Result<IssuerSignedItem, MdocError> {
        const WHAT: &str = "IssuerSignedItem";
        let value = bytes.item()?;
        let m = cbor::map(&value, WHAT)?;
        Ok(IssuerSignedItem {
            digest_id: cbor::uint(cbor::get(m, "digestID"), WHAT)?,
            random: cbor::bytes(cbor::get(m, "random"), WHAT)?.to_vec(),
            element_identifier: cbor::text(cbor::get(m, "elementIdentifier"), WHAT)?.to_owned(),
            element_value: cbor::get(m, "elementValue")
                .cloned()
                .ok_or(MdocError::Structure(WHAT))?,
            bytes,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IssuerSigned {
    /// Namespace → disclosed items, in the order received.
    pub namespaces: Vec<(String, Vec<IssuerSignedItem>)>,
    /// issuerAuth, re-encoded from the received array (its signed parts are bstrs, kept exact).
    pub issuer_auth: Vec<u8>,
}

impl IssuerSigned {
    pub(crate) fn from_value(value: &Value) -> Result<IssuerSigned, MdocError> {
        const WHAT: &str = "IssuerSigned";
        let m = cbor::map(value, WHAT)?;
        // The CDDL's map is closed: a key it does not name (a misspelt "nameSpaces" would leave
        // an IssuerSigned that verifies with nothing in it) is malformed.
        if m.iter()
            .any(|(k, _)| !matches!(k.as_text(), Some("nameSpaces" | "issuerAuth")))
        {
            return Err(MdocError::Structure(WHAT));
        }
        let mut namespaces = Vec::new();
        if let Some(ns) = cbor::get(m, "nameSpaces") {
            for (name, items) in cbor::map(ns, WHAT)? {
                let name = cbor::text(Some(name), WHAT)?.to_owned();
                let items = cbor::array(items, WHAT)?
                    .iter()
                    .map(|i| IssuerSignedItem::from_tagged(Tagged24::from_value(i, WHAT)?))
                    .collect::<Result<Vec<_>, _>>()?;
                namespaces.push((name, items));
            }
        }
        let issuer_auth =
            cbor::encode(cbor::get(m, "issuerAuth").ok_or(MdocError::Structure(WHAT))?);
        Ok(IssuerSigned {
            namespaces,
            issuer_auth,
        })
    }

    /// Parses an encoded IssuerSigned (what `mdoc export` writes).
    pub fn parse(bytes: &[u8]) -> Result<IssuerSigned, MdocError> {
        IssuerSigned::from_value(&cbor::decode(bytes)?)
    }

    /// The encoded IssuerSigned (what `mdoc export` writes and [`IssuerSigned::parse`] reads).
    pub fn encode(&self) -> Result<Vec<u8>, MdocError> {
        Ok(cbor::encode(&self.to_value()?))
    }

    pub(crate) fn to_value(&self) -> Result<Value, MdocError> {
        let ns = self
            .namespaces
            .iter()
            .map(|(n, items)| {
                (
                    Value::from(n.as_str()),
                    Value::Array(items.iter().map(|i| i.bytes.to_value()).collect()),
                )
            })
            .collect();
        Ok(Value::Map(vec![
            (Value::from("nameSpaces"), Value::Map(ns)),
            (Value::from("issuerAuth"), cbor::decode(&self.issuer_auth)?),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer_signed(keys: &[&str]) -> Vec<u8> {
        let item = IssuerSignedItem::new(0, vec![1; 16], "age_over_18", Value::Bool(true));
        let mut m = Vec::new();
        for k in keys {
            let v = match *k {
                "issuerAuth" => Value::Array(vec![]),
                _ => Value::Map(vec![(
                    Value::from("org.iso.23220.1"),
                    Value::Array(vec![item.bytes.to_value()]),
                )]),
            };
            m.push((Value::from(*k), v));
        }
        cbor::encode(&Value::Map(m))
    }

    /// The CDDL's IssuerSigned map is closed: a misspelt "nameSpaces" is not an IssuerSigned
    /// without elements (which would verify, showing nothing) but a malformed one.
    #[test]
    fn only_the_keys_of_the_cddl_are_read() {
        let ok = IssuerSigned::parse(&issuer_signed(&["nameSpaces", "issuerAuth"])).unwrap();
        assert_eq!(ok.namespaces.len(), 1);
        assert!(IssuerSigned::parse(&issuer_signed(&["issuerAuth"])).is_ok());
        for keys in [
            &["nameSpacez", "issuerAuth"][..],
            &["nameSpaces", "issuerAuth", "extra"],
        ] {
            assert_eq!(
                IssuerSigned::parse(&issuer_signed(keys)),
                Err(MdocError::Structure("IssuerSigned")),
                "{keys:?}"
            );
        }
    }
}
