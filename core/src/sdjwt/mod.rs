//! SD-JWT (RFC 9901) and SD-JWT VC (draft-ietf-oauth-sd-jwt-vc, `typ` `dc+sd-jwt`): issuing
//! with selectively disclosable claims (nested objects, array elements, decoys), the holder's
//! choice of disclosures and KB-JWT, the verifier's checks; and the IETF Token Status List in
//! its JWT form. A protocol module: it uses eid-crypto only, but for `pid` (docs/adr/0029 for the
//! JOSE choice: a minimal compact JWS over eid-crypto's ES256, no JOSE crate).
//!
//! One job per file: `jws` (compact JWS, JWK), `disclosure`, `path` (claim paths), `compact`
//! (the `~` serialization), `issue`, `holder`, `verify`, `issuer_key` (given key or x5c to a
//! trust anchor), `status_list`, `error`; and `pid`, the identity card as a PID-like SD-JWT VC
//! (docs/adr/0035), the one file that reads our documents (`credential`).

mod compact;
mod disclosure;
mod error;
mod holder;
mod issue;
mod issuer_key;
mod jws;
mod path;
mod pid;
mod status_list;
mod verify;

pub use compact::SdJwt;
pub use disclosure::{Disclosure, digest};
pub use error::SdJwtError;
pub use holder::{KeyBinding, bind, present, receive, select};
pub use issue::{IssueOptions, issue};
pub use issuer_key::IssuerKey;
pub use jws::{Es256Signer, Jws, jwk_from_point, point_from_jwk, sign as sign_jws};
pub use path::{ClaimPath, PathElem};
pub use pid::{PID_DECOYS, PID_VCT, pid_claims, pid_concealed, verify_pid, verify_status_list_jwt};
pub use status_list::{INVALID, SUSPENDED, StatusList, StatusListClaims, StatusReference, VALID};
pub use verify::{KeyBindingPolicy, Verified, VerifyOptions, verify};

// For OpenID4VP (`crate::oid4vp`): the request object's x5c chain, base64url, and the claims an
// SD-JWT shows with no disclosure (what a verifier sees as always disclosed).
pub(crate) use issuer_key::x5c_chain;
pub(crate) use jws::{b64, unb64};
pub(crate) use verify::process;

/// The `typ` of an SD-JWT VC.
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";
/// The `typ` and the media type of a Token Status List in JWT form.
pub const STATUS_LIST_JWT_TYP: &str = "statuslist+jwt";
pub const STATUS_LIST_JWT_MEDIA_TYPE: &str = "application/statuslist+jwt";
