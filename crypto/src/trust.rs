//! Trust anchors: the CA certificates a verifier trusts, and finding the one that issued a
//! certificate (by key identifier or name, then checked by signature).

use crate::pem::{self, PemError};
use crate::x509::{
    SignerCertificate, authority_key_identifier, subject_key_identifier, verify_certificate,
};
use der::Decode;
use thiserror::Error;
use x509_cert::Certificate;

/// Why a certificate could not be added to a trust store (`Io` and `BadMasterList` come from
/// the file and master-list loaders of the chip reader). No certificate content.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TrustError {
    #[error("cannot read {0}")]
    Io(String),
    #[error("not a certificate, PEM file or CSCA master list")]
    UnknownFormat,
    #[error("malformed certificate")]
    BadCertificate,
    #[error("malformed master list: {0}")]
    BadMasterList(&'static str),
}

/// The CA certificates a verifier trusts (trust anchors): CSCAs for the chip, the national
/// root for credential issuers.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<SignerCertificate>,
}

impl TrustStore {
    pub fn new() -> Self {
        TrustStore::default()
    }

    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    pub fn certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.anchors.iter().map(|a| &a.certificate)
    }

    /// Adds one DER certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), TrustError> {
        let certificate = Certificate::from_der(der).map_err(|_| TrustError::BadCertificate)?;
        if !self.anchors.iter().any(|a| a.der == der) {
            self.anchors.push(SignerCertificate {
                der: der.to_vec(),
                certificate,
            });
        }
        Ok(())
    }

    /// Adds every `CERTIFICATE` block of a PEM text; returns how many.
    pub fn add_pem(&mut self, pem: &str) -> Result<usize, TrustError> {
        pem::for_each_certificate(
            pem,
            |der| self.add_der(der),
            |e| match e {
                PemError::NoCertificate => TrustError::UnknownFormat,
                PemError::Malformed => TrustError::BadCertificate,
            },
        )
    }

    /// The anchor that issued `cert`, checked by signature: candidates are found by authority key
    /// identifier or issuer name.
    pub fn issuer_of(&self, cert: &SignerCertificate) -> Option<&Certificate> {
        let aki = authority_key_identifier(&cert.certificate);
        let issuer = cert.certificate.tbs_certificate().issuer();
        self.anchors
            .iter()
            .filter(|a| {
                let by_key = aki.is_some() && subject_key_identifier(&a.certificate) == aki;
                by_key || a.certificate.tbs_certificate().subject() == issuer
            })
            .find(|a| verify_certificate(cert, &a.certificate).is_ok())
            .map(|a| &a.certificate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_store_rejects_junk() {
        let mut t = TrustStore::new();
        assert_eq!(t.add_der(b"junk"), Err(TrustError::BadCertificate));
        assert_eq!(
            t.add_pem("no certificate here"),
            Err(TrustError::UnknownFormat)
        );
        assert!(
            t.add_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
        assert!(t.is_empty());
    }
}
