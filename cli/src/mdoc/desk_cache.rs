//! An mdoc desk's copy of what it fetched (`eid mdoc read --cache DIR`): the backend's trust
//! list (for `--backend`) and each Token Status List by URI, so a desk whose network drops keeps
//! its anchors and keeps checking revocation with the last lists it fetched. The files hold only
//! what the backend serves publicly. A kept status list is verified again on every use (its
//! signature under a trusted IACA, its `sub`, its `exp`), so a stale copy stops counting once
//! it expires; its age is reported.

use crate::output::{read_if_present, replace_file};
use anyhow::{Context as _, Result};
use eid_core::api::TrustListResponse;
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

const TRUST: &str = "trust-list.json";

pub struct MdocDeskCache {
    dir: PathBuf,
}

impl MdocDeskCache {
    pub fn new(dir: &Path) -> MdocDeskCache {
        MdocDeskCache {
            dir: dir.to_path_buf(),
        }
    }

    pub fn store_trust(&self, list: &TrustListResponse) -> Result<()> {
        self.store(TRUST, &serde_json::to_vec(list)?)
    }

    /// The trust list last stored and its age in seconds, or `None`.
    pub fn load_trust(&self) -> Result<Option<(TrustListResponse, u64)>> {
        let Some((bytes, age)) = self.load(TRUST)? else {
            return Ok(None);
        };
        let list = serde_json::from_slice(&bytes).context("the kept trust list")?;
        Ok(Some((list, age)))
    }

    pub fn store_status(&self, uri: &str, cwt: &[u8]) -> Result<()> {
        self.store(&status_file(uri), cwt)
    }

    /// The status list last fetched from `uri` and its age in seconds, or `None`.
    pub fn load_status(&self, uri: &str) -> Result<Option<(Vec<u8>, u64)>> {
        self.load(&status_file(uri))
    }

    fn store(&self, name: &str, bytes: &[u8]) -> Result<()> {
        replace_file(&self.dir, name, bytes)
    }

    fn load(&self, name: &str) -> Result<Option<(Vec<u8>, u64)>> {
        let path = self.dir.join(name);
        let Some(bytes) = read_if_present(&path)? else {
            return Ok(None);
        };
        let age = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .map_or(0, |d| d.as_secs());
        Ok(Some((bytes, age)))
    }
}

/// A status list's file: the SHA-256 of its URI (any URI makes a plain file name).
fn status_file(uri: &str) -> String {
    let digest: String = Sha256::digest(uri.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("status-{digest}.cwt")
}
