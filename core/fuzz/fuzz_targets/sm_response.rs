//! libFuzzer entry of eid_fuzz_harness::sm_response (core/fuzz-harness/src/sm_response.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::sm_response::run(data));
