//! Accommodation notices (docs/adr/0048): at sync, the stays hosts reported to the police for
//! this citizen (found by the backend through the ID number in the QR the host scanned) come
//! into the transaction log, each checked as a receipt signed by the police issuer. The cursor
//! and the entries are written together, so a notice is logged once.

use super::{Result, Wallet, WalletError};
use crate::api::{ErrorCode, MAX_NOTICES_PAGE};
use crate::client::{BackendClient, ClientError, DeviceSigner};
use crate::credential::TrustList;
use crate::present::Profile;
use crate::transactions::{Outcome, Transaction, TransactionKind};
use crate::verify::Receipt;

/// The `seq` of the last notice logged.
const META_NOTICES_AFTER: &str = "wallet.accommodation_after";
/// Pages asked for in one sync (the rest comes at the next).
const MAX_PAGES: usize = 10;

impl Wallet {
    /// Logs the notices after the stored cursor; how many. A backend without notices (404)
    /// gives none.
    pub(super) async fn sync_notices(
        &self,
        client: &BackendClient,
        signer: &dyn DeviceSigner,
        trust: &TrustList,
    ) -> Result<u64> {
        let mut after: u64 = self
            .store
            .meta_get(META_NOTICES_AFTER)
            .map_err(WalletError::from_store)?
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
            .unwrap_or(0);
        let mut logged = 0;
        for _ in 0..MAX_PAGES {
            let page = match client.accommodation_notices(signer, after).await {
                Ok(p) => p,
                Err(ClientError::Api {
                    code: ErrorCode::NotFound,
                    ..
                }) => return Ok(logged),
                Err(e) => return Err(e.into()),
            };
            let mut entries = Vec::with_capacity(page.notices.len());
            for notice in &page.notices {
                if notice.seq <= after {
                    return Err(WalletError::Corrupt("accommodation notices out of order"));
                }
                after = notice.seq;
                let receipt =
                    Receipt::from_signed(&notice.signed.0, trust, self.now()).map_err(|_| {
                        WalletError::Corrupt("accommodation notice (signature or signer)")
                    })?;
                let t = entry(&receipt);
                let bytes = t
                    .to_bytes()
                    .map_err(|_| WalletError::Corrupt("transaction"))?;
                entries.push((t.at_ms, bytes));
            }
            let cursor = after.to_string();
            let rows: Vec<(i64, &[u8])> = entries.iter().map(|(at, e)| (*at, &e[..])).collect();
            self.store
                .append_logs(&rows, &[(META_NOTICES_AFTER, cursor.as_bytes())])
                .map_err(WalletError::from_store)?;
            logged += entries.len() as u64;
            if page.notices.len() < MAX_NOTICES_PAGE {
                break;
            }
        }
        Ok(logged)
    }
}

/// The log entry of a checked receipt: the host, the profile's fields (names only) and the stay.
fn entry(receipt: &Receipt) -> Transaction {
    let s = &receipt.statement;
    Transaction {
        at_ms: i64::try_from(s.recorded_at.saturating_mul(1000)).unwrap_or(i64::MAX),
        kind: TransactionKind::Accommodation,
        counterparty: s.host_name.clone(),
        profile: Profile::Accommodation.as_str().to_owned(),
        fields: Profile::Accommodation
            .allowed()
            .iter()
            .map(|f| f.name().to_owned())
            .collect(),
        outcome: Outcome::Success,
        detail: Some(format!(
            "check-in {}, check-out {}, receipt {}",
            receipt.check_in, receipt.check_out, s.receipt_id
        )),
    }
}
