//! The mdoc issuing PKI's certificate profiles (ISO/IEC 18013-5 Annex B): the IACA root
//! (B.1.2) and the document signer (B.1.4).
//!
//! - IACA: self-signed, at most 20 years; subject with the country (C=VN); extensions
//!   subjectKeyIdentifier, keyUsage keyCertSign + cRLSign (critical), basicConstraints CA with
//!   path length 0 (critical), issuerAlternativeName and cRLDistributionPoints.
//! - Document signer: at most 457 days, issued by the IACA with the same country; extensions
//!   authorityKeyIdentifier, subjectKeyIdentifier, keyUsage digitalSignature (critical),
//!   extendedKeyUsage `1.0.18013.5.1.2` (mdlDS, critical), issuerAlternativeName and
//!   cRLDistributionPoints.

use super::ca::ca_err;
use super::cert_ext::ext;
use crate::error::Error;
use der::asn1::{Ia5String, ObjectIdentifier};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage,
    IssuerAltName, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::spki::SubjectPublicKeyInfoRef;

/// id-mdl-kp-mdlDS (ISO/IEC 18013-5 Annex B): the document signer's extended key usage.
pub const MDL_DS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.0.18013.5.1.2");
/// The longest IACA validity Annex B allows (20 years).
pub const IACA_LIFETIME: u64 = 20 * 365 * 86_400;
/// The longest document signer validity Annex B allows (457 days).
pub const DOCUMENT_SIGNER_LIFETIME: u64 = 457 * 86_400;

/// Which certificate of the mdoc PKI.
pub(crate) enum MdocProfile {
    /// The self-signed IACA root.
    Iaca { subject: Name, issuer_uri: String },
    /// A document signer issued by `issuer`.
    DocumentSigner {
        subject: Name,
        issuer: Name,
        issuer_uri: String,
    },
}

impl MdocProfile {
    fn issuer_uri(&self) -> &str {
        match self {
            MdocProfile::Iaca { issuer_uri, .. }
            | MdocProfile::DocumentSigner { issuer_uri, .. } => issuer_uri,
        }
    }
}

fn uri(s: &str) -> x509_cert::builder::Result<GeneralName> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(s)?))
}

impl BuilderProfile for MdocProfile {
    fn get_issuer(&self, subject: &Name) -> Name {
        match self {
            MdocProfile::Iaca { .. } => subject.clone(),
            MdocProfile::DocumentSigner { issuer, .. } => issuer.clone(),
        }
    }

    fn get_subject(&self) -> Name {
        match self {
            MdocProfile::Iaca { subject, .. } | MdocProfile::DocumentSigner { subject, .. } => {
                subject.clone()
            }
        }
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        use der::oid::AssociatedOid;
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let mut out = vec![ext(SubjectKeyIdentifier::OID, false, &ski)?];
        let base = self.issuer_uri().trim_end_matches('/');
        let alt = IssuerAltName(vec![uri(base)?]);
        let crl = CrlDistributionPoints(vec![DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![uri(&format!(
                "{base}/iaca.crl"
            ))?])),
            reasons: None,
            crl_issuer: None,
        }]);
        match self {
            MdocProfile::Iaca { .. } => {
                out.push(ext(
                    KeyUsage::OID,
                    true,
                    &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                )?);
                out.push(ext(
                    BasicConstraints::OID,
                    true,
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(0),
                    },
                )?);
            }
            MdocProfile::DocumentSigner { .. } => {
                let aki = SubjectKeyIdentifier::try_from(issuer_spk)?;
                out.push(ext(
                    AuthorityKeyIdentifier::OID,
                    false,
                    &AuthorityKeyIdentifier {
                        key_identifier: Some(aki.0),
                        ..Default::default()
                    },
                )?);
                out.push(ext(
                    KeyUsage::OID,
                    true,
                    &KeyUsage(KeyUsages::DigitalSignature.into()),
                )?);
                out.push(ext(
                    ExtendedKeyUsage::OID,
                    true,
                    &ExtendedKeyUsage(vec![MDL_DS]),
                )?);
            }
        }
        out.push(ext(IssuerAltName::OID, false, &alt)?);
        out.push(ext(CrlDistributionPoints::OID, false, &crl)?);
        Ok(out)
    }
}

/// Checks the Annex B shape of a document signer certificate (DER) issued by `iaca` (DER):
/// what a deployment's checks and the tests rely on. Never panics.
pub fn is_annex_b_document_signer(ds: &[u8], iaca: &[u8]) -> Result<bool, Error> {
    use der::Decode;
    let ds = x509_cert::Certificate::from_der(ds).map_err(ca_err)?;
    let iaca = x509_cert::Certificate::from_der(iaca).map_err(ca_err)?;
    let exts = ds
        .tbs_certificate()
        .extensions()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let find = |oid| exts.iter().find(|e| e.extn_id == oid);
    use der::oid::AssociatedOid;
    let eku_ok = find(ExtendedKeyUsage::OID).is_some_and(|e| {
        e.critical
            && <ExtendedKeyUsage as der::Decode>::from_der(e.extn_value.as_bytes())
                .is_ok_and(|k| k.0 == [MDL_DS])
    });
    let ku_ok = find(KeyUsage::OID).is_some_and(|e| {
        e.critical
            && <KeyUsage as der::Decode>::from_der(e.extn_value.as_bytes())
                .is_ok_and(|k| k.digital_signature() && !k.key_cert_sign() && !k.crl_sign())
    });
    let v = ds.tbs_certificate().validity();
    let days = v
        .not_after
        .to_unix_duration()
        .as_secs()
        .saturating_sub(v.not_before.to_unix_duration().as_secs());
    Ok(eku_ok
        && ku_ok
        && find(AuthorityKeyIdentifier::OID).is_some()
        && find(CrlDistributionPoints::OID).is_some()
        && find(IssuerAltName::OID).is_some()
        && days <= DOCUMENT_SIGNER_LIFETIME
        && ds.tbs_certificate().issuer() == iaca.tbs_certificate().subject())
}
