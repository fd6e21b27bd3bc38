//! What the UI hears during a sync: the steps (the wallet's sync itself, its state and report,
//! are in `crate::wallet`).

use serde::Serialize;

/// Steps of a sync, for a progress indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStage {
    TrustList,
    StatusList,
    Documents,
    Applying,
    Done,
}

/// Receives the steps of a sync (the app's progress indicator).
pub trait SyncListener: Send + Sync {
    fn on_sync(&self, stage: SyncStage);
}
