//! libFuzzer entry of eid_fuzz_harness::dg1 (core/fuzz-harness/src/dg1.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::dg1::run(data));
