//! Activation and sync: the wallet's side of the backend API.

use super::conditional;
use super::sync_state::{SyncReport, SyncState};
use super::{DEVICE_KEY_ALIAS, Result, Wallet, WalletError};
use crate::account::passcode::Passcode;
use crate::api::TrustListResponse;
use crate::api::{ActivationComplete, B64, ChipEvidence, ErrorCode};
use crate::client::{BackendClient, ClientError, DeviceSigner, Fetched};
use crate::credential::TrustList;
use crate::platform::{SyncListener, SyncStage};
use eid_icao::NotGenuine;
use eid_icao::document::ChipDocument;

const META_ACCOUNT_ID: &str = "wallet.account_id";
const META_SYNC_STATE: &str = "wallet.sync_state";
const META_CSCA: &str = "wallet.csca";
const META_STATUS_LIST: &str = "wallet.status_list";
const META_TRUST_LIST: &str = super::META_TRUST_LIST;
const META_IACA: &str = super::mdoc::META_IACA;
const META_READER_CA: &str = super::mdoc::META_READER_CA;
const META_READER_CRL: &str = super::mdoc::META_READER_CRL;
const META_RP_REGISTRY: &str = super::relying_parties::META_RP_REGISTRY;
const META_RP_CA: &str = super::relying_parties::META_RP_CA;

/// An activation waiting for its SMS code and chip read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingActivation {
    pub activation_id: String,
    /// What the chip must sign (pass as `ReadRequest::aa_challenge`).
    pub chip_challenge: Vec<u8>,
    pub expires_at: u64,
}

/// Signs backend requests with this wallet's device key.
pub(super) struct WalletSigner<'a> {
    pub(super) wallet: &'a Wallet,
    pub(super) account_id: String,
}

impl DeviceSigner for WalletSigner<'_> {
    fn account_id(&self) -> String {
        self.account_id.clone()
    }
    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, ClientError> {
        self.wallet
            .keys
            .sign(DEVICE_KEY_ALIAS, message)
            .map_err(|e| ClientError::DeviceKey(e.to_string()))
    }
}

fn check_digits(s: &str, len: std::ops::RangeInclusive<usize>, what: &str) -> Result<String> {
    let t = s.trim();
    if len.contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
        Ok(t.to_owned())
    } else {
        Err(WalletError::InvalidInput(format!("{what} must be digits")))
    }
}

impl Wallet {
    /// The account this device is bound to, once activated.
    pub fn account_id(&self) -> Result<Option<String>> {
        Ok(self
            .store
            .meta_get(META_ACCOUNT_ID)?
            .and_then(|b| String::from_utf8(b).ok()))
    }

    pub fn sync_state(&self) -> Result<SyncState> {
        Ok(self
            .store
            .meta_get(META_SYNC_STATE)?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default())
    }

    fn save_sync_state(&self, state: &SyncState) -> Result<()> {
        let bytes = serde_json::to_vec(state).map_err(|_| WalletError::Corrupt("sync state"))?;
        Ok(self.store.meta_put(META_SYNC_STATE, &bytes)?)
    }

    /// Step 1: ID number and phone; the backend sends an SMS code (the same answer whether or not
    /// they match a citizen).
    pub async fn start_activation(
        &self,
        client: &BackendClient,
        id_number: &str,
        phone: &str,
    ) -> Result<PendingActivation> {
        let id = check_digits(id_number, 12..=12, "the ID number (12 digits)")?;
        let phone = check_digits(phone, 10..=11, "the phone number")?;
        let started = client.start_activation(&id, &phone).await?;
        Ok(PendingActivation {
            activation_id: started.activation_id,
            chip_challenge: started.chip_challenge.0,
            expires_at: started.expires_at,
        })
    }

    /// Step 2, after the wallet is set up with a passcode and the chip was read with
    /// `aa_challenge = pending.chip_challenge`: sends the SMS code and the chip evidence, and on
    /// success stores the account credential and becomes Active at the level granted.
    ///
    /// The passcode is registered at the backend as the citizen's consent for remote actions
    /// (docs/adr/0017): checked here first, so the backend never holds a passcode the citizen
    /// did not set.
    pub async fn complete_activation(
        &self,
        client: &BackendClient,
        pending: &PendingActivation,
        sms_code: &str,
        chip: &ChipDocument,
        passcode: &Passcode,
    ) -> Result<(String, u8)> {
        self.unlock(passcode)?;
        // Refuse locally what the backend would refuse anyway: clearer, and no code wasted.
        // A chip that failed chip/active authentication goes on: the backend judges the
        // signature over its own challenge and answers `chip_evidence_invalid`.
        if let Err(e @ NotGenuine::Data(_)) = chip.require_genuine() {
            return Err(WalletError::InvalidInput(e.to_string()));
        }
        let evidence =
            ChipEvidence::from_chip(chip).map_err(|m| WalletError::InvalidInput(m.into()))?;
        let body = ActivationComplete {
            client_request_id: crate::client::new_request_id(),
            activation_id: pending.activation_id.clone(),
            sms_code: check_digits(sms_code, 6..=6, "the SMS code (6 digits)")?,
            chip: evidence,
            device_public_key: B64(self.device_public_key()?),
            attestation: self
                .keys
                .attestation(DEVICE_KEY_ALIAS)?
                .map(|c| c.into_iter().map(B64).collect()),
            consent_registration: None,
        };
        let (registration, request) = crate::consent::registration_start(passcode)?;
        let body = ActivationComplete {
            consent_registration: Some(B64(request)),
            ..body
        };
        let done = client.complete_activation(&body).await?;
        // The account credential is checked like any document, against the backend's trust list.
        self.pull_trust_list(client).await?;
        self.import(&[done.account_credential.0])?;
        self.store
            .meta_put(META_ACCOUNT_ID, done.account_id.as_bytes())?;
        self.activate(done.level)?;
        // A backend without citizen consent (production without a seal key) answers none: the
        // account is active, and the backend refuses the consented actions.
        if let Some(response) = done.consent_registration {
            let signer = WalletSigner {
                wallet: self,
                account_id: done.account_id.clone(),
            };
            self.finish_consent_registration(client, &signer, registration, passcode, &response.0)
                .await?;
        }
        Ok((done.account_id, done.level))
    }

    async fn pull_trust_list(&self, client: &BackendClient) -> Result<(Vec<u8>, Vec<u8>)> {
        let Fetched::Changed(t, tag) = client.trust_list_if_changed(None).await? else {
            return Err(WalletError::Corrupt("trust list from the backend (304)"));
        };
        let parts = TrustListParts::of(&t, tag)?;
        let entries = parts.entries();
        let refs: Vec<(&str, &[u8])> = entries.iter().map(|(k, v)| (k.as_str(), &v[..])).collect();
        self.store.meta_put_all(&refs)?;
        Ok((t.issuers.0, parts.csca))
    }

    /// Pulls trust list, status list and documents and applies them in one transaction. On
    /// failure nothing changes but the recorded error; the wallet keeps working from what it has.
    /// A revoked binding (the account was activated on another device) wipes the documents.
    ///
    /// Presentation credentials are refilled only with the citizen's `passcode` (their issuance
    /// needs consent, docs/adr/0017); without it the documents sync and
    /// `SyncReport::presentation_error` says that the passcode is needed when a profile runs low.
    pub async fn sync(
        &self,
        client: &BackendClient,
        listener: Option<&dyn SyncListener>,
        passcode: Option<&Passcode>,
    ) -> Result<SyncReport> {
        let note = |s: SyncStage| {
            if let Some(l) = listener {
                l.on_sync(s);
            }
        };
        let mut state = self.sync_state()?;
        state.last_attempt_ms = Some(self.clock.wall_ms());
        state.pending = true;
        self.save_sync_state(&state)?;
        let result = self.sync_inner(client, &mut state, &note, passcode).await;
        state.pending = false;
        match &result {
            Ok(_) => {
                state.last_synced_ms = state.last_attempt_ms;
                state.last_error = None;
            }
            Err(e) => state.last_error = Some(e.to_string()),
        }
        self.save_sync_state(&state)?;
        note(SyncStage::Done);
        result
    }

    async fn sync_inner(
        &self,
        client: &BackendClient,
        state: &mut SyncState,
        note: &(dyn Fn(SyncStage) + Sync),
        passcode: Option<&Passcode>,
    ) -> Result<SyncReport> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        let account_id = self.account_id()?.ok_or(WalletError::InvalidInput(
            "the wallet is not activated".into(),
        ))?;
        // The public lists, each asked for with the ETag of the one held (docs/adr/0044).
        note(SyncStage::TrustList);
        let mut lists: Vec<(String, Vec<u8>)> = Vec::new();
        let trust = match client
            .trust_list_if_changed(self.stored_etag(META_TRUST_LIST)?.as_deref())
            .await?
        {
            Fetched::Unchanged => self.trust_list()?,
            Fetched::Changed(t, tag) => {
                let parts = TrustListParts::of(&t, tag)?;
                lists.extend(parts.entries());
                parts.trust
            }
        };
        // The reader CA's CRL (docs/adr/0053), checked against the reader CAs of the trust
        // list: one that does not verify fails the sync. A backend without one (404) leaves
        // what is held.
        let reader_cas = match lists.iter().find(|(k, _)| k == META_READER_CA) {
            Some((_, bytes)) => super::mdoc::anchors_of(bytes, "reader CA list")?,
            None => self.reader_cas()?,
        };
        if !reader_cas.is_empty() {
            match client
                .fetch_if_changed(
                    crate::api::paths::READER_CA_CRL,
                    self.stored_etag(META_READER_CRL)?.as_deref(),
                )
                .await
            {
                Ok(Fetched::Changed(der, tag)) => {
                    if !reader_cas
                        .certificates()
                        .any(|ca| eid_crypto::crl::verify_crl(&der, ca).is_ok())
                    {
                        return Err(WalletError::Corrupt("reader CA CRL (signature or issuer)"));
                    }
                    lists.push((META_READER_CRL.to_owned(), der));
                    lists.push(conditional::etag_entry(META_READER_CRL, tag.as_deref()));
                }
                Ok(Fetched::Unchanged)
                | Err(ClientError::Api {
                    code: ErrorCode::NotFound,
                    ..
                }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        note(SyncStage::StatusList);
        if let Fetched::Changed(status, tag) = client
            .status_list_if_changed(self.stored_etag(META_STATUS_LIST)?.as_deref())
            .await?
        {
            let bytes =
                serde_json::to_vec(&status).map_err(|_| WalletError::Corrupt("status list"))?;
            lists.push((META_STATUS_LIST.to_owned(), bytes));
            lists.push(conditional::etag_entry(META_STATUS_LIST, tag.as_deref()));
        }
        // The relying parties (docs/adr/0036): checked against the trust list; one that does
        // not verify fails the sync and nothing changes. A backend without a hub (404) leaves
        // the stored registry as it is.
        match client
            .relying_parties_if_changed(self.stored_etag(META_RP_REGISTRY)?.as_deref())
            .await
        {
            Ok(Fetched::Changed(r, tag)) => {
                crate::verify::RpRegistry::from_signed(&r.signed.0, &trust, self.now()).map_err(
                    |_| WalletError::Corrupt("relying-party registry (signature or signer)"),
                )?;
                lists.push((META_RP_REGISTRY.to_owned(), r.signed.0));
                lists.push(conditional::etag_entry(META_RP_REGISTRY, tag.as_deref()));
            }
            Ok(Fetched::Unchanged)
            | Err(ClientError::Api {
                code: ErrorCode::NotFound,
                ..
            }) => {}
            Err(e) => return Err(e.into()),
        }
        // The kinds the backend issues (docs/adr/0060), checked against this sync's trust list:
        // one that does not verify, or older than the one held, fails the sync and nothing
        // changes. A backend without a kind list (404) leaves what is held.
        let declared = self.sync_kinds(client, &trust, &mut lists).await?;
        note(SyncStage::Documents);
        let signer = WalletSigner {
            wallet: self,
            account_id,
        };
        let page = match client
            .documents(&signer, state.cursor.as_deref(), state.etag.as_deref())
            .await
        {
            Err(ClientError::Api {
                code: ErrorCode::Revoked,
                ..
            }) => {
                self.revoke()?;
                return Ok(SyncReport {
                    revoked: true,
                    ..SyncReport::default()
                });
            }
            Err(
                e @ ClientError::Api {
                    code: ErrorCode::AccountLocked,
                    ..
                },
            ) => {
                // Suspended with the account: the SD-JWT VCs' status list says so.
                let _ = self.refresh_sdjwt_status(client).await;
                return Err(e.into());
            }
            other => other?,
        };
        // The hub-mediated disclosures (docs/adr/0050), stored with the lists; a backend
        // without them (404) leaves what is held.
        match client.disclosures(&signer).await {
            Ok(list) => lists.push((
                super::disclosures::META_HUB_DISCLOSURES.to_owned(),
                serde_json::to_vec(&list).map_err(|_| WalletError::Corrupt("disclosures"))?,
            )),
            Err(ClientError::Api {
                code: ErrorCode::NotFound,
                ..
            }) => {}
            Err(e) => return Err(e.into()),
        }
        note(SyncStage::Applying);
        let mut report = SyncReport::default();
        let (mut credentials, mut removed, mut dependants) = (Vec::new(), Vec::new(), Vec::new());
        match page {
            None => report.unchanged = true,
            Some((page, etag)) => {
                (credentials, dependants) = page
                    .documents
                    .into_iter()
                    .map(|d| (d.credential.0, d.dependant))
                    .unzip();
                removed = page.removed;
                state.cursor = Some(page.cursor);
                state.etag = etag;
            }
        }
        let checked = super::CheckedBatch::of(self, &credentials, &dependants, &trust, &declared)?;
        let new = checked.rows(&credentials);
        report.updated = new.len() as u64;
        report.removed = removed.len() as u64;
        state.status_list_fetched_ms = Some(self.clock.wall_ms());
        state.last_synced_ms = Some(self.clock.wall_ms());
        state.last_error = None;
        let state_bytes =
            serde_json::to_vec(&*state).map_err(|_| WalletError::Corrupt("sync state"))?;
        let removed_refs: Vec<&str> = removed.iter().map(String::as_str).collect();
        let mut meta: Vec<(&str, &[u8])> =
            lists.iter().map(|(k, v)| (k.as_str(), &v[..])).collect();
        meta.push((META_SYNC_STATE, &state_bytes));
        // What changed in documents replaced by a new version (docs/adr/0056).
        let history = self.history_of_sync(&checked.verified, &removed, self.clock.wall_ms())?;
        let history_refs: Vec<(i64, &[u8])> =
            history.iter().map(|(at, h)| (*at, h.as_slice())).collect();
        self.store
            .apply_sync(&new, &removed_refs, &meta, &history_refs)
            .map_err(WalletError::from_store)?;
        // Presentation credentials drawn from a record that changed are revoked on the list
        // just stored (docs/adr/0062): dropped now, and replaced by the refill below.
        self.drop_revoked_presentations()?;
        // Accommodation notices (docs/adr/0048) into the log, after the documents.
        self.sync_notices(client, &signer, &trust).await?;
        // Presentation credentials: a failure here leaves the documents synced.
        match self.refill_presentations(client, passcode).await {
            Ok(n) => report.presentation_credentials = n as u64,
            Err(e) => report.presentation_error = Some(e.to_string()),
        }
        // mdocs (docs/adr/0031): `mdoc_stock` shows what arrived (the report's count stays the
        // QR credentials'); a failure is reported like theirs, the first one winning.
        if report.presentation_error.is_none()
            && let Err(e) = self
                .refill_batches::<super::mdoc::Mdocs>(client, passcode)
                .await
        {
            report.presentation_error = Some(e.to_string());
        }
        // SD-JWT VCs (docs/adr/0035), the same way; then the JWT status list they name, so
        // `sdjwt_stock` shows a revoked or suspended stock.
        if report.presentation_error.is_none()
            && let Err(e) = self
                .refill_batches::<super::sdjwt::SdJwts>(client, passcode)
                .await
        {
            report.presentation_error = Some(e.to_string());
        }
        if let Err(e) = self.refresh_sdjwt_status(client).await
            && report.presentation_error.is_none()
        {
            report.presentation_error = Some(e.to_string());
        }
        Ok(report)
    }
}

impl Wallet {
    /// The last status list synced, checked against the trust list held (its age is not
    /// checked: what the wallet shows offline is the last known status).
    pub(super) fn synced_status_list(&self, now: u64) -> Option<crate::verify::StatusList> {
        let bytes = self.store.meta_get(META_STATUS_LIST).ok()??;
        let answer: crate::api::StatusListResponse = serde_json::from_slice(&bytes).ok()?;
        crate::verify::StatusList::from_signed(&answer.signed.0, &self.trust_list().ok()?, now).ok()
    }
}

/// A trust list answer taken apart into what the wallet stores: the issuer list (checked to
/// decode), the CSCA, IACA, RP CA and reader CA lists, and the answer's ETag.
struct TrustListParts {
    trust: TrustList,
    issuers: Vec<u8>,
    csca: Vec<u8>,
    iaca: Vec<u8>,
    rp_ca: Vec<u8>,
    reader_ca: Vec<u8>,
    etag: Option<String>,
}

impl TrustListParts {
    fn of(t: &TrustListResponse, etag: Option<String>) -> Result<Self> {
        let encode = |v: &[crate::api::B64], what| {
            serde_json::to_vec(v).map_err(|_| WalletError::Corrupt(what))
        };
        Ok(TrustListParts {
            trust: TrustList::decode(&t.issuers.0)
                .map_err(|_| WalletError::Corrupt("trust list from the backend"))?,
            issuers: t.issuers.0.clone(),
            csca: encode(&t.csca, "CSCA list")?,
            iaca: encode(&t.iaca, "IACA list")?,
            rp_ca: encode(&t.rp_ca, "RP CA list")?,
            reader_ca: encode(&t.reader_ca, "reader CA list")?,
            etag,
        })
    }

    /// The meta entries: every part and the ETag, for one store transaction.
    fn entries(&self) -> Vec<(String, Vec<u8>)> {
        vec![
            (META_TRUST_LIST.to_owned(), self.issuers.clone()),
            (META_CSCA.to_owned(), self.csca.clone()),
            (META_IACA.to_owned(), self.iaca.clone()),
            (META_RP_CA.to_owned(), self.rp_ca.clone()),
            (META_READER_CA.to_owned(), self.reader_ca.clone()),
            conditional::etag_entry(META_TRUST_LIST, self.etag.as_deref()),
        ]
    }
}
