//! libFuzzer entry of eid_fuzz_harness::mdoc (core/fuzz-harness/src/mdoc.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::mdoc::run(data));
