//! The backend from the command line: `eid serve` runs it, `eid keys` manages its own keys in
//! its database.

pub mod keys;
mod limits;
pub mod serve;
