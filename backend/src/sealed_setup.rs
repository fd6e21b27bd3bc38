//! A secret every instance of one database shares, made on the first start and kept sealed under
//! the key-encryption key in a one-row table (`id = 1, sealed, created_at`): the consent
//! service's OPAQUE setup (docs/adr/0018), the OIDC facade's keys (docs/adr/0042). Instances
//! starting at the same moment may each make one; the first insert wins and all use its row.

use crate::db::Store;
use crate::error::Error;
use crate::signing::seal::SealKey;
use sqlx::Row;
use zeroize::Zeroizing;

/// One such table: its statements and the associated data its row is sealed with.
pub struct SealedRow {
    select: &'static str,
    insert: &'static str,
    purpose: &'static str,
}

/// The consent service's OPAQUE `ServerSetup` (docs/adr/0018).
pub const CONSENT_SETUP: SealedRow = SealedRow {
    select: "SELECT sealed FROM consent_setup WHERE id = 1",
    insert: "INSERT INTO consent_setup (id, sealed, created_at) VALUES (1, $1, $2) \
             ON CONFLICT DO NOTHING",
    purpose: "consent-setup",
};

/// The OIDC facade's keys (docs/adr/0042).
pub const OIDC_SECRETS: SealedRow = SealedRow {
    select: "SELECT sealed FROM oidc_secrets WHERE id = 1",
    insert: "INSERT INTO oidc_secrets (id, sealed, created_at) VALUES (1, $1, $2) \
             ON CONFLICT DO NOTHING",
    purpose: "oidc-secrets",
};

/// The plaintext of `row`, made by `make` when there is none yet.
pub async fn open_or_make(
    store: &Store,
    seal: &SealKey,
    row: &SealedRow,
    now: u64,
    make: impl FnOnce() -> Result<Zeroizing<Vec<u8>>, Error>,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let load = || async { sqlx::query(row.select).fetch_optional(store.pool()).await };
    if load().await?.is_none() {
        let sealed = seal.seal(row.purpose, &make()?)?;
        let mut w = store.write().await?;
        sqlx::query(row.insert)
            .bind(sealed)
            .bind(i64::try_from(now).unwrap_or(i64::MAX))
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
    }
    let stored = load()
        .await?
        .ok_or_else(|| Error::Config(format!("{}: the row is missing", row.purpose)))?;
    let sealed: Vec<u8> = stored.try_get(0)?;
    seal.open(row.purpose, &sealed)
}
