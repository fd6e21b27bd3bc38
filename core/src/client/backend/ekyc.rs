//! Bank eKYC by chip (docs/adr/0054): a relying party's desk asks the backend for a chip
//! challenge and sends the evidence its reader read, authenticated with its OIDC client
//! credentials (`client_secret_basic`, docs/adr/0042); what `eid rp ekyc` uses.

use super::{BackendClient, CallOptions};
use crate::api::{self, EkycChallenge, EkycCheckRequest, EkycCheckResponse};
use crate::client::ClientError;
use crate::platform::http::Method;

impl BackendClient {
    /// A fresh single-use challenge for the chip. Sent again after a dropped connection: a
    /// second challenge costs nothing.
    pub async fn ekyc_challenge(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<EkycChallenge, ClientError> {
        let options = CallOptions {
            basic: Some((client_id, client_secret)),
            replay_safe: true,
            ..CallOptions::default()
        };
        let resp = self
            .call_with(
                Method::Post,
                api::paths::EKYC_CHALLENGES,
                Some(b"{}".to_vec()),
                options,
            )
            .await?;
        serde_json::from_slice(&resp.body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// The check of the evidence: the signed result (not yet verified). Not sent again once
    /// it may have arrived: its challenge is single use.
    pub async fn ekyc_check(
        &self,
        client_id: &str,
        client_secret: &str,
        request: &EkycCheckRequest,
    ) -> Result<EkycCheckResponse, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Decode(e.to_string()))?;
        let options = CallOptions {
            basic: Some((client_id, client_secret)),
            ..CallOptions::default()
        };
        let resp = self
            .call_with(Method::Post, api::paths::EKYC_CHECKS, Some(body), options)
            .await?;
        serde_json::from_slice(&resp.body).map_err(|e| ClientError::Decode(e.to_string()))
    }
}
