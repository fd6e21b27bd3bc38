//! libFuzzer entry of eid_fuzz_harness::presentation (core/fuzz-harness/src/presentation.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::presentation::run(data));
