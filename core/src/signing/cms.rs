//! The detached CMS SignedData of a remote signature (RFC 5652), in the CAdES-BES shape
//! (ETSI EN 319 122-1): signed attributes contentType, signingTime, messageDigest and
//! signing-certificate-v2 (RFC 5035), ECDSA P-256 with SHA-256, the signer's certificate
//! included, no eContent. The private key is remote, so building is split in two: the signed
//! attributes (whose SHA-256 the backend signs) and the assembly around the signature.

use super::SigningError;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode, Sequence};
use eid_crypto::cms::{ATTR_CONTENT_TYPE, ATTR_MESSAGE_DIGEST, ID_SIGNED_DATA};
use eid_crypto::signature::verify_signature;
use eid_crypto::x509::{SignerCertificate, verify_certificate};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

/// id-data (RFC 5652 §4): the signed content is opaque bytes (the file).
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-signingTime (RFC 5652 §11.3).
pub const ATTR_SIGNING_TIME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificateV2 (RFC 5035 §3).
pub const ATTR_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// ESSCertIDv2 with the default hash (SHA-256, so omitted in DER) and no issuerSerial.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 } (no policies).
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn der_err(_: der::Error) -> SigningError {
    SigningError::Cms("encoding")
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, SigningError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(der_err)?,
    })
}

/// The signed attributes for a file with SHA-256 `content_digest`, signed at `signing_time`
/// (Unix seconds) with the certificate `cert_der`. Their DER (a SET OF, RFC 5652 §5.4) is what
/// the signature covers.
#[derive(Debug, Clone)]
pub struct SignedAttributes {
    attrs: SetOfVec<Attribute>,
}

impl SignedAttributes {
    pub fn new(
        content_digest: &[u8],
        cert_der: &[u8],
        signing_time: u64,
    ) -> Result<Self, SigningError> {
        let time = UtcTime::from_unix_duration(std::time::Duration::from_secs(signing_time))
            .map_err(der_err)?;
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(Sha256::digest(cert_der).to_vec()).map_err(der_err)?,
            }],
        };
        let attrs = SetOfVec::try_from(vec![
            attribute(
                ATTR_CONTENT_TYPE,
                Any::encode_from(&ID_DATA).map_err(der_err)?,
            )?,
            attribute(ATTR_SIGNING_TIME, Any::encode_from(&time).map_err(der_err)?)?,
            attribute(
                ATTR_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(content_digest).map_err(der_err)?)
                    .map_err(der_err)?,
            )?,
            attribute(
                ATTR_SIGNING_CERTIFICATE_V2,
                Any::encode_from(&ess).map_err(der_err)?,
            )?,
        ])
        .map_err(der_err)?;
        Ok(SignedAttributes { attrs })
    }

    /// The SHA-256 the remote key signs.
    pub fn hash(&self) -> Result<Vec<u8>, SigningError> {
        Ok(Sha256::digest(self.attrs.to_der().map_err(der_err)?).to_vec())
    }

    /// ContentInfo(SignedData) around the remote `signature` (DER ECDSA), detached.
    pub fn assemble(self, cert_der: &[u8], signature: &[u8]) -> Result<Vec<u8>, SigningError> {
        let cert = Certificate::from_der(cert_der).map_err(|_| SigningError::Cms("certificate"))?;
        let tbs = cert.tbs_certificate();
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            digest_alg: alg(SHA256),
            signed_attrs: Some(self.attrs),
            signature_algorithm: alg(ECDSA_WITH_SHA256),
            signature: OctetString::new(signature).map_err(der_err)?,
            unsigned_attrs: None,
        };
        let sd = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![alg(SHA256)]).map_err(der_err)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            certificates: Some(CertificateSet(
                SetOfVec::try_from(vec![CertificateChoices::Certificate(cert)]).map_err(der_err)?,
            )),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(der_err)?),
        };
        ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&sd).map_err(der_err)?,
        }
        .to_der()
        .map_err(der_err)
    }
}

/// What a verified signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The signer's certificate subject (RFC 4514 string).
    pub signer: String,
    /// Unix seconds, from the signingTime attribute.
    pub signing_time: u64,
    pub certificate: Vec<u8>,
}

fn single_value(attrs: &SetOfVec<Attribute>, oid: ObjectIdentifier) -> Option<&Any> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let one = found.next()?;
    if found.next().is_some() || one.values.len() != 1 {
        return None;
    }
    one.values.iter().next()
}

/// Verifies a detached signature over `content`: the message digest, the signing-certificate-v2
/// hash, the ECDSA signature with the included certificate, and that certificate's signature by
/// `ca_der`.
pub fn verify_detached(
    cms_der: &[u8],
    content: &[u8],
    ca_der: &[u8],
) -> Result<VerifiedSignature, SigningError> {
    let bad = |what| SigningError::SignatureInvalid(what);
    let ci = ContentInfo::from_der(cms_der).map_err(|_| bad("not a CMS structure"))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(bad("not SignedData"));
    }
    let sd: SignedData = ci.content.decode_as().map_err(|_| bad("SignedData"))?;
    if sd.encap_content_info.econtent.is_some() || sd.encap_content_info.econtent_type != ID_DATA {
        return Err(bad("not a detached signature over data"));
    }
    let cert = sd
        .certificates
        .as_ref()
        .and_then(|c| c.0.iter().next())
        .and_then(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .ok_or(bad("no signer certificate"))?;
    let cert_der = cert.to_der().map_err(der_err)?;
    let si = match sd.signer_infos.0.as_slice() {
        [one] => one,
        _ => return Err(bad("not exactly one signer")),
    };
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or(bad("no signed attributes"))?;
    let digest = single_value(attrs, ATTR_MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or(bad("message digest"))?;
    if digest.as_bytes() != Sha256::digest(content).as_slice() {
        return Err(bad("the content does not match the signature"));
    }
    if single_value(attrs, ATTR_CONTENT_TYPE).and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        != Some(ID_DATA)
    {
        return Err(bad("content type"));
    }
    let ess = single_value(attrs, ATTR_SIGNING_CERTIFICATE_V2)
        .and_then(|v| v.decode_as::<SigningCertificateV2>().ok())
        .ok_or(bad("signing certificate"))?;
    let first = ess.certs.first().ok_or(bad("signing certificate"))?;
    if first.cert_hash.as_bytes() != Sha256::digest(&cert_der).as_slice() {
        return Err(bad("signing certificate"));
    }
    let signing_time = single_value(attrs, ATTR_SIGNING_TIME)
        .and_then(|v| v.decode_as::<UtcTime>().ok())
        .map(|t| t.to_unix_duration().as_secs())
        .ok_or(bad("signing time"))?;
    let signed = attrs.to_der().map_err(der_err)?;
    verify_signature(
        cert.tbs_certificate().subject_public_key_info(),
        &si.signature_algorithm,
        None,
        &signed,
        si.signature.as_bytes(),
    )
    .map_err(|_| bad("the signature does not verify"))?;
    let ca = Certificate::from_der(ca_der).map_err(|_| bad("CA certificate"))?;
    verify_certificate(
        &SignerCertificate {
            der: cert_der.clone(),
            certificate: cert.clone(),
        },
        &ca,
    )
    .map_err(|_| bad("the certificate is not from the signing CA"))?;
    Ok(VerifiedSignature {
        signer: cert.tbs_certificate().subject().to_string(),
        signing_time,
        certificate: cert_der,
    })
}
