//! libFuzzer entry of eid_fuzz_harness::apdu (core/fuzz-harness/src/apdu.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::apdu::run(data));
