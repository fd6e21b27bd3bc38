//! libFuzzer entry of eid_fuzz_harness::tlv (core/fuzz-harness/src/tlv.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::tlv::run(data));
