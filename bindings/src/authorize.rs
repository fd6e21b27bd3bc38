//! A relying party's OpenID4VP request (issue 16, docs/adr/0039, 0058, 0061) as `WalletHandle`
//! methods over `eid_core::wallet`: `authorize_request` resolves and checks it and returns an
//! `AuthorizationRequest` (what to show: `view()`); `authorize_answer` (with the passcode) or
//! `authorize_decline` spends it. Every network exchange goes through the app's transport.
//! `disclosure_history` lists what was disclosed, the hub's records and the wallet's own.

use crate::error::EidError;
use crate::passcode::Passcode;
use crate::run::{logged, on_runtime, on_runtime_blocking};
use crate::wallet::WalletHandle;
use eid_core::wallet::{self as core, AuthorizationPrompt, AuthorizationSent, AuthorizeError};
use std::sync::{Arc, Mutex};

/// One claim a request would disclose: its path as text (`address.formatted`, an mdoc's
/// `namespace/element`), its labels for the consent screen, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RequestedClaimView {
    pub path: String,
    pub label_vi: String,
    pub label_en: String,
    /// The credential's `vct` or the mdoc's docType.
    pub credential: String,
    /// `dc+sd-jwt` or `mso_mdoc`.
    pub format: String,
}

/// The relying party behind an intermediary's request (the hub's "Log in with e-ID"), as the
/// hub's signed registry has it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RelyingPartyBehind {
    pub client_id: String,
    pub legal_name: String,
    pub registration_number: String,
    /// The claims the intermediary passes on to it (empty: a pseudonymous login only).
    pub claims: Vec<String>,
}

/// What the consent screen shows of a verified request. The relying party's identity was
/// verified: its signed request's access certificate (`certificate_dns_names`) chains to the
/// hub's RP CA, and names the legal name and registration number of the hub's registry for
/// `client_id`. Claims outside its registered purpose were refused before this was made.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AuthorizationRequestView {
    pub client_id: String,
    pub legal_name: String,
    pub registration_number: String,
    /// The dNSName SANs of the access certificate that signed the request.
    pub certificate_dns_names: Vec<String>,
    pub on_behalf_of: Option<RelyingPartyBehind>,
    /// Who asks, as the citizen is told (`Bank X (via Cong dang nhap e-ID)` behind the hub).
    pub shown_as: String,
    /// The registered purpose the request serves.
    pub purpose: String,
    /// Exactly what an answer discloses.
    pub claims: Vec<RequestedClaimView>,
    /// The answer goes to this wallet's backend hub (it carries the citizen's consent proof,
    /// docs/adr/0058); otherwise straight to the relying party.
    pub via_hub: bool,
    /// Where the answer (or the decline) is posted.
    pub response_uri: String,
}

/// What an answer or a decline sent.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct AuthorizationOutcome {
    /// Claims were sent (`false`: declined, the relying party got `access_denied` only).
    pub disclosed: bool,
    /// The claims sent (paths as in `RequestedClaimView.path`); empty when declined.
    pub claims: Vec<String>,
    /// Where it was posted.
    pub sent_to: String,
    /// Where the relying party sends the citizen next, if it said.
    pub redirect_uri: Option<String>,
}

// Not derived: the redirect URI may carry the relying party's session or code.
impl std::fmt::Debug for AuthorizationOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationOutcome")
            .field("disclosed", &self.disclosed)
            .field("claims", &self.claims.len())
            .finish_non_exhaustive()
    }
}

pub use eid_core::wallet::DisclosureSource;

/// Where a disclosure is known from.
#[uniffi::remote(Enum)]
pub enum DisclosureSource {
    /// The hub's record of a flow it mediated (synced).
    Hub,
    /// The wallet's own log (a direct answer, or a hub flow not synced yet).
    Wallet,
}

/// One disclosure of the history: to whom, when, why, which claims (names, never values).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct DisclosureEntry {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub relying_party: String,
    pub client_id: Option<String>,
    /// The hub service that mediated it (`oidc`); `None` for a direct answer.
    pub via: Option<String>,
    pub purpose: String,
    pub claims: Vec<String>,
    pub source: DisclosureSource,
}

// Not derived: whom the citizen disclosed to, and when, is theirs.
impl std::fmt::Debug for DisclosureEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisclosureEntry")
            .field("source", &self.source)
            .field("claims", &self.claims.len())
            .finish_non_exhaustive()
    }
}

/// A verified request between the consent screen and the citizen's answer: answered or
/// declined once (`WalletHandle.authorize_answer`, `authorize_decline`). A wrong passcode
/// leaves it to answer again; anything else spends it.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct AuthorizationRequest {
    view: AuthorizationRequestView,
    prompt: Mutex<Option<AuthorizationPrompt>>,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("client_id", &self.view.client_id)
            .field("purpose", &self.view.purpose)
            .field("claims", &self.view.claims.len())
            .finish_non_exhaustive()
    }
}

#[uniffi::export]
impl AuthorizationRequest {
    /// What to show.
    pub fn view(&self) -> AuthorizationRequestView {
        self.view.clone()
    }

    /// Answered or declined already.
    pub fn is_spent(&self) -> bool {
        self.prompt.lock().map_or(true, |p| p.is_none())
    }
}

impl AuthorizationRequest {
    /// The prompt, taken out so no second answer runs meanwhile.
    fn take(&self) -> Result<AuthorizationPrompt, EidError> {
        self.prompt
            .lock()
            .ok()
            .and_then(|mut p| p.take())
            .ok_or(EidError::InvalidInput {
                reason: "this request was already answered or declined".into(),
            })
    }

    /// Puts the prompt back after an attempt that sent nothing and may be retried (a wrong
    /// passcode, a locked wallet).
    fn settle<T>(&self, prompt: AuthorizationPrompt, r: &Result<T, AuthorizeError>) {
        use eid_core::account::AccountError;
        let retry = matches!(
            r,
            Err(AuthorizeError::Wallet(
                core::WalletError::Account(
                    AccountError::WrongPasscode { .. } | AccountError::Locked { .. }
                ) | core::WalletError::Locked
            ))
        );
        if retry && let Ok(mut p) = self.prompt.lock() {
            *p = Some(prompt);
        }
    }
}

fn view(prompt: &AuthorizationPrompt, via_hub: bool) -> AuthorizationRequestView {
    AuthorizationRequestView {
        client_id: prompt.rp.client_id.clone(),
        legal_name: prompt.rp.legal_name.clone(),
        registration_number: prompt.rp.registration_number.clone(),
        certificate_dns_names: prompt.rp.dns_names.clone(),
        on_behalf_of: prompt.on_behalf_of.as_ref().map(|b| RelyingPartyBehind {
            client_id: b.client_id.clone(),
            legal_name: b.legal_name.clone(),
            registration_number: b.registration_number.clone(),
            claims: b.claims.iter().map(core::claim_text).collect(),
        }),
        shown_as: prompt.shown_as(),
        purpose: prompt.shown_purpose().to_owned(),
        claims: prompt
            .claims
            .iter()
            .map(|c| {
                let label = c.label();
                RequestedClaimView {
                    path: c.text(),
                    label_vi: label.vi,
                    label_en: label.en,
                    credential: c.credential.clone(),
                    format: c.format.to_owned(),
                }
            })
            .collect(),
        via_hub,
        response_uri: prompt.response_uri().to_owned(),
    }
}

fn outcome(request: &AuthorizationRequest, sent: AuthorizationSent) -> AuthorizationOutcome {
    AuthorizationOutcome {
        disclosed: sent.disclosed,
        claims: if sent.disclosed {
            request.view.claims.iter().map(|c| c.path.clone()).collect()
        } else {
            vec![]
        },
        sent_to: request.view.response_uri.clone(),
        redirect_uri: sent.redirect_uri,
    }
}

#[uniffi::export]
impl WalletHandle {
    /// Resolves an `openid4vp://` (or `https` same-device) request: fetched by reference over
    /// the app's transport, its signature, access certificate, client id, the hub's registry
    /// and the registered purpose checked; nothing is sent. The wallet must be unlocked. A
    /// refused request is `RequestRefused` (and logged).
    pub async fn authorize_request(
        &self,
        uri: String,
    ) -> Result<Arc<AuthorizationRequest>, EidError> {
        let (w, b, http) = (self.wallet.clone(), self.backend.clone(), self.http.clone());
        on_runtime_blocking("authorize_request", move || {
            let prompt = w.authorize_prepare(&uri, http.as_ref())?;
            let via_hub = prompt.answers_hub_of(&b);
            Ok(Arc::new(AuthorizationRequest {
                view: view(&prompt, via_hub),
                prompt: Mutex::new(Some(prompt)),
            }))
        })
        .await
    }

    /// The citizen consented with the passcode: exactly the shown claims are presented and
    /// posted (to the hub with the consent proof the backend checks, docs/adr/0058). A wrong
    /// passcode is `WrongPasscode`, nothing sent, and the request can be answered again.
    pub async fn authorize_answer(
        &self,
        request: Arc<AuthorizationRequest>,
        passcode: Arc<Passcode>,
    ) -> Result<AuthorizationOutcome, EidError> {
        let (w, b, http) = (self.wallet.clone(), self.backend.clone(), self.http.clone());
        on_runtime("authorize_answer", async move {
            let prompt = request.take()?;
            let sent = if request.view.via_hub {
                w.authorize_answer_hub(&prompt, &passcode.0, &b, http.as_ref())
                    .await
            } else {
                w.authorize_answer(&prompt, core::Consent::Passcode(&passcode.0), http.as_ref())
            };
            request.settle(prompt, &sent);
            Ok(outcome(&request, sent?))
        })
        .await
    }

    /// The citizen said no: the relying party gets `access_denied`, nothing is disclosed.
    pub async fn authorize_decline(
        &self,
        request: Arc<AuthorizationRequest>,
    ) -> Result<AuthorizationOutcome, EidError> {
        let (w, http) = (self.wallet.clone(), self.http.clone());
        on_runtime_blocking("authorize_decline", move || {
            let prompt = request.take()?;
            let sent = w.authorize_decline(&prompt, http.as_ref());
            Ok(outcome(&request, sent?))
        })
        .await
    }

    /// Every disclosure, oldest first: the hub's records of the flows it mediated (as of the
    /// last sync) and the wallet's own answers. Declines and refusals are not disclosures
    /// (`transactions` has them).
    pub fn disclosure_history(&self) -> Result<Vec<DisclosureEntry>, EidError> {
        let list = self.wallet.disclosures().map(|all| {
            all.into_iter()
                .map(|d| DisclosureEntry {
                    at_ms: d.at_ms,
                    relying_party: d.relying_party,
                    client_id: d.client_id,
                    via: d.via,
                    purpose: d.purpose,
                    claims: d.claims,
                    source: d.source,
                })
                .collect()
        });
        logged("disclosure_history", list)
    }
}
