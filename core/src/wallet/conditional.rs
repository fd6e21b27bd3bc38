//! Conditional pulls of the public lists at sync (docs/adr/0044). Each list the wallet stores
//! from a backend answer (trust list, status lists, relying-party registry) keeps that answer's
//! ETag beside it under `<key>.etag`, written in the same store transaction as the list, and is
//! asked for again with `If-None-Match`: an unchanged list costs a 304 without a body, and the
//! wallet goes on with what it holds. A list written any other way clears its ETag.

use super::{Result, Wallet};

/// The meta key holding the ETag of the list stored under `key`.
pub(super) fn etag_key(key: &str) -> String {
    format!("{key}.etag")
}

/// The meta entry recording `etag` for the list under `key` (empty: none, so the next pull is
/// unconditional).
pub(super) fn etag_entry(key: &str, etag: Option<&str>) -> (String, Vec<u8>) {
    (etag_key(key), etag.unwrap_or_default().as_bytes().to_vec())
}

impl Wallet {
    /// The ETag to send for the list stored under `key`: `None` unless both the list and a
    /// non-empty ETag are stored.
    pub(super) fn stored_etag(&self, key: &str) -> Result<Option<String>> {
        if self.store.meta_get(key)?.is_none() {
            return Ok(None);
        }
        Ok(self
            .store
            .meta_get(&etag_key(key))?
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|t| !t.is_empty()))
    }
}
