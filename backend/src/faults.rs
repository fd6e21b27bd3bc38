//! Fault injection for the fault tests (backend/tests/faults.rs, docs/adr/0034): only with the
//! `fault-injection` feature, which no deployment build turns on; without it every hook is an
//! empty function.

/// Called by an idempotent POST once its handler has answered and its effect is committed, and
/// before the answer goes out: with `EID_FAULT_EXIT_AFTER=<endpoint>` set, the process exits at
/// once there (no destructor runs, no claim is given up: as `kill -9` would leave it).
#[cfg(feature = "fault-injection")]
pub fn after_effect(endpoint: &str) {
    if std::env::var("EID_FAULT_EXIT_AFTER").is_ok_and(|e| e == endpoint) {
        std::process::exit(137);
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn after_effect(_endpoint: &str) {}
