//! X.509 certificate revocation lists (RFC 5280 §5): a CRL checked against the CA that signed
//! it, reduced to what a relying party needs — when it was made, until when it may be used, and
//! the serial numbers it revokes. The reader CA publishes one for the readers it certified
//! (docs/adr/0053); the wallet refuses a reader whose serial is listed.

use crate::signature::verify_signature;
use crate::tlv;
use der::Decode;
use std::collections::BTreeSet;
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

/// Why a CRL is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CrlError {
    #[error("not a DER X.509 CRL")]
    Form,
    #[error("CRL not issued by this CA")]
    Issuer,
    #[error("CRL signature does not verify")]
    Signature,
    #[error("CRL without nextUpdate")]
    NoNextUpdate,
}

/// A verified CRL's content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RevocationList {
    /// thisUpdate, Unix seconds.
    pub this_update: u64,
    /// nextUpdate, Unix seconds: after it the list says nothing about revocation.
    pub next_update: u64,
    /// The revoked certificates' serial numbers (their DER content bytes).
    pub serials: BTreeSet<Vec<u8>>,
}

impl RevocationList {
    /// Whether the list may still be used at `now`.
    pub fn is_current(&self, now: u64) -> bool {
        self.this_update <= now.saturating_add(300) && now <= self.next_update
    }

    /// Whether `certificate`'s serial number is listed.
    pub fn revokes(&self, certificate: &Certificate) -> bool {
        self.serials
            .contains(certificate.tbs_certificate().serial_number().as_bytes())
    }
}

/// Parses the DER CRL `der` and verifies that `ca` issued it (issuer name and signature over
/// the tbsCertList bytes as read). Never panics.
pub fn verify_crl(der: &[u8], ca: &Certificate) -> Result<RevocationList, CrlError> {
    let crl: CertificateList = CertificateList::from_der(der).map_err(|_| CrlError::Form)?;
    let tbs = &crl.tbs_cert_list;
    if tbs.issuer != *ca.tbs_certificate().subject() {
        return Err(CrlError::Issuer);
    }
    let outer = tlv::read_exact(der, 0x30).map_err(|_| CrlError::Form)?;
    let tbs_bytes = tlv::elements(outer.value)
        .ok()
        .and_then(|e| e.first().copied())
        .ok_or(CrlError::Form)?;
    let signature = crl.signature.as_bytes().ok_or(CrlError::Form)?;
    verify_signature(
        ca.tbs_certificate().subject_public_key_info(),
        &crl.signature_algorithm,
        None,
        tbs_bytes,
        signature,
    )
    .map_err(|_| CrlError::Signature)?;
    let next_update = tbs.next_update.ok_or(CrlError::NoNextUpdate)?;
    Ok(RevocationList {
        this_update: tbs.this_update.to_unix_duration().as_secs(),
        next_update: next_update.to_unix_duration().as_secs(),
        serials: tbs
            .revoked_certificates
            .iter()
            .flatten()
            .map(|r| r.serial_number.as_bytes().to_vec())
            .collect(),
    })
}
