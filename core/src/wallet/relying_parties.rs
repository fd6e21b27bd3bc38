//! The relying parties the wallet answers (docs/adr/0036): the backend's signed registry and
//! its RP CA certificates, both stored at sync. `eid wallet authorize` builds its
//! `oid4vp::WalletPolicy` from [`Wallet::rp_trust`] and [`Wallet::rp_registrations`].

use super::{Result, Wallet, WalletError};
use crate::api::RpPublic;
use crate::oid4vp::RpRegistration;
use crate::verify::RpRegistry;
use eid_crypto::trust::TrustStore;

/// The signed registry as the backend sent it (re-checked on every read).
pub(crate) const META_RP_REGISTRY: &str = "wallet.rp_registry";
/// The RP CA certificates of the last trust list (JSON list of base64url DER).
pub(crate) const META_RP_CA: &str = "wallet.rp_ca";

impl Wallet {
    /// The stored registry, checked against the stored trust list now: `None` when there is
    /// none or it has expired (a wallet that has not synced for that long answers no one).
    fn rp_registry(&self) -> Result<Option<RpRegistry>> {
        let Some(signed) = self.store.meta_get(META_RP_REGISTRY)? else {
            return Ok(None);
        };
        match RpRegistry::from_signed(&signed, &self.trust_list()?, self.now()) {
            Ok(r) => Ok(Some(r)),
            Err(crate::verify::RpRegistryError::Expired) => Ok(None),
            Err(_) => Err(WalletError::Corrupt("relying-party registry")),
        }
    }

    /// The registration of an active relying party by its client id (with its prefix, e.g.
    /// `x509_san_dns:bank.example.vn`).
    pub fn rp_registration(&self, client_id: &str) -> Result<Option<RpRegistration>> {
        Ok(self.rp_registry()?.and_then(|r| r.registration(client_id)))
    }

    /// What the registry publishes of an active relying party (legal name, registration
    /// number, logo) by its client id.
    pub fn rp_public(&self, client_id: &str) -> Result<Option<RpPublic>> {
        Ok(self.rp_registry()?.and_then(|r| {
            r.relying_parties
                .into_iter()
                .find(|p| p.client_id == client_id)
        }))
    }

    /// Every active relying party's registration.
    pub fn rp_registrations(&self) -> Result<Vec<RpRegistration>> {
        Ok(self
            .rp_registry()?
            .map(|r| r.registrations())
            .unwrap_or_default())
    }

    /// The RP CAs whose access certificates sign the requests the wallet accepts.
    pub fn rp_trust(&self) -> Result<TrustStore> {
        self.anchors(META_RP_CA, "RP CA list")
    }
}
