//! The store's error. Messages name tables and columns, never values: no personal data and no key
//! bytes reach a log through here.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A sealed value did not open: altered, moved from another row, or sealed under another key.
    #[error("sealed {table}.{column} value failed to open (altered, moved or another key)")]
    Unseal {
        table: &'static str,
        column: &'static str,
    },
    /// The data key given to `Store::open` is not the one the store was created with.
    #[error("the data key does not match this store")]
    WrongDataKey,
    #[error("the data key must be 32 bytes")]
    DataKeyLength,
    /// Sealing failed; AES-GCM fails only on absurd lengths, so this is not expected in practice.
    #[error("sealing a value failed")]
    Seal,
    /// The database was written by a newer app version; downgrades are not supported.
    #[error("{database}: schema version {found} is newer than the supported {supported}")]
    SchemaTooNew {
        database: &'static str,
        found: u32,
        supported: u32,
    },
    /// Wiping could not checkpoint the write-ahead log, so old pages might remain on disk.
    #[error("the write-ahead log could not be checkpointed")]
    CheckpointBusy,
    /// Meta keys starting with `store.` belong to the store itself.
    #[error("meta keys starting with \"store.\" are reserved")]
    ReservedMetaKey,
    /// Documents and the log need the data key: unlock the store first.
    #[error("the store is locked")]
    Locked,
    /// The database file exists but is empty (zero bytes, no write-ahead log): it was truncated,
    /// not created by us. Not treated as a new store, so the app does not offer to start over
    /// on top of a wallet that needs restoring.
    #[error("{database}: the file is empty (damaged); restore it from a backup or reinstall")]
    Damaged { database: &'static str },
    /// A thread panicked while holding a connection.
    #[error("store connection lock poisoned")]
    Poisoned,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
