//! Where exported calls run and how their outcome is logged: async exports run on the core's one
//! tokio runtime and are aborted when the foreign caller drops them (coroutine or Task cancelled).

use crate::error::EidError;
use crate::log::{LogLevel, log};
use std::future::Future;

/// Maps an outcome to the public error and logs the operation (its name and the error kind, no
/// personal data).
pub(crate) fn logged<T, E: Into<EidError>>(
    op: &'static str,
    r: Result<T, E>,
) -> Result<T, EidError> {
    let r = r.map_err(Into::into);
    match &r {
        Ok(_) => log(LogLevel::Debug, || format!("{op}: ok")),
        Err(e) => log(LogLevel::Warn, || format!("{op}: {e}")),
    }
    r
}

fn runtime() -> Result<&'static tokio::runtime::Runtime, EidError> {
    eid_core::runtime::runtime().ok_or(EidError::Internal {
        reason: "the async runtime could not start".into(),
    })
}

/// Aborts the spawned task when the awaiting future is dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn joined<T>(r: Result<Result<T, EidError>, tokio::task::JoinError>) -> Result<T, EidError> {
    match r {
        Ok(r) => r,
        Err(e) if e.is_cancelled() => Err(EidError::Cancelled),
        Err(_) => Err(EidError::Internal {
            reason: "the operation panicked".into(),
        }),
    }
}

/// Runs `fut` on the core runtime.
pub(crate) async fn on_runtime<T, F>(op: &'static str, fut: F) -> Result<T, EidError>
where
    F: Future<Output = Result<T, EidError>> + Send + 'static,
    T: Send + 'static,
{
    let handle = runtime()?.spawn(fut);
    let _abort = AbortOnDrop(handle.abort_handle());
    logged(op, joined(handle.await))
}

/// Runs blocking work (APDUs over the app's link) on the core runtime's blocking pool.
pub(crate) async fn on_runtime_blocking<T, F>(op: &'static str, f: F) -> Result<T, EidError>
where
    F: FnOnce() -> Result<T, EidError> + Send + 'static,
    T: Send + 'static,
{
    let handle = runtime()?.spawn_blocking(f);
    logged(op, joined(handle.await))
}
