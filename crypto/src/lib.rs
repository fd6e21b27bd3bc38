//! eid-crypto: the ground floor every other crate builds on. Secret keys and randomness,
//! constant-time comparison, ES256 and certificate signatures, the elliptic curves (`ec`: keys,
//! ECDH, ECDSA on the ICAO and ISO/IEC 18013-5 curves), X.509 certificates (checked, and
//! built from a profile) and trust anchors, PEM, COSE_Sign1, and the BER-TLV reader they parse
//! with. Nothing here knows about chips, credentials or the wallet (docs/adr/0021).

pub mod cms;
pub mod cose;
pub mod crl;
pub mod ec;
pub mod es256;
pub mod hash;
pub mod pem;
mod random;
mod secret;
pub mod signature;
pub mod tlv;
pub mod trust;
pub mod x509;
pub mod x509_build;

pub use random::{OsRng, Rng};
pub use secret::{SecretKey, ct_eq};
