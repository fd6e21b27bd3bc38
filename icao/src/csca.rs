//! CSCA trust anchors from files and ICAO master lists (ICAO 9303-12 §9), into the
//! [`TrustStore`] of passive authentication.

use super::sod::{self, ID_CSCA_MASTER_LIST};
use eid_crypto::tlv;
use eid_crypto::trust::{TrustError, TrustStore};
use std::path::Path;

/// Adds the certificates of an ICAO CSCA master list (ICAO 9303-12 §9: CMS SignedData over
/// `CscaMasterList { version, certList SET OF Certificate }`); returns how many.
///
/// The master list's own signature is **not** verified: only certificates are extracted.
/// Load master lists only from a source already trusted (e.g. the ICAO PKD over TLS, or a
/// file checked out of band); a master list is a convenience, not a trust anchor.
pub fn add_master_list(store: &mut TrustStore, bytes: &[u8]) -> Result<usize, TrustError> {
    let parts = sod::signed_data_parts(bytes).map_err(|_| TrustError::BadMasterList("CMS"))?;
    if parts.econtent_type != ID_CSCA_MASTER_LIST {
        return Err(TrustError::BadMasterList("content type"));
    }
    let content = parts
        .econtent
        .ok_or(TrustError::BadMasterList("no content"))?;
    let list =
        tlv::read_exact(&content, 0x30).map_err(|_| TrustError::BadMasterList("CscaMasterList"))?;
    let set = list
        .children()
        .find(0x31)
        .map_err(|_| TrustError::BadMasterList("certList"))?
        .ok_or(TrustError::BadMasterList("certList"))?;
    let certs = tlv::elements(set.value).map_err(|_| TrustError::BadMasterList("certList"))?;
    let mut count = 0;
    for der in certs {
        // Skip the odd malformed entry rather than losing the whole list.
        if store.add_der(der).is_ok() {
            count += 1;
        }
    }
    Ok(count)
}

/// Adds a file: PEM (one or more certificates), a DER certificate, or a DER master list.
pub fn add_file(store: &mut TrustStore, path: &Path) -> Result<usize, TrustError> {
    let bytes = std::fs::read(path).map_err(|e| TrustError::Io(e.kind().to_string()))?;
    if let Ok(text) = std::str::from_utf8(&bytes)
        && text.contains("-----BEGIN")
    {
        return store.add_pem(text);
    }
    if store.add_der(&bytes).is_ok() {
        return Ok(1);
    }
    add_master_list(store, &bytes).map_err(|_| TrustError::UnknownFormat)
}

/// A store from files (see [`add_file`]).
pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<TrustStore, TrustError> {
    let mut store = TrustStore::new();
    for p in paths {
        add_file(&mut store, p.as_ref())?;
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_not_a_master_list() {
        let mut t = TrustStore::new();
        assert!(add_master_list(&mut t, &[0x30, 0x00]).is_err());
        assert!(t.is_empty());
    }
}
