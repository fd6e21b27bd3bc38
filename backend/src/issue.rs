//! Issuing a document credential for a device, keeping it, and renewing it before it expires.

use crate::db::next_counter;
use crate::error::Error;
use crate::lists::STATUS_LIST_URI;
use crate::state::AppState;
use crate::status_index;
use eid_core::credential::{self, Document, StatusRef, Validity};

/// Credentials handed to wallets are valid one year.
pub const CREDENTIAL_LIFETIME: u64 = 365 * 86_400;
/// A credential this close to its expiry is renewed on the device's next sync.
pub const RENEW_BEFORE: u64 = 30 * 86_400;

/// A signed credential and what the database keeps about it.
struct Issued {
    id: String,
    bytes: Vec<u8>,
    status_index: i64,
    seq: i64,
}

/// What to issue: a built-in kind's model, or a document of a kind declared as data
/// (docs/adr/0060) as JSON typed by its declaration.
#[derive(Clone, Copy)]
pub enum ToIssue<'a> {
    Typed(&'a Document),
    Declared(&'a crate::kinds::DeclaredKind, &'a serde_json::Value),
}

impl ToIssue<'_> {
    fn kind(&self) -> &str {
        match self {
            ToIssue::Typed(d) => d.kind().as_str(),
            ToIssue::Declared(k, _) => &k.declaration.name,
        }
    }
}

async fn sign(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    device_key: &[u8],
    doc: ToIssue<'_>,
) -> Result<Issued, Error> {
    let index = status_index::allocate(tx).await?;
    let now = state.now();
    let status = StatusRef {
        list: STATUS_LIST_URI.into(),
        index,
    };
    let validity = Validity::starting(now, CREDENTIAL_LIFETIME);
    let bytes = match doc {
        ToIssue::Typed(doc) => credential::issue(
            doc.kind(),
            doc,
            device_key,
            validity,
            &status,
            state.keys.issuer_at(doc.kind(), now)?,
        )?,
        ToIssue::Declared(kind, json) => credential::issue_declared(
            &kind.declaration,
            json,
            device_key,
            validity,
            &status,
            state.keys.declared_issuer(&kind.declaration.name)?,
        )?,
    };
    // Check what we hand out as a wallet would, and take its id from it.
    let id = match credential::verify_any(
        &bytes,
        &state.keys.trust_list,
        now,
        &state.kinds.declarations(),
    )
    .map_err(|e| Error::Registry(e.to_string()))?
    {
        credential::Held::Typed(v) => v.id,
        credential::Held::Declared(d) => d.id,
    };
    let seq = next_counter(tx, "seq").await?;
    Ok(Issued {
        id,
        bytes,
        status_index: i64::from(index),
        seq,
    })
}

/// Issues `doc` for the device key with a new status list entry and stores it as the device's
/// document of that kind (unless one appeared meanwhile). Returns the credential.
pub async fn store_new(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    device_id: &str,
    device_key: &[u8],
    doc: &Document,
) -> Result<Vec<u8>, Error> {
    store_new_as(
        state,
        tx,
        device_id,
        device_key,
        ToIssue::Typed(doc),
        doc.kind().as_str(),
    )
    .await
}

/// [`store_new`] under the stored kind `stored_kind`: `KIND/REF` for a dependant's document
/// (docs/adr/0055), so the device holds one of each kind per person.
pub async fn store_new_as(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    device_id: &str,
    device_key: &[u8],
    doc: ToIssue<'_>,
    stored_kind: &str,
) -> Result<Vec<u8>, Error> {
    debug_assert!(stored_kind.starts_with(doc.kind()));
    let issued = sign(state, tx, device_key, doc).await?;
    sqlx::query(
        "INSERT INTO documents (id, device_id, kind, credential, status_index, seq, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(&issued.id)
    .bind(device_id)
    .bind(stored_kind)
    .bind(&issued.bytes)
    .bind(issued.status_index)
    .bind(issued.seq)
    .bind(state.now_i64())
    .execute(&mut **tx)
    .await?;
    Ok(issued.bytes)
}

/// Replaces the device's document `old_id` by a fresh credential of `doc`: the old id becomes a
/// tombstone (the wallet deletes it; its status entry is revoked).
pub async fn renew(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    device_id: &str,
    device_key: &[u8],
    old_id: &str,
    old_status_index: i64,
    doc: ToIssue<'_>,
) -> Result<(), Error> {
    let issued = sign(state, tx, device_key, doc).await?;
    sqlx::query(
        "INSERT INTO document_tombstones (id, device_id, status_index, seq) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(old_id)
    .bind(device_id)
    .bind(old_status_index)
    .bind(issued.seq)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE documents SET id = $1, credential = $2, status_index = $3, seq = $4, \
         created_at = $5 WHERE id = $6",
    )
    .bind(&issued.id)
    .bind(&issued.bytes)
    .bind(issued.status_index)
    .bind(issued.seq)
    .bind(state.now_i64())
    .bind(old_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
