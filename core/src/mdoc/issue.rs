//! The issuer's side (ISO/IEC 18013-5 §9.1.2): elements as IssuerSignedItems with fresh random
//! salts and shuffled digest IDs, their digests in an MSO bound to the holder's device key, the
//! MSO signed by the document signer (x5chain in the unprotected header).

use super::cose_key::CoseKey;
use super::issuer_signed::{IssuerSigned, IssuerSignedItem};
use super::mso::{DigestAlgorithm, MobileSecurityObject, ValidityInfo};
use super::status_list::MsoStatus;
use ciborium::Value;
use eid_crypto::Rng;
use eid_crypto::cose::{SignError, sign_es256_unprotected_x5chain};

/// Bytes of random salt per element: the minimum of ISO/IEC 18013-5 §9.1.2.5 ("random" differs
/// for every IssuerSignedItem and is at least 16 bytes), 128 bits from the CSPRNG, so a digest
/// in the MSO reveals nothing of an undisclosed value. Every byte more is carried by every
/// disclosed element of every presentation (docs/adr/0063).
pub const RANDOM_LEN: usize = 16;

/// Elements of one namespace, (identifier, value).
pub type NamespaceElements = (String, Vec<(String, Value)>);

/// What the MSO says besides the digests.
#[derive(Debug, Clone)]
pub struct MsoSpec<'a> {
    pub doc_type: &'a str,
    pub device_key: &'a CoseKey,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mdoc::cbor;
    use p256::elliptic_curve::sec1::ToSec1Point;

    #[test]
    fn every_item_has_its_own_16_byte_salt_and_its_digest_in_the_mso() {
        let key = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let point = key.public_key().to_sec1_point(false);
        let device = CoseKey::p256(point.as_bytes()).unwrap();
        let spec = MsoSpec {
            doc_type: "org.iso.18013.5.1.mDL",
            device_key: &device,
            validity: ValidityInfo {
                signed: 1_767_225_600,
                valid_from: 1_767_225_600,
                valid_until: 1_782_777_600,
                expected_update: None,
            },
        };
        let elements: Vec<(String, Value)> = ["a", "b", "c", "d"]
            .iter()
            .map(|id| ((*id).to_owned(), Value::from(*id)))
            .collect();
        let issued = issue_mdoc(
            &spec,
            &[("org.iso.18013.5.1".into(), elements)],
            b"certificate",
            &mut eid_crypto::OsRng,
            |_| Ok::<_, ()>(vec![0u8; 64]),
        )
        .unwrap();
        let items = &issued.namespaces[0].1;
        assert_eq!(items.len(), 4);
        let mut salts: Vec<&[u8]> = items.iter().map(|i| i.random.as_slice()).collect();
        assert!(
            salts
                .iter()
                .all(|s| s.len() == RANDOM_LEN && RANDOM_LEN == 16)
        );
        salts.sort();
        salts.dedup();
        assert_eq!(salts.len(), 4, "a salt was repeated");
        let Value::Array(parts) = cbor::decode(&issued.issuer_auth).unwrap() else {
            panic!("issuerAuth is not an array");
        };
        let Value::Bytes(payload) = &parts[2] else {
            panic!("no payload");
        };
        let mso = MobileSecurityObject::parse_bytes(payload).unwrap();
        for item in items {
            let (_, _, digest) = mso
                .value_digests
                .iter()
                .find(|(_, id, _)| *id == item.digest_id)
                .unwrap();
            assert_eq!(
                *digest,
                DigestAlgorithm::Sha256.digest(&item.bytes.encoded())
            );
        }
    }
}
