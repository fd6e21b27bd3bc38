//! The citizen consent calls (docs/adr/0017): device-signed POSTs.

use super::{BackendClient, new_request_id};
use crate::api::{
    B64, ConsentProof, ConsentRegister, ConsentRegistered, ConsentStart, ConsentStarted,
    TokenRegistered, TokenRegistration, paths,
};
use crate::client::{ClientError, DeviceSigner};
use crate::platform::http::Method;

impl BackendClient {
    /// Sends the passcode's OPAQUE `RegistrationUpload`; `consent` for a passcode change.
    pub async fn consent_register(
        &self,
        signer: &dyn DeviceSigner,
        upload: &[u8],
        consent: Option<ConsentProof>,
    ) -> Result<ConsentRegistered, ClientError> {
        let body = ConsentRegister {
            client_request_id: new_request_id(),
            upload: B64(upload.to_vec()),
            consent,
        };
        self.json(
            Method::Post,
            paths::CONSENT_REGISTER,
            Some(&body),
            Some(signer),
        )
        .await
    }

    /// Starts a consent login with KE1 (and, for a passcode change, the new passcode's
    /// registration request). Retried with the same client_request_id, so a retry is not
    /// counted twice.
    pub async fn consent_start(
        &self,
        signer: &dyn DeviceSigner,
        credential_request: Vec<u8>,
        registration_request: Option<Vec<u8>>,
    ) -> Result<ConsentStarted, ClientError> {
        let body = ConsentStart {
            client_request_id: new_request_id(),
            credential_request: B64(credential_request),
            registration_request: registration_request.map(B64),
        };
        self.json(
            Method::Post,
            paths::CONSENT_START,
            Some(&body),
            Some(signer),
        )
        .await
    }

    /// Registers an online token with the citizen's consent, before it is shown.
    pub async fn register_token(
        &self,
        signer: &dyn DeviceSigner,
        token: &str,
        consent: ConsentProof,
    ) -> Result<TokenRegistered, ClientError> {
        let body = TokenRegistration {
            client_request_id: new_request_id(),
            token: token.to_owned(),
            consent: Some(consent),
        };
        self.json(
            Method::Post,
            paths::PRESENTATION_TOKENS,
            Some(&body),
            Some(signer),
        )
        .await
    }
}
