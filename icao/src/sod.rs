//! EF.SOD, the document security object (ICAO 9303-10 §4.6.2, 9303-12 §4.4 and Appendix):
//! `77 { ContentInfo { SignedData { LDSSecurityObject, DSC certificate, SignerInfo } } }`.
//!
//! The CMS layers are walked with the BER-TLV reader so that the exact bytes that were signed or
//! hashed (signed attributes, eContent, certificates) are kept as read; each piece is then decoded
//! with `cms`/`x509-cert`/`der`. Only DER is accepted inside the pieces (no indefinite lengths).

use cms::cert::IssuerAndSerialNumber;
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString, PrintableString};
use der::{Decode, Encode, Sequence};
use eid_crypto::cms::{ATTR_CONTENT_TYPE, ATTR_MESSAGE_DIGEST, ID_SIGNED_DATA};
use eid_crypto::hash::HashAlgorithm;
use eid_crypto::tlv;
use eid_crypto::x509::{SignerCertificate, subject_key_identifier};
use spki::AlgorithmIdentifierOwned;
use std::collections::BTreeMap;
use thiserror::Error;
use x509_cert::Certificate;

/// `id-icao-mrtd-security-ldsSecurityObject` (ICAO 9303-10 §4.6.2.1).
pub const ID_LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");
/// `id-icao-cscaMasterList` (ICAO 9303-12 §9).
pub const ID_CSCA_MASTER_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.2");

/// Why EF.SOD could not be read. No content in the messages.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SodError {
    #[error("EF.SOD is not a valid TLV structure")]
    Structure,
    #[error("EF.SOD is not a CMS SignedData")]
    NotSignedData,
    #[error("malformed {0} in EF.SOD")]
    Malformed(&'static str),
    #[error("EF.SOD holds no signer information")]
    NoSigner,
    #[error("unsupported hash algorithm {0}")]
    UnsupportedHash(String),
}

/// `DataGroupHash` (ICAO 9303-10 §4.6.2.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct DataGroupHash {
    pub data_group_number: u8,
    pub data_group_hash_value: OctetString,
}

/// `LDSVersionInfo` (ICAO 9303-10 §4.6.2.2, LDS 1.8).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct LdsVersionInfo {
    pub lds_version: PrintableString,
    pub unicode_version: PrintableString,
}

/// `LDSSecurityObject` (ICAO 9303-10 §4.6.2.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct LdsSecurityObject {
    /// 0 (V0), or 1 (V1) when `lds_version_info` is present.
    pub version: u8,
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub data_group_hash_values: Vec<DataGroupHash>,
    #[asn1(optional = "true")]
    pub lds_version_info: Option<LdsVersionInfo>,
}

/// How the signer identifies its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerId {
    IssuerAndSerial(IssuerAndSerialNumber),
    SubjectKeyIdentifier(Vec<u8>),
}

/// The first SignerInfo of the SOD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub sid: SignerId,
    pub digest_algorithm: AlgorithmIdentifierOwned,
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub signature: Vec<u8>,
    /// The signed attributes as signed: the `[0] IMPLICIT` field re-tagged as `SET` (RFC 5652
    /// §5.4). `None` when the signature is directly over the eContent.
    pub signed_attributes: Option<Vec<u8>>,
    pub content_type: Option<ObjectIdentifier>,
    pub message_digest: Option<Vec<u8>>,
}

/// Parsed EF.SOD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sod {
    /// LDSSecurityObject version (0 or 1).
    pub version: u8,
    /// LDS and Unicode versions (LDS 1.8 V1 objects only).
    pub lds_version: Option<(String, String)>,
    pub hash_algorithm: HashAlgorithm,
    /// Data group number → hash.
    pub data_group_hashes: BTreeMap<u8, Vec<u8>>,
    pub econtent_type: ObjectIdentifier,
    /// The encapsulated content (DER of the LDSSecurityObject) as read, for re-hashing.
    pub econtent: Vec<u8>,
    /// Certificates carried in the SignedData (normally the DSC).
    pub certificates: Vec<SignerCertificate>,
    pub signer: Signer,
    /// How many SignerInfos the SOD has (only the first is used).
    pub signer_count: usize,
}

/// The parts of a CMS SignedData, as byte slices of the input.
pub(crate) struct SignedDataParts<'a> {
    pub econtent_type: ObjectIdentifier,
    pub econtent: Option<Vec<u8>>,
    pub certificates: Vec<&'a [u8]>,
    pub signer_infos: Vec<&'a [u8]>,
}

/// Walks `ContentInfo { id-signedData, [0] SignedData }` (RFC 5652 §3, §5.1).
pub(crate) fn signed_data_parts(content_info: &[u8]) -> Result<SignedDataParts<'_>, SodError> {
    let ci = tlv::read_exact(content_info, 0x30).map_err(|_| SodError::Structure)?;
    let mut it = ci.children();
    let oid = it
        .next()
        .and_then(Result::ok)
        .filter(|t| t.tag == 0x06)
        .ok_or(SodError::NotSignedData)?;
    if ObjectIdentifier::from_bytes(oid.value).ok() != Some(ID_SIGNED_DATA) {
        return Err(SodError::NotSignedData);
    }
    let explicit = it
        .next()
        .and_then(Result::ok)
        .filter(|t| t.tag == 0xA0)
        .ok_or(SodError::NotSignedData)?;
    let sd = tlv::read_exact(explicit.value, 0x30).map_err(|_| SodError::Structure)?;
    let parts = tlv::elements(sd.value).map_err(|_| SodError::Structure)?;
    let mut encap = None;
    let mut certificates = Vec::new();
    let mut signer_infos = Vec::new();
    // version, digestAlgorithms, encapContentInfo, [0] certificates, [1] crls, signerInfos.
    for (i, part) in parts.iter().enumerate() {
        let (t, _) = tlv::read(part).map_err(|_| SodError::Structure)?;
        match (i, t.tag) {
            (2, 0x30) => encap = Some(*part),
            (_, 0xA0) => certificates = tlv::elements(t.value).map_err(|_| SodError::Structure)?,
            (_, 0x31) if i + 1 == parts.len() && i > 1 => {
                signer_infos = tlv::elements(t.value).map_err(|_| SodError::Structure)?
            }
            _ => {}
        }
    }
    let encap = encap.ok_or(SodError::Malformed("encapsulated content"))?;
    let encap =
        EncapsulatedContentInfo::from_der(encap).map_err(|_| SodError::Malformed("eContent"))?;
    let econtent = match encap.econtent {
        Some(any) => Some(
            any.decode_as::<OctetString>()
                .map_err(|_| SodError::Malformed("eContent"))?
                .as_bytes()
                .to_vec(),
        ),
        None => None,
    };
    Ok(SignedDataParts {
        econtent_type: encap.econtent_type,
        econtent,
        certificates,
        signer_infos,
    })
}

/// Reads EF.SOD, with or without its `77` tag.
pub fn parse(bytes: &[u8]) -> Result<Sod, SodError> {
    let content_info = if bytes.first() == Some(&0x77) {
        tlv::read_exact(bytes, 0x77)
            .map_err(|_| SodError::Structure)?
            .value
    } else {
        bytes
    };
    let parts = signed_data_parts(content_info)?;
    let econtent = parts.econtent.ok_or(SodError::Malformed("eContent"))?;
    let lso = LdsSecurityObject::from_der(&econtent)
        .map_err(|_| SodError::Malformed("LDS security object"))?;
    let hash_algorithm = HashAlgorithm::from_oid(&lso.hash_algorithm.oid)
        .ok_or_else(|| SodError::UnsupportedHash(lso.hash_algorithm.oid.to_string()))?;
    let data_group_hashes = lso
        .data_group_hash_values
        .iter()
        .map(|h| {
            (
                h.data_group_number,
                h.data_group_hash_value.as_bytes().to_vec(),
            )
        })
        .collect();
    let certificates = parts
        .certificates
        .iter()
        .filter_map(|der| {
            // Other certificate formats ([3] other) are skipped.
            Certificate::from_der(der)
                .ok()
                .map(|certificate| SignerCertificate {
                    der: der.to_vec(),
                    certificate,
                })
        })
        .collect();
    let first = parts.signer_infos.first().ok_or(SodError::NoSigner)?;
    let signer = signer(first)?;
    Ok(Sod {
        version: lso.version,
        lds_version: lso
            .lds_version_info
            .map(|v| (v.lds_version.to_string(), v.unicode_version.to_string())),
        hash_algorithm,
        data_group_hashes,
        econtent_type: parts.econtent_type,
        econtent,
        certificates,
        signer,
        signer_count: parts.signer_infos.len(),
    })
}

fn signer(raw: &[u8]) -> Result<Signer, SodError> {
    let si = SignerInfo::from_der(raw).map_err(|_| SodError::Malformed("signer info"))?;
    // The signed attributes exactly as encoded, re-tagged from [0] IMPLICIT to SET.
    let outer = tlv::read_exact(raw, 0x30).map_err(|_| SodError::Structure)?;
    let signed_attributes = outer
        .children()
        .find(0xA0)
        .map_err(|_| SodError::Structure)?
        .map(|t| tlv::encode(0x31, t.value));
    let mut content_type = None;
    let mut message_digest = None;
    for attr in si.signed_attrs.iter().flat_map(|a| a.iter()) {
        let value = attr.values.iter().next();
        if attr.oid == ATTR_CONTENT_TYPE {
            content_type = value.and_then(|v| v.decode_as::<ObjectIdentifier>().ok());
        } else if attr.oid == ATTR_MESSAGE_DIGEST {
            message_digest = value
                .and_then(|v| v.decode_as::<OctetString>().ok())
                .map(|o| o.as_bytes().to_vec());
        }
    }
    let sid = match si.sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => SignerId::IssuerAndSerial(isn),
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            SignerId::SubjectKeyIdentifier(ski.0.as_bytes().to_vec())
        }
    };
    Ok(Signer {
        sid,
        digest_algorithm: si.digest_alg,
        signature_algorithm: si.signature_algorithm,
        signature: si.signature.as_bytes().to_vec(),
        signed_attributes,
        content_type,
        message_digest,
    })
}

impl Sod {
    /// The certificate the SignerInfo names; if none matches and there is exactly one
    /// certificate, that one.
    pub fn signer_certificate(&self) -> Option<&SignerCertificate> {
        let matching = self.certificates.iter().find(|c| {
            let tbs = c.certificate.tbs_certificate();
            match &self.signer.sid {
                SignerId::IssuerAndSerial(isn) => {
                    tbs.issuer() == &isn.issuer && tbs.serial_number() == &isn.serial_number
                }
                SignerId::SubjectKeyIdentifier(ski) => {
                    subject_key_identifier(&c.certificate).is_some_and(|k| k == *ski)
                }
            }
        });
        match matching {
            Some(c) => Some(c),
            None if self.certificates.len() == 1 => self.certificates.first(),
            None => None,
        }
    }

    /// The hash of data group `dg` recorded in the SOD.
    pub fn hash_of(&self, dg: u8) -> Option<&[u8]> {
        self.data_group_hashes.get(&dg).map(Vec::as_slice)
    }
}

/// The DER of an `LDSSecurityObject` V0 over `hashes`, for building SODs.
pub fn encode_lds_security_object(
    hash: HashAlgorithm,
    hashes: &BTreeMap<u8, Vec<u8>>,
) -> Result<Vec<u8>, der::Error> {
    let lso = LdsSecurityObject {
        version: 0,
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: hash.oid(),
            parameters: None,
        },
        data_group_hash_values: hashes
            .iter()
            .map(|(n, h)| {
                Ok(DataGroupHash {
                    data_group_number: *n,
                    data_group_hash_value: OctetString::new(h.clone())?,
                })
            })
            .collect::<Result<_, der::Error>>()?,
        lds_version_info: None,
    };
    lso.to_der()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lds_security_object_round_trips() {
        let mut hashes = BTreeMap::new();
        hashes.insert(1u8, vec![1u8; 32]);
        hashes.insert(13u8, vec![13u8; 32]);
        let der = encode_lds_security_object(HashAlgorithm::Sha256, &hashes).unwrap();
        let lso = LdsSecurityObject::from_der(&der).unwrap();
        assert_eq!(lso.data_group_hash_values.len(), 2);
        assert_eq!(lso.data_group_hash_values[1].data_group_number, 13);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(&[]).is_err());
        assert!(parse(&[0x77, 0x00]).is_err());
        assert!(parse(&[0x77, 0x02, 0x30, 0x00]).is_err());
        assert_eq!(
            parse(&tlv::encode(0x30, &tlv::encode(0x06, &[0x2A, 0x03]))),
            Err(SodError::NotSignedData)
        );
        let mut x = vec![0x30u8, 0x84, 0xFF, 0xFF, 0xFF, 0xF0];
        x.extend_from_slice(&[0; 16]);
        assert!(parse(&x).is_err());
    }
}
