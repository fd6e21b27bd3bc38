//! The one error type of the [`KeyStore`](super::KeyStore) trait.
//!
//! It crosses the FFI boundary as is (Kotlin and Swift implement the trait), so it holds only
//! what an app can act on, and no message ever carries key bytes.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// No key under this alias.
    #[error("no key under this alias")]
    NotFound,
    /// A key already exists under this alias (create never overwrites a key).
    #[error("a key already exists under this alias")]
    AlreadyExists,
    /// The key is bound to user authentication (passcode, biometrics) that has not happened.
    #[error("user authentication is required to use this key")]
    UserAuthenticationRequired,
    /// The key was permanently invalidated, e.g. because the enrolled biometrics changed.
    #[error("the key was invalidated")]
    Invalidated,
    /// The key store cannot be reached (I/O, secure hardware busy or missing); the text says why
    /// for logs and never contains key material.
    #[error("key store unavailable: {0}")]
    Unavailable(String),
    /// A cryptographic operation failed: wrong secret, tampered or foreign wrapped key, an alias
    /// holding the other kind of key, a malformed key.
    #[error("cryptographic operation failed")]
    Crypto,
}
