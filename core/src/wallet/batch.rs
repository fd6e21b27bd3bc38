//! Single-use credentials in standard formats bought in batches at sync (mdocs, ADR 0031;
//! SD-JWT VCs, ADR 0035): one refill loop for both, each format saying which type each
//! document is held as, when a type runs low, and how an issued batch is checked and stored.

use super::{Result, Wallet, WalletError};
use crate::account::passcode::Passcode;
use crate::api::{B64, consent_action, credential_batch_digest};
use crate::credential::DocumentKind;
use crate::transactions::TransactionKind;

/// A credential format the wallet keeps a stock of, per type (docType or `vct`).
pub(super) trait BatchFormat {
    /// The `format` of `POST /v1/credential-batches`.
    const FORMAT: &'static str;
    /// What the log and errors call a batch of them ("mdoc credentials").
    const WHAT: &'static str;
    /// A type is refilled when fewer unused than this are left.
    const LOW_WATER: u64;
    /// Credentials asked for per refill.
    const BATCH: usize;
    /// The type each document kind is held as, if any.
    fn type_of(kind: DocumentKind) -> Option<&'static str>;
    /// Drops the slots of `ty` that are empty (an earlier failure) or will never be shown.
    fn drop_stale(w: &Wallet, ty: &str) -> Result<()>;
    /// Unused credentials of `ty` that verify now.
    fn unused(w: &Wallet, ty: &str) -> Result<u64>;
    /// A fresh key alias for a credential of `ty`.
    fn alias(ty: &str) -> Result<String>;
    /// Stores the issued credentials for the keys of `aliases`, in order, all or none.
    fn import(w: &Wallet, ty: &str, aliases: &[String], credentials: &[Vec<u8>]) -> Result<usize>;
}

/// A fresh key alias `<prefix>.<96 random bits in lower-case hex>`, for one single-use
/// credential's device key.
pub(super) fn random_alias(prefix: &str) -> Result<String> {
    let mut r = [0u8; 12];
    getrandom::fill(&mut r)
        .map_err(|_| WalletError::Present(crate::present::PresentError::Signing))?;
    Ok(format!("{prefix}.{}", crate::signing::hex(&r)))
}

/// Where the credentials of type `ty` in format `format` are kept.
pub(super) fn slot_profile(format: &str, ty: &str) -> String {
    format!("{format}:{ty}")
}

impl Wallet {
    /// Asks for a batch of every held type of `F` that runs low, with the citizen's consent;
    /// stale slots are dropped first. Returns the credentials stored.
    pub(super) async fn refill_batches<F: BatchFormat>(
        &self,
        client: &crate::client::BackendClient,
        passcode: Option<&Passcode>,
    ) -> Result<usize> {
        let mut low = Vec::new();
        for doc in self.verified_documents()? {
            let Some(ty) = F::type_of(doc.kind()) else {
                continue;
            };
            F::drop_stale(self, ty)?;
            if F::unused(self, ty)? < F::LOW_WATER && !low.contains(&ty) {
                low.push(ty);
            }
        }
        if low.is_empty() {
            return Ok(0);
        }
        let passcode = passcode.ok_or_else(|| {
            WalletError::InvalidInput(format!("new {} need the citizen's passcode", F::WHAT))
        })?;
        self.unlock(passcode)?;
        let signer = self.request_signer()?;
        let mut stored = 0;
        for ty in low {
            let (aliases, public) = self.new_batch_keys::<F>(ty)?;
            let keys: Vec<B64> = public.iter().cloned().map(B64).collect();
            let result = async {
                let proof = self
                    .remote_consent(
                        client,
                        passcode,
                        consent_action::CREDENTIAL_BATCH,
                        &credential_batch_digest(F::FORMAT, ty, &keys),
                    )
                    .await?;
                Ok(client
                    .credential_batch(&signer, F::FORMAT, ty, &public, proof)
                    .await?)
            }
            .await;
            self.log_consented(
                TransactionKind::Account,
                "backend",
                &format!("{}: {ty}", F::WHAT),
                vec![],
                &result,
                None,
            )?;
            match result {
                Ok(creds) => stored += F::import(self, ty, &aliases, &creds)?,
                Err(e) => {
                    self.drop_slots(&aliases)?;
                    return Err(e);
                }
            }
        }
        Ok(stored)
    }

    /// `F::BATCH` fresh device keys for credentials of `ty`, each with an empty slot.
    fn new_batch_keys<F: BatchFormat>(&self, ty: &str) -> Result<(Vec<String>, Vec<Vec<u8>>)> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        let (mut aliases, mut public) = (Vec::with_capacity(F::BATCH), Vec::new());
        for _ in 0..F::BATCH {
            let alias = F::alias(ty)?;
            public.push(self.keys.create_signing_key(&alias)?);
            aliases.push(alias);
        }
        self.store
            .add_presentation_slots(&slot_profile(F::FORMAT, ty), &aliases)
            .map_err(WalletError::from_store)?;
        Ok((aliases, public))
    }
}
