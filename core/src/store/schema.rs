//! The store's schema and its migrations.
//!
//! v1: `documents` and `meta`. v2: adds `log`. v3: adds `presentations`. v4: adds `history`. `init` writes the newest schema directly; the test
//! `upgraded_schema_equals_fresh` keeps it equal to v1 + every upgrade.

use rusqlite::{Connection, Transaction};

use super::db::{ConnectionInitializer, apply_pragmas};
use super::error::Result;

/// Sealed documents. `id` and `kind` are plaintext (the caller must keep ids opaque, never an ID
/// number); `summary` is small so lists decrypt fast without touching the large `body`.
const CREATE_DOCUMENTS: &str = "CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    summary BLOB NOT NULL,
    body BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT";

/// Plain non-personal state: account state, lockout counters, wrapped keys, salts.
const CREATE_META: &str = "CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT";

/// Sealed activity log (v2). `seq` is assigned by the store so the seal can bind it.
const CREATE_LOG: &str = "CREATE TABLE log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    record BLOB NOT NULL
) STRICT";

/// Presentation credentials (v3): one row per single-use credential, named by the key-store
/// alias of its own device key (random). `credential` is sealed and NULL until the issuer
/// answered; `used_at` (ms) is NULL until first shown.
const CREATE_PRESENTATIONS: &str = "CREATE TABLE presentations (
    alias TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    credential BLOB,
    used_at INTEGER,
    created_at INTEGER NOT NULL
) STRICT";

/// Sealed document history (v4, docs/adr/0056): one record per document replaced by a new
/// version of the issuer (what changed, old and new values). `seq` is assigned by the store so
/// the seal can bind it.
const CREATE_HISTORY: &str = "CREATE TABLE history (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    record BLOB NOT NULL
) STRICT";

pub(crate) struct StoreSchema;

impl ConnectionInitializer for StoreSchema {
    const NAME: &'static str = "eid wallet store";
    const END_VERSION: u32 = 4;

    fn prepare(&self, conn: &Connection) -> Result<()> {
        apply_pragmas(conn)
    }

    fn init(&self, tx: &Transaction<'_>) -> Result<()> {
        for sql in [
            CREATE_DOCUMENTS,
            CREATE_META,
            CREATE_LOG,
            CREATE_PRESENTATIONS,
            CREATE_HISTORY,
        ] {
            tx.execute_batch(sql)?;
        }
        Ok(())
    }

    fn upgrade_from(&self, tx: &Transaction<'_>, version: u32) -> Result<()> {
        match version {
            1 => tx.execute_batch(CREATE_LOG)?,
            2 => tx.execute_batch(CREATE_PRESENTATIONS)?,
            3 => tx.execute_batch(CREATE_HISTORY)?,
            // open_writer only calls this for 1..END_VERSION.
            _ => return Err(rusqlite::Error::InvalidQuery.into()),
        }
        Ok(())
    }
}

/// The v1 schema as it shipped, to build old databases in tests.
#[cfg(test)]
pub(crate) struct SchemaV1;

#[cfg(test)]
impl ConnectionInitializer for SchemaV1 {
    const NAME: &'static str = "eid wallet store v1";
    const END_VERSION: u32 = 1;

    fn prepare(&self, conn: &Connection) -> Result<()> {
        apply_pragmas(conn)
    }

    fn init(&self, tx: &Transaction<'_>) -> Result<()> {
        tx.execute_batch(CREATE_DOCUMENTS)?;
        tx.execute_batch(CREATE_META)?;
        Ok(())
    }

    fn upgrade_from(&self, _tx: &Transaction<'_>, _version: u32) -> Result<()> {
        Err(rusqlite::Error::InvalidQuery.into())
    }
}
