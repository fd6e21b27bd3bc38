//! eid-core: the wallet's logic, with no FFI and no printing.
//!
//! Devices, keys, networks and clocks are reached only through the platform traits, all found in
//! [`platform`] ([`platform::ApduTransport`] for cards, ...), so every path runs in tests against
//! the simulated card in `eid-fixtures`.
//!
//! The public surface is curated: each top-level module below is public, its submodules are not,
//! and what other crates use is re-exported by the module (`eid_core::present::TOKEN_PREFIX`,
//! not `present::payload::TOKEN_PREFIX`). So an item that no module re-exports and nothing in the
//! crate uses is flagged as dead by the compiler.

pub mod account;
pub mod api;
pub mod client;
pub mod consent;
pub mod credential;
pub mod keys;
pub mod mdoc;
pub mod oid4vp;
pub mod platform;
pub mod present;
pub mod runtime;
pub mod sdjwt;
pub mod signing;
pub mod store;
pub mod transactions;
pub mod verify;
pub mod wallet;
