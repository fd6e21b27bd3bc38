//! libFuzzer entry of eid_fuzz_harness::sod (core/fuzz-harness/src/sod.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::sod::run(data));
