//! The verifier: checks a scanned offline QR and says valid or invalid with every reason. An
//! online token is redeemed at the backend by the desk's client (`crate::client::redeem`), which
//! gives the same [`Verdict`]; this module never reaches the network.
//!
//! Offline checks, all run so the verdict lists every failure: format; issuer signature, trust
//! (chain to the trust list, authorised for the profile's source document) and validity of the
//! presentation credential; the device signature with the credential's own key; freshness
//! (at most [`PRESENTATION_LIFETIME`] s old, at most [`FUTURE_SKEW`] s ahead of this clock);
//! the verifier's nonce; the status list (cached; its age is reported); the profile rules
//! (only the profile's fields, the required ones present, checked while decoding).

pub mod accommodation;
pub mod ekyc;
pub mod kind_list;
mod reason;
pub mod rp_registry;
mod signed_list;
pub(crate) mod status;

pub use accommodation::{Receipt, ReceiptError};
pub use ekyc::{EkycExpected, EkycResultError, check_result as check_ekyc_result};
pub use kind_list::{KIND_LIST_URI, KindList, KindListError};
pub use reason::Reason;
pub use rp_registry::{RpRegistry, RpRegistryError};
pub use status::{Status, StatusList, StatusListError};

use crate::credential::TrustList;
use crate::credential::trust::PreparedIssuer;
use crate::present::payload::{FUTURE_SKEW, PRESENTATION_LIFETIME};
use crate::present::presentation_credential;
use crate::present::{Disclosed, Profile, QrPayload};

/// How a presentation was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A `VN1:` QR checked on the desk.
    Offline,
    /// A `VNT2:` token redeemed at the backend.
    Online,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Offline => "offline",
            Mode::Online => "online",
        }
    }
}

/// The outcome of a check. `Debug` shows field names, not values.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub valid: bool,
    /// `None` when the QR could not be read far enough to know it.
    pub profile: Option<Profile>,
    /// The disclosed fields; empty unless valid.
    pub fields: Disclosed,
    /// Why it is invalid; empty when valid.
    pub reasons: Vec<Reason>,
    /// Unix seconds of this check.
    pub checked_at: u64,
    pub mode: Mode,
    /// Age of the status list used, seconds; `None`: no status list was available.
    pub status_list_age_s: Option<u64>,
    /// Worth telling the officer but not a refusal (e.g. an old status list).
    pub warnings: Vec<String>,
}

impl Verdict {
    pub(crate) fn invalid(mode: Mode, now: u64, reason: impl Into<Reason>) -> Verdict {
        Verdict {
            valid: false,
            profile: None,
            fields: Disclosed::default(),
            reasons: vec![reason.into()],
            checked_at: now,
            mode,
            status_list_age_s: None,
            warnings: Vec::new(),
        }
    }

    /// A desk that accepts only `expected`: anything else (a refused token included) is
    /// invalid and discloses nothing.
    pub fn expect_profile(&mut self, expected: Profile) {
        if self.profile != Some(expected) {
            self.valid = false;
            self.fields = Disclosed::default();
            self.reasons.push(Reason::ProfileExpected { expected });
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
                return Verdict::invalid(Mode::Online, now, Reason::OnlineToken);
            }
            Err(e) => return Verdict::invalid(Mode::Offline, now, e),
        };
        let parsed = match presentation_credential::parse(&p.credential) {
            Ok(c) => c,
            Err(e) => return Verdict::invalid(Mode::Offline, now, e),
        };
        let claimed = parsed.credential.clone();
        let mut reasons: Vec<Reason> = Vec::new();
        let mut warnings = Vec::new();
        if let Err(e) = parsed.check_with(&self.issuers, now) {
            reasons.push(e.into());
        }
        if !p.device_signature_ok(&claimed.device_key) {
            reasons.push(Reason::BadDeviceSignature);
        }
        if p.created_at > now.saturating_add(FUTURE_SKEW) {
            reasons.push(Reason::FromTheFuture);
        } else if now.saturating_sub(p.created_at) > PRESENTATION_LIFETIME {
            reasons.push(Reason::Stale {
                max_age_s: PRESENTATION_LIFETIME,
            });
        }
        match (nonce, p.nonce.as_deref()) {
            (Some(expected), shown) => {
                if !shown.is_some_and(|n| eid_crypto::ct_eq(n, expected)) {
                    reasons.push(Reason::WrongNonce);
                }
            }
            // A nonce this desk never showed: the QR was made for another verifier's
            // challenge (relayed or replayed), so it proves nothing to this desk.
            (None, Some(_)) => reasons.push(Reason::UnexpectedNonce),
            (None, None) => {}
        }
        let status_list_age_s = self.status.as_ref().map(|s| s.age(now));
        match &self.status {
            Some(s) => {
                match s.status(claimed.status_index) {
                    Status::Valid => {}
                    Status::Revoked => reasons.push(Reason::Revoked),
                    Status::Suspended => reasons.push(Reason::Suspended),
                    Status::Unknown => reasons.push(Reason::StatusUnknown),
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
            reasons.push(Reason::WrongProfile {
                presented: claimed.profile,
                expected: want,
            });
        }
        let valid = reasons.is_empty();
        Verdict {
            valid,
            profile: Some(claimed.profile),
            fields: if valid {
                claimed.fields
            } else {
                Disclosed::default()
            },
            reasons,
            checked_at: now,
            mode: Mode::Offline,
            status_list_age_s,
            warnings,
        }
    }
}
