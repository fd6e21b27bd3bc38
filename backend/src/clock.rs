//! The backend's wall clock, adjustable so tests can let codes expire without waiting.

use std::sync::atomic::{AtomicI64, Ordering};

/// Wall clock with an adjustable offset, so tests can let codes expire without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> u64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        real.saturating_add_signed(self.offset.load(Ordering::Relaxed))
    }

    /// Moves this clock by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}
