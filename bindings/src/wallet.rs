//! The wallet: one-line methods over `eid_core::wallet::Wallet`.

use crate::chip::ChipRead;
use crate::error::EidError;
use crate::http::{self, HttpTransport};
use crate::keys::{ForeignKeyStore, KeyStore};
use crate::run::{logged, on_runtime};
use eid_core::account::AccountState;
use eid_core::account::Passcode;
use eid_core::client::BackendClient;
use eid_core::platform::SyncStage;
use eid_core::platform::SystemClock;
use eid_core::wallet::{self as core, Wallet};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the wallet keeps its files and which backend it talks to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WalletConfig {
    /// A directory private to the app (Android `filesDir`, iOS Application Support).
    pub data_dir: String,
    /// e.g. `https://api.example.vn`.
    pub backend_url: String,
}

pub type AccountStatus = AccountState;

/// The account's state as the app shows it.
#[uniffi::remote(Enum)]
pub enum AccountStatus {
    NotActivated,
    Active {
        level: u8,
    },
    /// Active, but wrong passcodes locked it until `until_ms` (wall clock, display only).
    Locked {
        level: u8,
        until_ms: i64,
    },
    Revoked,
}

pub use eid_core::wallet::DocumentStatus;

#[uniffi::remote(Enum)]
pub enum DocumentStatus {
    Valid,
    Expired,
    NotYetValid,
    Suspended,
    Revoked,
}

/// A document as the list shows it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct DocumentInfo {
    pub id: String,
    /// The kind's machine name (`identity`, `driving_licence`, ... or a kind the app was not
    /// built with, declared in the backend's kind list: docs/adr/0060). Apps render every kind
    /// from its declaration (`WalletHandle.kind_declaration_json`, `document_fields`), never
    /// by switching on the name.
    pub kind: String,
    /// Vietnamese title, e.g. "Thẻ căn cước".
    pub title: String,
    pub holder: String,
    /// ISO date printed on the document.
    pub valid_until: Option<String>,
    pub status: DocumentStatus,
    pub issuer: String,
}

impl std::fmt::Debug for DocumentInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentInfo")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// One document with all its fields, as JSON (`{ "full_name": ..., ... }`; health records are
/// FHIR R4 bundles).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct DocumentDetail {
    pub info: DocumentInfo,
    pub fields_json: String,
}

impl std::fmt::Debug for DocumentDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.info.fmt(f)
    }
}

/// One field of a document for display, from its kind's declaration: apps render any kind from
/// these (labels, order, types) without a release. `value_json` is the value as JSON (dates
/// `YYYY-MM-DD`, bytes `{"bytes": n}`); for `object` it is a list of labelled fields, for `list`
/// a list of such lists, each field as `{name, label_vi, label_en, type, value, ...}`.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct LabelledField {
    pub name: String,
    pub label_vi: String,
    pub label_en: String,
    /// `text`, `date`, `number`, `bool`, `bytes`, `enum`, `object` or `list`.
    pub field_type: String,
    pub value_json: String,
    /// An enum value's labels.
    pub value_label_vi: Option<String>,
    pub value_label_en: Option<String>,
}

impl std::fmt::Debug for LabelledField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelledField")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl From<eid_core::credential::kinds::LabelledField> for LabelledField {
    fn from(f: eid_core::credential::kinds::LabelledField) -> Self {
        LabelledField {
            name: f.name,
            label_vi: f.label_vi,
            label_en: f.label_en,
            field_type: f.ty,
            value_json: f.value.to_string(),
            value_label_vi: f.value_label_vi,
            value_label_en: f.value_label_en,
        }
    }
}

/// The declaration of a kind built into this library, by machine name, as JSON: labels,
/// fields in display order with types, labels and rules, issuing authority, summary, profile
/// disclosures (docs/adr/0038). `None` for a kind the library was not built with: the wallet
/// knows those from its synced kind list (`WalletHandle.kind_declaration_json`).
#[uniffi::export]
pub fn kind_declaration_json(kind: String) -> Option<String> {
    eid_core::credential::kinds::by_name(&kind).map(|d| d.to_json().to_string())
}

/// Every kind's declaration, as a JSON array.
#[uniffi::export]
pub fn kind_declarations_json() -> String {
    serde_json::Value::Array(
        eid_core::credential::kinds::declarations()
            .iter()
            .map(|d| d.to_json())
            .collect(),
    )
    .to_string()
}

/// One entry of the transaction log (what was shared or signed, never the values).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TransactionEntry {
    pub at_ms: i64,
    pub kind: TransactionKind,
    pub counterparty: String,
    pub profile: String,
    pub fields: Vec<String>,
    pub outcome: TransactionOutcome,
    pub detail: Option<String>,
}

pub use eid_core::transactions::TransactionKind;

/// What a transaction log entry records.
#[uniffi::remote(Enum)]
pub enum TransactionKind {
    /// A QR shown to a verifier (offline or online).
    Presentation,
    /// A remote signature authorised on this device.
    Signing,
    /// Activation, device change, lock, unlock and other account events.
    Account,
    /// A stay a host reported to the police after scanning the citizen's accommodation QR.
    Accommodation,
}

pub type TransactionOutcome = eid_core::transactions::Outcome;

/// How a transaction ended.
#[uniffi::remote(Enum)]
pub enum TransactionOutcome {
    Success,
    Refused,
    Failed,
}

pub use eid_core::wallet::PendingActivation;

/// An activation waiting for its SMS code and chip read.
#[uniffi::remote(Record)]
pub struct PendingActivation {
    pub activation_id: String,
    /// Pass as `ChipReadOptions.aa_challenge`.
    pub chip_challenge: Vec<u8>,
    pub expires_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Activation {
    pub account_id: String,
    pub level: u8,
}

pub type SyncStep = SyncStage;

/// Steps of a sync, for a progress indicator.
#[uniffi::remote(Enum)]
pub enum SyncStep {
    TrustList,
    StatusList,
    Documents,
    Applying,
    Done,
}

/// Receives the steps of a sync.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn on_sync(&self, step: SyncStep);
}

pub use eid_core::wallet::SyncReport;

/// What a sync changed.
#[uniffi::remote(Record)]
pub struct SyncReport {
    pub updated: u64,
    pub removed: u64,
    pub unchanged: bool,
    /// This device was revoked: the documents were wiped.
    pub revoked: bool,
    /// Presentation credentials received (only when `sync` was given the passcode).
    pub presentation_credentials: u64,
    /// Why refilling presentation credentials failed or was skipped (no passcode given);
    /// the documents were still synced.
    pub presentation_error: Option<String>,
}

// Mapped by hand (`sync_status` below), not `uniffi::remote`: the core's `SyncState` also
// holds the document feed's cursor and ETag and the status list's fetch time, which a remote
// record would have to show the app.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncStatus {
    pub last_synced_ms: Option<i64>,
    pub last_attempt_ms: Option<i64>,
    /// A sync was under way (still true after a crash mid-sync).
    pub pending: bool,
    pub last_error: Option<String>,
}

struct ForeignSyncListener(Arc<dyn SyncListener>);

impl eid_core::platform::SyncListener for ForeignSyncListener {
    fn on_sync(&self, stage: SyncStage) {
        self.0.on_sync(stage);
    }
}

pub(crate) fn passcode(digits: &str) -> Result<Passcode, EidError> {
    Ok(Passcode::new(digits)?)
}

/// The citizen's wallet on this device. Thread-safe; blocking methods do local work only (call
/// them off the main thread), `async` ones reach the backend or the card.
#[derive(Debug, uniffi::Object)]
pub struct WalletHandle {
    pub(crate) wallet: Arc<Wallet>,
    pub(crate) backend: Arc<BackendClient>,
    /// The app's transport, for exchanges with relying parties (the backend's go through
    /// `backend`).
    pub(crate) http: Arc<dyn eid_core::platform::HttpTransport>,
}

impl WalletHandle {
    fn info(&self, i: &core::DocumentInfo) -> DocumentInfo {
        DocumentInfo {
            id: i.id.clone(),
            kind: i.kind.as_str().to_owned(),
            title: i.title.clone(),
            holder: i.holder.clone(),
            valid_until: i.valid_until.clone(),
            status: self.wallet.status_of(i),
            issuer: i.issuer.clone(),
        }
    }
}

#[uniffi::export]
impl WalletHandle {
    /// Opens (or creates) the wallet in `config.data_dir`; it starts locked. Its backend calls
    /// go through `http`, the app's network stack.
    #[uniffi::constructor]
    pub fn open(
        config: WalletConfig,
        key_store: Arc<dyn KeyStore>,
        http: Arc<dyn HttpTransport>,
    ) -> Result<Arc<Self>, EidError> {
        let http = http::transport(http);
        let backend = http::client_over(&config.backend_url, http.clone());
        let wallet = Wallet::open(
            &PathBuf::from(config.data_dir),
            Arc::new(ForeignKeyStore(key_store)),
            Arc::new(SystemClock::default()),
        );
        logged(
            "open",
            wallet.map(|w| {
                Arc::new(WalletHandle {
                    wallet: Arc::new(w),
                    backend: Arc::new(backend),
                    http,
                })
            }),
        )
    }

    pub fn state(&self) -> Result<AccountStatus, EidError> {
        logged("state", self.wallet.state())
    }

    pub fn is_set_up(&self) -> Result<bool, EidError> {
        logged("is_set_up", self.wallet.is_set_up())
    }

    pub fn is_unlocked(&self) -> bool {
        self.wallet.is_unlocked()
    }

    /// First run: sets the 6-digit passcode, creates the device key, unlocks. Returns the device
    /// public key (SEC1 uncompressed P-256).
    pub fn set_up(&self, passcode: String) -> Result<Vec<u8>, EidError> {
        logged(
            "set_up",
            self::passcode(&passcode).and_then(|p| Ok(self.wallet.set_up(&p)?)),
        )
    }

    /// Fails with `WrongPasscode { attempts_left }` or `Locked { until_ms }`.
    pub fn unlock(&self, passcode: String) -> Result<(), EidError> {
        logged(
            "unlock",
            self::passcode(&passcode).and_then(|p| Ok(self.wallet.unlock(&p)?)),
        )
    }

    pub fn lock(&self) {
        self.wallet.lock();
    }

    pub fn change_passcode(&self, old: String, new: String) -> Result<(), EidError> {
        let r = passcode(&old).and_then(|o| Ok((o, passcode(&new)?)));
        logged(
            "change_passcode",
            r.and_then(|(o, n)| Ok(self.wallet.change_passcode(&o, &n)?)),
        )
    }

    pub fn enable_biometric(&self, passcode: String) -> Result<(), EidError> {
        logged(
            "enable_biometric",
            self::passcode(&passcode).and_then(|p| Ok(self.wallet.enable_biometric(&p)?)),
        )
    }

    /// The key store's `unwrap_key` shows the platform's biometric prompt.
    pub fn unlock_with_biometric(&self) -> Result<(), EidError> {
        logged("unlock_with_biometric", self.wallet.unlock_with_biometric())
    }

    pub fn account_id(&self) -> Result<Option<String>, EidError> {
        logged("account_id", self.wallet.account_id())
    }

    /// Works while locked.
    pub fn document_count(&self) -> Result<u64, EidError> {
        logged("document_count", self.wallet.document_count())
    }

    // The readable documents. One that cannot be read does not hide the others: it is left out
    // and named in the log (id and kind only). A plain comment: the generated bindings keep
    // their text (issue 12).
    pub fn documents(&self) -> Result<Vec<DocumentInfo>, EidError> {
        let list = self.wallet.document_list();
        if let Ok(l) = &list {
            for d in &l.damaged {
                crate::log::log(crate::log::LogLevel::Warn, || {
                    format!(
                        "documents: {} ({}) is damaged and cannot be read",
                        d.id, d.kind
                    )
                });
            }
        }
        logged(
            "documents",
            // The holder's own: the FFI does not show dependants' documents yet (ADR 0055).
            list.map(|l| {
                l.documents
                    .iter()
                    .filter(|i| i.dependant.is_none())
                    .map(|i| self.info(i))
                    .collect()
            }),
        )
    }

    /// One document of any kind (built in, or declared in the synced kind list).
    pub fn document(&self, id: String) -> Result<DocumentDetail, EidError> {
        let doc = self.wallet.document_view(&id).map(|v| DocumentDetail {
            info: self.info(&v.info),
            fields_json: v.fields_json.to_string(),
        });
        logged("document", doc)
    }

    /// The document's fields with their labels, in its kind's declaration order: any kind,
    /// one the app was built with or not.
    pub fn document_fields(&self, id: String) -> Result<Vec<LabelledField>, EidError> {
        let fields = self.wallet.document_view(&id).map(|v| {
            v.labelled_fields
                .into_iter()
                .map(LabelledField::from)
                .collect()
        });
        logged("document_fields", fields)
    }

    /// A kind's declaration as JSON by machine name: a built-in kind's, or one from the
    /// backend's signed kind list synced by this wallet (docs/adr/0060); `None` if unknown.
    pub fn kind_declaration_json(&self, kind: String) -> Result<Option<String>, EidError> {
        logged(
            "kind_declaration_json",
            self.wallet
                .kind_declaration(&kind)
                .map(|d| d.map(|d| d.to_json().to_string())),
        )
    }

    pub fn transactions(&self) -> Result<Vec<TransactionEntry>, EidError> {
        let log = self.wallet.transactions().map(|all| {
            all.into_iter()
                .map(|t| TransactionEntry {
                    at_ms: t.at_ms,
                    kind: t.kind,
                    counterparty: t.counterparty,
                    profile: t.profile,
                    fields: t.fields,
                    outcome: t.outcome,
                    detail: t.detail,
                })
                .collect()
        });
        logged("transactions", log)
    }

    pub fn sync_status(&self) -> Result<SyncStatus, EidError> {
        let s = self.wallet.sync_state().map(|s| SyncStatus {
            last_synced_ms: s.last_synced_ms,
            last_attempt_ms: s.last_attempt_ms,
            pending: s.pending,
            last_error: s.last_error,
        });
        logged("sync_status", s)
    }

    /// Removes everything from this device: documents, log, account, keys.
    pub fn wipe(&self) -> Result<(), EidError> {
        logged("wipe", self.wallet.wipe())
    }

    /// Activation step 1: the backend sends an SMS code to `phone`.
    pub async fn start_activation(
        &self,
        id_number: String,
        phone: String,
    ) -> Result<PendingActivation, EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("start_activation", async move {
            Ok(w.start_activation(&b, &id_number, &phone).await?)
        })
        .await
    }

    /// Activation step 2 (set up; `chip` read with the pending challenge). The passcode is
    /// registered at the backend as the citizen's consent for remote actions (docs/adr/0017).
    pub async fn complete_activation(
        &self,
        pending: PendingActivation,
        sms_code: String,
        chip: Arc<ChipRead>,
        passcode: Arc<crate::passcode::Passcode>,
    ) -> Result<Activation, EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("complete_activation", async move {
            let (account_id, level) = w
                .complete_activation(&b, &pending, &sms_code, &chip.document, &passcode.0)
                .await?;
            Ok(Activation { account_id, level })
        })
        .await
    }

    /// Pulls trust list, status list and documents; all or nothing. With the `passcode`, also
    /// refills the presentation credentials of profiles running low (their issuance needs the
    /// citizen's consent, docs/adr/0017); without it, `presentation_error` says so when one
    /// runs low.
    pub async fn sync(
        &self,
        listener: Option<Arc<dyn SyncListener>>,
        passcode: Option<Arc<crate::passcode::Passcode>>,
    ) -> Result<SyncReport, EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("sync", async move {
            let listener = listener.map(ForeignSyncListener);
            Ok(w.sync(
                &b,
                listener
                    .as_ref()
                    .map(|l| l as &dyn eid_core::platform::SyncListener),
                passcode.as_ref().map(|p| &p.0),
            )
            .await?)
        })
        .await
    }

    /// Locks the account at the backend (lost or stolen phone): the device key alone may.
    pub async fn lock_account_remote(&self) -> Result<(), EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("lock_account_remote", async move {
            w.lock_account_remote(&b).await?;
            Ok(())
        })
        .await
    }

    /// Unlocks the account at the backend: needs the citizen's passcode, proved to the backend
    /// (`WrongPasscode { attempts_left }` with the backend's count; five failures lock remote
    /// consent for a while: `Backend { code: "rate_limited" }`).
    pub async fn unlock_account_remote(
        &self,
        passcode: Arc<crate::passcode::Passcode>,
    ) -> Result<(), EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("unlock_account_remote", async move {
            w.unlock_account_remote(&b, &passcode.0).await?;
            Ok(())
        })
        .await
    }

    /// Changes the passcode of an activated wallet, at the backend too, with the old one.
    /// (`change_passcode` is for a wallet that is not activated yet.)
    pub async fn change_passcode_online(
        &self,
        old: Arc<crate::passcode::Passcode>,
        new: Arc<crate::passcode::Passcode>,
    ) -> Result<(), EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("change_passcode_online", async move {
            w.change_passcode_online(&b, &old.0, &new.0).await?;
            Ok(())
        })
        .await
    }
}
