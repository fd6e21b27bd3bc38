//! Lockout after wrong passcodes, with a backoff that grows, survives restarts and cannot be
//! shortened by changing the wall clock.
//!
//! The remaining lock time is measured with the monotonic time since boot, which the user cannot
//! set. Within one boot, elapsed time is `uptime now - uptime at the last check`. After a reboot
//! (a different boot id) nothing is counted for the time the phone was off or rebooting: the
//! remaining time carries over as it was at the last check. The wall clock is used only to show
//! "locked until".

use crate::platform::Clock;
use serde::{Deserialize, Serialize};

/// Wrong passcodes allowed before the first lock.
pub const MAX_ATTEMPTS: u32 = 5;
/// First lock: 1 minute; each further wrong passcode doubles it, up to 24 hours.
pub const FIRST_LOCK_MS: i64 = 60_000;
pub const MAX_LOCK_MS: i64 = 24 * 60 * 60 * 1000;

/// The lock after `failures` failed attempts: none before `MAX_ATTEMPTS` (5), then 1 minute,
/// doubling with each further failure, capped at 24 hours. The backend's remote-consent lock
/// (docs/adr/0017) uses the same rule.
pub fn lock_ms(failures: u32) -> Option<i64> {
    (failures >= MAX_ATTEMPTS).then(|| {
        let doublings = (failures - MAX_ATTEMPTS).min(20);
        (FIRST_LOCK_MS << doublings).min(MAX_LOCK_MS)
    })
}

/// Persisted lockout state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockout {
    /// Wrong passcodes since the last right one.
    pub failures: u32,
    /// Lock time left at the anchor.
    pub remaining_ms: i64,
    /// Uptime and boot at the last check.
    pub anchor_uptime_ms: i64,
    pub anchor_boot: String,
}

impl Lockout {
    /// Lock time left now, and re-anchors so the next check counts from here.
    pub fn observe(&mut self, clock: &dyn Clock) -> i64 {
        let (uptime, boot) = (clock.uptime_ms(), clock.boot_id());
        let elapsed = if boot == self.anchor_boot {
            (uptime - self.anchor_uptime_ms).max(0)
        } else {
            0
        };
        self.remaining_ms = (self.remaining_ms - elapsed).max(0);
        self.anchor_uptime_ms = uptime;
        self.anchor_boot = boot;
        self.remaining_ms
    }

    /// Wrong passcodes that may still be tried before a lock.
    pub fn attempts_left(&self) -> u32 {
        MAX_ATTEMPTS.saturating_sub(self.failures)
    }

    /// Records a wrong passcode; from the fifth on, locks with a doubling backoff.
    pub fn record_failure(&mut self, clock: &dyn Clock) {
        self.observe(clock);
        self.failures = self.failures.saturating_add(1);
        if let Some(ms) = lock_ms(self.failures) {
            self.remaining_ms = ms;
        }
    }

    /// A right passcode clears everything.
    pub fn reset(&mut self) {
        self.failures = 0;
        self.remaining_ms = 0;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A clock the test moves by hand: wall time, uptime and reboots.
    pub struct FakeClock(pub Mutex<(i64, i64, u32)>);

    impl FakeClock {
        pub fn new() -> Self {
            FakeClock(Mutex::new((1_700_000_000_000, 10_000, 1)))
        }
        pub fn advance(&self, ms: i64) {
            let mut t = self.0.lock().unwrap();
            t.0 += ms;
            t.1 += ms;
        }
        pub fn set_wall(&self, wall: i64) {
            self.0.lock().unwrap().0 = wall;
        }
        pub fn reboot(&self) {
            let mut t = self.0.lock().unwrap();
            t.1 = 5_000;
            t.2 += 1;
        }
    }

    impl Clock for FakeClock {
        fn wall_ms(&self) -> i64 {
            self.0.lock().unwrap().0
        }
        fn uptime_ms(&self) -> i64 {
            self.0.lock().unwrap().1
        }
        fn boot_id(&self) -> String {
            format!("boot-{}", self.0.lock().unwrap().2)
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        let clock = FakeClock::new();
        let mut l = Lockout::default();
        for _ in 0..4 {
            l.record_failure(&clock);
            assert_eq!(l.observe(&clock), 0);
        }
        let mut locks = Vec::new();
        for _ in 0..15 {
            l.record_failure(&clock);
            locks.push(l.observe(&clock));
        }
        assert_eq!(&locks[..3], &[60_000, 120_000, 240_000]);
        assert!(locks.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*locks.last().unwrap(), MAX_LOCK_MS);
    }

    #[test]
    fn wall_clock_changes_do_not_shorten_the_lock() {
        let clock = FakeClock::new();
        let mut l = Lockout::default();
        for _ in 0..5 {
            l.record_failure(&clock);
        }
        assert_eq!(l.observe(&clock), 60_000);
        clock.set_wall(clock.wall_ms() + 10 * 86_400_000); // ten days ahead
        assert_eq!(l.observe(&clock), 60_000);
        clock.set_wall(0); // back to 1970
        assert_eq!(l.observe(&clock), 60_000);
        clock.advance(30_000);
        assert_eq!(l.observe(&clock), 30_000);
        clock.reboot(); // uptime restarts: the time off is not counted, nothing is lost either
        assert_eq!(l.observe(&clock), 30_000);
        clock.advance(30_001);
        assert_eq!(l.observe(&clock), 0);
    }
}
