//! A verifier desk's copy of the backend's trust list and signed status list (`eid verify
//! --cache DIR`), so that a desk whose network drops keeps checking revocation with the last
//! list it fetched. The files hold only what the backend serves publicly; the status list is
//! checked against the trust list again every time it is loaded, and its age is reported.

use crate::output::{read_if_present, replace_file};
use anyhow::Result;
use std::path::{Path, PathBuf};

const TRUST: &str = "trust-list.cbor";
const STATUS: &str = "status-list.cose";

/// What a desk last fetched: the trust list (CBOR) and the status list (COSE_Sign1).
pub struct Cached {
    pub trust: Vec<u8>,
    pub status: Vec<u8>,
}

pub struct DeskCache {
    dir: PathBuf,
}

impl DeskCache {
    pub fn new(dir: &Path) -> DeskCache {
        DeskCache {
            dir: dir.to_path_buf(),
        }
    }

    /// Replaces both lists, each file on its own (`output::replace_file`).
    pub fn store(&self, lists: &Cached) -> Result<()> {
        for (name, bytes) in [(TRUST, &lists.trust), (STATUS, &lists.status)] {
            replace_file(&self.dir, name, bytes)?;
        }
        Ok(())
    }

    /// The lists last stored, or `None` when this desk has never fetched any.
    pub fn load(&self) -> Result<Option<Cached>> {
        let read = |name: &str| read_if_present(&self.dir.join(name));
        Ok(match (read(TRUST)?, read(STATUS)?) {
            (Some(trust), Some(status)) => Some(Cached { trust, status }),
            _ => None,
        })
    }
}
