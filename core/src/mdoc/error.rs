//! The mdoc module's errors: why bytes are not the ISO/IEC 18013-5 structure they should be
//! ([`MdocError`]), and why a reader rejects a DeviceResponse ([`CheckError`]). No element values,
//! keys or certificate content in either.

use thiserror::Error;

/// Why an ISO/IEC 18013-5 structure could not be read, built or opened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MdocError {
    /// Not well-formed CBOR, or bytes left over after the item.
    #[error("not well-formed CBOR")]
    Cbor,
    /// Well-formed CBOR that is not the structure named (a missing or mistyped field).
    #[error("malformed {0}")]
    Structure(&'static str),
    /// An `mdoc:` URI that is not one (scheme or base64url).
    #[error("not an engagement: expected `mdoc:` and a base64url DeviceEngagement")]
    Uri,
    /// A COSE_Key that is not a valid key on its curve (or a private key not valid on it).
    #[error("unsupported or invalid device key")]
    Key,
    /// A COSE_Key on a curve we do not take (brainpoolP320r1/P512r1, X448, Ed448, or not one
    /// of ISO/IEC 18013-5's).
    #[error("device key on an unsupported curve")]
    UnsupportedCurve,
    /// The session's AES-256-GCM open failed (wrong key, counter or tampered message).
    #[error("session message does not decrypt")]
    Decrypt,
    /// The message counter of a session is exhausted (2^32 - 1 messages).
    #[error("session message counter exhausted")]
    CounterExhausted,
}

/// Why a reader rejects a document of a DeviceResponse, first failure found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckError {
    #[error(transparent)]
    Malformed(#[from] MdocError),
    /// The DeviceResponse status is not 0 (OK).
    #[error("device response status {0}")]
    Status(u64),
    /// The DeviceResponse carries no document (a reader asked for at least one).
    #[error("device response carries no document")]
    NoDocuments,
    /// The issuerAuth is not a COSE_Sign1 with a document signer certificate, or its algorithm
    /// and the signer's key are not a pair we take (mdoc/signature.rs).
    #[error("issuer authentication is not a COSE_Sign1 with an x5chain and a supported algorithm")]
    IssuerAuthForm,
    /// The document signer certificate is not issued by a trusted IACA.
    #[error("document signer not issued by a trusted IACA")]
    UntrustedIssuer,
    /// The MSO signature does not verify with the document signer's key.
    #[error("MSO signature invalid")]
    IssuerSignature,
    /// The document signer or IACA certificate is not valid at the time of the check.
    #[error("document signer certificate not valid now")]
    CertificateExpired,
    /// The MSO docType is not the document's docType.
    #[error("docType does not match the MSO")]
    DocType,
    /// The MSO's digest algorithm is not SHA-256, SHA-384 or SHA-512.
    #[error("unsupported digest algorithm")]
    DigestAlgorithm,
    /// A disclosed element's digest is missing from the MSO or differs.
    #[error("digest mismatch for an element of {namespace}")]
    Digest { namespace: String },
    /// The element identifier in an IssuerSignedItem appears twice in a namespace.
    #[error("element disclosed twice in {namespace}")]
    DuplicateElement { namespace: String },
    /// Now is outside the MSO's validFrom..validUntil, or signed is after validFrom.
    #[error("MSO not valid now")]
    Validity,
    /// Neither deviceSignature nor deviceMac verifies over DeviceAuthentication.
    #[error("device authentication invalid")]
    DeviceAuth,
    /// The MSO's status list entry says revoked (or any status other than valid or suspended).
    #[error("MSO revoked")]
    Revoked,
    /// The MSO's status list entry says suspended.
    #[error("MSO suspended")]
    Suspended,
    /// The status list the MSO names could not be fetched, does not verify, is expired or
    /// does not reach the MSO's entry.
    #[error("status list unavailable or invalid")]
    StatusList,
    /// The DTC's chip data fails ICAO passive authentication (`dtc.rs`): the reason names
    /// data groups and algorithms, never their contents.
    #[error("DTC passive authentication failed: {0}")]
    DtcPassiveAuthentication(String),
    /// deviceMac was used but the reader has no ephemeral key to derive EMacKey with.
    #[error("device MAC needs the reader's ephemeral key")]
    NoReaderKey,
}
