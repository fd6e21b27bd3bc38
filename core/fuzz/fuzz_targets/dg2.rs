//! libFuzzer entry of eid_fuzz_harness::dg2 (core/fuzz-harness/src/dg2.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::dg2::run(data));
