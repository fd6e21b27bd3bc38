//! libFuzzer entry of eid_fuzz_harness::dg13 (core/fuzz-harness/src/dg13.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::dg13::run(data));
