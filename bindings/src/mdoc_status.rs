//! The status lists a verifier desk checks MSOs against (the IETF Token Status List, CWT form,
//! that each MSO names): fetched through the app's network stack, or saved earlier for a desk
//! without network. One object keeps what it fetched while fresh (the list's `ttl`, else five
//! minutes, never past its `exp`): keep one for the desk's day and give it to every reading.
//! The checks are eid-core's (`StatusListCache`, `fetch_status_list_cwt`).

use crate::http::{HttpTransport, transport};
use eid_core::client::fetch_status_list_cwt;
use eid_core::mdoc::{CheckError, ReaderOutcome, StatusListCache, status_list_cwt_subject};
use eid_core::platform as core;
use eid_crypto::trust::TrustStore;
use std::sync::{Arc, Mutex};

enum Source {
    Online(Arc<dyn core::HttpTransport>),
    Saved(Vec<Vec<u8>>),
}

/// Where a reading's MSO statuses come from. A reading given none does not check revocation.
#[derive(uniffi::Object)]
pub struct MdocStatusLists {
    source: Source,
    cache: Mutex<StatusListCache>,
}

impl std::fmt::Debug for MdocStatusLists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdocStatusLists").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl MdocStatusLists {
    /// Each MSO's list fetched from the URI it names, over the app's transport (blocking: the
    /// reading that needs it waits, up to 10 s, off the main thread).
    #[uniffi::constructor]
    pub fn online(http: Arc<dyn HttpTransport>) -> Arc<Self> {
        Self::with(Source::Online(transport(http)))
    }

    /// Lists saved earlier (the bytes as served): each answers for the MSOs naming its URI,
    /// while it verifies (signed under a trusted IACA, not expired).
    #[uniffi::constructor]
    pub fn saved(lists: Vec<Vec<u8>>) -> Arc<Self> {
        Self::with(Source::Saved(lists))
    }
}

impl MdocStatusLists {
    fn with(source: Source) -> Arc<Self> {
        Arc::new(MdocStatusLists {
            source,
            cache: Mutex::new(StatusListCache::new()),
        })
    }

    fn fetch(&self, uri: &str) -> Result<Vec<u8>, ()> {
        match &self.source {
            Source::Online(http) => fetch_status_list_cwt(&**http, uri).map_err(drop),
            Source::Saved(lists) => lists
                .iter()
                .find(|l| status_list_cwt_subject(l).as_deref() == Some(uri))
                .cloned()
                .ok_or(()),
        }
    }

    /// `outcome` with every verified document's status checked.
    pub(crate) fn check(
        &self,
        outcome: ReaderOutcome,
        iacas: &TrustStore,
        now: u64,
    ) -> ReaderOutcome {
        match self.cache.lock() {
            Ok(mut cache) => cache.check_outcome(outcome, iacas, now, |uri| self.fetch(uri)),
            // A reading that panicked mid-check: the status is unknown.
            Err(_) => ReaderOutcome::Response(Err(CheckError::StatusList)),
        }
    }
}

/// `outcome` checked against `status` when the app gave lists.
pub(crate) fn checked(
    status: Option<&MdocStatusLists>,
    outcome: ReaderOutcome,
    iacas: &TrustStore,
    now: u64,
) -> ReaderOutcome {
    match status {
        Some(s) => s.check(outcome, iacas, now),
        None => outcome,
    }
}
