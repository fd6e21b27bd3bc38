//! Signed status lists over arbitrary bytes never panic, and with nothing trusted none is
//! accepted.

use eid_core::credential::TrustList;
use eid_core::verify::StatusList;

/// A fixed "now" (2026-01-01), so that runs are reproducible.
const NOW: u64 = 1_767_225_600;

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    assert!(StatusList::from_signed(data, &TrustList::new(), NOW).is_err());
}
