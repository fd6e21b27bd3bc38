//! The wallet's answer (OpenID4VP 1.0 §8): after the citizen consented to a [`Selection`], one
//! SD-JWT+KB per selected SD-JWT VC (only the selected disclosures; KB-JWT `aud` = the client
//! identifier with its prefix, `nonce` = the request's, §B.3.6) or one DeviceResponse per
//! selected mdoc (only the selected elements, device-signed over the B.2.6.1 SessionTranscript;
//! `mdoc_answer`), gathered in a `vp_token` object
//! keyed by credential query id; then the `direct_post` body (`vp_token`, `state`) or the
//! `direct_post.jwt` body (`response` = a JWE of those parameters to the RP's key).

use super::error::Oid4vpError;
use super::form;
use super::jwe;
use super::mdoc_answer;
use super::request::{AuthorizationRequest, ResponseMode};
use super::select::{Held, Selection, WalletCredential};
use crate::sdjwt::{self, KeyBinding};
use eid_crypto::Rng;
use serde_json::{Map, Value};

/// The content type of every body here.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// An HTTP POST to make: to `uri`, with `body` as [`FORM_CONTENT_TYPE`].
#[derive(Clone, PartialEq, Eq)]
pub struct ResponsePost {
    pub uri: String,
    pub body: String,
}

// The body holds the presentations: Debug shows where it goes only.
impl std::fmt::Debug for ResponsePost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponsePost")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// Makes the presentations of a selection. Every claim to disclose is checked once more against
/// the purpose the request was accepted for; one outside it refuses the whole answer.
pub fn vp_token(
    request: &AuthorizationRequest,
    selection: &Selection,
    wallet: &[WalletCredential<'_>],
    now: u64,
) -> Result<Value, Oid4vpError> {
    let purpose = request
        .registration
        .purposes
        .iter()
        .find(|p| p.name == request.purpose)
        .ok_or(Oid4vpError::Scope)?;
    if !selection
        .presentations
        .iter()
        .flat_map(|s| &s.disclose)
        .all(|path| purpose.allows(path))
    {
        return Err(Oid4vpError::Scope);
    }
    let mut token = Map::new();
    let mut transcript = None;
    for s in &selection.presentations {
        if request.dcql.credential(&s.query_id).is_none() {
            return Err(Oid4vpError::Malformed("selection for an unknown query"));
        }
        let credential = wallet.get(s.credential).ok_or(Oid4vpError::NoMatch)?;
        let presentation = match &credential.held {
            Held::SdJwt(issued) => sdjwt::present(
                issued,
                &s.disclose,
                &KeyBinding {
                    audience: request.client_id.as_str(),
                    nonce: &request.nonce,
                    issued_at: now,
                },
                credential.device_key,
            )
            .map_err(|e| match e {
                sdjwt::SdJwtError::Signing => Oid4vpError::Signing,
                other => Oid4vpError::Presentation(other),
            })?,
            Held::Mdoc {
                doc_type,
                issuer_signed,
            } => {
                let transcript = match &transcript {
                    Some(t) => t,
                    None => transcript.insert(mdoc_answer::session_transcript(request)?),
                };
                mdoc_answer::device_response(
                    transcript,
                    doc_type,
                    issuer_signed,
                    &s.disclose,
                    credential.device_key,
                )?
            }
        };
        let entry = token
            .entry(s.query_id.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(presentation.into());
        }
    }
    Ok(Value::Object(token))
}

/// The POST that carries the `vp_token` to the response URI, encrypted for `direct_post.jwt`.
pub fn respond(
    request: &AuthorizationRequest,
    vp_token: &Value,
    rng: &mut dyn Rng,
) -> Result<ResponsePost, Oid4vpError> {
    let body = match request.response_mode {
        ResponseMode::DirectPost => {
            let token = vp_token.to_string();
            let mut pairs = vec![("vp_token", token.as_str())];
            if let Some(state) = &request.state {
                pairs.push(("state", state));
            }
            form::encode(&pairs)
        }
        ResponseMode::DirectPostJwt => {
            let mut payload = Map::new();
            payload.insert("vp_token".into(), vp_token.clone());
            if let Some(state) = &request.state {
                payload.insert("state".into(), state.as_str().into());
            }
            let (key, enc) = request.client_metadata.encryption()?;
            let plaintext = Value::Object(payload).to_string();
            let jwe = jwe::encrypt(plaintext.as_bytes(), &key, enc, rng)?;
            form::encode(&[("response", &jwe)])
        }
    };
    Ok(ResponsePost {
        uri: request.response_uri.clone(),
        body,
    })
}

/// The POST that declines (the citizen said no): `error=access_denied` with the `state`
/// (§8.5; unencrypted, as §8.3.1 allows for error responses). Nothing is disclosed.
pub fn decline(request: &AuthorizationRequest) -> ResponsePost {
    let mut pairs = vec![("error", "access_denied")];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    ResponsePost {
        uri: request.response_uri.clone(),
        body: form::encode(&pairs),
    }
}
