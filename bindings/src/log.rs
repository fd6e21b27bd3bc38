//! Log forwarding to the platform (Logcat, os_log). The bindings log operation names and error
//! kinds only: never passcodes, card data, document fields or keys.

use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// Receives the library's log lines (implemented by the app).
#[uniffi::export(with_foreign)]
pub trait LogForwarder: Send + Sync {
    fn log(&self, level: LogLevel, message: String);
}

type Sink = (Arc<dyn LogForwarder>, LogLevel);
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Sends log lines up to `max_level` to `forwarder`; `null` stops forwarding.
#[uniffi::export]
pub fn set_log_forwarder(forwarder: Option<Arc<dyn LogForwarder>>, max_level: LogLevel) {
    if let Ok(mut s) = SINK.write() {
        *s = forwarder.map(|f| (f, max_level));
    }
}

/// Forwards one line; `message` is only built when someone listens at that level.
pub(crate) fn log(level: LogLevel, message: impl FnOnce() -> String) {
    let sink = SINK.read().ok().and_then(|s| s.clone());
    if let Some((f, max)) = sink
        && level <= max
    {
        f.log(level, message());
    }
}
