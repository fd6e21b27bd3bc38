//! The one error of SD-JWT issuance, presentation and verification. Variants name the rule that
//! failed; none carries a claim value, a salt or key material.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdJwtError {
    /// The compact form is not `<JWT>~<Disclosure>~...~[<KB-JWT>]`, or a JWS is not three
    /// base64url parts of JSON objects.
    #[error("SD-JWT malformed: {0}")]
    Malformed(&'static str),
    /// A disclosure is not base64url of a JSON array of 2 or 3 elements with a string salt.
    #[error("disclosure malformed: {0}")]
    BadDisclosure(&'static str),
    /// The header names an algorithm other than ES256 (or `none`).
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// `_sd_alg` names a hash other than sha-256.
    #[error("unsupported _sd_alg")]
    UnsupportedHash,
    /// The issuer's signature does not verify.
    #[error("issuer signature does not verify")]
    BadSignature,
    /// The issuer's certificate chain does not reach a trust anchor, or a certificate is outside
    /// its validity.
    #[error("issuer certificate not trusted")]
    Untrusted,
    /// RFC 9901 §7.1 processing: a disclosure is not referenced, referenced twice, names `_sd`
    /// or `...`, collides with a plain claim, or sits in the wrong kind of place.
    #[error("disclosure processing failed: {0}")]
    Disclosure(&'static str),
    /// A JWT validity claim (`exp`, `nbf`, `iat`) fails against the clock.
    #[error("token not valid now: {0}")]
    Expired(&'static str),
    /// The presentation lacks the KB-JWT the verifier requires.
    #[error("key binding JWT missing")]
    KeyBindingMissing,
    /// The KB-JWT fails a check (typ, signature, nonce, aud, iat, sd_hash, cnf key).
    #[error("key binding invalid: {0}")]
    KeyBinding(&'static str),
    /// A claim path the holder asked for is not in the credential.
    #[error("requested claim not found")]
    ClaimNotFound,
    /// The signer (issuer key or device key) could not sign.
    #[error("signing failed")]
    Signing,
    /// A Token Status List is malformed or does not cover the index.
    #[error("status list: {0}")]
    StatusList(&'static str),
}
