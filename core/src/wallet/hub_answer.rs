//! The answer to the backend's own "Log in with e-ID" hub (docs/adr/0058): the standard
//! OpenID4VP answer (`response`, the JWE, unchanged) plus the citizen's consent proof in
//! [`HUB_CONSENT_FIELD`], bound to that exact answer with [`consent_action::HUB_RESPONSE`] over
//! [`hub_response_digest`]. The device key alone (the KB-JWT) does not log the citizen in at a
//! relying party behind the hub: the passcode does, through an OPAQUE login the backend counts.
//!
//! Order: the passcode unlocks the wallet (local lockout), the consent login runs (a wrong
//! passcode there takes no credential), then the answer is made (credentials taken), its proof
//! computed and the whole posted to the response URI. Answers to other relying parties stay
//! [`Wallet::authorize_answer`]'s, standard and without a proof.

use super::authorize::{AuthorizationPrompt, AuthorizationSent, AuthorizeError, post_to};
use super::{Wallet, WalletError};
use crate::account::passcode::Passcode;
use crate::api::{HUB_CONSENT_FIELD, consent_action, hub_response_digest, paths};
use crate::client::BackendClient;
use crate::oid4vp::{self, AuthorizationRequest, Oid4vpError, ResponsePost};
use crate::platform::HttpTransport;

impl AuthorizationPrompt {
    /// Whether the answer goes to the hub of the backend `client` talks to (its response URI
    /// is that backend's [`paths::OIDC_RESPONSE`]): such an answer needs the citizen's consent.
    pub fn answers_hub_of(&self, client: &BackendClient) -> bool {
        self.request.response_uri == format!("{}{}", client.base_url(), paths::OIDC_RESPONSE)
    }

    /// Where the answer is posted.
    pub fn response_uri(&self) -> &str {
        &self.request.response_uri
    }

    /// The request's `state` (the hub's session), if it has one.
    pub fn state(&self) -> Option<&str> {
        self.request.state.as_deref()
    }

    /// The request's nonce (what the KB-JWT signs).
    pub fn nonce(&self) -> &str {
        &self.request.nonce
    }
}

impl Wallet {
    /// Step 2 for a request of the wallet's own backend's hub ([`AuthorizationPrompt::answers_hub_of`]
    /// `client`): the citizen's passcode unlocks, logs in to the backend's consent service
    /// (a wrong one is `WrongPasscode` with the backend's attempts left, nothing taken or
    /// sent), the answer is made and posted with its consent proof. Logged either way.
    pub async fn authorize_answer_hub(
        &self,
        prompt: &AuthorizationPrompt,
        passcode: &Passcode,
        client: &BackendClient,
        http: &dyn HttpTransport,
    ) -> Result<AuthorizationSent, AuthorizeError> {
        if !prompt.answers_hub_of(client) {
            return Err(AuthorizeError::Identity(
                "the answer does not go to this wallet's backend hub",
            ));
        }
        let result = self.hub_answer(prompt, passcode, client, http).await;
        self.log_authorization(prompt, &result, true)?;
        result
    }

    async fn hub_answer(
        &self,
        prompt: &AuthorizationPrompt,
        passcode: &Passcode,
        client: &BackendClient,
        http: &dyn HttpTransport,
    ) -> Result<AuthorizationSent, AuthorizeError> {
        self.unlock(passcode)?;
        let login = self.consent_login(client, passcode).await?;
        let post = self.answer_post(prompt)?;
        let with_proof = hub_post(&prompt.request, post, login)?;
        let redirect_uri = post_to(http, &with_proof)?;
        Ok(AuthorizationSent {
            disclosed: true,
            redirect_uri,
        })
    }
}

impl Wallet {
    /// The consent proof for an answer made outside [`Wallet::authorize_answer_hub`] (`post`,
    /// the standard answer to the hub's `request`, e.g. by the load driver from credentials it
    /// took): the consent login with `passcode`, its proof over `post` appended. Not logged.
    pub async fn hub_consent_post(
        &self,
        request: &AuthorizationRequest,
        post: ResponsePost,
        passcode: &Passcode,
        client: &BackendClient,
    ) -> Result<ResponsePost, AuthorizeError> {
        let login = self.consent_login(client, passcode).await?;
        hub_post(request, post, login)
    }
}

/// The standard `post` answering `request` with the consent proof of `login` over it appended.
fn hub_post(
    request: &AuthorizationRequest,
    post: ResponsePost,
    login: crate::consent::LoggedIn,
) -> Result<ResponsePost, AuthorizeError> {
    let form = oid4vp::form_decode(&post.body)?;
    // The hub asks for `direct_post.jwt` with its session in `state`: anything else is no
    // request of the hub.
    let response = form
        .get("response")
        .ok_or(Oid4vpError::Malformed("the hub's answer is not encrypted"))?;
    let state = request
        .state
        .as_deref()
        .ok_or(Oid4vpError::Malformed("the hub's request has no state"))?;
    let digest = hub_response_digest(state, &request.nonce, request.client_id.as_str(), response);
    let proof = login.proof(consent_action::HUB_RESPONSE, &digest);
    let json = serde_json::to_string(&proof)
        .map_err(|e| WalletError::InvalidInput(format!("consent proof: {e}")))?;
    let body = format!(
        "{}&{}",
        post.body,
        oid4vp::form_encode(&[(HUB_CONSENT_FIELD, json.as_str())])
    );
    Ok(ResponsePost {
        uri: post.uri,
        body,
    })
}
