//! The fuzz targets' bodies, one module per target of `core/fuzz` (`scripts/fuzz.sh` runs them
//! under libFuzzer). Each module's `run` takes one input and panics when it finds a bug: the
//! parsers under test must not panic, and the checks the module states must hold.
//!
//! Kept out of the libFuzzer crate so `cargo test` replays the saved regression inputs
//! (`core/fuzz/regressions/TARGET.hex`, tests/regressions.rs) on every CI run.
// A harness reports a bug by panicking; `expect` on its own fixtures says which one failed.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod apdu;
pub mod card_qr;
pub mod credential;
pub mod dg1;
pub mod dg13;
pub mod dg2;
pub mod mdoc;
pub mod mdoc_session;
pub mod oid4vp_request;
pub mod presentation;
pub mod sd_jwt;
pub mod security_infos;
pub mod sm_response;
pub mod sod;
pub mod status_list;
pub mod tlv;
