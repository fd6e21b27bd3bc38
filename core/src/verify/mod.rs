//! The verifier: checks a scanned QR (offline presentation or online token) and says valid or
//! invalid with every reason.
//!
//! Offline checks, all run so the verdict lists every failure: format; issuer signature, trust
//! (chain to the trust list, authorised for the profile's source document) and validity of the
//! presentation credential; the device signature with the credential's own key; freshness
//! (at most [`PRESENTATION_LIFETIME`] s old, at most [`FUTURE_SKEW`] s ahead of this clock);
//! the verifier's nonce; the status list (cached; its age is reported); the profile rules
//! (only the profile's fields, the required ones present, checked while decoding).

pub mod online;
pub mod status;

pub use online::{KeyStoreVerifier, redeem};
pub use status::{Status, StatusList, StatusListError};

use crate::credential::TrustList;
use crate::credential::trust::PreparedIssuer;
use crate::present::credential;
use crate::present::payload::{FUTURE_SKEW, PRESENTATION_LIFETIME};
use crate::present::{PresentError, Profile, QrPayload};
use serde::Serialize;

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub valid: bool,
    /// `None` when the QR could not be read far enough to know it.
    pub profile: Option<String>,
    /// The disclosed fields; empty unless valid.
    pub fields: serde_json::Value,
    /// Why it is invalid; empty when valid.
    pub reasons: Vec<String>,
    /// Unix seconds of this check.
    pub checked_at: u64,
    /// `offline` or `online`.
    pub mode: &'static str,
    /// Age of the status list used, seconds; `None`: no status list was available.
    pub status_list_age_s: Option<u64>,
    /// Worth telling the officer but not a refusal (e.g. an old status list).
    pub warnings: Vec<String>,
}

impl Verdict {
    pub(crate) fn invalid(mode: &'static str, now: u64, reason: impl ToString) -> Verdict {
        Verdict {
            valid: false,
            profile: None,
            fields: serde_json::json!({}),
            reasons: vec![reason.to_string()],
            checked_at: now,
            mode,
            status_list_age_s: None,
            warnings: Vec::new(),
        }
    }
}

/// What a verifier device holds: the trust list and, when it could get one, a status list.
#[derive(Debug, Clone)]
pub struct Verifier {
    trust: TrustList,
    /// The trust list's issuers with their chains checked once, not on every scan.
    issuers: Vec<PreparedIssuer>,
    status: Option<StatusList>,
}

impl Verifier {
    pub fn new(trust: TrustList) -> Verifier {
        Verifier {
            issuers: trust.prepared_issuers(),
            trust,
            status: None,
        }
    }

    pub fn with_status_list(mut self, status: StatusList) -> Verifier {
        self.status = Some(status);
        self
    }

    pub fn trust(&self) -> &TrustList {
        &self.trust
    }

    /// Checks an offline presentation at `now` (Unix seconds). `nonce`: the one this verifier
    /// showed the wallet, if any. `profile`: the profile this desk accepts, if restricted.
    pub fn verify_offline(
        &self,
        text: &str,
        now: u64,
        nonce: Option<&[u8]>,
        profile: Option<Profile>,
    ) -> Verdict {
        let p = match QrPayload::parse(text) {
            Ok(QrPayload::Offline(p)) => p,
            Ok(QrPayload::Token(_)) => {
                return Verdict::invalid(
                    "online",
                    now,
                    "an online token: verify it with the backend (--backend)",
                );
            }
            Err(e) => return Verdict::invalid("offline", now, e),
        };
        let parsed = match credential::parse(&p.credential) {
            Ok(c) => c,
            Err(e) => return Verdict::invalid("offline", now, e),
        };
        let claimed = parsed.credential.clone();
        let mut reasons: Vec<String> = Vec::new();
        let mut warnings = Vec::new();
        if let Err(e) = parsed.check_with(&self.issuers, now) {
            reasons.push(e.to_string());
        }
        if !p.device_signature_ok(&claimed.device_key) {
            reasons.push(PresentError::BadDeviceSignature.to_string());
        }
        if p.created_at > now.saturating_add(FUTURE_SKEW) {
            reasons.push(PresentError::FromTheFuture.to_string());
        } else if now.saturating_sub(p.created_at) > PRESENTATION_LIFETIME {
            reasons.push(PresentError::Stale(PRESENTATION_LIFETIME).to_string());
        }
        match (nonce, p.nonce.as_deref()) {
            (Some(expected), shown) => {
                if !shown.is_some_and(|n| eid_crypto::ct_eq(n, expected)) {
                    reasons.push(PresentError::WrongNonce.to_string());
                }
            }
            // A nonce this desk never showed: the QR was made for another verifier's
            // challenge (relayed or replayed), so it proves nothing to this desk.
            (None, Some(_)) => reasons.push(PresentError::UnexpectedNonce.to_string()),
            (None, None) => {}
        }
        let status_list_age_s = self.status.as_ref().map(|s| s.age(now));
        match &self.status {
            Some(s) => {
                match s.status(claimed.status_index) {
                    Status::Valid => {}
                    Status::Revoked => reasons.push(PresentError::Revoked.to_string()),
                    Status::Suspended => reasons.push(PresentError::Suspended.to_string()),
                    Status::Unknown => reasons.push(PresentError::StatusUnknown.to_string()),
                }
                if s.age(now) > s.ttl {
                    warnings.push(format!(
                        "the status list is {} s old (refresh when online)",
                        s.age(now)
                    ));
                }
            }
            None => warnings.push("no status list: revocation not checked".to_owned()),
        }
        if let Some(want) = profile
            && want != claimed.profile
        {
            reasons.push(format!(
                "profile {} presented, {} expected",
                claimed.profile, want
            ));
        }
        let valid = reasons.is_empty();
        Verdict {
            valid,
            profile: Some(claimed.profile.as_str().to_owned()),
            fields: if valid {
                claimed.fields.to_json()
            } else {
                serde_json::json!({})
            },
            reasons,
            checked_at: now,
            mode: "offline",
            status_list_age_s,
            warnings,
        }
    }
}
