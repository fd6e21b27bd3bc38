//! Kinds delivered as data (docs/adr/0060): the backend's signed kind list, synced with its
//! ETag like the other public lists (docs/adr/0044) and stored as signed; re-checked against
//! the trust list whenever it is read. Its declarations of kinds this library has no code for
//! are what the wallet checks, lists and shows their credentials by; apps render them from
//! [`Wallet::kind_declaration`] and [`Wallet::document_view`], never from a closed enum.

use super::{Result, Wallet, WalletError, conditional};
use crate::api::ErrorCode;
use crate::client::{BackendClient, ClientError, Fetched};
use crate::credential::kinds::{self, KindDeclaration, LabelledField};
use crate::credential::{Held, TrustList};
use crate::verify::KindList;

/// The signed kind list as the backend sent it.
pub(crate) const META_KINDS: &str = "wallet.kinds";

/// One document of any kind as an app shows it: the list entry, the fields as JSON, and the
/// same fields labelled in its declaration's order.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentView {
    pub info: super::DocumentInfo,
    /// The kind's English title (the Vietnamese one is `info.title`).
    pub title_en: String,
    pub fields_json: serde_json::Value,
    pub labelled_fields: Vec<LabelledField>,
}

impl Wallet {
    /// The stored kind list, checked against `trust` now; `None` when none is stored.
    fn held_kind_list(&self, trust: &TrustList) -> Result<Option<KindList>> {
        let Some(signed) = self.store.meta_get(META_KINDS)? else {
            return Ok(None);
        };
        Ok(Some(KindList::from_signed(&signed, trust, self.now())?))
    }

    /// The declarations of the synced kinds this library has no code for, checked against
    /// `trust`.
    pub(super) fn declared_kinds_with(&self, trust: &TrustList) -> Result<Vec<KindDeclaration>> {
        Ok(self
            .held_kind_list(trust)?
            .map(|l| l.declared_only())
            .unwrap_or_default())
    }

    /// The synced declarations of kinds this library has no code for (none before a sync
    /// with a backend that publishes a kind list).
    pub fn declared_kinds(&self) -> Result<Vec<KindDeclaration>> {
        if self.store.meta_get(META_KINDS)?.is_none() {
            return Ok(Vec::new());
        }
        self.declared_kinds_with(&self.trust_list()?)
    }

    /// A kind's declaration by machine name: the library's for a built-in kind, else the
    /// synced kind list's.
    pub fn kind_declaration(&self, name: &str) -> Result<Option<KindDeclaration>> {
        if let Some(d) = kinds::by_name(name) {
            return Ok(Some(d.clone()));
        }
        Ok(self.declared_kinds()?.into_iter().find(|d| d.name == name))
    }

    /// At sync: the kind list, asked for with the ETag of the one held. A changed one must
    /// verify against `trust` (this sync's) and is taken unless older than the one held; it joins
    /// `lists`, stored with the documents in one transaction. Returns the declarations the
    /// documents of this sync are checked by.
    pub(super) async fn sync_kinds(
        &self,
        client: &BackendClient,
        trust: &TrustList,
        lists: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<Vec<KindDeclaration>> {
        match client
            .kinds_if_changed(self.stored_etag(META_KINDS)?.as_deref())
            .await
        {
            Ok(Fetched::Changed(answer, tag)) => {
                let list = KindList::from_signed(&answer.signed.0, trust, self.now())?;
                // Older than the one held (another backend instance signed it at its own
                // start): the held one stays. One that no longer verifies under a new trust
                // list is replaced, whatever its age.
                if let Ok(Some(held)) = self.held_kind_list(trust)
                    && list.issued_at < held.issued_at
                {
                    return Ok(held.declared_only());
                }
                lists.push((META_KINDS.to_owned(), answer.signed.0));
                lists.push(conditional::etag_entry(META_KINDS, tag.as_deref()));
                Ok(list.declared_only())
            }
            Ok(Fetched::Unchanged)
            | Err(ClientError::Api {
                code: ErrorCode::NotFound,
                ..
            }) => self.declared_kinds_with(trust),
            Err(e) => Err(e.into()),
        }
    }

    /// One document of any kind, checked again (signature, trust, the declaration's rules;
    /// shown even when expired, with its status), with its fields as JSON and labelled.
    pub fn document_view(&self, id: &str) -> Result<DocumentView> {
        let doc = self
            .store
            .document(id)
            .map_err(WalletError::from_store)?
            .ok_or(WalletError::NotFound)?;
        let info: super::DocumentInfo =
            serde_json::from_slice(&doc.summary).map_err(|_| WalletError::Corrupt("summary"))?;
        let trust = self.trust_list()?;
        let declared = self.declared_kinds_with(&trust)?;
        // Checked at a moment inside the credential's validity: expiry is reported as status.
        let held = self.verify_held(&doc.body, &trust, info.credential_not_before, &declared)?;
        Ok(match held {
            Held::Typed(v) => DocumentView {
                title_en: v.kind.declaration().label_en.clone(),
                fields_json: v.document.fields_json(),
                labelled_fields: v.document.labelled_fields(),
                info,
            },
            Held::Declared(d) => DocumentView {
                title_en: d.declaration.label_en.clone(),
                fields_json: d.fields_json(),
                labelled_fields: d.labelled_fields(),
                info,
            },
        })
    }
}
