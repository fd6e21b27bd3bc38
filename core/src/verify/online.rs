//! Online mode: a verifier desk redeems a `VNT2:` token at the backend, once, and gets the
//! consented fields from there. The desk signs its request with its own registered key.

use super::Verdict;
use crate::api::ErrorCode;
use crate::keys::KeyStore;
use crate::present::QrPayload;
use crate::sync::client::VerifierSigner;
use crate::sync::{BackendClient, SyncError};
use std::sync::Arc;

/// A verifier key kept in a [`KeyStore`] (the desk's secure storage) under `alias`, registered
/// at the backend as `verifier_id`.
pub struct KeyStoreVerifier {
    pub keys: Arc<dyn KeyStore>,
    pub alias: String,
    pub verifier_id: String,
}

impl VerifierSigner for KeyStoreVerifier {
    fn verifier_id(&self) -> String {
        self.verifier_id.clone()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SyncError> {
        self.keys
            .sign(&self.alias, message)
            .map_err(|e| SyncError::Signing(e.to_string()))
    }
}

/// Why the backend refused, for the officer.
fn reason(e: &SyncError) -> String {
    match e {
        SyncError::Api { code, .. } => match code {
            ErrorCode::TokenUsed => "the token was already redeemed".into(),
            ErrorCode::TokenExpired => "the token expired (ask for a new QR)".into(),
            ErrorCode::NotAllowed => "this desk may not receive this profile".into(),
            ErrorCode::Unauthenticated => {
                "this desk is not registered or its signature failed".into()
            }
            ErrorCode::AccountLocked => "the holder's account is locked".into(),
            _ => format!("the backend refused the token: {e}"),
        },
        other => format!("backend unreachable, try again or use an offline QR: {other}"),
    }
}

/// Redeems `text` as the desk of `signer` at `now` (Unix seconds, for the verdict).
pub async fn redeem(
    client: &BackendClient,
    signer: &dyn VerifierSigner,
    text: &str,
    now: u64,
) -> Verdict {
    match QrPayload::parse(text) {
        Ok(QrPayload::Token(_)) => {}
        Ok(QrPayload::Offline(_)) => {
            return Verdict::invalid("offline", now, "an offline QR: verify it offline");
        }
        Err(e) => return Verdict::invalid("online", now, e),
    }
    match client.redeem_token(signer, text).await {
        Ok(r) => Verdict {
            valid: true,
            profile: Some(r.profile),
            fields: r.fields,
            reasons: Vec::new(),
            checked_at: now,
            mode: "online",
            status_list_age_s: None,
            warnings: Vec::new(),
        },
        Err(e) => Verdict::invalid("online", now, reason(&e)),
    }
}
