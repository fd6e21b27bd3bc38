//! libFuzzer entry of eid_fuzz_harness::sd_jwt (core/fuzz-harness/src/sd_jwt.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::sd_jwt::run(data));
