//! libFuzzer entry of eid_fuzz_harness::credential (core/fuzz-harness/src/credential.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::credential::run(data));
