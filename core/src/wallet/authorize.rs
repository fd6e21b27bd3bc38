//! The wallet's answer to a relying party's OpenID4VP request (issue 16, docs/adr/0039), in two
//! steps so an app can show the request between them:
//!
//! 1. [`Wallet::authorize_prepare`]: the `openid4vp://` (or `https` same-device) URI → the request
//!    object fetched by `request_uri` over the platform's [`HttpTransport`] → verified against the
//!    RP CA anchors of the last sync (`rp_trust`) and the hub's signed registry (unknown relying
//!    party, unregistered `response_uri`, claims outside every registered purpose: refused) → the
//!    access certificate's organisation and registration number must be the registry's → the
//!    DCQL query evaluated over the next unused SD-JWT VC of each `vct` and the next unused mdoc
//!    (MSO) of each docType it asks for (credential sets may mix both). Gives what to show: who
//!    (verified), why (the purpose), exactly which claims and from which credential. Nothing is
//!    sent.
//! 2. [`Wallet::authorize_answer`] with the citizen's consent (passcode or biometric, as for every
//!    presentation): one unused credential taken per one selected; an SD-JWT VC with only the
//!    selected disclosures and a KB-JWT (`aud` the client id, the request's nonce, `sd_hash`), an
//!    mdoc as a DeviceResponse with only the selected elements, device-signed over the
//!    OpenID4VP SessionTranscript (docs/adr/0049); posted by `direct_post` or `direct_post.jwt`
//!    (encrypted to the key of the RP's client metadata); or [`Wallet::authorize_decline`]
//!    (`access_denied`, nothing disclosed).
//!
//! Every answer, decline and refused request goes into the transaction log: relying party,
//! purpose, claim paths, time, outcome; never a claim value.

use super::{Consent, Wallet, WalletError};
use crate::oid4vp::{
    self, AuthorizationRequest, FORM_CONTENT_TYPE, FORMAT_MSO_MDOC, FORMAT_SD_JWT_VC, Meta,
    Oid4vpError, REQUEST_OBJECT_CONTENT_TYPE, ResponsePost, Selection, WalletCredential,
    WalletPolicy,
};
use crate::platform::{HttpRequest, HttpTransport, Method};
use crate::sdjwt::{ClaimPath, PathElem};
use crate::transactions::{Outcome, Transaction, TransactionKind};
use std::cell::RefCell;
use std::time::Duration;

/// Time allowed for one exchange with a relying party.
const RP_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest answer of a relying party read as text (a request object, a redirect).
const MAX_RP_ANSWER: usize = 1024 * 1024;

/// Why a request was not answered. Reasons name the rule, never a claim value.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The request fails a check (signature, certificate chain, client id, registration, scope,
    /// nothing in the wallet matches); nothing was disclosed.
    #[error("request refused: {0}")]
    Refused(#[from] Oid4vpError),
    /// The access certificate names another organisation or registration number than the hub's
    /// registry.
    #[error("request refused: {0}")]
    Identity(&'static str),
    /// The relying party could not be reached (nothing was disclosed when this came from the
    /// request's fetch).
    #[error("relying party unreachable: {0}")]
    Network(String),
    /// The relying party answered with an HTTP error status.
    #[error("relying party answered HTTP {0}")]
    Status(u16),
    #[error(transparent)]
    Wallet(#[from] WalletError),
}

/// The relying party as verified: its client id, and from its access certificate (checked
/// against the hub's registry) its legal name and registration number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpIdentity {
    pub client_id: String,
    pub legal_name: String,
    pub registration_number: String,
    /// The dNSName SANs of its access certificate.
    pub dns_names: Vec<String>,
}

/// One claim a request would disclose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedClaim {
    /// The DCQL credential query it answers.
    pub query_id: String,
    /// The credential it comes from (its `vct`, or an mdoc's docType).
    pub credential: String,
    /// The concrete claim path (an mdoc's `[namespace, element]`).
    pub path: ClaimPath,
    /// The credential's format (`dc+sd-jwt`, `mso_mdoc`).
    pub format: &'static str,
}

impl RequestedClaim {
    /// The claim as text: an SD-JWT VC's path as [`claim_text`], an mdoc's element as
    /// `namespace/element` (namespaces hold dots).
    pub fn text(&self) -> String {
        match self.path.0.as_slice() {
            [PathElem::Key(ns), PathElem::Key(id)] if self.format == FORMAT_MSO_MDOC => {
                format!("{ns}/{id}")
            }
            _ => claim_text(&self.path),
        }
    }
}

/// The relying party an intermediary (the hub's "Log in with e-ID") asks for, as the registry
/// has it (docs/adr/0050).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpBehind {
    pub client_id: String,
    pub legal_name: String,
    pub registration_number: String,
    /// Its registered purpose the request serves (what the citizen is told).
    pub purpose: String,
    /// The claims the intermediary passes on to it (the rest stay with the intermediary).
    pub claims: Vec<ClaimPath>,
}

/// A verified request, ready to show and then to answer or decline.
pub struct AuthorizationPrompt {
    pub rp: RpIdentity,
    /// The relying party behind an intermediary's request, checked in the registry.
    pub on_behalf_of: Option<RpBehind>,
    /// The registered purpose that covers the request.
    pub purpose: String,
    /// Exactly what an answer discloses.
    pub claims: Vec<RequestedClaim>,
    pub(super) request: AuthorizationRequest,
    /// The credentials the answer takes (one each), in the order the selection names them.
    used: Vec<Wanted>,
}

impl AuthorizationPrompt {
    /// Who the citizen is told asks: the relying party, or the one behind the intermediary
    /// (`Bank X (via Cong dang nhap e-ID)`).
    pub fn shown_as(&self) -> String {
        match &self.on_behalf_of {
            Some(b) => format!("{} (via {})", b.legal_name, self.rp.legal_name),
            None => self.rp.legal_name.clone(),
        }
    }

    /// The purpose the citizen is told: the one of the relying party behind an intermediary.
    pub fn shown_purpose(&self) -> &str {
        self.on_behalf_of
            .as_ref()
            .map_or(&self.purpose, |b| &b.purpose)
    }
}

impl std::fmt::Debug for AuthorizationPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationPrompt")
            .field("rp", &self.rp)
            .field("on_behalf_of", &self.on_behalf_of)
            .field("purpose", &self.purpose)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// What was posted to the relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationSent {
    /// Claims were sent (an answer); `false` for a decline.
    pub disclosed: bool,
    /// Where the relying party sends the citizen next (its answer's `redirect_uri`), if any.
    pub redirect_uri: Option<String>,
}

/// A claim path as text: keys joined by `.`, indexes `[n]`, every element `[*]`
/// (`address.formatted`, `nationalities[*]`).
pub fn claim_text(path: &ClaimPath) -> String {
    let mut out = String::new();
    for step in &path.0 {
        match step {
            PathElem::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathElem::Index(i) => out.push_str(&format!("[{i}]")),
            PathElem::AllElements => out.push_str("[*]"),
        }
    }
    out
}

fn http_failure(e: crate::platform::TransportFailure) -> AuthorizeError {
    AuthorizeError::Network(e.to_string())
}

fn answer_text(body: &[u8]) -> Option<&str> {
    (body.len() <= MAX_RP_ANSWER)
        .then(|| std::str::from_utf8(body).ok())
        .flatten()
}

/// One kind of credential the wallet holds and a query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    SdJwt(&'static str),
    Mdoc(&'static str),
}

impl Wanted {
    /// Its `vct` or docType.
    fn name(self) -> &'static str {
        match self {
            Wanted::SdJwt(t) | Wanted::Mdoc(t) => t,
        }
    }

    fn format(self) -> &'static str {
        match self {
            Wanted::SdJwt(_) => FORMAT_SD_JWT_VC,
            Wanted::Mdoc(_) => FORMAT_MSO_MDOC,
        }
    }
}

/// The kinds held that the credential queries ask for, each once, in query order. A query for
/// something the wallet never holds adds nothing (a credential set may still be met without it).
fn wanted(request: &AuthorizationRequest) -> Result<Vec<Wanted>, AuthorizeError> {
    let mut out = Vec::new();
    for q in &request.dcql.credentials {
        let found = match (q.format.as_str(), &q.meta) {
            (FORMAT_SD_JWT_VC, Meta::SdJwtVc { vct_values }) => super::SDJWT_VCTS
                .iter()
                .find(|held| vct_values.iter().any(|v| v == *held))
                .map(|v| Wanted::SdJwt(v)),
            (FORMAT_MSO_MDOC, Meta::Mdoc { doctype_value }) => crate::mdoc::DOCTYPES
                .iter()
                .find(|held| *held == doctype_value)
                .map(|d| Wanted::Mdoc(d)),
            _ => None,
        };
        if let Some(w) = found
            && !out.contains(&w)
        {
            out.push(w);
        }
    }
    if out.is_empty() {
        return Err(Oid4vpError::NoMatch.into());
    }
    Ok(out)
}

/// A credential peeked or taken, with the alias of its device key.
struct Picked {
    wanted: Wanted,
    alias: String,
    held: oid4vp::Held,
}

impl Wallet {
    /// Step 1: resolves and checks the request of `uri` and tells what an answer would disclose.
    /// The wallet must be unlocked (the credentials are sealed). A refused request is logged.
    pub fn authorize_prepare(
        &self,
        uri: &str,
        http: &dyn HttpTransport,
    ) -> Result<AuthorizationPrompt, AuthorizeError> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked.into());
        }
        let result = self.prepare(uri, http);
        if let Err(e) = &result {
            let counterparty = oid4vp::parse_authorization_uri(uri)
                .map_or_else(|_| "unknown relying party".to_owned(), |u| u.client_id);
            self.record(&Transaction {
                at_ms: self.clock.wall_ms(),
                kind: TransactionKind::Presentation,
                counterparty,
                profile: "openid4vp".to_owned(),
                fields: vec![],
                outcome: Outcome::Refused,
                detail: Some(e.to_string()),
            })?;
        }
        result
    }

    fn prepare(
        &self,
        uri: &str,
        http: &dyn HttpTransport,
    ) -> Result<AuthorizationPrompt, AuthorizeError> {
        let trust = self.rp_trust()?;
        let registrations = self.rp_registrations()?;
        let wallet_nonce = oid4vp::fresh_nonce(&mut eid_crypto::OsRng);
        let policy = WalletPolicy {
            rp_trust: &trust,
            registrations: &registrations,
            now: self.now(),
            allow_unsigned_test_rps: false,
            wallet_nonce: Some(&wallet_nonce),
        };
        // The fetch's own failure, kept to report it as it was (not as a malformed request).
        let failure: RefCell<Option<AuthorizeError>> = RefCell::new(None);
        let mut fetch = |request_uri: &str, body: Option<&str>| {
            let fail = |e: AuthorizeError| {
                *failure.borrow_mut() = Some(e);
                Oid4vpError::Malformed("request object not fetched")
            };
            let mut headers = vec![("accept".to_owned(), REQUEST_OBJECT_CONTENT_TYPE.to_owned())];
            if body.is_some() {
                headers.push(("content-type".to_owned(), FORM_CONTENT_TYPE.to_owned()));
            }
            let answer = http
                .exchange(HttpRequest {
                    method: if body.is_some() {
                        Method::Post
                    } else {
                        Method::Get
                    },
                    url: request_uri.to_owned(),
                    headers,
                    body: body.map(|b| b.as_bytes().to_vec()),
                    timeout: RP_TIMEOUT,
                })
                .map_err(|e| fail(http_failure(e)))?;
            if answer.status != 200 {
                return Err(fail(AuthorizeError::Status(answer.status)));
            }
            answer_text(&answer.body)
                .map(str::to_owned)
                .ok_or(Oid4vpError::Malformed("request object is not text"))
        };
        let request = match oid4vp::resolve_request(uri, &policy, &mut fetch) {
            Ok(r) => r,
            Err(e) => return Err(failure.into_inner().unwrap_or(e.into())),
        };
        let rp = self.identity(&request)?;
        let on_behalf_of = self.behind(&request)?;
        let mut picked = Vec::new();
        for w in wanted(&request)? {
            if let Some(p) = self.pick(w, false)? {
                picked.push(p);
            }
        }
        let (selection, claims) = self.evaluate(&request, &picked)?;
        let used = picked
            .iter()
            .enumerate()
            .filter(|(i, _)| selection.presentations.iter().any(|s| s.credential == *i))
            .map(|(_, p)| p.wanted)
            .collect();
        Ok(AuthorizationPrompt {
            rp,
            on_behalf_of,
            purpose: request.purpose.clone(),
            claims,
            request,
            used,
        })
    }

    /// The next unused credential of a kind: left unused (`take` false) or marked used.
    fn pick(&self, wanted: Wanted, take: bool) -> Result<Option<Picked>, AuthorizeError> {
        Ok(match wanted {
            Wanted::SdJwt(vct) => {
                let held = if take {
                    self.take_sdjwt(vct)?
                } else {
                    self.peek_sdjwt(vct)?
                };
                held.map(|h| Picked {
                    wanted,
                    alias: h.alias,
                    held: oid4vp::Held::SdJwt(h.sd_jwt),
                })
            }
            Wanted::Mdoc(doc_type) => {
                let held = if take {
                    self.take_mdoc(doc_type)?
                } else {
                    self.peek_mdoc(doc_type)?
                };
                held.map(|h| Picked {
                    wanted,
                    alias: h.alias,
                    held: oid4vp::Held::Mdoc {
                        doc_type: doc_type.to_owned(),
                        issuer_signed: h.issuer_signed,
                    },
                })
            }
        })
    }

    /// The DCQL query over `picked`: the selection and what it discloses.
    fn evaluate(
        &self,
        request: &AuthorizationRequest,
        picked: &[Picked],
    ) -> Result<(Selection, Vec<RequestedClaim>), AuthorizeError> {
        let keys: Vec<_> = picked.iter().map(|p| self.device_key(&p.alias)).collect();
        let credentials = credentials(picked, &keys)?;
        let selection = oid4vp::select(&request.dcql, &credentials)?;
        let claims = claims_of(&selection, picked);
        Ok((selection, claims))
    }

    /// The relying party's identity: a signed request whose access certificate names the
    /// organisation and registration number the hub's registry has for the client id.
    fn identity(&self, request: &AuthorizationRequest) -> Result<RpIdentity, AuthorizeError> {
        let certificate = request
            .certificate
            .as_ref()
            .ok_or(AuthorizeError::Identity("the request is not signed"))?;
        let client_id = request.client_id.as_str();
        let public = self
            .rp_public(client_id)?
            .ok_or(Oid4vpError::Unregistered)?;
        if certificate.organization.as_deref() != Some(public.name.as_str()) {
            return Err(AuthorizeError::Identity(
                "the access certificate names another organisation than the registry",
            ));
        }
        if certificate.serial_number.as_deref() != Some(public.registration_number.as_str()) {
            return Err(AuthorizeError::Identity(
                "the access certificate names another registration number than the registry",
            ));
        }
        Ok(RpIdentity {
            client_id: client_id.to_owned(),
            legal_name: public.name,
            registration_number: public.registration_number,
            dns_names: certificate.dns_names.clone(),
        })
    }

    /// The relying party behind an intermediary, as the registry publishes it (the protocol
    /// layer has checked it is registered for the purpose and the claims passed on).
    fn behind(&self, request: &AuthorizationRequest) -> Result<Option<RpBehind>, AuthorizeError> {
        let Some(b) = &request.on_behalf_of else {
            return Ok(None);
        };
        let public = self
            .rp_public(&b.registration.client_id)?
            .ok_or(Oid4vpError::OnBehalfOf(
                "the relying party behind the intermediary is unknown or suspended",
            ))?;
        Ok(Some(RpBehind {
            client_id: public.client_id,
            legal_name: public.name,
            registration_number: public.registration_number,
            purpose: b.purpose.clone(),
            claims: b.claims.clone(),
        }))
    }

    /// Step 2: the citizen consented. Takes one unused SD-JWT VC, presents exactly the shown
    /// claims with a KB-JWT for this request and posts the answer. Logged either way.
    pub fn authorize_answer(
        &self,
        prompt: &AuthorizationPrompt,
        consent: Consent<'_>,
        http: &dyn HttpTransport,
    ) -> Result<AuthorizationSent, AuthorizeError> {
        self.confirm(consent)?;
        let result = self.answer(prompt, http);
        self.log_authorization(prompt, &result, true)?;
        result
    }

    fn answer(
        &self,
        prompt: &AuthorizationPrompt,
        http: &dyn HttpTransport,
    ) -> Result<AuthorizationSent, AuthorizeError> {
        let post = self.answer_post(prompt)?;
        let redirect_uri = post_to(http, &post)?;
        Ok(AuthorizationSent {
            disclosed: true,
            redirect_uri,
        })
    }

    /// The answer's standard POST: takes the credentials and presents exactly the shown claims.
    pub(super) fn answer_post(
        &self,
        prompt: &AuthorizationPrompt,
    ) -> Result<ResponsePost, AuthorizeError> {
        let mut picked = Vec::new();
        for w in &prompt.used {
            picked.push(self.pick(*w, true)?.ok_or(Oid4vpError::NoMatch)?);
        }
        let keys: Vec<_> = picked.iter().map(|p| self.device_key(&p.alias)).collect();
        let credentials = credentials(&picked, &keys)?;
        let selection = oid4vp::select(&prompt.request.dcql, &credentials)?;
        // The credentials taken must disclose exactly what the citizen saw.
        if claims_of(&selection, &picked) != prompt.claims {
            return Err(Oid4vpError::NoMatch.into());
        }
        let token = oid4vp::vp_token(&prompt.request, &selection, &credentials, self.now())?;
        Ok(oid4vp::respond(
            &prompt.request,
            &token,
            &mut eid_crypto::OsRng,
        )?)
    }

    /// The citizen said no: `error=access_denied` to the response URI, nothing disclosed.
    pub fn authorize_decline(
        &self,
        prompt: &AuthorizationPrompt,
        http: &dyn HttpTransport,
    ) -> Result<AuthorizationSent, AuthorizeError> {
        let result = post_to(http, &oid4vp::decline(&prompt.request)).map(|redirect_uri| {
            AuthorizationSent {
                disclosed: false,
                redirect_uri,
            }
        });
        self.log_authorization(prompt, &result, false)?;
        result
    }

    pub(super) fn log_authorization(
        &self,
        prompt: &AuthorizationPrompt,
        result: &Result<AuthorizationSent, AuthorizeError>,
        answered: bool,
    ) -> Result<(), WalletError> {
        if !self.is_unlocked() {
            return Ok(());
        }
        let mode = prompt.request.response_mode.name();
        let (outcome, detail) = match (result, answered) {
            (Ok(_), true) => (Outcome::Success, format!("OpenID4VP {mode}")),
            (Ok(_), false) => (Outcome::Refused, "declined by the citizen".to_owned()),
            (Err(e), _) => (Outcome::Failed, e.to_string()),
        };
        self.record(&Transaction {
            at_ms: self.clock.wall_ms(),
            kind: TransactionKind::Presentation,
            counterparty: match &prompt.on_behalf_of {
                Some(b) => format!(
                    "{} ({}, via {})",
                    prompt.shown_as(),
                    b.client_id,
                    prompt.rp.client_id
                ),
                None => format!("{} ({})", prompt.rp.legal_name, prompt.rp.client_id),
            },
            profile: prompt.shown_purpose().to_owned(),
            fields: prompt.claims.iter().map(RequestedClaim::text).collect(),
            outcome,
            detail: Some(detail),
        })
    }
}

/// The wallet credentials of `picked`, each signing with its key in `keys` (same order).
fn credentials<'k>(
    picked: &[Picked],
    keys: &'k [super::SdJwtKey<'_>],
) -> Result<Vec<WalletCredential<'k>>, AuthorizeError> {
    picked
        .iter()
        .zip(keys)
        .map(|(p, key)| match &p.held {
            oid4vp::Held::SdJwt(sd_jwt) => {
                WalletCredential::new(p.wanted.name(), sd_jwt.clone(), key).map_err(Into::into)
            }
            oid4vp::Held::Mdoc {
                doc_type,
                issuer_signed,
            } => Ok(WalletCredential::mdoc(
                p.wanted.name(),
                doc_type,
                issuer_signed.clone(),
                key,
            )),
        })
        .collect()
}

fn claims_of(selection: &Selection, picked: &[Picked]) -> Vec<RequestedClaim> {
    selection
        .presentations
        .iter()
        .flat_map(|s| {
            let wanted = picked.get(s.credential).map(|p| p.wanted);
            s.disclose.iter().map(move |path| RequestedClaim {
                query_id: s.query_id.clone(),
                credential: wanted.map_or("", Wanted::name).to_owned(),
                path: path.clone(),
                format: wanted.map_or("", Wanted::format),
            })
        })
        .collect()
}

/// Posts a form to the response URI; the relying party's `redirect_uri`, if it gave one.
pub(super) fn post_to(
    http: &dyn HttpTransport,
    post: &ResponsePost,
) -> Result<Option<String>, AuthorizeError> {
    let answer = http
        .exchange(HttpRequest {
            method: Method::Post,
            url: post.uri.clone(),
            headers: vec![("content-type".to_owned(), FORM_CONTENT_TYPE.to_owned())],
            body: Some(post.body.as_bytes().to_vec()),
            timeout: RP_TIMEOUT,
        })
        .map_err(http_failure)?;
    if answer.status != 200 {
        return Err(AuthorizeError::Status(answer.status));
    }
    // §8.2: a JSON object, possibly with `redirect_uri`; an empty or other body is fine too.
    Ok(answer_text(&answer.body)
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .and_then(|v| v.get("redirect_uri")?.as_str().map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_paths_read_as_text() {
        let p = ClaimPath::keys(&["address", "formatted"]);
        assert_eq!(claim_text(&p), "address.formatted");
        let p = ClaimPath::keys(&["nationalities"]).then(PathElem::AllElements);
        assert_eq!(claim_text(&p), "nationalities[*]");
        let p = ClaimPath::keys(&["a"]).then(PathElem::Index(2));
        assert_eq!(claim_text(&p), "a[2]");
    }
}
