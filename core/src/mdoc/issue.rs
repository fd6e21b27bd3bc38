//! The issuer's side (ISO/IEC 18013-5 §9.1.2): elements as IssuerSignedItems with fresh random
//! salts and shuffled digest IDs, their digests in an MSO bound to the holder's device key, the
//! MSO signed by the document signer (x5chain in the unprotected header).

use super::cose_key::P256Key;
use super::issuer_signed::{IssuerSigned, IssuerSignedItem};
use super::mso::{DigestAlgorithm, MobileSecurityObject, ValidityInfo};
use super::status_list::MsoStatus;
use ciborium::Value;
use eid_crypto::Rng;
use eid_crypto::cose::{SignError, sign_es256_unprotected_x5chain};

/// Bytes of random salt per element (§9.1.2.5 asks for at least 16).
const RANDOM_LEN: usize = 32;

/// Elements of one namespace, (identifier, value).
pub type NamespaceElements = (String, Vec<(String, Value)>);

/// What the MSO says besides the digests.
#[derive(Debug, Clone)]
pub struct MsoSpec<'a> {
    pub doc_type: &'a str,
    pub device_key: &'a P256Key,
    pub validity: ValidityInfo,
}

/// A uniformly shuffled 0..n (Fisher-Yates), so digest IDs say nothing about element order.
fn shuffled(n: usize, rng: &mut dyn Rng) -> Vec<u64> {
    let mut ids: Vec<u64> = (0..n as u64).collect();
    for i in (1..n).rev() {
        let mut b = [0u8; 8];
        rng.fill(&mut b);
        // Modulo bias below 2^-50 for any realistic n.
        let j = (u64::from_be_bytes(b) % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    ids
}

/// Issues an mdoc: every element of `namespaces`, signed by `sign` (ES256 r || s over the
/// Sig_structure) whose certificate is `document_signer` (DER).
pub fn issue_mdoc<E>(
    spec: &MsoSpec<'_>,
    namespaces: &[NamespaceElements],
    document_signer: &[u8],
    rng: &mut dyn Rng,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<IssuerSigned, SignError<E>> {
    issue_mdoc_with_status(spec, None, namespaces, document_signer, rng, sign)
}

/// [`issue_mdoc`] with the MSO's status list entry (`status`, draft-ietf-oauth-status-list).
pub fn issue_mdoc_with_status<E>(
    spec: &MsoSpec<'_>,
    status: Option<MsoStatus>,
    namespaces: &[NamespaceElements],
    document_signer: &[u8],
    rng: &mut dyn Rng,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<IssuerSigned, SignError<E>> {
    let algorithm = DigestAlgorithm::Sha256;
    let mut signed = Vec::new();
    let mut value_digests = Vec::new();
    for (namespace, elements) in namespaces {
        let ids = shuffled(elements.len(), rng);
        let mut items = Vec::new();
        for ((identifier, value), id) in elements.iter().zip(ids) {
            let mut random = vec![0u8; RANDOM_LEN];
            rng.fill(&mut random);
            let item = IssuerSignedItem::new(id, random, identifier, value.clone());
            value_digests.push((
                namespace.clone(),
                id,
                algorithm.digest(&item.bytes.encoded()),
            ));
            items.push(item);
        }
        signed.push((namespace.clone(), items));
    }
    let mso = MobileSecurityObject {
        version: "1.0".into(),
        digest_algorithm: Some(algorithm),
        value_digests,
        device_key: spec.device_key.clone(),
        doc_type: spec.doc_type.to_owned(),
        validity: spec.validity,
        status,
    };
    let issuer_auth =
        sign_es256_unprotected_x5chain(&mso.to_bytes(), false, Some(document_signer), sign)?;
    Ok(IssuerSigned {
        namespaces: signed,
        issuer_auth,
    })
}
