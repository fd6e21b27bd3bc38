//! The test signing CA: a P-256 key sealed in the database and a self-signed certificate
//! (created by the first backend that starts), and the certificates it issues to citizens'
//! remote keys, subject taken from the registry's verified identity.

use super::seal::SealKey;
use super::signer::{public_of, random_key, signer_error};
use crate::db::Store;
use crate::error::Error;
use der::asn1::ObjectIdentifier;
use der::pem::LineEnding;
use der::{Decode, EncodePem};
use eid_crypto::x509_build::{self, Issuer};
use p256::ecdsa::{DerSignature, SigningKey};
use sqlx::Row;
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::Validity;
use zeroize::Zeroizing;

const CA_KEY_PURPOSE: &str = "eid remote signing CA key v1";
/// Citizens' signing certificates are valid two years; the CA twenty.
pub const USER_CERT_LIFETIME: u64 = 2 * 365 * 86_400;
const CA_LIFETIME: u64 = 20 * 365 * 86_400;

pub(crate) use eid_crypto::x509_build::{C, CN, O, SERIAL_NUMBER};

pub(crate) fn ca_err(_: impl std::fmt::Display) -> Error {
    signer_error("certificate")
}

/// A name of (type, value) pairs (`eid_crypto::x509_build::name`: `CN` and `O` as UTF8String,
/// the rest as PrintableString).
pub fn name(parts: &[(ObjectIdentifier, &str)]) -> Result<Name, Error> {
    x509_build::name(parts).map_err(ca_err)
}

/// The subject of a citizen's signing certificate.
pub fn citizen_name(full_name: &str, id_number: &str) -> Result<Name, Error> {
    let serial = format!("CCCD-{id_number}");
    name(&[(C, "VN"), (SERIAL_NUMBER, &serial), (CN, full_name)])
}

/// The certificate profile: SKI/AKI, key usage, CA constraints. No issuer: a self-signed CA
/// (path length 0); an issuer: an end-entity signing certificate.
pub(crate) struct Profile {
    pub subject: Name,
    pub issuer: Option<Issuer>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, subject: &Name) -> Name {
        self.issuer
            .as_ref()
            .map_or_else(|| subject.clone(), |i| i.name.clone())
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut ext = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        ext.push(ski.to_extension(tbs.subject(), &ext)?);
        ext.push(match &self.issuer {
            Some(issuer) => issuer.authority_key_identifier(issuer_spk)?,
            None => x509_build::authority_key_identifier(ski.0)?,
        });
        let is_ca = self.issuer.is_none();
        let usage = if is_ca {
            KeyUsages::KeyCertSign | KeyUsages::CRLSign
        } else {
            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation
        };
        ext.push(KeyUsage(usage).to_extension(tbs.subject(), &ext)?);
        if is_ca {
            ext.push(
                BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                }
                .to_extension(tbs.subject(), &ext)?,
            );
        }
        Ok(ext)
    }
}

pub(crate) fn spki(public_key: &[u8]) -> Result<SubjectPublicKeyInfoOwned, Error> {
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(ca_err)?;
    SubjectPublicKeyInfoOwned::from_key(&vk).map_err(ca_err)
}

pub(crate) fn validity(now: u64, lifetime: u64) -> Result<Validity, Error> {
    validity_between(now.saturating_sub(300), now + lifetime)
}

/// From `not_before` to `not_after` (Unix seconds).
pub(crate) fn validity_between(not_before: u64, not_after: u64) -> Result<Validity, Error> {
    x509_build::validity_between(not_before, not_after).map_err(ca_err)
}

/// The DER of a certificate of `profile` (`eid_crypto::x509_build::build`).
pub(crate) fn build<S, P: BuilderProfile>(
    profile: P,
    serial: &[u8],
    validity: Validity,
    spki: SubjectPublicKeyInfoOwned,
    ca_key: &S,
) -> Result<Vec<u8>, Error>
where
    S: p256::ecdsa::signature::Signer<DerSignature>
        + p256::ecdsa::signature::Keypair
        + x509_cert::spki::DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: x509_cert::spki::EncodePublicKey,
{
    x509_build::build(profile, serial, validity, spki, ca_key).map_err(ca_err)
}

/// A positive 16-byte serial number (RFC 5280 §4.1.2.2).
pub(crate) fn serial() -> Result<Vec<u8>, Error> {
    Ok(x509_build::positive_serial(crate::http::random_bytes(16)?))
}

/// The signing CA of the running backend.
pub struct SigningCa {
    key: SigningKey,
    /// Itself as the issuer of citizens' certificates.
    issuer: Issuer,
    pub certificate: Vec<u8>,
    pub pem: String,
}

impl std::fmt::Debug for SigningCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningCa").finish_non_exhaustive()
    }
}

impl SigningCa {
    /// Loads the CA from the database, creating it on the first start.
    pub async fn load_or_create(store: &Store, seal: &SealKey, now: u64) -> Result<Self, Error> {
        let select = "SELECT certificate, sealed_key FROM signing_ca WHERE id = 1";
        if sqlx::query(select)
            .fetch_optional(store.pool())
            .await?
            .is_none()
        {
            let key = random_key()?;
            let subject = name(&[
                (C, "VN"),
                (O, "Bo Cong an TEST"),
                (CN, "Remote Signing CA Viet Nam TEST"),
            ])?;
            let cert = build(
                Profile {
                    subject,
                    issuer: None,
                },
                &serial()?,
                validity(now, CA_LIFETIME)?,
                spki(&public_of(&key))?,
                &key,
            )?;
            let sealed = seal.seal(CA_KEY_PURPOSE, &Zeroizing::new(key.to_bytes().to_vec()))?;
            let mut w = store.write().await?;
            // Two backends starting at once: the first insert wins, both load it below.
            sqlx::query(
                "INSERT INTO signing_ca (id, certificate, sealed_key) VALUES (1, $1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&cert)
            .bind(&sealed)
            .execute(&mut *w.tx)
            .await?;
            w.commit().await?;
        }
        let row = sqlx::query(select).fetch_one(store.pool()).await?;
        let certificate: Vec<u8> = row.try_get(0)?;
        let sealed: Vec<u8> = row.try_get(1)?;
        let secret = seal.open(CA_KEY_PURPOSE, &sealed)?;
        let key = SigningKey::from_slice(&secret).map_err(ca_err)?;
        let parsed = Certificate::from_der(&certificate).map_err(ca_err)?;
        let pem = parsed.to_pem(LineEnding::LF).map_err(ca_err)?;
        Ok(SigningCa {
            key,
            issuer: Issuer::of(&certificate).map_err(ca_err)?,
            certificate,
            pem,
        })
    }

    /// A signing certificate for `public_key` (SEC1) with `subject`, valid from `now`.
    pub fn issue(&self, subject: Name, public_key: &[u8], now: u64) -> Result<Vec<u8>, Error> {
        build(
            Profile {
                subject,
                issuer: Some(self.issuer.clone()),
            },
            &serial()?,
            validity(now, USER_CERT_LIFETIME)?,
            spki(public_key)?,
            &self.key,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eid_crypto::x509::{authority_key_identifier, subject_key_identifier};

    fn parse(der: &[u8]) -> Certificate {
        Certificate::from_der(der).unwrap()
    }

    #[test]
    fn a_root_names_its_own_key_identifier_and_its_certificates_name_the_roots() {
        let root_key = random_key().unwrap();
        let root = build(
            Profile {
                subject: name(&[(C, "VN"), (CN, "Root")]).unwrap(),
                issuer: None,
            },
            &serial().unwrap(),
            validity(1_800_000_000, CA_LIFETIME).unwrap(),
            spki(&public_of(&root_key)).unwrap(),
            &root_key,
        )
        .unwrap();
        let root_ski = subject_key_identifier(&parse(&root)).unwrap();
        assert_eq!(
            authority_key_identifier(&parse(&root)),
            Some(root_ski.clone())
        );

        let leaf_key = random_key().unwrap();
        let leaf = build(
            Profile {
                subject: citizen_name("Nguyen Van A", "001099012345").unwrap(),
                issuer: Some(Issuer::of(&root).unwrap()),
            },
            &serial().unwrap(),
            validity(1_800_000_000, USER_CERT_LIFETIME).unwrap(),
            spki(&public_of(&leaf_key)).unwrap(),
            &root_key,
        )
        .unwrap();
        assert_eq!(authority_key_identifier(&parse(&leaf)), Some(root_ski));
        assert_ne!(
            subject_key_identifier(&parse(&leaf)),
            subject_key_identifier(&parse(&root))
        );
    }
}
