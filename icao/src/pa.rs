//! Passive authentication (ICAO 9303-11 §5.1, certificates per ICAO 9303-12): the data groups
//! hash to the values in EF.SOD, the SOD is signed by its document signer (DSC), and the DSC is
//! issued by a trusted country signing CA (CSCA).

use super::sod::Sod;
use eid_crypto::ct_eq;
use eid_crypto::hash::HashAlgorithm;
use eid_crypto::signature::{SignatureError, algorithm_name, verify_signature};
use eid_crypto::trust::TrustStore;
use serde::Serialize;
use std::collections::BTreeMap;
use x509_cert::Certificate;

/// Overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaStatus {
    /// Hashes, SOD signature and certificate chain are all good.
    Valid,
    /// Something does not verify: the data may have been altered or the SOD is not genuine.
    Invalid,
    /// Nothing failed, but not everything could be checked (usually: no trust store).
    NotChecked,
}

/// Hash comparison for one data group that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DgHashStatus {
    Match,
    Mismatch,
    /// The SOD has no hash for this data group.
    NotInSod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DgHashResult {
    pub dg: u8,
    pub status: DgHashStatus,
}

/// Whether the DSC chains to a trusted CSCA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainStatus {
    /// Issued by this CSCA (its subject).
    Trusted { csca: String },
    /// No CSCA of the trust store issued the DSC.
    Untrusted,
    /// No trust store, or no DSC to check.
    NotChecked,
}

/// Facts about the document signer certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DscInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// Whether today is within the validity period. An expired DSC does not make the document
    /// invalid: it only signs during the first months of a document's life (ICAO 9303-12 §7.1.1).
    pub valid_now: bool,
}

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassiveAuthentication {
    pub status: PaStatus,
    /// One sentence for people; names data groups and algorithms, never personal data.
    pub reason: String,
    pub data_groups: Vec<DgHashResult>,
    /// The messageDigest attribute equals the hash of the eContent (true when there are no
    /// signed attributes and the signature covers the eContent directly).
    pub message_digest_ok: bool,
    pub signature_ok: bool,
    pub chain: ChainStatus,
    pub dsc: Option<DscInfo>,
    pub signature_algorithm: String,
}

fn dsc_info(cert: &Certificate) -> DscInfo {
    let tbs = cert.tbs_certificate();
    let validity = tbs.validity();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    DscInfo {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        serial: tbs.serial_number().to_string(),
        not_before: validity.not_before.to_date_time().to_string(),
        not_after: validity.not_after.to_date_time().to_string(),
        valid_now: validity.not_before.to_unix_duration() <= now
            && now <= validity.not_after.to_unix_duration(),
    }
}

impl PassiveAuthentication {
    fn without_sod(status: PaStatus, reason: &str) -> Self {
        PassiveAuthentication {
            status,
            reason: reason.to_owned(),
            data_groups: Vec::new(),
            message_digest_ok: false,
            signature_ok: false,
            chain: ChainStatus::NotChecked,
            dsc: None,
            signature_algorithm: String::new(),
        }
    }

    /// Nothing could be checked (e.g. EF.SOD was not read).
    pub fn not_checked(reason: &str) -> Self {
        Self::without_sod(PaStatus::NotChecked, reason)
    }

    /// The SOD itself is unusable.
    pub fn invalid(reason: &str) -> Self {
        Self::without_sod(PaStatus::Invalid, reason)
    }
}

/// Passive authentication of the data groups read (`number → file bytes`) against `sod`.
/// Without a trust store the chain is not checked and the best result is `NotChecked`.
pub fn verify(
    sod: &Sod,
    data_groups: &BTreeMap<u8, Vec<u8>>,
    trust: Option<&TrustStore>,
) -> PassiveAuthentication {
    let mut problems: Vec<String> = Vec::new();
    let mut unchecked: Vec<String> = Vec::new();

    // 1. Data group hashes (ICAO 9303-11 §5.1.1 step 3).
    let data_groups: Vec<DgHashResult> = data_groups
        .iter()
        .map(|(dg, bytes)| {
            let status = match sod.hash_of(*dg) {
                None => DgHashStatus::NotInSod,
                Some(h) if ct_eq(h, &sod.hash_algorithm.digest(bytes)) => DgHashStatus::Match,
                Some(_) => DgHashStatus::Mismatch,
            };
            DgHashResult { dg: *dg, status }
        })
        .collect();
    let list = |s: DgHashStatus| {
        data_groups
            .iter()
            .filter(|r| r.status == s)
            .map(|r| format!("DG{}", r.dg))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mismatched = list(DgHashStatus::Mismatch);
    if !mismatched.is_empty() {
        problems.push(format!("{mismatched} does not match its hash in the SOD"));
    }
    let missing = list(DgHashStatus::NotInSod);
    if !missing.is_empty() {
        problems.push(format!("{missing} has no hash in the SOD"));
    }

    // 2. Signed attributes (RFC 5652 §5.4, §11.1–11.2).
    let signer = &sod.signer;
    let digest = HashAlgorithm::from_oid(&signer.digest_algorithm.oid);
    let (message, message_digest_ok) = match &signer.signed_attributes {
        Some(attrs) => {
            let ok = match (digest, &signer.message_digest) {
                (Some(h), Some(md)) => ct_eq(md, &h.digest(&sod.econtent)),
                _ => false,
            };
            if !ok {
                problems.push("the messageDigest attribute does not match the SOD content".into());
            }
            if signer.content_type.as_ref() != Some(&sod.econtent_type) {
                problems.push("the contentType attribute does not match the SOD content".into());
            }
            (attrs.as_slice(), ok)
        }
        None => (sod.econtent.as_slice(), true),
    };

    // 3. SOD signature by the DSC (ICAO 9303-11 §5.1.1 step 2).
    let signature_algorithm = algorithm_name(&signer.signature_algorithm, digest);
    let dsc = sod.signer_certificate();
    let signature_ok = match dsc {
        None => {
            unchecked.push("the SOD holds no document signer certificate".into());
            false
        }
        Some(c) => match verify_signature(
            c.certificate.tbs_certificate().subject_public_key_info(),
            &signer.signature_algorithm,
            digest,
            message,
            &signer.signature,
        ) {
            Ok(()) => true,
            Err(SignatureError::Unsupported(what)) => {
                unchecked.push(format!(
                    "the SOD signature algorithm is not supported ({what})"
                ));
                false
            }
            Err(e) => {
                problems.push(format!(
                    "the SOD signature ({signature_algorithm}) is invalid: {e}"
                ));
                false
            }
        },
    };

    // 4. DSC issued by a trusted CSCA (ICAO 9303-11 §5.1.1 step 1).
    let chain = match (trust, dsc) {
        (Some(store), Some(c)) => match store.issuer_of(c) {
            Some(csca) => ChainStatus::Trusted {
                csca: csca.tbs_certificate().subject().to_string(),
            },
            None => {
                problems
                    .push("the document signer certificate is not issued by a trusted CSCA".into());
                ChainStatus::Untrusted
            }
        },
        (None, _) => {
            unchecked.push("the certificate chain was not checked (no trust store)".into());
            ChainStatus::NotChecked
        }
        (Some(_), None) => ChainStatus::NotChecked,
    };

    let (status, reason) = if !problems.is_empty() {
        (PaStatus::Invalid, problems.join("; "))
    } else if !unchecked.is_empty() {
        let good = if signature_ok {
            "data group hashes and the SOD signature are valid, but "
        } else {
            "data group hashes are valid, but "
        };
        (
            PaStatus::NotChecked,
            format!("{good}{}", unchecked.join("; ")),
        )
    } else {
        (
            PaStatus::Valid,
            format!(
                "{} data groups match the SOD, signed with {signature_algorithm} by a DSC of a trusted CSCA",
                data_groups.len()
            ),
        )
    };
    PassiveAuthentication {
        status,
        reason,
        data_groups,
        message_digest_ok,
        signature_ok,
        chain,
        dsc: dsc.map(|c| dsc_info(&c.certificate)),
        signature_algorithm,
    }
}
