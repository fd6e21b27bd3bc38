//! libFuzzer entry of eid_fuzz_harness::card_qr (core/fuzz-harness/src/card_qr.rs, where the checks are).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eid_fuzz_harness::card_qr::run(data));
