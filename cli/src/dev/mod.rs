//! Measurements and load-test preparation: `eid chip bench`, `eid chip field`, `eid qr-sizes`, `eid qr-bench`,
//! `eid load-prep`, `eid load-prep-redeem`. Not part of a citizen's or a desk's journey.

pub mod chip_bench;
pub mod chip_field;
pub mod load;
pub mod load_redeem;
pub mod qr;
