//! libFuzzer entry of eid_fuzz_harness::oid4vp_request (core/fuzz-harness/src/oid4vp_request.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::oid4vp_request::run(data));
