//! A verifier desk's copy of the backend's trust list and signed status list (`eid verify
//! --cache DIR`), so that a desk whose network drops keeps checking revocation with the last
//! list it fetched. The files hold only what the backend serves publicly; the status list is
//! checked against the trust list again every time it is loaded, and its age is reported.

use anyhow::{Context as _, Result};
use std::fs;
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

    /// Replaces both lists; each file is written aside and renamed, so a crash leaves the old
    /// copy or the new one, never half of one.
    pub fn store(&self, lists: &Cached) -> Result<()> {
        fs::create_dir_all(&self.dir).with_context(|| self.dir.display().to_string())?;
        for (name, bytes) in [(TRUST, &lists.trust), (STATUS, &lists.status)] {
            let path = self.dir.join(name);
            let part = self.dir.join(format!("{name}.part"));
            fs::write(&part, bytes)
                .and_then(|()| fs::rename(&part, &path))
                .with_context(|| path.display().to_string())?;
        }
        Ok(())
    }

    /// The lists last stored, or `None` when this desk has never fetched any.
    pub fn load(&self) -> Result<Option<Cached>> {
        let read = |name: &str| {
            let path = self.dir.join(name);
            match fs::read(&path) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(anyhow::Error::new(e).context(path.display().to_string())),
            }
        };
        Ok(match (read(TRUST)?, read(STATUS)?) {
            (Some(trust), Some(status)) => Some(Cached { trust, status }),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn stores_loads_and_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = DeskCache::new(&tmp.path().join("desk"));
        assert!(cache.load().unwrap().is_none());
        for round in 0..2u8 {
            let lists = Cached {
                trust: vec![round, 1],
                status: vec![round, 2, 3],
            };
            cache.store(&lists).unwrap();
            let back = cache.load().unwrap().unwrap();
            assert_eq!((back.trust, back.status), (lists.trust, lists.status));
        }
        fs::remove_file(tmp.path().join("desk").join(STATUS)).unwrap();
        assert!(cache.load().unwrap().is_none(), "half a cache is no cache");
    }
}
