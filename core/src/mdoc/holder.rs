//! The holder's side of a presentation (ISO/IEC 18013-5 §8.3.2.1.2.2, §9.1.3): from the issued
//! IssuerSigned, only the elements the reader asked for (selective disclosure: the other items
//! are left out, their digests stay hidden in the MSO), and the device signature over
//! DeviceAuthentication with this session's transcript, by the MSO's device key, or the device
//! MAC under EMacKey (ECDH of the device key and the reader's ephemeral key, §9.1.3.5). A
//! requested element the mdoc does not hold is named in the Document's `errors` with ErrorCode 0
//! (data not returned, §8.3.2.1.2.2), so the reader can tell it apart from a lost one; a
//! requested `age_over_NN` not held is answered by the nearest one held (§7.2.5, `age_over.rs`).

use super::age_over;
use super::cbor::Tagged24;
use super::cose_key::CoseKey;
use super::error::MdocError;
use super::issuer_signed::IssuerSigned;
use super::request::{ItemsRequest, RequestedElement};
use super::response::{
    DeviceAuth, DeviceSigned, Document, ERROR_DATA_NOT_RETURNED, ElementError,
    device_authentication_bytes,
};
use super::session_keys;
use super::transcript::SessionTranscript;
use ciborium::Value;
use eid_crypto::SecretKey;
use eid_crypto::cose::{Mac0, SignError, sign_es256_unprotected_x5chain};

/// A requested `age_over_NN` the mdoc does not hold, answered by the nearest one it holds
/// (§7.2.5): the citizen is shown which one is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearestAge {
    pub namespace: String,
    pub requested: String,
    pub sent: String,
}

/// The identifier `issued` sends for `e`: `e` itself when held, the nearest age attestation
/// for an `age_over_NN` not held, or none.
fn sent_for<'a>(issued: &'a IssuerSigned, e: &RequestedElement) -> Option<&'a str> {
    let (_, items) = issued
        .namespaces
        .iter()
        .find(|(ns, _)| *ns == e.namespace)?;
    age_over::answer_for(
        &e.identifier,
        items
            .iter()
            .map(|i| (i.element_identifier.as_str(), &i.element_value)),
    )
}

/// The IssuerSigned with only what answers `request` (its docType must match): the requested
/// elements held, and for a requested `age_over_NN` not held the nearest one that answers it.
pub fn disclose(issued: &IssuerSigned, request: &ItemsRequest) -> IssuerSigned {
    let sent: Vec<(&str, &str)> = request
        .elements
        .iter()
        .filter_map(|e| Some((e.namespace.as_str(), sent_for(issued, e)?)))
        .collect();
    let namespaces = issued
        .namespaces
        .iter()
        .map(|(ns, items)| {
            let kept = items
                .iter()
                .filter(|i| sent.contains(&(ns.as_str(), i.element_identifier.as_str())))
                .cloned()
                .collect::<Vec<_>>();
            (ns.clone(), kept)
        })
        .filter(|(_, items)| !items.is_empty())
        .collect();
    IssuerSigned {
        namespaces,
        issuer_auth: issued.issuer_auth.clone(),
    }
}

/// The requested elements of `request` for which `issued` sends nothing.
pub fn not_held(issued: &IssuerSigned, request: &ItemsRequest) -> Vec<RequestedElement> {
    request
        .elements
        .iter()
        .filter(|e| sent_for(issued, e).is_none())
        .cloned()
        .collect()
}

/// The requested `age_over_NN` of `request` that `issued` answers with another threshold.
pub fn nearest_ages(issued: &IssuerSigned, request: &ItemsRequest) -> Vec<NearestAge> {
    request
        .elements
        .iter()
        .filter_map(|e| {
            let sent = sent_for(issued, e)?;
            (sent != e.identifier).then(|| NearestAge {
                namespace: e.namespace.clone(),
                requested: e.identifier.clone(),
                sent: sent.to_owned(),
            })
        })
        .collect()
}

/// The Document answering `request` from `issued`, authenticated by `device_signed`.
fn answer(
    issued: &IssuerSigned,
    doc_type: &str,
    request: &ItemsRequest,
    device_signed: DeviceSigned,
) -> Document {
    Document {
        doc_type: doc_type.to_owned(),
        issuer_signed: disclose(issued, request),
        device_signed,
        errors: not_held(issued, request)
            .into_iter()
            .map(|e| ElementError {
                namespace: e.namespace,
                identifier: e.identifier,
                code: ERROR_DATA_NOT_RETURNED,
            })
            .collect(),
    }
}

/// A Document answering `request`: disclosed elements and a device signature by `sign` (ES256
/// r || s over the Sig_structure, with the MSO's device key).
pub fn respond<E>(
    issued: &IssuerSigned,
    doc_type: &str,
    request: &ItemsRequest,
    transcript: &SessionTranscript,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Document, SignError<E>> {
    let device_namespaces = Tagged24::of(&Value::Map(Vec::new()));
    let payload = device_authentication_bytes(transcript, doc_type, &device_namespaces);
    let signature = sign_es256_unprotected_x5chain(&payload, true, None, sign)?;
    let device_signed = DeviceSigned {
        namespaces: device_namespaces,
        auth: DeviceAuth::Signature(signature),
    };
    Ok(answer(issued, doc_type, request, device_signed))
}

/// A Document answering `request` with a device MAC: HMAC-SHA-256 under EMacKey, derived from
/// the device key's private scalar and the reader's ephemeral key (EReaderKey).
pub fn respond_with_mac(
    issued: &IssuerSigned,
    doc_type: &str,
    request: &ItemsRequest,
    transcript: &SessionTranscript,
    device_private: &SecretKey,
    e_reader_key: &CoseKey,
) -> Result<Document, MdocError> {
    let key = session_keys::derive(
        device_private,
        e_reader_key,
        &transcript.bytes(),
        b"EMacKey",
    )?;
    respond_with_mac_key(issued, doc_type, request, transcript, &key)
}

/// [`respond_with_mac`] with EMacKey already derived (from a key store's ECDH, see
/// `session_keys::derive_from_shared`).
pub fn respond_with_mac_key(
    issued: &IssuerSigned,
    doc_type: &str,
    request: &ItemsRequest,
    transcript: &SessionTranscript,
    key: &SecretKey,
) -> Result<Document, MdocError> {
    let device_namespaces = Tagged24::of(&Value::Map(Vec::new()));
    let payload = device_authentication_bytes(transcript, doc_type, &device_namespaces);
    let mac = Mac0::create_hmac256_detached(key.as_bytes(), &payload)
        .ok_or(MdocError::Structure("COSE_Mac0"))?;
    let device_signed = DeviceSigned {
        namespaces: device_namespaces,
        auth: DeviceAuth::Mac(mac),
    };
    Ok(answer(issued, doc_type, request, device_signed))
}
