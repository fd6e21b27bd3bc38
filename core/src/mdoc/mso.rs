//! MobileSecurityObject (ISO/IEC 18013-5 §9.1.2.4): the issuer-signed digests of every element,
//! the device key the holder proves possession of, the docType and the validity.

use super::cbor::{self, Tagged24};
use super::cose_key::CoseKey;
use super::error::MdocError;
use super::status_list::MsoStatus;
use super::time;
use ciborium::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    fn from_name(name: &str) -> Option<DigestAlgorithm> {
        match name {
            "SHA-256" => Some(DigestAlgorithm::Sha256),
            "SHA-384" => Some(DigestAlgorithm::Sha384),
            "SHA-512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha384 => "SHA-384",
            DigestAlgorithm::Sha512 => "SHA-512",
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            DigestAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            DigestAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            DigestAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// validityInfo, as Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidityInfo {
    pub signed: u64,
    pub valid_from: u64,
    pub valid_until: u64,
    pub expected_update: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MobileSecurityObject {
    pub version: String,
    /// `None` when the MSO names an algorithm this reader does not know.
    pub digest_algorithm: Option<DigestAlgorithm>,
    /// (namespace, digestID, digest)
    pub value_digests: Vec<(String, u64, Vec<u8>)>,
    pub device_key: CoseKey,
    pub doc_type: String,
    pub validity: ValidityInfo,
    /// `status` (draft-ietf-oauth-status-list, mdoc): the MSO's Token Status List entry.
    pub status: Option<MsoStatus>,
}

impl MobileSecurityObject {
    /// Reads MobileSecurityObjectBytes (the issuerAuth payload).
    pub fn parse_bytes(bytes: &[u8]) -> Result<MobileSecurityObject, MdocError> {
        const WHAT: &str = "MobileSecurityObject";
        let value = Tagged24::from_encoded(bytes, WHAT)?.item()?;
        let m = cbor::map(&value, WHAT)?;
        let version = cbor::text(cbor::get(m, "version"), WHAT)?.to_owned();
        let digest_algorithm =
            DigestAlgorithm::from_name(cbor::text(cbor::get(m, "digestAlgorithm"), WHAT)?);
        let mut value_digests = Vec::new();
        for (ns, digests) in cbor::map(
            cbor::get(m, "valueDigests").ok_or(MdocError::Structure(WHAT))?,
            WHAT,
        )? {
            let ns = cbor::text(Some(ns), WHAT)?;
            for (id, digest) in cbor::map(digests, WHAT)? {
                value_digests.push((
                    ns.to_owned(),
                    cbor::uint(Some(id), WHAT)?,
                    cbor::bytes(Some(digest), WHAT)?.to_vec(),
                ));
            }
        }
        let dki = cbor::map(
            cbor::get(m, "deviceKeyInfo").ok_or(MdocError::Structure(WHAT))?,
            WHAT,
        )?;
        let device_key =
            CoseKey::from_cose(cbor::get(dki, "deviceKey").ok_or(MdocError::Structure(WHAT))?)?;
        let doc_type = cbor::text(cbor::get(m, "docType"), WHAT)?.to_owned();
        let vi = cbor::map(
            cbor::get(m, "validityInfo").ok_or(MdocError::Structure(WHAT))?,
            WHAT,
        )?;
        let date = |k: &str| {
            cbor::get(vi, k)
                .and_then(time::tdate_seconds)
                .ok_or(MdocError::Structure("validityInfo"))
        };
        let expected_update = match cbor::get(vi, "expectedUpdate") {
            Some(v) => Some(time::tdate_seconds(v).ok_or(MdocError::Structure("validityInfo"))?),
            None => None,
        };
        let status = match cbor::get(m, "status") {
            Some(v) => Some(MsoStatus::from_value(v)?),
            None => None,
        };
        Ok(MobileSecurityObject {
            status,
            version,
            digest_algorithm,
            value_digests,
            device_key,
            doc_type,
            validity: ValidityInfo {
                signed: date("signed")?,
                valid_from: date("validFrom")?,
                valid_until: date("validUntil")?,
                expected_update,
            },
        })
    }

    /// MobileSecurityObjectBytes of this MSO (the issuer signs them).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut namespaces: Vec<(Value, Value)> = Vec::new();
        for (ns, id, digest) in &self.value_digests {
            let entry = (Value::from(*id), Value::Bytes(digest.clone()));
            cbor::push_under(&mut namespaces, ns, entry);
        }
        let mut validity = vec![
            (Value::from("signed"), time::tdate(self.validity.signed)),
            (
                Value::from("validFrom"),
                time::tdate(self.validity.valid_from),
            ),
            (
                Value::from("validUntil"),
                time::tdate(self.validity.valid_until),
            ),
        ];
        if let Some(t) = self.validity.expected_update {
            validity.push((Value::from("expectedUpdate"), time::tdate(t)));
        }
        let algorithm = self
            .digest_algorithm
            .unwrap_or(DigestAlgorithm::Sha256)
            .name();
        let mut entries = vec![
            (Value::from("version"), Value::from(self.version.as_str())),
            (Value::from("digestAlgorithm"), Value::from(algorithm)),
            (Value::from("valueDigests"), Value::Map(namespaces)),
            (
                Value::from("deviceKeyInfo"),
                Value::Map(vec![(Value::from("deviceKey"), self.device_key.to_cose())]),
            ),
            (Value::from("docType"), Value::from(self.doc_type.as_str())),
            (Value::from("validityInfo"), Value::Map(validity)),
        ];
        if let Some(status) = &self.status {
            entries.push((Value::from("status"), status.to_value()));
        }
        Tagged24::of(&Value::Map(entries)).encoded()
    }
}
