//! The relying parties' access certificates (issue 16, docs/adr/0036), issued by the RP CA to
//! the P-256 key a relying party registered, for its OpenID4VP request objects (`x5c`, client
//! id `x509_san_dns:<dns name>`):
//!
//! - subject C=VN, O and CN = the legal name, serialNumber = the registration number;
//! - at most [`ACCESS_CERT_LIFETIME`] (90 days): a suspended relying party's certificate dies
//!   soon even where the registry is not read; it registers again for a new one;
//! - subjectAltName dNSName (critical, RFC 5280 §4.2.1.6 leaves it non-critical when the subject
//!   is not empty: non-critical), authorityKeyIdentifier, subjectKeyIdentifier, keyUsage
//!   digitalSignature (critical), basicConstraints absent (an end entity), extendedKeyUsage
//!   `1.0.18013.5.1.6` (ISO/IEC 18013-5 mdlReaderAuth, non-critical) so the same certificate
//!   authenticates it as an mdoc reader (the OpenID4VP mdoc answers).

use crate::error::Error;
use der::asn1::Ia5String;
use eid_crypto::x509_build::{Issuer, ext};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::spki::SubjectPublicKeyInfoRef;

/// id-mdl-kp-mdlReaderAuth (ISO/IEC 18013-5 Annex B), the one the holder checks.
pub use eid_core::mdoc::MDL_READER_AUTH;
/// An access certificate's validity.
pub const ACCESS_CERT_LIFETIME: u64 = 90 * 86_400;

/// An access certificate for `dns_name`, issued by `issuer`.
pub(crate) struct AccessProfile {
    pub subject: Name,
    pub issuer: Issuer,
    pub dns_name: String,
}

impl BuilderProfile for AccessProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.name.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        use der::oid::AssociatedOid;
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        Ok(vec![
            ext(SubjectKeyIdentifier::OID, false, &ski)?,
            self.issuer.authority_key_identifier(issuer_spk)?,
            ext(
                KeyUsage::OID,
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )?,
            ext(
                SubjectAltName::OID,
                false,
                &SubjectAltName(vec![GeneralName::DnsName(Ia5String::new(&self.dns_name)?)]),
            )?,
            ext(
                ExtendedKeyUsage::OID,
                false,
                &ExtendedKeyUsage(vec![MDL_READER_AUTH]),
            )?,
        ])
    }
}

/// Whether `der` is an access certificate of this profile for `dns_name`: what the tests and a
/// deployment's checks rely on. Never panics.
pub fn is_access_certificate(der: &[u8], dns_name: &str) -> Result<bool, Error> {
    use der::Decode;
    use der::oid::AssociatedOid;
    let cert = x509_cert::Certificate::from_der(der).map_err(super::ca::ca_err)?;
    let exts = cert
        .tbs_certificate()
        .extensions()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let find = |oid| exts.iter().find(|e| e.extn_id == oid);
    let ku_ok = find(KeyUsage::OID).is_some_and(|e| {
        e.critical
            && <KeyUsage as der::Decode>::from_der(e.extn_value.as_bytes())
                .is_ok_and(|k| k.digital_signature() && !k.key_cert_sign())
    });
    let san_ok = find(SubjectAltName::OID).is_some_and(|e| {
        <SubjectAltName as der::Decode>::from_der(e.extn_value.as_bytes()).is_ok_and(|s| {
            s.0.iter()
                .any(|n| matches!(n, GeneralName::DnsName(d) if d.as_str() == dns_name))
        })
    });
    let eku_ok = find(ExtendedKeyUsage::OID).is_some_and(|e| {
        <ExtendedKeyUsage as der::Decode>::from_der(e.extn_value.as_bytes())
            .is_ok_and(|k| k.0 == [MDL_READER_AUTH])
    });
    let v = cert.tbs_certificate().validity();
    let lifetime = v
        .not_after
        .to_unix_duration()
        .saturating_sub(v.not_before.to_unix_duration())
        .as_secs();
    Ok(ku_ok
        && san_ok
        && eku_ok
        && lifetime <= ACCESS_CERT_LIFETIME + 300
        && find(x509_cert::ext::pkix::BasicConstraints::OID).is_none())
}
