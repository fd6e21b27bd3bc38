//! Building X.509 certificates from a profile (the x509-cert builder): names, validity, an
//! extension from any DER value, and the signed certificate. What the backend's CAs and the
//! fixtures' mdoc PKI share, so both make the same bytes for the same profile (e.g. the ISO/IEC
//! 18013-5 Annex B profiles in `eid_core::mdoc::annex_b`).

use der::asn1::{ObjectIdentifier, OctetString, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::{Decode, Encode};
use std::time::Duration;
use thiserror::Error;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// commonName.
pub const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// serialNumber (of a person's name).
pub const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// organizationName.
pub const O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// countryName.
pub const C: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");

/// A certificate could not be built (a value the encoding refuses, or the signer failed).
/// Carries no detail: the inputs may be names of people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("certificate could not be built")]
pub struct BuildError;

fn fail(_: impl std::fmt::Display) -> BuildError {
    BuildError
}

/// A name of (type, value) pairs; `CN` and `O` as UTF8String (Vietnamese names), the rest as
/// PrintableString (RFC 5280 §4.1.2.4, X.520).
pub fn name(parts: &[(ObjectIdentifier, &str)]) -> Result<Name, BuildError> {
    let mut rdns = Vec::new();
    for (oid, value) in parts {
        let value = if *oid == CN || *oid == O {
            der::Any::encode_from(&Utf8StringRef::new(value).map_err(fail)?)
        } else {
            der::Any::encode_from(&PrintableStringRef::new(value).map_err(fail)?)
        }
        .map_err(fail)?;
        let atv = AttributeTypeAndValue { oid: *oid, value };
        rdns.push(RelativeDistinguishedName::from(
            SetOfVec::try_from(vec![atv]).map_err(fail)?,
        ));
    }
    // `Name` is built from its DER (x509-cert offers no safe constructor from an RdnSequence).
    Name::from_der(&RdnSequence::from(rdns).to_der().map_err(fail)?).map_err(fail)
}

/// From `not_before` to `not_after` (Unix seconds; UTCTime before 2050, GeneralizedTime after).
pub fn validity_between(not_before: u64, not_after: u64) -> Result<Validity, BuildError> {
    let time = |s: u64| {
        x509_cert::time::Time::try_from(std::time::UNIX_EPOCH + Duration::from_secs(s))
            .map_err(fail)
    };
    Ok(Validity::new(time(not_before)?, time(not_after)?))
}

/// An extension holding the DER of `value`.
pub fn ext<T: Encode>(
    oid: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> x509_cert::builder::Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// The CA that signs a certificate: its subject (the certificate's issuer) and its subject key
/// identifier, which becomes the certificate's authority key identifier (RFC 5280 §4.2.1.1;
/// verifiers such as OpenSSL and isomdl find the issuer by it). Taken from the CA's certificate:
/// CAs compute their identifiers in different ways (RFC 5280 §4.2.1.2, RFC 7093), and a
/// certificate must name the one its issuer's certificate carries.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub name: Name,
    /// `None` when the CA's certificate has no subject key identifier: then the SHA-1 of its
    /// public key (RFC 5280 §4.2.1.2 method 1).
    pub key_id: Option<Vec<u8>>,
}

impl Issuer {
    /// The issuer of the certificates that the CA with this certificate (DER) signs.
    pub fn of(ca: &[u8]) -> Result<Issuer, BuildError> {
        let ca = x509_cert::Certificate::from_der(ca).map_err(fail)?;
        Ok(Issuer {
            name: ca.tbs_certificate().subject().clone(),
            key_id: crate::x509::subject_key_identifier(&ca),
        })
    }

    /// The authority key identifier extension of a certificate this CA signs with the key of
    /// `issuer_spk`.
    pub fn authority_key_identifier(
        &self,
        issuer_spk: x509_cert::spki::SubjectPublicKeyInfoRef<'_>,
    ) -> x509_cert::builder::Result<Extension> {
        let key_identifier = match &self.key_id {
            Some(id) => OctetString::new(id.as_slice())?,
            None => x509_cert::ext::pkix::SubjectKeyIdentifier::try_from(issuer_spk)?.0,
        };
        authority_key_identifier(key_identifier)
    }
}

/// The authority key identifier extension naming `key_identifier` (a self-signed certificate
/// names its own subject key identifier).
pub fn authority_key_identifier(
    key_identifier: OctetString,
) -> x509_cert::builder::Result<Extension> {
    use der::oid::AssociatedOid;
    use x509_cert::ext::pkix::AuthorityKeyIdentifier;
    ext(
        AuthorityKeyIdentifier::OID,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(key_identifier),
            ..Default::default()
        },
    )
}

/// The DER of a certificate of `profile` for `spki`, signed by `ca_key` (ECDSA, DER signature).
pub fn build<S, P: BuilderProfile>(
    profile: P,
    serial: &[u8],
    validity: Validity,
    spki: SubjectPublicKeyInfoOwned,
    ca_key: &S,
) -> Result<Vec<u8>, BuildError>
where
    S: p256::ecdsa::signature::Signer<p256::ecdsa::DerSignature>
        + p256::ecdsa::signature::Keypair
        + x509_cert::spki::DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: x509_cert::spki::EncodePublicKey,
{
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(serial).map_err(fail)?,
        validity,
        spki,
    )
    .map_err(fail)?;
    let cert = builder
        .build::<_, p256::ecdsa::DerSignature>(ca_key)
        .map_err(fail)?;
    cert.to_der().map_err(fail)
}

/// A positive serial number (RFC 5280 §4.1.2.2) from `bytes`, at most 20 of them: the top bit
/// cleared (positive), the lowest bit of the first byte set (no leading zero byte, so the
/// INTEGER keeps its length).
pub fn positive_serial(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.truncate(20);
    if let Some(b) = bytes.first_mut() {
        *b = (*b & 0x7F) | 0x01;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_encode_cn_and_o_as_utf8_and_the_country_as_printable() {
        let n = name(&[(C, "VN"), (O, "Bộ Công an"), (CN, "IACA")]).unwrap();
        let der = n.to_der().unwrap();
        // PrintableString (0x13) "VN", UTF8String (0x0C) for O and CN.
        assert!(der.windows(4).any(|w| w == [0x13, 0x02, b'V', b'N']));
        assert!(der.iter().filter(|b| **b == 0x0C).count() >= 2);
        // A country that is no PrintableString is refused, not panicked on.
        assert_eq!(name(&[(C, "Việt")]).err(), Some(BuildError));
    }

    #[test]
    fn validity_and_serial() {
        let v = validity_between(1_767_225_600, 2_082_758_400).unwrap();
        assert_eq!(v.not_before.to_unix_duration().as_secs(), 1_767_225_600);
        assert_eq!(v.not_after.to_unix_duration().as_secs(), 2_082_758_400);
        let s = positive_serial(vec![0xFF; 16]);
        assert_eq!(s.len(), 16);
        assert_eq!(s[0], 0x7F);
        assert_eq!(positive_serial(vec![0x00; 30]).len(), 20);
        assert_eq!(positive_serial(vec![0x00; 16])[0], 0x01);
    }
}
