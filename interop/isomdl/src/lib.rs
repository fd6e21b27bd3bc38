//! What the isomdl interop tests share: `eid`'s side driven only through the `eid` binary
//! ([`eid`]) and the TCP stand-in for BLE that carries isomdl's messages ([`gatt`]).
pub mod eid;
pub mod gatt;
