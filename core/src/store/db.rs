//! Opening connections: a connection initializer in the style of mozilla/application-services
//! (name, end version, prepare, init, upgrade_from) over `PRAGMA user_version`, and the pragmas
//! every connection of the store gets.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use super::error::{Result, StoreError};

/// Describes one database: how to configure a connection, create the newest schema and upgrade
/// older ones step by step.
pub(crate) trait ConnectionInitializer {
    /// Names the database in errors.
    const NAME: &'static str;
    /// The schema version this code writes; `PRAGMA user_version` after initialisation.
    const END_VERSION: u32;

    /// Per-connection settings (pragmas); runs on every connection before anything else.
    fn prepare(&self, conn: &Connection) -> Result<()>;
    /// Creates the newest schema in an empty database.
    fn init(&self, tx: &Transaction<'_>) -> Result<()>;
    /// Upgrades the schema from `version` to `version + 1`.
    fn upgrade_from(&self, tx: &Transaction<'_>, version: u32) -> Result<()>;
}

/// Opens the one read-write connection and brings the schema to `END_VERSION`.
pub(crate) fn open_writer<I: ConnectionInitializer>(path: &Path, init: &I) -> Result<Connection> {
    if is_truncated(path) {
        return Err(StoreError::Damaged { database: I::NAME });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)?;
    init.prepare(&conn)?;
    // Immediate: take the write lock before reading the version, so two processes opening the
    // same file cannot both run a migration.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = user_version(&tx)?;
    if version > I::END_VERSION {
        return Err(StoreError::SchemaTooNew {
            database: I::NAME,
            found: version,
            supported: I::END_VERSION,
        });
    }
    if version < I::END_VERSION {
        if version == 0 {
            init.init(&tx)?;
        } else {
            for v in version..I::END_VERSION {
                init.upgrade_from(&tx, v)?;
            }
        }
        tx.pragma_update(None, "user_version", I::END_VERSION)?;
    }
    tx.commit()?;
    Ok(conn)
}

/// A database file that exists with zero bytes and no write-ahead log beside it. SQLite would
/// take it for a new, empty database; we never leave one so (the first transaction writes the
/// schema before the file is handed out), so it is a truncated store.
fn is_truncated(path: &Path) -> bool {
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    len(path) == Some(0) && len(Path::new(&wal)).unwrap_or(0) == 0
}

/// Opens a connection that only reads (`query_only`), after the writer has set the schema up.
/// It is opened read-write at the file level because a read-only WAL connection cannot create the
/// shared-memory file it needs if the writer has not yet.
pub(crate) fn open_reader<I: ConnectionInitializer>(path: &Path, init: &I) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    init.prepare(&conn)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

pub(crate) fn user_version(conn: &Connection) -> Result<u32> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// The pragmas of every store connection.
pub(crate) fn apply_pragmas(conn: &Connection) -> Result<()> {
    // A reader and the writer can run at once; readers never block the writer.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Sqlite(rusqlite::Error::InvalidQuery));
    }
    // FULL: every commit is fsynced before it returns. NORMAL is crash-safe for the app but may
    // roll back the last commits on power loss, and the store holds passcode lockout counters:
    // a power cut must not be a way to forget a failed attempt. Writes are rare, so the fsync
    // per commit costs nothing a user sees.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Freed pages are overwritten with zeros, so deleted (sealed) records do not linger.
    conn.pragma_update(None, "secure_delete", true)?;
    // Sorts and temporary tables stay in memory, never in unencrypted temp files.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // The reader waits for a checkpoint or the writer for a reader instead of failing at once.
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(())
}
