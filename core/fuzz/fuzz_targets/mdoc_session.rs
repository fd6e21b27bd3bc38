//! libFuzzer entry of eid_fuzz_harness::mdoc_session (core/fuzz-harness/src/mdoc_session.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::mdoc_session::run(data));
