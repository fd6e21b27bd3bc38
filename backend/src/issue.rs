//! Issuing a document credential for a device and keeping it.

use crate::AppState;
use crate::db::next_counter;
use crate::error::Error;
use crate::lists::STATUS_LIST_URI;
use eid_core::credential::{self, Document, StatusRef, Validity};

/// Credentials handed to wallets are valid one year; the wallet syncs long before.
pub const CREDENTIAL_LIFETIME: u64 = 365 * 86_400;

/// Issues `doc` for the device key with a new status list entry and stores it as the device's
/// document of that kind (unless one appeared meanwhile). Returns the credential.
pub async fn store_new(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    device_id: &str,
    device_key: &[u8],
    doc: &Document,
) -> Result<Vec<u8>, Error> {
    let kind = doc.kind();
    let index = next_counter(tx, "status_index").await?;
    let now = state.now();
    let status = StatusRef {
        list: STATUS_LIST_URI.into(),
        index: u32::try_from(index).map_err(|_| Error::Registry("status list full".into()))?,
    };
    let bytes = credential::issue(
        kind,
        doc,
        device_key,
        Validity::starting(now, CREDENTIAL_LIFETIME),
        &status,
        state.keys.issuer(kind)?,
    )?;
    // Check what we hand out as a wallet would, and take its id from it.
    let verified = credential::verify(&bytes, &state.keys.trust_list, now)
        .map_err(|e| Error::Registry(e.to_string()))?;
    let seq = next_counter(tx, "seq").await?;
    sqlx::query(
        "INSERT INTO documents (id, device_id, kind, credential, status_index, seq, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(&verified.id)
    .bind(device_id)
    .bind(kind.as_str())
    .bind(&bytes)
    .bind(index)
    .bind(seq)
    .bind(state.now_i64())
    .execute(&mut **tx)
    .await?;
    Ok(bytes)
}
