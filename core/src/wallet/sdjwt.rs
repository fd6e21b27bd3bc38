//! The SD-JWT VCs the wallet holds (docs/adr/0035): for the identity, a stock of single-use PID
//! SD-JWT VCs (`vct` `urn:eudi:pid:vn:1`), each bound to its own device key (`cnf.jwk`),
//! refilled at sync like the mdocs (8 when fewer than 3 unused are left, with the citizen's
//! consent), kept sealed in the presentation slots under the profile `dc+sd-jwt:<vct>`, one
//! marked used per presentation or export. The JWT status list they name is fetched at sync and
//! kept, so the stock shows whether they are revoked or suspended.

use super::batch::{self, BatchFormat};
use super::{Result, Wallet, WalletError};
use crate::api::credential_format;
use crate::credential::DocumentKind;
use crate::present::PresentError;
use crate::sdjwt::{
    self, Es256Signer, PID_VCT, SdJwt, SdJwtError, StatusList, StatusReference, Verified,
};

/// A `vct` is refilled at sync when fewer unused SD-JWT VCs than this are left.
pub const SDJWT_LOW_WATER: u64 = 3;
/// SD-JWT VCs asked for per refill.
pub const SDJWT_BATCH: usize = 8;
/// The last `statuslist+jwt` fetched (its text; checked again whenever it is read).
const META_STATUS_LIST_JWT: &str = "wallet.status_list_jwt";

/// Every `vct` the wallet holds, in a fixed order.
pub const SDJWT_VCTS: [&str; 1] = [PID_VCT];

/// The `vct` of the SD-JWT VC each document kind is held as.
pub fn vct_of(kind: DocumentKind) -> Option<&'static str> {
    match kind {
        DocumentKind::Identity => Some(PID_VCT),
        _ => None,
    }
}

fn slot_profile(vct: &str) -> String {
    batch::slot_profile(credential_format::SD_JWT_VC, vct)
}

/// The SD-JWT VC stock's part in the refill at sync.
pub(super) struct SdJwts;

impl BatchFormat for SdJwts {
    const FORMAT: &'static str = credential_format::SD_JWT_VC;
    const WHAT: &'static str = "SD-JWT VCs";
    const LOW_WATER: u64 = SDJWT_LOW_WATER;
    const BATCH: usize = SDJWT_BATCH;
    fn type_of(kind: DocumentKind) -> Option<&'static str> {
        vct_of(kind)
    }
    fn drop_stale(w: &Wallet, ty: &str) -> Result<()> {
        w.drop_stale_sdjwts(ty)
    }
    fn unused(w: &Wallet, ty: &str) -> Result<u64> {
        Ok(w.sdjwt_stock_of(ty)?.unused)
    }
    fn alias(_: &str) -> Result<String> {
        new_alias()
    }
    fn import(w: &Wallet, ty: &str, aliases: &[String], credentials: &[Vec<u8>]) -> Result<usize> {
        w.import_sdjwts(ty, aliases, credentials)
    }
}

/// What `sdjwt list` shows of one `vct`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdJwtStock {
    pub vct: String,
    /// Unused SD-JWT VCs that verify now.
    pub unused: u64,
    /// The `exp` of the newest of them (Unix seconds), if any.
    pub valid_until: Option<u64>,
    /// Their status in the last JWT status list fetched (the worst of them: 1 invalid before 2
    /// suspended before 0 valid); `None` when no list that verifies now covers them.
    pub status: Option<u8>,
}

/// An SD-JWT VC taken for one presentation: its device key's alias and the issued SD-JWT (every
/// disclosure, no KB-JWT). `Debug` shows neither claims nor the text.
#[derive(Clone)]
pub struct HeldSdJwt {
    pub alias: String,
    pub sd_jwt: SdJwt,
    /// The issued compact form, `~`-terminated, as the issuer sent it.
    pub issued: String,
}

impl std::fmt::Debug for HeldSdJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldSdJwt")
            .field("alias", &self.alias)
            .finish_non_exhaustive()
    }
}

/// The device key of a held SD-JWT VC as the KB-JWT's signer (ES256, low-S).
pub struct SdJwtKey<'w> {
    wallet: &'w Wallet,
    alias: String,
}

impl Es256Signer for SdJwtKey<'_> {
    fn sign_es256(&self, message: &[u8]) -> Option<[u8; 64]> {
        self.wallet
            .sign_with_mdoc_key(&self.alias, message)
            .ok()?
            .try_into()
            .ok()
    }
}

fn refused(_: SdJwtError) -> WalletError {
    WalletError::Present(PresentError::Malformed("SD-JWT VC does not verify"))
}

fn new_alias() -> Result<String> {
    batch::random_alias("eid.sdjwt")
}

/// The worst of two statuses: invalid (1) before suspended (2) before valid (0).
fn worse(a: u8, b: u8) -> u8 {
    let rank = |s: u8| match s {
        sdjwt::INVALID => 3,
        sdjwt::SUSPENDED => 2,
        0 => 0,
        _ => 1,
    };
    if rank(b) > rank(a) { b } else { a }
}

impl Wallet {
    /// Checks an issued SD-JWT VC of `vct` against the trust list now.
    fn sdjwt_verdict(&self, text: &str, vct: &str) -> std::result::Result<Verified, SdJwtError> {
        if vct != PID_VCT {
            return Err(SdJwtError::Malformed("not a vct this wallet holds"));
        }
        let trust = self
            .trust_list()
            .map_err(|_| SdJwtError::Malformed("no trust list"))?;
        let verified = sdjwt::verify_pid(text, &trust, self.now(), None)?;
        if SdJwt::parse(text)?.kb_jwt.is_some() {
            return Err(SdJwtError::Malformed("issued SD-JWT carries a KB-JWT"));
        }
        Ok(verified)
    }

    /// The status list index of an issued SD-JWT VC of `vct` that verifies now.
    pub(super) fn sdjwt_status_index(&self, text: &str, vct: &str) -> Option<u32> {
        let v = self.sdjwt_verdict(text, vct).ok()?;
        u32::try_from(StatusReference::from_claims(&v.claims)?.idx).ok()
    }

    /// The slots of `vct`: (alias, issued text if filled, used).
    fn sdjwt_slots(&self, vct: &str) -> Result<Vec<(String, Option<String>, bool)>> {
        Ok(self
            .store
            .presentation_slots(&slot_profile(vct))
            .map_err(WalletError::from_store)?
            .into_iter()
            .map(|s| {
                let text = s.credential.and_then(|b| String::from_utf8(b).ok());
                (s.alias, text, s.used_at_ms.is_some())
            })
            .collect())
    }

    /// Drops the slots of `vct` that are empty (an earlier failed request) or whose credential
    /// has expired: they will never be shown.
    fn drop_stale_sdjwts(&self, vct: &str) -> Result<()> {
        let stale: Vec<String> = self
            .sdjwt_slots(vct)?
            .into_iter()
            .filter(|(_, text, _)| match text {
                None => true,
                Some(t) => matches!(
                    self.sdjwt_verdict(t, vct),
                    Err(SdJwtError::Expired(_) | SdJwtError::Untrusted)
                ),
            })
            .map(|(alias, _, _)| alias)
            .collect();
        self.drop_slots(&stale)
    }

    /// Stores the issuer's SD-JWT VCs for the keys of `aliases`, in order: each must verify
    /// against the trust list, be of `vct` and name its slot's key in `cnf.jwk`; otherwise
    /// nothing is stored.
    fn import_sdjwts(
        &self,
        vct: &str,
        aliases: &[String],
        credentials: &[Vec<u8>],
    ) -> Result<usize> {
        if aliases.len() != credentials.len() {
            return Err(WalletError::InvalidInput(
                "one credential per key expected".into(),
            ));
        }
        let mut items = Vec::with_capacity(aliases.len());
        for (alias, bytes) in aliases.iter().zip(credentials) {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| WalletError::Present(PresentError::Malformed("SD-JWT VC text")))?;
            let v = self.sdjwt_verdict(text, vct).map_err(refused)?;
            let key = self
                .keys
                .public_key(alias)?
                .ok_or(WalletError::InvalidInput("unknown SD-JWT key".into()))?;
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key)
                .map_err(|_| WalletError::Corrupt("SD-JWT key"))?
                .to_sec1_point(false);
            let bound = v
                .claims
                .get("cnf")
                .and_then(|c| c.get("jwk"))
                .and_then(sdjwt::point_from_jwk);
            if bound.as_deref() != Some(key.as_bytes()) {
                return Err(PresentError::Malformed("SD-JWT VC for another key").into());
            }
            items.push((alias.clone(), bytes.clone()));
        }
        self.store
            .fill_presentation_slots(&items)
            .map_err(WalletError::from_store)?;
        Ok(items.len())
    }

    /// The last JWT status list fetched, if it still verifies now for `uri`.
    fn sdjwt_status_list(&self, uri: &str) -> Option<StatusList> {
        let jwt = self.store.meta_get(META_STATUS_LIST_JWT).ok()??;
        let jwt = String::from_utf8(jwt).ok()?;
        let trust = self.trust_list().ok()?;
        sdjwt::verify_status_list_jwt(&jwt, uri, &trust, self.now()).ok()
    }

    fn sdjwt_stock_of(&self, vct: &str) -> Result<SdJwtStock> {
        let mut stock = SdJwtStock {
            vct: vct.to_owned(),
            unused: 0,
            valid_until: None,
            status: None,
        };
        let mut lists: Vec<(String, Option<StatusList>)> = Vec::new();
        let mut statuses = Vec::new();
        for (_, text, used) in self.sdjwt_slots(vct)? {
            let (Some(text), false) = (text, used) else {
                continue;
            };
            let Ok(v) = self.sdjwt_verdict(&text, vct) else {
                continue;
            };
            stock.unused += 1;
            let exp = v.claims.get("exp").and_then(serde_json::Value::as_u64);
            if exp > stock.valid_until {
                stock.valid_until = exp;
            }
            let status = StatusReference::from_claims(&v.claims).and_then(|r| {
                if !lists.iter().any(|(u, _)| *u == r.uri) {
                    lists.push((r.uri.clone(), self.sdjwt_status_list(&r.uri)));
                }
                let (_, list) = lists.iter().find(|(u, _)| *u == r.uri)?;
                list.as_ref()?.get(r.idx)
            });
            statuses.push(status);
        }
        // A status for the stock only when every unused credential has one.
        if !statuses.is_empty() && statuses.iter().all(Option::is_some) {
            stock.status = statuses.into_iter().flatten().reduce(worse);
        }
        Ok(stock)
    }

    /// The SD-JWT VCs held: one entry per `vct` with any slot, in [`SDJWT_VCTS`] order.
    pub fn sdjwt_stock(&self) -> Result<Vec<SdJwtStock>> {
        let mut out = Vec::new();
        for vct in SDJWT_VCTS {
            if !self.sdjwt_slots(vct)?.is_empty() {
                out.push(self.sdjwt_stock_of(vct)?);
            }
        }
        Ok(out)
    }

    /// The oldest unused SD-JWT VC of `vct` that verifies now, marked used: for one
    /// presentation (or one export: a credential shown outside is as linkable as a presented
    /// one). `None` when no unused one is left (sync to refill).
    pub fn take_sdjwt(&self, vct: &str) -> Result<Option<HeldSdJwt>> {
        let Some(held) = self.peek_sdjwt(vct)? else {
            return Ok(None);
        };
        let at = i64::try_from(self.now().saturating_mul(1000)).unwrap_or(i64::MAX);
        self.store
            .mark_presentation_used(&held.alias, at)
            .map_err(WalletError::from_store)?;
        Ok(Some(held))
    }

    /// The SD-JWT VC [`Wallet::take_sdjwt`] would take next, left unused (to show the citizen
    /// what a request would disclose before consent).
    pub(crate) fn peek_sdjwt(&self, vct: &str) -> Result<Option<HeldSdJwt>> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        for (alias, text, used) in self.sdjwt_slots(vct)? {
            let (Some(text), false) = (text, used) else {
                continue;
            };
            if self.sdjwt_verdict(&text, vct).is_err() {
                continue;
            }
            let sd_jwt = SdJwt::parse(&text).map_err(refused)?;
            return Ok(Some(HeldSdJwt {
                alias,
                sd_jwt,
                issued: text,
            }));
        }
        Ok(None)
    }

    /// The device key of a taken SD-JWT VC, to sign its KB-JWT (`sdjwt::present`). Signs only
    /// while the wallet is unlocked.
    pub fn sdjwt_key(&self, held: &HeldSdJwt) -> SdJwtKey<'_> {
        self.device_key(&held.alias)
    }

    /// The device key under `alias` (an SD-JWT VC's or an MSO's: both ES256 keys of the key
    /// store) as an [`Es256Signer`]. Signs only while the wallet is unlocked.
    pub(super) fn device_key(&self, alias: &str) -> SdJwtKey<'_> {
        SdJwtKey {
            wallet: self,
            alias: alias.to_owned(),
        }
    }

    /// Fetches the JWT status list the held SD-JWT VCs name and keeps it when it verifies
    /// against the trust list for the URI they name (nothing to do when none is held).
    pub(super) async fn refresh_sdjwt_status(
        &self,
        client: &crate::client::BackendClient,
    ) -> Result<()> {
        let mut uri = None;
        for vct in SDJWT_VCTS {
            uri = uri.or_else(|| {
                self.sdjwt_slots(vct)
                    .ok()?
                    .into_iter()
                    .find_map(|(_, text, _)| {
                        let v = self.sdjwt_verdict(&text?, vct).ok()?;
                        StatusReference::from_claims(&v.claims).map(|r| r.uri)
                    })
            });
        }
        let Some(uri) = uri else {
            return Ok(());
        };
        let etag = self.stored_etag(META_STATUS_LIST_JWT)?;
        let crate::client::Fetched::Changed(jwt, tag) =
            client.status_list_jwt_if_changed(etag.as_deref()).await?
        else {
            // The one held is still the backend's current signing (docs/adr/0044).
            return Ok(());
        };
        let trust = self.trust_list()?;
        sdjwt::verify_status_list_jwt(&jwt, &uri, &trust, self.now()).map_err(refused)?;
        let (etag_key, etag) = super::conditional::etag_entry(META_STATUS_LIST_JWT, tag.as_deref());
        Ok(self
            .store
            .meta_put_all(&[(META_STATUS_LIST_JWT, jwt.as_bytes()), (&etag_key, &etag)])?)
    }
}
