//! The core's one tokio runtime: network calls run on it, and synchronous callers (the CLI,
//! tests) wait on it with [`block_on`]. UniFFI async exports name it too.

use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Option<Runtime>> = OnceLock::new();

/// The runtime, created on first use with two worker threads (phones have few cores to spare).
pub fn runtime() -> Option<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("eid-core")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
}

/// Runs a future to completion on the core runtime from synchronous code (not from inside it).
pub fn block_on<F: std::future::Future>(future: F) -> Option<F::Output> {
    runtime().map(|rt| rt.block_on(future))
}
