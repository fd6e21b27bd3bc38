//! The clocks the passcode lockout measures with (`crate::account::lockout`): the wall clock,
//! which the user can set, and the monotonic time since boot, which they cannot.

/// Time sources, supplied by the platform (Android: `SystemClock.elapsedRealtime()` and
/// `BOOT_COUNT`; iOS: `mach_continuous_time`-based uptime and the boot time).
pub trait Clock: Send + Sync {
    /// Wall-clock time, Unix milliseconds. The user can change it.
    fn wall_ms(&self) -> i64;
    /// Milliseconds since boot, including sleep. Only moves forward within one boot.
    fn uptime_ms(&self) -> i64;
    /// Changes on every boot.
    fn boot_id(&self) -> String;
}

/// The host's clocks (Linux `/proc`; elsewhere a per-process boot id, which is conservative:
/// a restart of the process then counts as a reboot and no time passes while it is closed).
#[derive(Debug, Clone)]
pub struct SystemClock {
    process_start: std::time::Instant,
    fallback_boot: String,
}

impl Default for SystemClock {
    fn default() -> Self {
        let mut b = [0u8; 16];
        eid_crypto::Rng::fill(&mut eid_crypto::OsRng, &mut b);
        SystemClock {
            process_start: std::time::Instant::now(),
            fallback_boot: b.iter().map(|x| format!("{x:02x}")).collect(),
        }
    }
}

impl Clock for SystemClock {
    fn wall_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }

    fn uptime_ms(&self) -> i64 {
        std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .map_or_else(
                || self.process_start.elapsed().as_millis() as i64,
                |secs| (secs * 1000.0) as i64,
            )
    }

    fn boot_id(&self) -> String {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| self.fallback_boot.clone())
    }
}
