//! The backend's admin calls, with its admin token: the relying-party hub's (docs/adr/0036)
//! registration, list, suspension and resumption, metering report and OIDC clients, what
//! `eid rp` uses; an mdoc reader's certificate (docs/adr/0040), what `eid mdoc reader-cert`
//! uses.

use super::{BackendClient, CallOptions};
use crate::api::{
    self, MeteringReport, ReaderCertificateIssued, ReaderCertificateRequest, RpList, RpRecord,
    RpRegistrationRequest,
};
use crate::client::ClientError;
use crate::platform::http::Method;
use serde::de::DeserializeOwned;

impl BackendClient {
    pub(super) async fn admin<T: DeserializeOwned>(
        &self,
        admin_token: &str,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        let options = CallOptions {
            bearer: Some(admin_token),
            // Reads may be sent again; a registration only if it never left.
            replay_safe: method == Method::Get,
            ..CallOptions::default()
        };
        let resp = self.call_with(method, path, body, options).await?;
        serde_json::from_slice(&resp.body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Certifies an mdoc reader's public key for reader authentication (ISO/IEC 18013-5).
    pub async fn issue_reader_certificate(
        &self,
        admin_token: &str,
        request: &ReaderCertificateRequest,
    ) -> Result<ReaderCertificateIssued, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.admin(
            admin_token,
            Method::Post,
            api::paths::ADMIN_READER_CERTIFICATES,
            Some(body),
        )
        .await
    }

    /// Revokes a reader certificate the backend's reader CA issued (docs/adr/0053).
    pub async fn revoke_reader_certificate(
        &self,
        admin_token: &str,
        certificate: &[u8],
    ) -> Result<crate::api::ReaderCertificateRevoked, ClientError> {
        let body = serde_json::to_vec(&crate::api::ReaderCertificateRevoke {
            certificate: crate::api::B64(certificate.to_vec()),
        })
        .map_err(|e| ClientError::Decode(e.to_string()))?;
        self.admin(
            admin_token,
            Method::Post,
            api::paths::ADMIN_READER_CERTIFICATES_REVOKE,
            Some(body),
        )
        .await
    }

    /// Registers a relying party; its access certificate comes back with it.
    pub async fn register_relying_party(
        &self,
        admin_token: &str,
        registration: &RpRegistrationRequest,
    ) -> Result<RpRecord, ClientError> {
        let body =
            serde_json::to_vec(registration).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.admin(
            admin_token,
            Method::Post,
            api::paths::ADMIN_RELYING_PARTIES,
            Some(body),
        )
        .await
    }

    /// Makes registered relying party `id` an OIDC client with `redirect_uris`; its secret
    /// comes back once (docs/adr/0042).
    pub async fn oidc_client(
        &self,
        admin_token: &str,
        id: &str,
        redirect_uris: &[String],
    ) -> Result<api::OidcClient, ClientError> {
        let body = serde_json::to_vec(&api::OidcClientRequest {
            redirect_uris: redirect_uris.to_vec(),
        })
        .map_err(|e| ClientError::Decode(e.to_string()))?;
        let path = api::paths::ADMIN_RP_OIDC_CLIENT.replace("{id}", id);
        self.admin(admin_token, Method::Post, &path, Some(body))
            .await
    }

    /// Suspends relying party `id` (docs/adr/0036): it leaves the published registry, its
    /// logins and eKYC checks are refused; `reason` goes to the backend's log.
    pub async fn suspend_relying_party(
        &self,
        admin_token: &str,
        id: &str,
        reason: Option<&str>,
    ) -> Result<RpRecord, ClientError> {
        let body = serde_json::to_vec(&api::RpSuspend {
            reason: reason.map(str::to_owned),
        })
        .map_err(|e| ClientError::Decode(e.to_string()))?;
        let path = api::paths::ADMIN_RP_SUSPEND.replace("{id}", id);
        self.admin(admin_token, Method::Post, &path, Some(body))
            .await
    }

    /// Puts suspended relying party `id` back in the registry.
    pub async fn resume_relying_party(
        &self,
        admin_token: &str,
        id: &str,
    ) -> Result<RpRecord, ClientError> {
        let path = api::paths::ADMIN_RP_RESUME.replace("{id}", id);
        self.admin(admin_token, Method::Post, &path, Some(b"{}".to_vec()))
            .await
    }

    /// Every registered relying party.
    pub async fn list_relying_parties(&self, admin_token: &str) -> Result<RpList, ClientError> {
        self.admin(
            admin_token,
            Method::Get,
            api::paths::ADMIN_RELYING_PARTIES,
            None,
        )
        .await
    }

    /// The billable events from `from` to `to` (`YYYY-MM-DD`, both optional).
    pub async fn metering_report(
        &self,
        admin_token: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<MeteringReport, ClientError> {
        let mut query = Vec::new();
        if let Some(f) = from {
            query.push(format!("from={f}"));
        }
        if let Some(t) = to {
            query.push(format!("to={t}"));
        }
        let path = if query.is_empty() {
            api::paths::ADMIN_METERING.to_owned()
        } else {
            format!("{}?{}", api::paths::ADMIN_METERING, query.join("&"))
        };
        self.admin(admin_token, Method::Get, &path, None).await
    }
}
