//! The remote signing calls (`crate::signing::api`): device-signed POSTs, and the CA.

use super::{BackendClient, new_request_id};
use crate::client::{ClientError, DeviceSigner};
use crate::platform::http::Method;
use crate::signing::api::{
    AuthorizeRequest, Challenge, CredentialInfo, CredentialRef, CredentialsList,
    CredentialsListRequest, EnrolRequest, Sad, SignHashRequest, Signatures, paths,
};

impl BackendClient {
    /// Creates (or returns) the account's signing credential.
    pub async fn signing_enrol(
        &self,
        signer: &dyn DeviceSigner,
    ) -> Result<CredentialInfo, ClientError> {
        let body = EnrolRequest {
            client_request_id: new_request_id(),
        };
        self.json(Method::Post, paths::ENROL, Some(&body), Some(signer))
            .await
    }

    /// The signing CA certificate, PEM.
    pub(crate) async fn signing_ca_pem(&self) -> Result<String, ClientError> {
        let resp = self
            .call(Method::Get, paths::CA_PEM, None, None, None)
            .await?;
        String::from_utf8(resp.body).map_err(|_| ClientError::Decode("CA certificate".into()))
    }

    pub async fn signing_credentials(
        &self,
        signer: &dyn DeviceSigner,
    ) -> Result<CredentialsList, ClientError> {
        let body = CredentialsListRequest {
            client_request_id: new_request_id(),
        };
        self.json(
            Method::Post,
            paths::CREDENTIALS_LIST,
            Some(&body),
            Some(signer),
        )
        .await
    }

    pub async fn signing_credential_info(
        &self,
        signer: &dyn DeviceSigner,
        credential_id: &str,
    ) -> Result<CredentialInfo, ClientError> {
        let body = CredentialRef {
            client_request_id: new_request_id(),
            credential_id: credential_id.into(),
        };
        self.json(
            Method::Post,
            paths::CREDENTIALS_INFO,
            Some(&body),
            Some(signer),
        )
        .await
    }

    pub async fn signing_challenge(
        &self,
        signer: &dyn DeviceSigner,
        credential_id: &str,
    ) -> Result<Challenge, ClientError> {
        let body = CredentialRef {
            client_request_id: new_request_id(),
            credential_id: credential_id.into(),
        };
        self.json(
            Method::Post,
            paths::CREDENTIALS_CHALLENGE,
            Some(&body),
            Some(signer),
        )
        .await
    }

    pub async fn signing_authorize(
        &self,
        signer: &dyn DeviceSigner,
        body: &AuthorizeRequest,
    ) -> Result<Sad, ClientError> {
        self.json(
            Method::Post,
            paths::CREDENTIALS_AUTHORIZE,
            Some(body),
            Some(signer),
        )
        .await
    }

    pub async fn signing_sign_hash(
        &self,
        signer: &dyn DeviceSigner,
        body: &SignHashRequest,
    ) -> Result<Signatures, ClientError> {
        self.json(Method::Post, paths::SIGN_HASH, Some(body), Some(signer))
            .await
    }
}
