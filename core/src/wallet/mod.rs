//! The facade an app uses: open a wallet in a directory with the platform's key store, then set
//! it up or unlock it, and work with documents, the account and the transaction log.
//!
//! Keys: a random 32-byte data key seals every record of the store. It is kept wrapped twice —
//! by the passcode's key encryption key (Argon2id) and then by the platform key store (hardware
//! on phones) — so a copied database needs both the device and the passcode. The passcode's
//! stored verifier is wrapped by the same platform key, so the database alone cannot check a
//! guess either. With biometric
//! unlock enabled, the platform key store also keeps a copy wrapped under a biometric-bound key.

mod authorize;
mod batch;
mod claim_labels;
mod conditional;
mod consent;
mod data_key;
mod disclosures;
mod error;
mod history;
mod hub_answer;
mod kinds;
mod mdoc;
mod mdoc_source;
mod notices;
mod present;
mod relying_parties;
mod sdjwt;
mod signing;
mod submissions;
mod superseded;
mod sync;
mod sync_state;

pub use sync::PendingActivation;
pub use sync_state::{SyncReport, SyncState};

pub use authorize::{
    AuthorizationPrompt, AuthorizationSent, AuthorizeError, RequestedClaim, RpBehind, RpIdentity,
    claim_text,
};
pub use claim_labels::ClaimLabel;
pub use disclosures::{Disclosure, DisclosureSource};
pub use error::WalletError;
pub use history::{FieldChange, HistoryEntry};
pub use kinds::DocumentView;
pub use mdoc::{HeldMdoc, MDOC_BATCH, MDOC_LOW_WATER, MdocStock, doc_type_of};
pub use mdoc_source::{WalletMdocs, shown_again};
pub use present::{Consent, PRESENTATION_BATCH, PresentationOut, PresentationStock};
pub use sdjwt::{
    HeldSdJwt, SDJWT_BATCH, SDJWT_LOW_WATER, SDJWT_VCTS, SdJwtKey, SdJwtStock, vct_of,
};

use crate::account::passcode::{KdfParams, Passcode, VerifierKey};
use crate::account::{Account, AccountState};
use crate::credential::kinds::KindDeclaration;
use crate::credential::{self, Held, KindName, TrustList, VerifiedCredential};
use crate::keys::{KeyError, KeyStore};
use crate::platform::Clock;
use crate::store::{NewDocument, Store};
use crate::transactions::Transaction;
use eid_crypto::{OsRng, SecretKey};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// Alias of the device signing key in the platform key store (binds credentials and QR codes).
pub const DEVICE_KEY_ALIAS: &str = "eid.device";
/// The database file inside the wallet directory.
pub const DB_FILE: &str = "wallet.db";
pub(crate) const META_TRUST_LIST: &str = "wallet.trust_list";

pub type Result<T, E = WalletError> = std::result::Result<T, E>;

/// Whether a document can be shown as valid today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Valid,
    Expired,
    NotYetValid,
    /// The last status list synced marks it suspended (e.g. a licence taken away until a date,
    /// docs/adr/0056): held offline too.
    Suspended,
    /// The last status list synced marks it revoked.
    Revoked,
}

/// A document as a list shows it. Sealed in the store as the record's summary.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentInfo {
    pub id: String,
    /// The kind's machine name: a built-in kind, or one known only from the backend's signed
    /// kind list (docs/adr/0060).
    pub kind: KindName,
    pub title: String,
    pub holder: String,
    /// ISO date printed on the document, if it has one.
    pub valid_until: Option<String>,
    /// The credential's own validity, Unix seconds.
    pub credential_not_before: u64,
    pub credential_expires: u64,
    pub issuer: String,
    /// The child the document belongs to when it is a dependant's, not the holder's own
    /// (docs/adr/0055). Sealed with the summary like the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependant: Option<crate::api::Dependant>,
    /// The credential's status list entry (list URI, index); absent in summaries stored before
    /// docs/adr/0056 (those are not checked against the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_list: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_index: Option<u32>,
}

impl std::fmt::Debug for DocumentInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentInfo")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl DocumentInfo {
    fn from_held(held: &Held) -> Result<Self> {
        let (id, kind, title, holder, valid_until, validity, issuer, status) = match held {
            Held::Typed(v) => {
                let s = v.document.summary();
                (
                    &v.id,
                    KindName::from(v.kind),
                    s.title.to_owned(),
                    s.holder,
                    s.valid_until,
                    v.validity,
                    &v.issuer,
                    &v.status,
                )
            }
            Held::Declared(d) => {
                let s = d.summary();
                let kind = KindName::new(d.kind()).ok_or(WalletError::Corrupt("kind name"))?;
                (
                    &d.id,
                    kind,
                    s.title_vi,
                    s.holder,
                    s.valid_until,
                    d.validity,
                    &d.issuer,
                    &d.status,
                )
            }
        };
        Ok(DocumentInfo {
            id: id.clone(),
            kind,
            title,
            holder,
            valid_until: valid_until.map(|d| d.to_string()),
            credential_not_before: validity.not_before,
            credential_expires: validity.expires,
            issuer: issuer.clone(),
            dependant: None,
            status_list: Some(status.list.clone()),
            status_index: Some(status.index),
        })
    }

    /// Valid, expired or not yet valid at `now` (Unix seconds): both the credential and the date
    /// printed on the document count.
    pub fn status_at(&self, now: u64) -> DocumentStatus {
        let printed_expired = self
            .valid_until
            .as_deref()
            .and_then(credential::Date::parse_iso)
            .is_some_and(|d| d.unix_seconds().saturating_add(86_400) <= now);
        if now < self.credential_not_before {
            DocumentStatus::NotYetValid
        } else if now >= self.credential_expires || printed_expired {
            DocumentStatus::Expired
        } else {
            DocumentStatus::Valid
        }
    }
}

/// A stored document that cannot be read. Its id is random and its kind a category, so naming
/// them discloses nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DamagedDocument {
    pub id: String,
    /// The kind as stored (`identity`, `driving_licence`, ...), unchecked.
    pub kind: String,
}

/// The wallet's documents: those that read, and those that do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentList {
    pub documents: Vec<DocumentInfo>,
    pub damaged: Vec<DamagedDocument>,
}

/// Credentials checked for this device, with the sealed-summary bytes the store keeps.
pub(crate) struct CheckedBatch {
    pub infos: Vec<DocumentInfo>,
    summaries: Vec<Vec<u8>>,
    /// The checked credentials of built-in kinds (for the history of a sync, docs/adr/0056).
    pub verified: Vec<VerifiedCredential>,
}

impl CheckedBatch {
    /// Verifies every credential now against `trust` and for this device; fails on the first bad.
    pub fn new(w: &Wallet, credentials: &[Vec<u8>], trust: &TrustList) -> Result<Self> {
        Self::of(w, credentials, &[], trust, &w.declared_kinds_with(trust)?)
    }

    /// [`CheckedBatch::new`] with the dependant each credential belongs to (none past the end
    /// of `dependants`), from the sync page (docs/adr/0055).
    pub fn of(
        w: &Wallet,
        credentials: &[Vec<u8>],
        dependants: &[Option<crate::api::Dependant>],
        trust: &TrustList,
        declared: &[KindDeclaration],
    ) -> Result<Self> {
        let now = w.now();
        let mut batch = CheckedBatch {
            infos: Vec::new(),
            summaries: Vec::new(),
            verified: Vec::new(),
        };
        for (i, c) in credentials.iter().enumerate() {
            let held = w.verify_held(c, trust, now, declared)?;
            let mut info = DocumentInfo::from_held(&held)?;
            info.dependant = dependants.get(i).cloned().flatten();
            batch
                .summaries
                .push(serde_json::to_vec(&info).map_err(|_| WalletError::Corrupt("summary"))?);
            batch.infos.push(info);
            if let Held::Typed(verified) = held {
                batch.verified.push(verified);
            }
        }
        Ok(batch)
    }

    /// Rows for the store; `credentials` are the ones given to [`CheckedBatch::new`].
    pub fn rows<'a>(&'a self, credentials: &'a [Vec<u8>]) -> Vec<NewDocument<'a>> {
        self.infos
            .iter()
            .zip(&self.summaries)
            .zip(credentials)
            .map(|((i, s), c)| NewDocument {
                id: &i.id,
                kind: i.kind.as_str(),
                summary: s,
                body: c,
            })
            .collect()
    }
}

/// The wallet of one citizen on one device.
pub struct Wallet {
    store: Store,
    keys: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    kdf: KdfParams,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("unlocked", &self.store.is_unlocked())
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// Opens (or creates) the wallet in `data_dir`. It starts locked: state and lockout can be
    /// read, documents need [`Wallet::unlock`] (or [`Wallet::set_up`] the first time).
    pub fn open(data_dir: &Path, keys: Arc<dyn KeyStore>, clock: Arc<dyn Clock>) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| WalletError::Io(e.kind().to_string()))?;
        // Only the user may list or open the wallet's files.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| WalletError::Io(e.kind().to_string()))?;
        }
        let store = Store::open_locked(&data_dir.join(DB_FILE))?;
        Ok(Wallet {
            store,
            keys,
            clock,
            kdf: KdfParams::DEFAULT,
        })
    }

    /// Passcode hashing cost (tests use a cheap one; apps keep the default).
    pub fn with_kdf(mut self, kdf: KdfParams) -> Self {
        self.kdf = kdf;
        self
    }

    fn account(&self) -> Account<'_> {
        // The passcode verifier is wrapped by the same platform key as the data key.
        let verifier_key = VerifierKey {
            keys: &*self.keys,
            alias: data_key::PASSCODE_ALIAS,
        };
        Account::new(&self.store, &*self.clock, verifier_key)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.clock.wall_ms() / 1000).unwrap_or(0)
    }

    pub fn state(&self) -> Result<AccountState> {
        Ok(self.account().state()?)
    }

    pub fn is_set_up(&self) -> Result<bool> {
        Ok(self.account().has_passcode()?)
    }

    pub fn is_unlocked(&self) -> bool {
        self.store.is_unlocked()
    }

    /// First run: sets the passcode, creates the data key and the device key, and unlocks.
    /// Returns the device public key (SEC1, uncompressed P-256).
    pub fn set_up(&self, passcode: &Passcode) -> Result<Vec<u8>> {
        let kek = self
            .account()
            .set_passcode(passcode, self.kdf, &mut OsRng)?;
        let data_key = data_key::generate();
        let wrapped = data_key::wrap_for_passcode(&*self.keys, &kek, &data_key)?;
        self.store.meta_put(data_key::META_WRAPPED, &wrapped)?;
        let device_key = match self.keys.create_signing_key(DEVICE_KEY_ALIAS) {
            Ok(pk) => pk,
            // A key left by an earlier install of the app on this device: replace it.
            Err(KeyError::AlreadyExists) => {
                self.keys.delete(DEVICE_KEY_ALIAS)?;
                self.keys.create_signing_key(DEVICE_KEY_ALIAS)?
            }
            Err(e) => return Err(e.into()),
        };
        self.store.unlock(data_key)?;
        Ok(device_key)
    }

    /// Unlocks with the passcode (lockout rules apply).
    pub fn unlock(&self, passcode: &Passcode) -> Result<()> {
        let kek = self.account().unlock(passcode)?;
        let data_key = self.data_key_with(&kek)?;
        self.store.unlock(data_key)?;
        Ok(())
    }

    fn data_key_with(&self, kek: &SecretKey) -> Result<SecretKey> {
        let wrapped = self
            .store
            .meta_get(data_key::META_WRAPPED)?
            .ok_or(WalletError::NotSetUp)?;
        data_key::unwrap_with_passcode(&*self.keys, kek, &wrapped)
    }

    /// Lets biometric unlock release the data key: the platform key store keeps a copy wrapped
    /// under a key that only opens after the platform's biometric prompt.
    pub fn enable_biometric(&self, passcode: &Passcode) -> Result<()> {
        let kek = self.account().unlock(passcode)?;
        let data_key = self.data_key_with(&kek)?;
        let wrapped = self
            .keys
            .wrap_key(data_key::BIOMETRIC_ALIAS, data_key.as_bytes())?;
        self.store.meta_put(data_key::META_BIOMETRIC, &wrapped)?;
        Ok(())
    }

    /// Unlocks through the platform's biometric prompt (the key store's `unwrap_key` shows it).
    pub fn unlock_with_biometric(&self) -> Result<()> {
        if self.state()? == AccountState::Revoked {
            return Err(crate::account::AccountError::Revoked.into());
        }
        let wrapped = self
            .store
            .meta_get(data_key::META_BIOMETRIC)?
            .ok_or(WalletError::NotSetUp)?;
        let key = self.keys.unwrap_key(data_key::BIOMETRIC_ALIAS, &wrapped)?;
        self.store.unlock(SecretKey::new(key.to_vec()))?;
        Ok(())
    }

    /// Forgets the data key until the next unlock.
    pub fn lock(&self) {
        self.store.lock();
    }

    /// Changes the passcode of a wallet that is not activated: the new passcode record and the
    /// re-wrapped data key are written in one transaction, so a crash leaves either the old or
    /// the new passcode working. An activated wallet's passcode is also the citizen's consent at
    /// the backend (docs/adr/0017): it changes with [`Wallet::change_passcode_online`] only.
    pub fn change_passcode(&self, old: &Passcode, new: &Passcode) -> Result<()> {
        if self.account_id()?.is_some() {
            return Err(WalletError::InvalidInput(
                "an activated wallet changes its passcode online, with the backend".into(),
            ));
        }
        let change = self.prepare_change(old, new)?;
        self.commit_change(change)
    }

    /// Checks the old passcode and prepares the new record and the re-wrapped data key.
    fn prepare_change(
        &self,
        old: &Passcode,
        new: &Passcode,
    ) -> Result<(crate::account::PasscodeChange, Vec<u8>)> {
        let change = self
            .account()
            .prepare_passcode_change(old, new, self.kdf, &mut OsRng)?;
        let data_key = self.data_key_with(&change.old_kek)?;
        let wrapped = data_key::wrap_for_passcode(&*self.keys, &change.new_kek, &data_key)?;
        Ok((change, wrapped))
    }

    fn commit_change(
        &self,
        (change, wrapped): (crate::account::PasscodeChange, Vec<u8>),
    ) -> Result<()> {
        self.store.meta_put_all(&[
            (change.record_key, change.record.as_slice()),
            (data_key::META_WRAPPED, wrapped.as_slice()),
        ])?;
        Ok(())
    }

    /// Marks the account active at `level` (the backend confirmed activation).
    pub fn activate(&self, level: u8) -> Result<()> {
        Ok(self.account().activate(level)?)
    }

    /// The account was revoked: documents are wiped, the state stays `Revoked`.
    pub fn revoke(&self) -> Result<()> {
        // Every row, readable or not: a revoked wallet keeps no document.
        for (id, _, _) in self
            .store
            .list_summaries_each()
            .map_err(WalletError::from_store)?
        {
            self.store.delete_document(&id)?;
        }
        Ok(self.account().revoke()?)
    }

    /// The device public key (SEC1, uncompressed P-256).
    pub fn device_public_key(&self) -> Result<Vec<u8>> {
        self.keys
            .public_key(DEVICE_KEY_ALIAS)?
            .ok_or(WalletError::NotSetUp)
    }

    /// Signs with the device key (DER ECDSA P-256/SHA-256, low-S: [`eid_crypto::es256`]); only
    /// while unlocked.
    pub fn sign_with_device_key(&self, message: &[u8]) -> Result<Vec<u8>> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        let der = self.keys.sign(DEVICE_KEY_ALIAS, message)?;
        Ok(eid_crypto::es256::normalize_der(&der).ok_or(KeyError::Crypto)?)
    }

    /// Replaces the issuer trust list used to check documents.
    pub fn set_trust_list(&self, list: &TrustList) -> Result<()> {
        let bytes = list
            .encode()
            .map_err(|_| WalletError::Corrupt("trust list"))?;
        // Not the backend's answer any more: the next sync asks for the whole list.
        let (etag_key, none) = conditional::etag_entry(META_TRUST_LIST, None);
        Ok(self
            .store
            .meta_put_all(&[(META_TRUST_LIST, &bytes), (&etag_key, &none)])?)
    }

    pub fn trust_list(&self) -> Result<TrustList> {
        let bytes = self
            .store
            .meta_get(META_TRUST_LIST)?
            .ok_or(WalletError::Corrupt("trust list (none yet)"))?;
        TrustList::decode(&bytes).map_err(|_| WalletError::Corrupt("trust list"))
    }

    fn verify_for_this_device(
        &self,
        credential: &[u8],
        trust: &TrustList,
        at: u64,
    ) -> Result<VerifiedCredential> {
        match self.verify_held(credential, trust, at, &[])? {
            Held::Typed(v) => Ok(v),
            Held::Declared(_) => Err(credential::CredentialError::MalformedEncoding("kind").into()),
        }
    }

    /// A credential of any kind checked at `at` (built in, or among `declared`: the verified
    /// kind list's), bound to this device.
    fn verify_held(
        &self,
        credential: &[u8],
        trust: &TrustList,
        at: u64,
        declared: &[KindDeclaration],
    ) -> Result<Held> {
        let held = match credential::verify_any(credential, trust, at, declared) {
            // Just issued by a backend whose clock runs ahead of the phone's: accept within the
            // skew device requests are allowed too.
            Err(credential::CredentialError::NotYetValid) => credential::verify_any(
                credential,
                trust,
                at.saturating_add(crate::api::MAX_SKEW_SECONDS),
                declared,
            )?,
            other => other?,
        };
        let holder_key = match &held {
            Held::Typed(v) => &v.holder_key,
            Held::Declared(d) => &d.holder_key,
        };
        let device = self.device_public_key()?;
        if !eid_crypto::ct_eq(holder_key, &device) {
            return Err(credential::CredentialError::HolderKeyMissing.into());
        }
        Ok(held)
    }

    /// Checks issuer credentials (signature, trust list, validity now, holder = this device,
    /// document rules) and stores them, all or none, in one transaction.
    pub fn import(&self, credentials: &[Vec<u8>]) -> Result<Vec<DocumentInfo>> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        let checked = CheckedBatch::new(self, credentials, &self.trust_list()?)?;
        self.store
            .put_documents(&checked.rows(credentials))
            .map_err(WalletError::from_store)?;
        Ok(checked.infos)
    }

    /// How many documents the wallet holds (works while locked).
    pub fn document_count(&self) -> Result<u64> {
        Ok(self.store.document_count()?)
    }

    /// Every readable document, for the list screen (decrypts summaries only). A document that
    /// cannot be read does not hide the others: it is left out here and named by
    /// [`Wallet::document_list`].
    pub fn documents(&self) -> Result<Vec<DocumentInfo>> {
        Ok(self
            .document_list()?
            .documents
            .into_iter()
            .filter(|d| d.dependant.is_none())
            .collect())
    }

    /// The readable documents of the holder's dependants (docs/adr/0055), kept apart from the
    /// holder's own: [`Wallet::documents`] leaves them out, presentations of the holder never
    /// read them.
    pub fn dependant_documents(&self) -> Result<Vec<DocumentInfo>> {
        Ok(self
            .document_list()?
            .documents
            .into_iter()
            .filter(|d| d.dependant.is_some())
            .collect())
    }

    /// The dependants whose documents the wallet holds, youngest first, each once.
    pub fn dependants(&self) -> Result<Vec<crate::api::Dependant>> {
        let mut out: Vec<crate::api::Dependant> = Vec::new();
        for d in self
            .dependant_documents()?
            .into_iter()
            .filter_map(|d| d.dependant)
        {
            if !out.iter().any(|o| o.id == d.id) {
                out.push(d);
            }
        }
        out.sort_by(|a, b| b.birth_date.cmp(&a.birth_date));
        Ok(out)
    }

    /// The readable documents and the ones that are not (altered, sealed under another key, or
    /// a summary that no longer decodes), named by id and stored kind only.
    pub fn document_list(&self) -> Result<DocumentList> {
        let mut list = DocumentList::default();
        for (id, kind, summary) in self
            .store
            .list_summaries_each()
            .map_err(WalletError::from_store)?
        {
            match summary
                .ok()
                .and_then(|s| serde_json::from_slice::<DocumentInfo>(&s).ok())
            {
                Some(info) => list.documents.push(info),
                None => list.damaged.push(DamagedDocument { id, kind }),
            }
        }
        Ok(list)
    }

    /// Status of a listed document now: its dates, then what the last status list synced says
    /// of it (suspended or revoked, known offline too; docs/adr/0056). A list that does not
    /// verify or does not cover the entry leaves the dates' answer.
    pub fn status_of(&self, info: &DocumentInfo) -> DocumentStatus {
        let now = self.now();
        let by_dates = info.status_at(now);
        if by_dates != DocumentStatus::Valid {
            return by_dates;
        }
        let (Some(list_uri), Some(index)) = (&info.status_list, info.status_index) else {
            return by_dates;
        };
        match self.synced_status_list(now) {
            Some(list) if &list.list == list_uri => match list.status(index) {
                crate::verify::Status::Suspended => DocumentStatus::Suspended,
                crate::verify::Status::Revoked => DocumentStatus::Revoked,
                _ => by_dates,
            },
            _ => by_dates,
        }
    }

    /// One document with its full content, checked again (signature and trust; shown even when
    /// expired, with its status).
    pub fn document(&self, id: &str) -> Result<(DocumentInfo, VerifiedCredential)> {
        let doc = self
            .store
            .document(id)
            .map_err(WalletError::from_store)?
            .ok_or(WalletError::NotFound)?;
        let info: DocumentInfo =
            serde_json::from_slice(&doc.summary).map_err(|_| WalletError::Corrupt("summary"))?;
        // Check at a moment inside the credential's validity: expiry is reported as status.
        let v = self.verify_for_this_device(
            &doc.body,
            &self.trust_list()?,
            info.credential_not_before,
        )?;
        Ok((info, v))
    }

    /// Adds an entry to the transaction log (sealed).
    pub fn record(&self, entry: &Transaction) -> Result<()> {
        let bytes = entry
            .to_bytes()
            .map_err(|_| WalletError::Corrupt("transaction"))?;
        self.store
            .append_log(entry.at_ms, &bytes)
            .map_err(WalletError::from_store)?;
        Ok(())
    }

    /// The transaction log, oldest first.
    pub fn transactions(&self) -> Result<Vec<Transaction>> {
        self.store
            .log()
            .map_err(WalletError::from_store)?
            .iter()
            .map(|e| {
                Transaction::from_bytes(&e.record).map_err(|_| WalletError::Corrupt("transaction"))
            })
            .collect()
    }

    /// Removes everything from this device: documents, log, account, keys.
    pub fn wipe(&self) -> Result<()> {
        self.store.wipe()?;
        self.account().wipe()?;
        for k in [
            data_key::META_WRAPPED,
            data_key::META_BIOMETRIC,
            META_TRUST_LIST,
            kinds::META_KINDS,
        ] {
            self.store.meta_delete(k)?;
        }
        for alias in [
            DEVICE_KEY_ALIAS,
            data_key::PASSCODE_ALIAS,
            data_key::BIOMETRIC_ALIAS,
        ] {
            self.keys.delete(alias)?;
        }
        self.store.lock();
        Ok(())
    }
}
