//! eid-ffi: thin UniFFI wrappers over eid-core, no logic of its own.
//! Every exported function converts types and maps errors in `error.rs`, nothing more.
#![allow(unsafe_code)] // the UniFFI scaffolding is generated unsafe FFI glue

mod card_qr;
mod error;

pub use card_qr::{CardQr, parse_card_qr};
pub use error::EidError;

uniffi::setup_scaffolding!();
