//! Where the issuer's key comes from: a key the verifier was given, or the JWS `x5c` chain
//! (leaf first, standard base64 DER) checked up to a trust anchor of an eid-crypto `TrustStore`,
//! every certificate within its validity.

use super::error::SdJwtError;
use base64::Engine;
use eid_crypto::trust::TrustStore;
use eid_crypto::x509::{SignerCertificate, p256_point, verify_certificate};
use serde_json::{Map, Value};

/// Longest `x5c` chain accepted.
const MAX_CHAIN: usize = 4;

/// How a verifier finds the key of a JWS signer.
#[derive(Clone, Copy)]
pub enum IssuerKey<'a> {
    /// An uncompressed P-256 point given out of band.
    Key(&'a [u8]),
    /// The `x5c` header, chained to one of these anchors.
    X5c(&'a TrustStore),
}

fn within_validity(cert: &SignerCertificate, now: u64) -> bool {
    let validity = cert.certificate.tbs_certificate().validity();
    let secs = |t: x509_cert::time::Time| t.to_unix_duration().as_secs();
    secs(validity.not_before) <= now && now <= secs(validity.not_after)
}

impl IssuerKey<'_> {
    /// The signer's point for a JWS with this header.
    pub(crate) fn resolve(
        &self,
        header: &Map<String, Value>,
        now: u64,
    ) -> Result<Vec<u8>, SdJwtError> {
        let trust = match self {
            IssuerKey::Key(point) => return Ok(point.to_vec()),
            IssuerKey::X5c(trust) => trust,
        };
        let certs = x5c_chain(header, trust, now)?;
        let leaf = certs.first().ok_or(SdJwtError::Untrusted)?;
        p256_point(&leaf.certificate).ok_or(SdJwtError::UnsupportedAlgorithm)
    }
}

/// The `x5c` chain of a JWS header (leaf first), each certificate within its validity at `now`,
/// each signed by the next, the last issued by (or equal to) an anchor of `trust`.
pub(crate) fn x5c_chain(
    header: &Map<String, Value>,
    trust: &TrustStore,
    now: u64,
) -> Result<Vec<SignerCertificate>, SdJwtError> {
    let chain = header
        .get("x5c")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty() && c.len() <= MAX_CHAIN)
        .ok_or(SdJwtError::Untrusted)?;
    let certs = chain
        .iter()
        .map(|c| {
            let der = c
                .as_str()
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                .ok_or(SdJwtError::Malformed("x5c"))?;
            SignerCertificate::from_der(&der).map_err(|_| SdJwtError::Malformed("x5c"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !certs.iter().all(|c| within_validity(c, now)) {
        return Err(SdJwtError::Untrusted);
    }
    for pair in certs.windows(2) {
        if let [child, parent] = pair {
            verify_certificate(child, &parent.certificate).map_err(|_| SdJwtError::Untrusted)?;
        }
    }
    let top = certs.last().ok_or(SdJwtError::Untrusted)?;
    let anchored =
        trust.issuer_of(top).is_some() || trust.certificates().any(|a| *a == top.certificate);
    if !anchored {
        return Err(SdJwtError::Untrusted);
    }
    Ok(certs)
}
