//! Presentation credentials the backend revoked (docs/adr/0062): when a registry change
//! re-issues a record, the QR credentials, MSOs and SD-JWT VCs drawn from the old one carry its
//! values, and the backend revokes them on the status list. At sync, after the new status list
//! is stored and before the refill, the wallet drops every one of them that the list says is
//! revoked (used or not: a revoked one is never worth showing again), so the refill that
//! follows asks for new ones from the new record and nothing stale is left to present.
//! Suspended ones stay: a suspension ends.

use super::{Result, Wallet};
use crate::api::credential_format;
use crate::present::presentation_credential;
use crate::verify::Status;

/// What a slot's profile says about the credential in it.
enum Format<'a> {
    Mdoc(&'a str),
    SdJwt(&'a str),
    /// A QR presentation credential (`profile` or `profile~dependant`).
    Qr,
}

fn format_of(profile: &str) -> Format<'_> {
    match profile.split_once(':') {
        Some((credential_format::MSO_MDOC, ty)) => Format::Mdoc(ty),
        Some((credential_format::SD_JWT_VC, ty)) => Format::SdJwt(ty),
        _ => Format::Qr,
    }
}

impl Wallet {
    /// Drops the presentation slots whose credential the last synced status list revokes, with
    /// their device keys. Returns how many. Nothing is dropped without a status list that
    /// verifies, or for a credential the list does not reach.
    pub(super) fn drop_revoked_presentations(&self) -> Result<usize> {
        let now = self.now();
        let Some(list) = self.synced_status_list(now) else {
            return Ok(0);
        };
        let trust = self.trust_list()?;
        let mut revoked = Vec::new();
        for profile in self
            .store
            .presentation_profiles()
            .map_err(super::WalletError::from_store)?
        {
            let format = format_of(&profile);
            for slot in self
                .store
                .presentation_slots(&profile)
                .map_err(super::WalletError::from_store)?
            {
                let Some(bytes) = slot.credential else {
                    continue;
                };
                let index = match format {
                    Format::Mdoc(ty) => self.mdoc_status_index(&bytes, ty),
                    Format::SdJwt(ty) => std::str::from_utf8(&bytes)
                        .ok()
                        .and_then(|t| self.sdjwt_status_index(t, ty)),
                    Format::Qr => presentation_credential::verify(&bytes, &trust, now)
                        .ok()
                        .map(|c| c.status_index),
                };
                if index.is_some_and(|i| list.status(i) == Status::Revoked) {
                    revoked.push(slot.alias);
                }
            }
        }
        self.drop_slots(&revoked)?;
        Ok(revoked.len())
    }
}
