//! libFuzzer entry of eid_fuzz_harness::status_list (core/fuzz-harness/src/status_list.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::status_list::run(data));
