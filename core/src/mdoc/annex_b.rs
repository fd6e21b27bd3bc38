//! The mdoc PKI's certificate profiles (ISO/IEC 18013-5 Annex B): the IACA root (B.1.2) and
//! the document signer (B.1.4); the reader CA and the reader authentication certificate (Annex
//! B; docs/adr/0040), the same shapes with the reader's extended key usage.
//!
//! - IACA: self-signed, at most 20 years; subject with the country (C=VN); extensions
//!   subjectKeyIdentifier, keyUsage keyCertSign + cRLSign (critical), basicConstraints CA with
//!   path length 0 (critical), issuerAlternativeName and cRLDistributionPoints.
//! - Document signer: at most 457 days, issued by the IACA with the same country; extensions
//!   authorityKeyIdentifier, subjectKeyIdentifier, keyUsage digitalSignature (critical),
//!   extendedKeyUsage `1.0.18013.5.1.2` (mdlDS, critical), issuerAlternativeName and
//!   cRLDistributionPoints.
//! - Reader CA: the IACA's shape (a root of its own, never an issuer anchor).
//! - Reader authentication certificate: at most 1187 days (Annex B), the document signer's
//!   extensions with extendedKeyUsage `1.0.18013.5.1.6` (mdlReaderAuth, critical).
//!
//! Built with `eid_crypto::x509_build::build`, by the backend (its IACA, document signers,
//! reader CA and reader certificates) and by the fixtures (the fixture IACA and document signer
//! of the fixture mdocs), so both make certificates of the same shape and size.

use der::asn1::{Ia5String, ObjectIdentifier};
pub use eid_crypto::x509_build::Issuer;
use eid_crypto::x509_build::ext;
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
/// The longest reader authentication certificate validity Annex B allows (1187 days).
pub const READER_CERT_MAX_LIFETIME: u64 = 1187 * 86_400;
use super::reader_auth::MDL_READER_AUTH;

/// Which certificate of the mdoc PKI.
pub enum MdocProfile {
    /// The self-signed IACA root.
    Iaca { subject: Name, issuer_uri: String },
    /// A document signer issued by `issuer`.
    DocumentSigner {
        subject: Name,
        issuer: Issuer,
        issuer_uri: String,
    },
    /// The self-signed reader CA.
    ReaderCa { subject: Name, issuer_uri: String },
    /// A reader authentication certificate issued by the reader CA `issuer`.
    ReaderAuth {
        subject: Name,
        issuer: Issuer,
        issuer_uri: String,
    },
}

impl MdocProfile {
    fn issuer_uri(&self) -> &str {
        match self {
            MdocProfile::Iaca { issuer_uri, .. }
            | MdocProfile::DocumentSigner { issuer_uri, .. }
            | MdocProfile::ReaderCa { issuer_uri, .. }
            | MdocProfile::ReaderAuth { issuer_uri, .. } => issuer_uri,
        }
    }

    /// The CRL file under the issuer URI.
    fn crl(&self) -> &'static str {
        match self {
            MdocProfile::Iaca { .. } | MdocProfile::DocumentSigner { .. } => "iaca.crl",
            MdocProfile::ReaderCa { .. } | MdocProfile::ReaderAuth { .. } => "reader-ca.crl",
        }
    }
}

fn uri(s: &str) -> x509_cert::builder::Result<GeneralName> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(s)?))
}

impl BuilderProfile for MdocProfile {
    fn get_issuer(&self, subject: &Name) -> Name {
        match self {
            MdocProfile::Iaca { .. } | MdocProfile::ReaderCa { .. } => subject.clone(),
            MdocProfile::DocumentSigner { issuer, .. } | MdocProfile::ReaderAuth { issuer, .. } => {
                issuer.name.clone()
            }
        }
    }

    fn get_subject(&self) -> Name {
        match self {
            MdocProfile::Iaca { subject, .. }
            | MdocProfile::DocumentSigner { subject, .. }
            | MdocProfile::ReaderCa { subject, .. }
            | MdocProfile::ReaderAuth { subject, .. } => subject.clone(),
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
                "{base}/{}",
                self.crl()
            ))?])),
            reasons: None,
            crl_issuer: None,
        }]);
        match self {
            MdocProfile::Iaca { .. } | MdocProfile::ReaderCa { .. } => {
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
            MdocProfile::DocumentSigner { issuer, .. } | MdocProfile::ReaderAuth { issuer, .. } => {
                let eku = if matches!(self, MdocProfile::ReaderAuth { .. }) {
                    MDL_READER_AUTH
                } else {
                    MDL_DS
                };
                out.push(issuer.authority_key_identifier(issuer_spk)?);
                out.push(ext(
                    KeyUsage::OID,
                    true,
                    &KeyUsage(KeyUsages::DigitalSignature.into()),
                )?);
                out.push(ext(
                    ExtendedKeyUsage::OID,
                    true,
                    &ExtendedKeyUsage(vec![eku]),
                )?);
            }
        }
        out.push(ext(IssuerAltName::OID, false, &alt)?);
        out.push(ext(CrlDistributionPoints::OID, false, &crl)?);
        Ok(out)
    }
}

/// Whether `ds` (DER) is an Annex B document signer certificate issued by `iaca` (DER): its
/// shape ([`has_document_signer_profile`]) and a validity of at most
/// [`DOCUMENT_SIGNER_LIFETIME`]. Never panics; unparsable input is no document signer.
pub fn is_annex_b_document_signer(ds: &[u8], iaca: &[u8]) -> bool {
    annex_b_end_entity(ds, iaca, MDL_DS, Some(DOCUMENT_SIGNER_LIFETIME))
}

/// Whether `ds` (DER) has every extension Annex B asks of a document signer certificate and
/// names `iaca` (DER) as its issuer, whatever its validity length. The fixture document signer
/// has this shape with a longer validity (docs/adr/0063, amendment 2).
pub fn has_document_signer_profile(ds: &[u8], iaca: &[u8]) -> bool {
    annex_b_end_entity(ds, iaca, MDL_DS, None)
}

/// Whether `cert` (DER) is an Annex B reader authentication certificate issued by the reader CA
/// `ca` (DER). Never panics.
pub fn is_annex_b_reader_certificate(cert: &[u8], ca: &[u8]) -> bool {
    annex_b_end_entity(cert, ca, MDL_READER_AUTH, Some(READER_CERT_MAX_LIFETIME))
}

fn annex_b_end_entity(
    ds: &[u8],
    iaca: &[u8],
    purpose: ObjectIdentifier,
    max_lifetime: Option<u64>,
) -> bool {
    use der::Decode;
    let (Ok(ds), Ok(iaca)) = (
        x509_cert::Certificate::from_der(ds),
        x509_cert::Certificate::from_der(iaca),
    ) else {
        return false;
    };
    let tbs = ds.tbs_certificate();
    // (critical, value) of an extension present once and decoding; a repeated one (RFC 5280
    // §4.2 forbids it) or an undecodable one counts as absent.
    fn get<T: der::DecodeOwned + der::oid::AssociatedOid>(
        tbs: &TbsCertificate,
    ) -> Option<(bool, T)> {
        tbs.get_extension::<T>().ok().flatten()
    }
    let eku_ok =
        get::<ExtendedKeyUsage>(tbs).is_some_and(|(critical, k)| critical && k.0 == [purpose]);
    let ku_ok = get::<KeyUsage>(tbs).is_some_and(|(critical, k)| {
        critical && k.digital_signature() && !k.key_cert_sign() && !k.crl_sign()
    });
    let v = tbs.validity();
    let lifetime = v
        .not_after
        .to_unix_duration()
        .as_secs()
        .saturating_sub(v.not_before.to_unix_duration().as_secs());
    // The authority key identifier names the issuer's key as the issuer's certificate does.
    let aki_ok = get::<AuthorityKeyIdentifier>(tbs).is_some_and(|(_, aki)| {
        let ca_key_id = eid_crypto::x509::subject_key_identifier(&iaca);
        ca_key_id.is_none() || aki.key_identifier.map(|k| k.as_bytes().to_vec()) == ca_key_id
    });
    eku_ok
        && ku_ok
        && aki_ok
        && get::<CrlDistributionPoints>(tbs).is_some()
        && get::<IssuerAltName>(tbs).is_some()
        && max_lifetime.is_none_or(|max| lifetime <= max)
        && tbs.issuer() == iaca.tbs_certificate().subject()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eid_crypto::x509_build::{self, C, CN, O};
    use p256::ecdsa::SigningKey;
    use x509_cert::spki::SubjectPublicKeyInfoOwned;

    const FROM: u64 = 1_767_225_600;

    fn key(b: u8) -> SigningKey {
        SigningKey::from_slice(&[b; 32]).unwrap()
    }

    fn spki(k: &SigningKey) -> SubjectPublicKeyInfoOwned {
        SubjectPublicKeyInfoOwned::from_key(k.verifying_key()).unwrap()
    }

    fn name(cn: &str) -> Name {
        x509_build::name(&[(C, "VN"), (O, "Test"), (CN, cn)]).unwrap()
    }

    fn iaca(k: &SigningKey) -> Vec<u8> {
        x509_build::build(
            MdocProfile::Iaca {
                subject: name("IACA"),
                issuer_uri: "https://iaca.example".into(),
            },
            &[1],
            x509_build::validity_between(FROM, FROM + IACA_LIFETIME).unwrap(),
            spki(k),
            k,
        )
        .unwrap()
    }

    fn end_entity(reader: bool, issuer: &str, lifetime: u64, ca: &SigningKey) -> Vec<u8> {
        signed_by(reader, issuer, None, lifetime, ca)
    }

    fn signed_by(
        reader: bool,
        issuer: &str,
        key_id: Option<Vec<u8>>,
        lifetime: u64,
        ca: &SigningKey,
    ) -> Vec<u8> {
        let issuer = Issuer {
            name: name(issuer),
            key_id,
        };
        let (subject, issuer_uri) = (name("EE"), "https://iaca.example");
        let profile = if reader {
            MdocProfile::ReaderAuth {
                subject,
                issuer,
                issuer_uri: issuer_uri.into(),
            }
        } else {
            MdocProfile::DocumentSigner {
                subject,
                issuer,
                issuer_uri: issuer_uri.into(),
            }
        };
        x509_build::build(
            profile,
            &[2],
            x509_build::validity_between(FROM, FROM + lifetime).unwrap(),
            spki(&key(9)),
            ca,
        )
        .unwrap()
    }

    #[test]
    fn document_signer_and_reader_profiles_are_told_apart_and_their_lifetimes_capped() {
        let ca = key(1);
        let root = iaca(&ca);
        let ds = end_entity(false, "IACA", DOCUMENT_SIGNER_LIFETIME, &ca);
        assert!(is_annex_b_document_signer(&ds, &root));
        assert!(has_document_signer_profile(&ds, &root));
        assert!(!is_annex_b_reader_certificate(&ds, &root));
        // A day longer: the profile is there, Annex B's lifetime is not.
        let long = end_entity(false, "IACA", DOCUMENT_SIGNER_LIFETIME + 86_400, &ca);
        assert!(has_document_signer_profile(&long, &root));
        assert!(!is_annex_b_document_signer(&long, &root));
        // Another issuer name; a reader certificate; an IACA; garbage: none is a document signer.
        let other = end_entity(false, "Other", DOCUMENT_SIGNER_LIFETIME, &ca);
        assert!(!has_document_signer_profile(&other, &root));
        let reader = end_entity(true, "IACA", READER_CERT_MAX_LIFETIME, &ca);
        assert!(is_annex_b_reader_certificate(&reader, &root));
        assert!(!has_document_signer_profile(&reader, &root));
        assert!(!has_document_signer_profile(&root, &root));
        // An authority key identifier other than the IACA's subject key identifier.
        let stray = signed_by(
            false,
            "IACA",
            Some(vec![7; 20]),
            DOCUMENT_SIGNER_LIFETIME,
            &ca,
        );
        assert!(!has_document_signer_profile(&stray, &root));
        let named = Issuer::of(&root).unwrap();
        assert_eq!(named.name, name("IACA"));
        let same = signed_by(false, "IACA", named.key_id, DOCUMENT_SIGNER_LIFETIME, &ca);
        assert_eq!(
            same, ds,
            "the IACA's own identifier is the one computed from its key"
        );
        assert!(!is_annex_b_document_signer(&[0x30, 0x03, 0x02], &root));
        assert!(!is_annex_b_document_signer(&ds, &[]));
    }
}
