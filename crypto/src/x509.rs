//! X.509 certificates: kept with their bytes as read (what their issuer signed), checked
//! against an issuer, and the few extensions and key forms the wallet reads.

use crate::signature::{SignatureError, verify_signature};
use crate::tlv;
use der::Decode;
use x509_cert::Certificate;

/// A certificate with its bytes as read: a document signer, a credential or status-list issuer,
/// a CMS signer or a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerCertificate {
    pub der: Vec<u8>,
    pub certificate: Certificate,
}

impl SignerCertificate {
    /// Parses one DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, der::Error> {
        Ok(SignerCertificate {
            der: der.to_vec(),
            certificate: Certificate::from_der(der)?,
        })
    }
}

const ID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const SECP256R1: &str = "1.2.840.10045.3.1.7";

/// The uncompressed P-256 point of a certificate's key, or `None` if it is another key type.
pub fn p256_point(cert: &Certificate) -> Option<Vec<u8>> {
    let spki = cert.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid.to_string() != ID_EC_PUBLIC_KEY {
        return None;
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()?
        .decode_as::<der::asn1::ObjectIdentifier>()
        .ok()?;
    if curve.to_string() != SECP256R1 {
        return None;
    }
    let point = spki.subject_public_key.as_bytes()?;
    (point.len() == 65 && point.first() == Some(&4)).then(|| point.to_vec())
}

/// Verifies `cert`'s signature with `issuer`'s public key, over the TBS bytes as read.
pub fn verify_certificate(
    cert: &SignerCertificate,
    issuer: &Certificate,
) -> Result<(), SignatureError> {
    let outer = tlv::read_exact(&cert.der, 0x30).map_err(|_| SignatureError::Invalid)?;
    let tbs = tlv::elements(outer.value)
        .ok()
        .and_then(|e| e.first().copied())
        .ok_or(SignatureError::Invalid)?;
    let signature = cert
        .certificate
        .signature()
        .as_bytes()
        .ok_or(SignatureError::Invalid)?;
    verify_signature(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.certificate.signature_algorithm(),
        None,
        tbs,
        signature,
    )
}

/// The subject key identifier extension of a certificate.
pub fn subject_key_identifier(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
        .ok()
        .flatten()
        .map(|(_, ski)| ski.0.as_bytes().to_vec())
}

/// The key identifier of a certificate's authority key identifier extension.
pub fn authority_key_identifier(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::AuthorityKeyIdentifier>()
        .ok()
        .flatten()
        .and_then(|(_, aki)| aki.key_identifier)
        .map(|k| k.as_bytes().to_vec())
}
