//! What the wallet knows about keeping in step with the backend: its persisted state and what a
//! sync changed (the steps a sync reports to the UI are `crate::platform::SyncStage`). Trust list, status list
//! and documents are pulled and applied in one transaction, so the wallet always shows a
//! consistent set and keeps working offline from what it has.

use serde::{Deserialize, Serialize};

/// What the UI shows about sync. Persisted in the store's `meta` (no personal data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// Last successful sync, Unix milliseconds.
    pub last_synced_ms: Option<i64>,
    pub last_attempt_ms: Option<i64>,
    /// A sync is under way (still set after a crash mid-sync: the UI can say it was interrupted).
    #[serde(default)]
    pub pending: bool,
    /// Why the last attempt failed (cleared by a success).
    pub last_error: Option<String>,
    /// Opaque position in the backend's document feed.
    pub cursor: Option<String>,
    pub etag: Option<String>,
    /// When the status list was fetched (its age is shown to verifiers).
    pub status_list_fetched_ms: Option<i64>,
}

/// What a sync changed. Counts are `u64` so the record crosses the FFI as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub updated: u64,
    pub removed: u64,
    /// The backend had nothing new (ETag matched).
    pub unchanged: bool,
    /// This device's binding was revoked: documents were wiped.
    pub revoked: bool,
    /// Presentation credentials received (batches refill profiles running low).
    pub presentation_credentials: u64,
    /// Why refilling presentation credentials failed; documents were still synced.
    pub presentation_error: Option<String>,
}
