//! libFuzzer entry of eid_fuzz_harness::security_infos (core/fuzz-harness/src/security_infos.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::security_infos::run(data));
