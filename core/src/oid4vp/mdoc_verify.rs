//! The relying party's check of an mdoc presentation in a `vp_token` (OpenID4VP 1.0 B.2.5,
//! B.2.6.1): the base64url DeviceResponse decoded; one document, of the query's docType; the
//! reader's check of ISO/IEC 18013-5 (`mdoc::check_document`: MSO signed by a document signer of a
//! trusted IACA, certificates and MSO valid now, the digest of every element, the device
//! signature by the MSO's device key) over the SessionTranscript recomputed from what this
//! relying party asked (client id, nonce, the thumbprint of its own decryption key for
//! `direct_post.jwt`, the response URI it received the answer at), so an answer made for another
//! relying party, nonce, key or endpoint fails; the MSO's status list entry (fail closed); a claim
//! set of the query met and no element outside it.

use super::claims_path;
use super::dcql::{CredentialQuery, Meta};
use super::error::Oid4vpError;
use super::handover::{HandoverInfo, jwk_thumbprint};
use super::mdoc_answer::element_of;
use super::request::ResponseMode;
use super::rp_request::PendingRequest;
use super::rp_verify::{ResponsePolicy, VerifiedPresentation};
use crate::mdoc::{self, CheckError, ReaderContext, VerifiedDocument, cbor_to_json};
use crate::sdjwt::{ClaimPath, StatusList};
use base64::Engine;
use eid_crypto::trust::TrustStore;
use p256::elliptic_curve::sec1::ToSec1Point;
use serde_json::{Map, Value};

/// What a relying party needs to check mdoc presentations.
pub struct MdocPolicy<'a> {
    /// The IACAs of the trust list: the only anchors of mdoc issuers.
    pub iacas: &'a TrustStore,
    /// The Token Status List (CWT form) at a URI, fetched and verified by the caller
    /// (`mdoc::verify_status_list_cwt`); `None`: unavailable, and the presentation fails.
    pub status_list: &'a dyn Fn(&str) -> Option<StatusList>,
    /// The response URI the answer was posted to (the transcript binds it).
    pub response_uri: &'a str,
}

/// One verified mdoc: the document as the reader's check gave it.
#[derive(Clone, PartialEq)]
pub struct VerifiedMdoc {
    pub document: VerifiedDocument,
}

impl std::fmt::Debug for VerifiedMdoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.document.fmt(f)
    }
}

/// The transcript the wallet must have signed for `pending`.
fn transcript(
    pending: &PendingRequest,
    policy: &ResponsePolicy<'_>,
    mdoc: &MdocPolicy<'_>,
) -> Result<mdoc::SessionTranscript, Oid4vpError> {
    let jwk_thumbprint = match pending.response_mode {
        ResponseMode::DirectPost => None,
        ResponseMode::DirectPostJwt => {
            let key = policy
                .decryption_key
                .ok_or(Oid4vpError::Encryption("no decryption key"))?;
            let point = key.public_key().to_sec1_point(false);
            Some(jwk_thumbprint(point.as_bytes()).ok_or(Oid4vpError::Encryption("key"))?)
        }
    };
    HandoverInfo {
        client_id: &pending.client_id,
        nonce: &pending.nonce,
        jwk_thumbprint,
        response_uri: mdoc.response_uri,
    }
    .session_transcript()
}

/// Checks one base64url DeviceResponse answering `query`: its claims (`{namespace: {element:
/// value}}`), the paths disclosed and the verified document.
pub(crate) fn presentation(
    pending: &PendingRequest,
    query: &CredentialQuery,
    encoded: &str,
    policy: &ResponsePolicy<'_>,
    mdoc: &MdocPolicy<'_>,
) -> Result<VerifiedPresentation, Oid4vpError> {
    let Meta::Mdoc { doctype_value } = &query.meta else {
        return Err(Oid4vpError::Malformed(
            "mso_mdoc query without doctype_value",
        ));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| Oid4vpError::Malformed("DeviceResponse is not base64url"))?;
    let transcript = transcript(pending, policy, mdoc)?;
    let ctx = ReaderContext {
        transcript: &transcript,
        iacas: mdoc.iacas,
        now: policy.now,
        e_reader_private: None,
    };
    let mut documents = mdoc::check_device_response(&bytes, &ctx).map_err(Oid4vpError::Mdoc)?;
    if documents.len() != 1 {
        return Err(Oid4vpError::NotSatisfied(
            "one document per mdoc presentation",
        ));
    }
    let document = documents.remove(0);
    if document.doc_type != *doctype_value {
        return Err(Oid4vpError::NotSatisfied("docType not requested"));
    }
    if let Some(status) = &document.mso.status {
        let list =
            (mdoc.status_list)(&status.uri).ok_or(Oid4vpError::Mdoc(CheckError::StatusList))?;
        mdoc::check_status(&document.mso, &list).map_err(Oid4vpError::Mdoc)?;
    }
    let mut claims = Map::new();
    let mut disclosed = Vec::new();
    for (ns, id, value) in &document.elements {
        let entry = claims
            .entry(ns.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(id.clone(), cbor_to_json(value));
        }
        disclosed.push(ClaimPath::keys(&[ns, id]));
    }
    let as_json = Value::Object(claims);
    let mut satisfied_any = false;
    for option in query.options() {
        let met = option.iter().all(|q| {
            claims_path::select(&as_json, &q.path).is_some_and(|found| {
                found
                    .iter()
                    .any(|(_, v)| q.values.as_ref().is_none_or(|vals| vals.contains(v)))
            })
        });
        if !met {
            continue;
        }
        satisfied_any = true;
        let within = disclosed
            .iter()
            .all(|d| element_of(d).is_some() && option.iter().any(|q| q.path == *d));
        if within {
            let Value::Object(claims) = as_json else {
                return Err(Oid4vpError::Malformed("claims"));
            };
            return Ok(VerifiedPresentation {
                query_id: query.id.clone(),
                claims,
                disclosed,
                mdoc: Some(VerifiedMdoc { document }),
            });
        }
    }
    Err(if satisfied_any {
        Oid4vpError::OverDisclosure
    } else {
        Oid4vpError::NotSatisfied("no claim set of the query is met")
    })
}
