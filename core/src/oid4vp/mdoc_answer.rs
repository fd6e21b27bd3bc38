//! The wallet's mdoc presentation in a `vp_token` (OpenID4VP 1.0 B.2.5, B.2.6.1): a
//! DeviceResponse with one Document holding only the elements to disclose (the others stay
//! hidden behind their digests in the MSO), device-signed (ES256 by the MSO's device key) over
//! DeviceAuthentication with the redirect SessionTranscript of this request, base64url without
//! padding.

use super::error::Oid4vpError;
use super::handover::{HandoverInfo, jwk_thumbprint_of};
use super::request::{AuthorizationRequest, ResponseMode};
use crate::mdoc::{
    self, DeviceResponse, IssuerSigned, ItemsRequest, RequestedElement, SessionTranscript,
};
use crate::sdjwt::{ClaimPath, Es256Signer, PathElem, b64};

/// The SessionTranscript the wallet signs for `request`: its client id (with prefix), nonce,
/// response URI and, for `direct_post.jwt`, the thumbprint of the key it encrypts to (the same
/// key [`super::respond`] chooses from the client metadata).
pub fn session_transcript(
    request: &AuthorizationRequest,
) -> Result<SessionTranscript, Oid4vpError> {
    let jwk_thumbprint = match request.response_mode {
        ResponseMode::DirectPost => None,
        ResponseMode::DirectPostJwt => {
            let (key, _) = request.client_metadata.encryption()?;
            Some(jwk_thumbprint_of(&key).ok_or(Oid4vpError::Encryption("key"))?)
        }
    };
    HandoverInfo {
        client_id: request.client_id.as_str(),
        nonce: &request.nonce,
        jwk_thumbprint,
        response_uri: &request.response_uri,
    }
    .session_transcript()
}

/// `[namespace, element]` of an mdoc claim path.
pub(crate) fn element_of(path: &ClaimPath) -> Option<(&str, &str)> {
    match path.0.as_slice() {
        [PathElem::Key(ns), PathElem::Key(id)] => Some((ns, id)),
        _ => None,
    }
}

/// The DeviceResponse (encoded, base64url) presenting the elements at `disclose` of `issued`.
pub fn device_response(
    transcript: &SessionTranscript,
    doc_type: &str,
    issued: &IssuerSigned,
    disclose: &[ClaimPath],
    device_key: &dyn Es256Signer,
) -> Result<String, Oid4vpError> {
    let elements = disclose
        .iter()
        .map(|p| {
            let (namespace, identifier) =
                element_of(p).ok_or(Oid4vpError::Malformed("mdoc claims path"))?;
            Ok(RequestedElement {
                namespace: namespace.to_owned(),
                identifier: identifier.to_owned(),
                intent_to_retain: false,
            })
        })
        .collect::<Result<Vec<_>, Oid4vpError>>()?;
    let request = ItemsRequest::new(doc_type, elements);
    let document = mdoc::respond(issued, doc_type, &request, transcript, |tbs| {
        device_key
            .sign_es256(tbs)
            .map(|sig| sig.to_vec())
            .ok_or(Oid4vpError::Signing)
    })
    .map_err(|_| Oid4vpError::Signing)?;
    // Exactly the asked elements, each once: anything else means the MSO is not what was shown.
    let disclosed: usize = document
        .issuer_signed
        .namespaces
        .iter()
        .map(|(_, items)| items.len())
        .sum();
    if disclosed != disclose.len() {
        return Err(Oid4vpError::NoMatch);
    }
    let bytes = DeviceResponse::ok(vec![document])
        .encode()
        .map_err(|_| Oid4vpError::Malformed("DeviceResponse"))?;
    Ok(b64(&bytes))
}
