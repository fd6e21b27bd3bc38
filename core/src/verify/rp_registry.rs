//! The backend's registry of active relying parties (`GET /v1/relying-parties`, docs/adr/0036):
//! a COSE_Sign1 by the police issuer, checked like the status list (an issuer authorised for
//! identity documents, chaining to the trust list), over the JSON of
//! [`RpRegistryDocument`]. A wallet answers only the relying parties it names, within their
//! registered purposes (`oid4vp::RpRegistration`), until it expires.

use super::signed_list::{SignedListError, police_signed_payload};
use crate::api::{RpPublic, RpRegistryDocument};
use crate::credential::TrustList;
use crate::oid4vp::{Purpose, RpRegistration, path_from_json};
use thiserror::Error;

/// The `registry` of every document this backend signs.
pub const RP_REGISTRY_URI: &str = "urn:vn-eid:backend:relying-parties:1";
/// COSE content type of the signed registry.
pub const RP_REGISTRY_CONTENT_TYPE: &str = "application/vnd.vn-eid.rp-registry+json";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RpRegistryError {
    #[error("relying-party registry malformed: {0}")]
    Malformed(&'static str),
    #[error("relying-party registry signature does not verify")]
    BadSignature,
    #[error("relying-party registry signer is not trusted")]
    Untrusted,
    #[error("relying-party registry expired")]
    Expired,
}

impl From<SignedListError> for RpRegistryError {
    fn from(e: SignedListError) -> Self {
        match e {
            SignedListError::Malformed(m) => RpRegistryError::Malformed(m),
            SignedListError::BadSignature => RpRegistryError::BadSignature,
            SignedListError::Untrusted => RpRegistryError::Untrusted,
        }
    }
}

/// A checked registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpRegistry {
    pub issued_at: u64,
    pub expires_at: u64,
    pub relying_parties: Vec<RpPublic>,
}

impl RpRegistry {
    /// Checks the signature and the signer's chain against `trust`, then reads the document;
    /// refuses one expired at `now`.
    pub fn from_signed(
        signed: &[u8],
        trust: &TrustList,
        now: u64,
    ) -> Result<RpRegistry, RpRegistryError> {
        use RpRegistryError::Malformed;
        let payload = police_signed_payload(signed, trust, now)?;
        let doc: RpRegistryDocument =
            serde_json::from_slice(&payload).map_err(|_| Malformed("payload"))?;
        if doc.registry != RP_REGISTRY_URI {
            return Err(Malformed("registry"));
        }
        if now >= doc.expires_at {
            return Err(RpRegistryError::Expired);
        }
        // Every entry must read as a registration: a wallet never half-trusts a registry.
        for rp in &doc.relying_parties {
            registration(rp)?;
        }
        Ok(RpRegistry {
            issued_at: doc.issued_at,
            expires_at: doc.expires_at,
            relying_parties: doc.relying_parties,
        })
    }

    /// The registrations, as the wallet's request checks take them.
    pub fn registrations(&self) -> Vec<RpRegistration> {
        self.relying_parties
            .iter()
            .filter_map(|rp| registration(rp).ok())
            .collect()
    }

    /// The registration of `client_id` (with its prefix), if active in this registry.
    pub fn registration(&self, client_id: &str) -> Option<RpRegistration> {
        self.relying_parties
            .iter()
            .find(|rp| rp.client_id == client_id)
            .and_then(|rp| registration(rp).ok())
    }
}

/// One published relying party as an [`RpRegistration`].
pub fn registration(rp: &RpPublic) -> Result<RpRegistration, RpRegistryError> {
    let purposes = rp
        .purposes
        .iter()
        .map(|p| {
            Ok(Purpose {
                name: p.name.clone(),
                claims: p
                    .claims
                    .iter()
                    .map(path_from_json)
                    .collect::<Result<_, _>>()
                    .map_err(|_| RpRegistryError::Malformed("claims path"))?,
            })
        })
        .collect::<Result<_, RpRegistryError>>()?;
    Ok(RpRegistration {
        client_id: rp.client_id.clone(),
        name: rp.name.clone(),
        response_uris: rp.response_uris.clone(),
        purposes,
        intermediary: rp.intermediary,
    })
}
