//! EF.SOD parsing over arbitrary bytes, then passive authentication of the parsed SOD without a
//! trust store: never panics. The SOD is checked against no data group and against the input
//! itself as DG1.

use eid_icao::pa::{self, PaStatus};
use eid_icao::sod;
use std::collections::BTreeMap;

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Ok(s) = sod::parse(data) else {
        return;
    };
    let _ = s.signer_certificate();
    for dg in 0..=u8::MAX {
        let _ = s.hash_of(dg);
    }
    let _ = s.hash_algorithm.digest(data);
    let none = pa::verify(&s, &BTreeMap::new(), None);
    // Without a trust store nothing is ever valid.
    assert_ne!(none.status, PaStatus::Valid);
    assert!(none.data_groups.is_empty());
    let dg1 = BTreeMap::from([(1u8, data.to_vec())]);
    let one = pa::verify(&s, &dg1, None);
    assert_ne!(one.status, PaStatus::Valid);
    assert_eq!(one.data_groups.len(), 1);
}
