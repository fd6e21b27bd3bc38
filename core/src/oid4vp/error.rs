//! The one error of OpenID4VP on both sides. Variants name the rule that failed; none carries a
//! claim value, a nonce, a key or a certificate.

use crate::mdoc::CheckError;
use crate::sdjwt::SdJwtError;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Oid4vpError {
    /// A URI, request, DCQL query or response is not as OpenID4VP 1.0 defines it.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// A feature we do not support (a response mode, a client identifier prefix, transaction data).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// The request object's signature does not verify with its leaf certificate.
    #[error("request object signature does not verify")]
    RequestSignature,
    /// The request object's certificate chain does not reach an RP trust anchor, or a certificate
    /// is outside its validity.
    #[error("relying party certificate not trusted")]
    UntrustedRp,
    /// The client identifier does not fit the request: unknown or refused prefix, SAN or
    /// certificate hash mismatch, or a different `client_id` in the URI and the request object.
    #[error("client_id refused: {0}")]
    ClientId(&'static str),
    /// The request object is expired, not yet valid or addressed to someone else.
    #[error("request object not valid now: {0}")]
    RequestValidity(&'static str),
    /// The relying party is not registered with us.
    #[error("relying party not registered")]
    Unregistered,
    /// An intermediary's request names no relying party, or one the registry does not allow
    /// (unknown or suspended, purpose or claims outside its registration; docs/adr/0050).
    #[error("relying party behind the intermediary refused: {0}")]
    OnBehalfOf(&'static str),
    /// The response URI is not one the relying party registered.
    #[error("response_uri not registered for this relying party")]
    ResponseUri,
    /// The query asks for claims outside every purpose the relying party registered.
    #[error("requested claims outside the relying party's registered scope")]
    Scope,
    /// The wallet holds no credentials that satisfy the query.
    #[error("no credentials satisfy the query")]
    NoMatch,
    /// The response encryption failed or the JWE does not decrypt (tampered, wrong key).
    #[error("response encryption: {0}")]
    Encryption(&'static str),
    /// The response's `state` is not the request's.
    #[error("state mismatch")]
    State,
    /// The request's nonce was already used by an accepted response.
    #[error("nonce already used")]
    Replay,
    /// A presentation fails SD-JWT verification (issuer, disclosures, key binding).
    #[error("presentation invalid: {0}")]
    Presentation(SdJwtError),
    /// An mdoc presentation fails the reader's check (issuer authentication to the IACAs,
    /// digests, validity, device signature over this request's SessionTranscript, status).
    #[error("mdoc presentation invalid: {0}")]
    Mdoc(CheckError),
    /// A presented credential is revoked or suspended, or its status cannot be checked.
    #[error("credential status: {0}")]
    Status(&'static str),
    /// The presentations do not satisfy the DCQL query.
    #[error("response does not satisfy the query: {0}")]
    NotSatisfied(&'static str),
    /// A presentation discloses a claim the query did not ask for.
    #[error("presentation discloses a claim that was not requested")]
    OverDisclosure,
    /// The wallet answered with an error response (e.g. the citizen declined).
    #[error("the wallet declined or failed")]
    Declined,
    /// The wallet's signer could not sign.
    #[error("signing failed")]
    Signing,
}

impl From<SdJwtError> for Oid4vpError {
    fn from(e: SdJwtError) -> Self {
        Oid4vpError::Presentation(e)
    }
}
