//! Citizen-entered data (issue 18, docs/adr/0057): the wallet's submission and its list
//! (device-signed), and the authority clerk's queue and decision (admin token), what
//! `eid wallet submit`, `eid wallet submissions` and `eid authority` use.

use super::{BackendClient, CallOptions, Signer};
use crate::api::{
    self, SubmissionDecided, SubmissionDecision, SubmissionDetail, SubmissionInfo, SubmissionList,
    SubmissionQueue, SubmissionRequest, SubmissionState,
};
use crate::client::{ClientError, DeviceSigner};
use crate::platform::http::Method;

/// A path segment or query value as sent: anything but letters, digits, `-` and `_` is
/// percent-encoded, so an id cannot change the path.
fn encoded(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl BackendClient {
    /// Sends the citizen's submission. Sent again after a dropped connection with the same
    /// `client_request_id`: the backend answers a retry with the first submission.
    pub async fn submit(
        &self,
        signer: &dyn DeviceSigner,
        request: &SubmissionRequest,
    ) -> Result<SubmissionInfo, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Decode(e.to_string()))?;
        let options = CallOptions {
            signer: Some(Signer::Device(signer)),
            replay_safe: true,
            ..CallOptions::default()
        };
        let resp = self
            .call_with(Method::Post, api::paths::SUBMISSIONS, Some(body), options)
            .await?;
        serde_json::from_slice(&resp.body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// The account's submissions, newest first.
    pub async fn submissions(
        &self,
        signer: &dyn DeviceSigner,
    ) -> Result<SubmissionList, ClientError> {
        self.json(
            Method::Get,
            api::paths::SUBMISSIONS,
            None::<&()>,
            Some(signer),
        )
        .await
    }

    /// An authority's queue (`authority`: an issuer id of the kinds' declarations; every
    /// authority with `None`) of submissions in `state`, oldest first.
    pub async fn submission_queue(
        &self,
        admin_token: &str,
        authority: Option<&str>,
        state: SubmissionState,
    ) -> Result<SubmissionQueue, ClientError> {
        let mut path = format!("{}?state={}", api::paths::ADMIN_SUBMISSIONS, state.as_str());
        if let Some(a) = authority {
            path.push_str(&format!("&authority={}", encoded(a)));
        }
        self.admin(admin_token, Method::Get, &path, None).await
    }

    /// One submission with its attachments.
    pub async fn submission(
        &self,
        admin_token: &str,
        id: &str,
    ) -> Result<SubmissionDetail, ClientError> {
        let path = api::paths::ADMIN_SUBMISSION.replace("{id}", &encoded(id));
        self.admin(admin_token, Method::Get, &path, None).await
    }

    /// The clerk's decision. Not sent again once it may have arrived (a second decision is
    /// refused as already decided).
    pub async fn decide_submission(
        &self,
        admin_token: &str,
        id: &str,
        decision: &SubmissionDecision,
    ) -> Result<SubmissionDecided, ClientError> {
        let path = api::paths::ADMIN_SUBMISSION_DECISION.replace("{id}", &encoded(id));
        let body = serde_json::to_vec(decision).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.admin(admin_token, Method::Post, &path, Some(body))
            .await
    }
}
