//! The citizen's disclosure history (docs/adr/0050): what the hub disclosed on their consent
//! (hub-mediated flows such as "Log in with e-ID", synced from `GET /v1/disclosures` and stored
//! beside the public lists) merged with the wallet's own log of direct presentations. A login
//! through the hub is in both: the hub's record wins (it names what the relying party
//! received), the wallet's entry stays only until a sync brings the hub's (matched one to one:
//! same relying party and purpose, within ten minutes).

use super::{Result, Wallet, WalletError};
use crate::api::DisclosureList;
use crate::transactions::{Outcome, TransactionKind};

/// The synced `DisclosureList` (JSON).
pub(crate) const META_HUB_DISCLOSURES: &str = "wallet.hub_disclosures";
/// A wallet entry and a hub record this close (ms) for the same relying party are one event.
const SAME_EVENT_MS: i64 = 10 * 60 * 1000;

/// Where a disclosure is known from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisclosureSource {
    /// The hub's record of a flow it mediated.
    Hub,
    /// The wallet's own log (a direct presentation, or a hub flow not yet synced).
    Wallet,
}

/// One disclosure: to whom, when, why, which claims (names, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// The relying party or verifier, as the citizen was shown it.
    pub relying_party: String,
    /// Its client id, when known.
    pub client_id: Option<String>,
    /// The hub service that mediated it (`oidc`), if any.
    pub via: Option<String>,
    pub purpose: String,
    pub claims: Vec<String>,
    pub source: DisclosureSource,
}

/// The relying party's client id of a wallet entry made for an intermediary's request
/// (`"<shown> (<client id>, via <hub client id>)"`, `authorize::log_authorization`).
fn behind_client_id(counterparty: &str) -> Option<&str> {
    let (_, tail) = counterparty.rsplit_once(" (")?;
    tail.strip_suffix(')')?.split_once(", via ").map(|(c, _)| c)
}

impl Wallet {
    /// Every successful disclosure, oldest first: the hub's records and the wallet's own.
    pub fn disclosures(&self) -> Result<Vec<Disclosure>> {
        let hub: DisclosureList = match self.store.meta_get(META_HUB_DISCLOSURES)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|_| WalletError::Corrupt("hub disclosures"))?,
            None => DisclosureList {
                disclosures: vec![],
            },
        };
        let mut out: Vec<Disclosure> = hub
            .disclosures
            .into_iter()
            .map(|d| Disclosure {
                at_ms: i64::try_from(d.at).unwrap_or(i64::MAX).saturating_mul(1000),
                relying_party: d.rp_name,
                client_id: Some(d.rp_client_id),
                via: Some(d.via),
                purpose: d.purpose,
                claims: d.claims,
                source: DisclosureSource::Hub,
            })
            .collect();
        let from_hub = out.len();
        let mut absorbed = vec![false; from_hub];
        for t in self.transactions()? {
            if t.kind != TransactionKind::Presentation || t.outcome != Outcome::Success {
                continue;
            }
            let behind = behind_client_id(&t.counterparty).map(str::to_owned);
            // One hub record stands for at most one wallet entry: same relying party and
            // purpose, close in time.
            let twin = behind.as_deref().and_then(|client| {
                (0..from_hub).find(|&i| {
                    let h = &out[i];
                    !absorbed[i]
                        && h.client_id.as_deref() == Some(client)
                        && h.purpose == t.profile
                        && (h.at_ms - t.at_ms).abs() <= SAME_EVENT_MS
                })
            });
            if let Some(i) = twin {
                absorbed[i] = true;
                continue;
            }
            out.push(Disclosure {
                at_ms: t.at_ms,
                relying_party: t.counterparty,
                client_id: behind,
                via: None,
                purpose: t.profile,
                claims: t.fields,
                source: DisclosureSource::Wallet,
            });
        }
        out.sort_by_key(|d| d.at_ms);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rp_behind_a_hub_entry_is_read_back() {
        assert_eq!(
            behind_client_id(
                "Bank (via Hub) (x509_san_dns:bank.example.vn, via x509_san_dns:login.vn)"
            ),
            Some("x509_san_dns:bank.example.vn")
        );
        assert_eq!(
            behind_client_id("Ngan hang (x509_san_dns:bank.example.vn)"),
            None
        );
        assert_eq!(behind_client_id("airport desk"), None);
    }
}
