//! eid-core: the wallet's logic, with no FFI and no printing.
//!
//! Devices, keys, networks and clocks are reached only through the platform traits, all found in
//! [`platform`] ([`platform::ApduTransport`] for cards, ...), so every path runs in tests against
//! the simulated card in `eid-fixtures`.

pub mod account;
pub mod api;
pub mod client;
pub mod consent;
pub mod credential;
pub mod keys;
pub mod platform;
pub mod present;
pub mod runtime;
pub mod signing;
pub mod store;
pub mod transactions;
pub mod verify;
pub mod wallet;
