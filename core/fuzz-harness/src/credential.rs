//! Issuer credentials over arbitrary bytes: verification against an empty trust list, trust
//! list decoding and FHIR health record parsing never panic.

use eid_core::credential::{self, HealthRecord, TrustList};
use std::borrow::Cow;

/// A fixed "now" (2025-06-15), so that runs are reproducible.
const NOW: u64 = 1_750_000_000;

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    // Nothing is trusted, so nothing verifies.
    assert!(credential::verify(data, &TrustList::new(), NOW).is_err());
    if let Ok(list) = TrustList::decode(data) {
        let _ = list.ca_count();
        let _ = list.encode();
    }
    let text = String::from_utf8_lossy(data);
    let mut inputs = vec![data];
    if let Cow::Owned(lossy) = &text {
        inputs.push(lossy.as_bytes());
    }
    for json in inputs {
        if let Ok(record) = HealthRecord::from_json(json) {
            let _ = record.patient_name();
            let _ = record.validate();
            let again = HealthRecord::from_json(record.to_json().as_bytes());
            assert!(again.is_ok(), "a record's JSON parses again");
        }
    }
}
