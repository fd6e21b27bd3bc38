//! The wallet's local store: SQLite (bundled) in WAL mode, personal data sealed with AES-256-GCM
//! under a data key that lives only in memory (the app keeps it wrapped by the
//! [`KeyStore`](crate::keys::KeyStore)).
//!
//! The store keeps bytes: callers serialise documents. Document ids and kinds are stored in
//! plaintext for lookups, so ids must be opaque (random), never an ID number or a name; `meta`
//! values are plaintext too and only for non-personal state.
//!
//! One writer and one reader connection, each behind a mutex: reads never wait for a write to
//! commit (WAL), and the store is `Send + Sync` for the FFI layer.

mod db;
mod error;
mod presentations;
mod schema;
pub(crate) mod seal;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

pub use error::{Result, StoreError};
pub use presentations::PresentationSlot;
use schema::StoreSchema;
use seal::{Place, Sealer};

use eid_crypto::SecretKey;

const DOCUMENTS: &str = "documents";
const LOG: &str = "log";
const HISTORY: &str = "history";
const META: &str = "meta";
/// Meta keys the store keeps for itself; callers cannot write or delete them.
const RESERVED_META_PREFIX: &str = "store.";
/// Reserved meta key: a sealed constant that tells a wrong data key at open, before any document
/// read fails.
const KEY_CHECK: &str = "store.key_check";
const KEY_CHECK_ROW: &[&[u8]] = &[KEY_CHECK.as_bytes()];
const KEY_CHECK_VALUE: &[u8] = b"eid-store data key check v1";

/// A document to write.
#[derive(Clone, Copy)]
pub struct NewDocument<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub summary: &'a [u8],
    pub body: &'a [u8],
}

/// A decrypted document.
#[derive(Clone, PartialEq, Eq)]
pub struct Document {
    pub kind: String,
    pub summary: Vec<u8>,
    pub body: Vec<u8>,
}

/// A decrypted summary, for listing without decrypting bodies.
#[derive(Clone, PartialEq, Eq)]
pub struct DocumentSummary {
    pub id: String,
    pub kind: String,
    pub summary: Vec<u8>,
}

/// One document row as [`Store::list_summaries_each`] gives it: id, kind, and the opened
/// summary or why it did not open.
pub(crate) type SummaryRow = (String, String, Result<Vec<u8>>);

/// A decrypted log record.
#[derive(Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub record: Vec<u8>,
}

// Debug shows shapes, never contents: these carry personal data.
impl std::fmt::Debug for NewDocument<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDocument")
            .field("kind", &self.kind)
            .field("summary_len", &self.summary.len())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("kind", &self.kind)
            .field("summary_len", &self.summary.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl std::fmt::Debug for DocumentSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentSummary")
            .field("kind", &self.kind)
            .field("summary_len", &self.summary.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LogEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogEntry")
            .field("seq", &self.seq)
            .field("at_ms", &self.at_ms)
            .field("record_len", &self.record.len())
            .finish()
    }
}

/// The encrypted local store.
pub struct Store {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// `None` while locked: only `meta` is usable then.
    sealer: RwLock<Option<Sealer>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

fn document_place<'a>(column: &'static str, row: &'a [&'a [u8]]) -> Place<'a> {
    Place {
        table: DOCUMENTS,
        column,
        row,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The data key's sealer while the store is unlocked.
pub(crate) struct SealerGuard<'a>(RwLockReadGuard<'a, Option<Sealer>>);

impl std::ops::Deref for SealerGuard<'_> {
    type Target = Sealer;
    fn deref(&self) -> &Sealer {
        // Built only when the option is Some (see `Store::sealer`).
        match &*self.0 {
            Some(s) => s,
            None => unreachable!("SealerGuard holds an unlocked sealer"),
        }
    }
}

/// A sealed document row, ready to insert.
struct SealedDocument<'a> {
    id: &'a str,
    kind: &'a str,
    summary: Vec<u8>,
    body: Vec<u8>,
}

impl Store {
    /// Opens (creating or upgrading) the store at `path`. `data_key` is 32 bytes; a key other than
    /// the one the store was created with fails with [`StoreError::WrongDataKey`].
    pub fn open(path: &Path, data_key: SecretKey) -> Result<Self> {
        let store = Store::open_locked(path)?;
        store.unlock(data_key)?;
        Ok(store)
    }

    /// Opens (creating or upgrading) the store without its data key: only `meta` (account state,
    /// lockout, wrapped keys) can be used until [`Store::unlock`].
    pub(crate) fn open_locked(path: &Path) -> Result<Self> {
        let writer = db::open_writer(path, &StoreSchema)?;
        let reader = db::open_reader(path, &StoreSchema)?;
        Ok(Store {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            sealer: RwLock::new(None),
        })
    }

    /// Gives the store its data key (after the passcode or biometric unlocked it).
    pub fn unlock(&self, data_key: SecretKey) -> Result<()> {
        let sealer = Sealer::new(&data_key)?;
        drop(data_key);
        Self::check_data_key(self, &sealer)?;
        *self.sealer.write().map_err(|_| StoreError::Poisoned)? = Some(sealer);
        Ok(())
    }

    /// Forgets the data key (the app went to the background, or the user locked it).
    pub fn lock(&self) {
        if let Ok(mut s) = self.sealer.write() {
            *s = None;
        }
    }

    pub fn is_unlocked(&self) -> bool {
        self.sealer.read().map(|s| s.is_some()).unwrap_or(false)
    }

    pub(crate) fn sealer(&self) -> Result<SealerGuard<'_>> {
        let guard = self.sealer.read().map_err(|_| StoreError::Poisoned)?;
        if guard.is_none() {
            return Err(StoreError::Locked);
        }
        Ok(SealerGuard(guard))
    }

    pub(crate) fn writer(&self) -> Result<MutexGuard<'_, Connection>> {
        self.writer.lock().map_err(|_| StoreError::Poisoned)
    }

    pub(crate) fn reader(&self) -> Result<MutexGuard<'_, Connection>> {
        self.reader.lock().map_err(|_| StoreError::Poisoned)
    }

    fn key_check_place() -> Place<'static> {
        Place {
            table: META,
            column: "value",
            row: KEY_CHECK_ROW,
        }
    }

    /// Verifies the key-check value, writing it first in a new (or wiped) store.
    fn check_data_key(&self, sealer: &Sealer) -> Result<()> {
        let place = Self::key_check_place();
        match self.meta_get(KEY_CHECK)? {
            Some(sealed) => match sealer.open(&place, &sealed) {
                Ok(v) if eid_crypto::ct_eq(&v, KEY_CHECK_VALUE) => Ok(()),
                _ => Err(StoreError::WrongDataKey),
            },
            None => {
                let sealed = sealer.seal(&place, KEY_CHECK_VALUE)?;
                self.meta_put_unchecked(KEY_CHECK, &sealed)
            }
        }
    }

    fn seal_document<'a>(&self, doc: &NewDocument<'a>) -> Result<SealedDocument<'a>> {
        let row: [&[u8]; 2] = [doc.id.as_bytes(), doc.kind.as_bytes()];
        Ok(SealedDocument {
            id: doc.id,
            kind: doc.kind,
            summary: self
                .sealer()?
                .seal(&document_place("summary", &row), doc.summary)?,
            body: self
                .sealer()?
                .seal(&document_place("body", &row), doc.body)?,
        })
    }

    /// Inserts or replaces one document, in one transaction (tests only: the wallet writes
    /// documents in batches, [`Self::put_documents`]).
    #[cfg(test)]
    pub(crate) fn put_document(
        &self,
        id: &str,
        kind: &str,
        summary: &[u8],
        body: &[u8],
    ) -> Result<()> {
        self.put_documents(&[NewDocument {
            id,
            kind,
            summary,
            body,
        }])
    }

    /// Inserts or replaces several documents in one transaction: all or none are written.
    pub fn put_documents(&self, items: &[NewDocument<'_>]) -> Result<()> {
        self.apply_sync(items, &[], &[], &[])
    }

    /// How many documents there are (ids are plaintext: no key needed).
    pub fn document_count(&self) -> Result<u64> {
        let conn = self.reader()?;
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM documents", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The decrypted document `id`, `None` if absent.
    pub fn document(&self, id: &str) -> Result<Option<Document>> {
        let row = {
            let conn = self.reader()?;
            let mut stmt =
                conn.prepare_cached("SELECT kind, summary, body FROM documents WHERE id = ?1")?;
            stmt.query_row([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .optional()?
        };
        let Some((kind, summary, body)) = row else {
            return Ok(None);
        };
        let parts: [&[u8]; 2] = [id.as_bytes(), kind.as_bytes()];
        let summary = self
            .sealer()?
            .open(&document_place("summary", &parts), &summary)?;
        let body = self
            .sealer()?
            .open(&document_place("body", &parts), &body)?;
        Ok(Some(Document {
            kind,
            summary,
            body,
        }))
    }

    /// Every document's decrypted summary, ordered by id. One altered row fails the whole list:
    /// a store that was tampered with is not shown as if it were whole.
    pub fn list_summaries(&self) -> Result<Vec<DocumentSummary>> {
        let rows = {
            let conn = self.reader()?;
            let mut stmt =
                conn.prepare_cached("SELECT id, kind, summary FROM documents ORDER BY id")?;
            stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        rows.into_iter()
            .map(|(id, kind, sealed)| {
                let parts: [&[u8]; 2] = [id.as_bytes(), kind.as_bytes()];
                let summary = self
                    .sealer()?
                    .open(&document_place("summary", &parts), &sealed)?;
                Ok(DocumentSummary { id, kind, summary })
            })
            .collect()
    }

    /// Every document's decrypted summary, ordered by id, each on its own: a row that does not
    /// open is given as its id and kind with the error, and the others still come (the list
    /// screen shows them and names the damaged one). Fails as a whole only when locked or when
    /// the database cannot be read.
    pub(crate) fn list_summaries_each(&self) -> Result<Vec<SummaryRow>> {
        let rows = {
            let conn = self.reader()?;
            let mut stmt =
                conn.prepare_cached("SELECT id, kind, summary FROM documents ORDER BY id")?;
            stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let sealer = self.sealer()?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, sealed)| {
                let parts: [&[u8]; 2] = [id.as_bytes(), kind.as_bytes()];
                let summary = sealer.open(&document_place("summary", &parts), &sealed);
                (id, kind, summary)
            })
            .collect())
    }

    /// Deletes document `id`; returns whether it existed.
    pub(crate) fn delete_document(&self, id: &str) -> Result<bool> {
        let conn = self.writer()?;
        let n = conn
            .prepare_cached("DELETE FROM documents WHERE id = ?1")?
            .execute([id])?;
        Ok(n > 0)
    }

    /// Appends a sealed log record and returns its sequence number (1, 2, ...).
    pub(crate) fn append_log(&self, at_ms: i64, record: &[u8]) -> Result<i64> {
        self.append_logs(&[(at_ms, record)], &[])
    }

    /// Appends sealed log records in order and writes `meta` values, in one transaction (all or
    /// nothing: a synced feed's entries and its cursor). Returns the last sequence number.
    pub(crate) fn append_logs(
        &self,
        entries: &[(i64, &[u8])],
        meta: &[(&str, &[u8])],
    ) -> Result<i64> {
        if meta
            .iter()
            .any(|(k, _)| k.starts_with(RESERVED_META_PREFIX))
        {
            return Err(StoreError::ReservedMetaKey);
        }
        let mut conn = self.writer()?;
        // The seal binds seq, so seq is chosen here, under the write lock, not by SQLite on insert.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut seq: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM log")?
            .query_row([], |r| r.get(0))?;
        for (at_ms, record) in entries {
            seq += 1;
            let (seq_bytes, at_bytes) = (seq.to_be_bytes(), at_ms.to_be_bytes());
            let sealed = self
                .sealer()?
                .seal(&log_place(&[&seq_bytes, &at_bytes]), record)?;
            tx.prepare_cached("INSERT INTO log (seq, at, record) VALUES (?1, ?2, ?3)")?
                .execute(params![seq, at_ms, sealed])?;
        }
        for (k, v) in meta {
            tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![k, v])?;
        }
        tx.commit()?;
        Ok(seq)
    }

    /// Every log record, decrypted, oldest first.
    pub fn log(&self) -> Result<Vec<LogEntry>> {
        self.sealed_records("SELECT seq, at, record FROM log ORDER BY seq", log_place)
    }

    /// The rows of `select` (seq, at, sealed record) opened at `place`, in its order.
    fn sealed_records(
        &self,
        select: &str,
        place: for<'a> fn(&'a [&'a [u8]]) -> Place<'a>,
    ) -> Result<Vec<LogEntry>> {
        let rows = {
            let conn = self.reader()?;
            let mut stmt = conn.prepare_cached(select)?;
            stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        rows.into_iter()
            .map(|(seq, at_ms, sealed)| {
                let (seq_bytes, at_bytes) = (seq.to_be_bytes(), at_ms.to_be_bytes());
                let record = self
                    .sealer()?
                    .open(&place(&[&seq_bytes, &at_bytes]), &sealed)?;
                Ok(LogEntry { seq, at_ms, record })
            })
            .collect()
    }

    /// A plaintext meta value. Keys starting with `store.` are reserved for the store.
    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?;
        Ok(stmt.query_row([key], |r| r.get(0)).optional()?)
    }

    /// One transaction: documents upserted (sealed before the lock is taken: encryption needs
    /// no database), others removed, meta values written. All or nothing.
    pub(crate) fn apply_sync(
        &self,
        documents: &[NewDocument<'_>],
        removed: &[&str],
        meta: &[(&str, &[u8])],
        history: &[(i64, &[u8])],
    ) -> Result<()> {
        if meta
            .iter()
            .any(|(k, _)| k.starts_with(RESERVED_META_PREFIX))
        {
            return Err(StoreError::ReservedMetaKey);
        }
        let sealed = documents
            .iter()
            .map(|d| self.seal_document(d))
            .collect::<Result<Vec<_>>>()?;
        let now = now_ms();
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO documents (id, kind, summary, body, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,
                     summary = excluded.summary, body = excluded.body,
                     updated_at = excluded.updated_at",
            )?;
            for d in &sealed {
                insert.execute(params![d.id, d.kind, d.summary, d.body, now])?;
            }
            let mut delete = tx.prepare_cached("DELETE FROM documents WHERE id = ?1")?;
            for id in removed {
                delete.execute([id])?;
            }
            let mut put = tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?;
            for (k, v) in meta {
                put.execute(params![k, v])?;
            }
            // The seal binds seq, so seq is chosen here, under the write lock.
            let mut seq: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM history")?
                .query_row([], |r| r.get(0))?;
            for (at_ms, record) in history {
                seq += 1;
                let (seq_bytes, at_bytes) = (seq.to_be_bytes(), at_ms.to_be_bytes());
                let sealed = self
                    .sealer()?
                    .seal(&history_place(&[&seq_bytes, &at_bytes]), record)?;
                tx.prepare_cached("INSERT INTO history (seq, at, record) VALUES (?1, ?2, ?3)")?
                    .execute(params![seq, at_ms, sealed])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every document history record, decrypted, oldest first (docs/adr/0056).
    pub fn history(&self) -> Result<Vec<LogEntry>> {
        self.sealed_records(
            "SELECT seq, at, record FROM history ORDER BY seq",
            history_place,
        )
    }

    /// Writes several meta values in one transaction: all or none.
    pub(crate) fn meta_put_all(&self, entries: &[(&str, &[u8])]) -> Result<()> {
        self.apply_sync(&[], &[], entries, &[])
    }

    pub fn meta_put(&self, key: &str, value: &[u8]) -> Result<()> {
        check_meta_key(key)?;
        self.meta_put_unchecked(key, value)
    }

    fn meta_put_unchecked(&self, key: &str, value: &[u8]) -> Result<()> {
        let conn = self.writer()?;
        conn.prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![key, value])?;
        Ok(())
    }

    pub fn meta_delete(&self, key: &str) -> Result<()> {
        check_meta_key(key)?;
        let conn = self.writer()?;
        conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?
            .execute([key])?;
        Ok(())
    }

    /// Deletes every row (but the store's key check), rewrites the file without free pages (VACUUM) and truncates the WAL, so
    /// no old page remains on disk. The schema and the data key stay.
    pub fn wipe(&self) -> Result<()> {
        // Both locks (always writer first): no read may hold a snapshot that would stop the
        // checkpoint from reaching the end of the WAL.
        let mut writer = self.writer()?;
        let _reader = self.reader()?;
        let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "DELETE FROM documents; DELETE FROM log; DELETE FROM presentations; \
             DELETE FROM history;",
        )?;
        // The key check stays: it holds no personal data and keeps binding the file to its key.
        tx.execute("DELETE FROM meta WHERE key <> ?1", [KEY_CHECK])?;
        tx.commit()?;
        writer.execute_batch("VACUUM")?;
        checkpoint(&writer)
    }
}

fn check_meta_key(key: &str) -> Result<()> {
    if key.starts_with(RESERVED_META_PREFIX) {
        return Err(StoreError::ReservedMetaKey);
    }
    Ok(())
}

fn history_place<'a>(row: &'a [&'a [u8]]) -> Place<'a> {
    Place {
        table: HISTORY,
        column: "record",
        row,
    }
}

fn log_place<'a>(row: &'a [&'a [u8]]) -> Place<'a> {
    Place {
        table: LOG,
        column: "record",
        row,
    }
}

/// Copies the whole WAL into the database file and truncates the WAL to zero bytes.
fn checkpoint(conn: &Connection) -> Result<()> {
    let (busy, _log, _done): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        return Err(StoreError::CheckpointBusy);
    }
    Ok(())
}
