//! Why a verdict is invalid: one typed reason per failed check. [`Reason::code`] is stable (apps
//! translate by it), [`Reason::message`] the English text the CLI prints.

use crate::present::{PresentError, Profile};
use std::fmt;

/// One failed check of a presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The text is not a presentation QR of this scheme.
    NotAPresentation,
    /// The QR or its credential does not decode; names the part that does not.
    Malformed {
        detail: String,
    },
    /// An online token given to the offline check: redeem it at the backend.
    OnlineToken,
    /// An offline QR given to the online redeem: check it offline.
    OfflineQr,
    UnknownIssuer,
    /// The issuer's chain, validity or authorisation for the profile's source document failed.
    UntrustedIssuer,
    BadIssuerSignature,
    CredentialNotYetValid,
    CredentialExpired,
    BadDeviceSignature,
    FromTheFuture,
    /// Older than the presentation lifetime.
    Stale {
        max_age_s: u64,
    },
    WrongNonce,
    /// A nonce this desk never showed (made for another verifier).
    UnexpectedNonce,
    Revoked,
    Suspended,
    /// The status index lies outside the status list.
    StatusUnknown,
    /// An offline presentation of another profile than the desk accepts.
    WrongProfile {
        presented: Profile,
        expected: Profile,
    },
    /// A redeemed token (or a refused one) that is not of the profile the desk accepts.
    ProfileExpected {
        expected: Profile,
    },
    /// The token was already redeemed.
    TokenUsed,
    TokenExpired,
    /// This desk may not receive the token's profile.
    NotAllowed,
    /// The backend does not know this desk or its signature failed.
    DeskNotRecognised,
    /// The holder's account is locked.
    AccountLocked,
    /// Another refusal of the backend, with its message.
    BackendRefused {
        detail: String,
    },
    /// The backend could not be reached or answered something unreadable.
    BackendUnreachable {
        detail: String,
    },
}

impl Reason {
    /// A stable snake_case code, for apps to translate.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NotAPresentation => "not_a_presentation",
            Reason::Malformed { .. } => "malformed",
            Reason::OnlineToken => "online_token",
            Reason::OfflineQr => "offline_qr",
            Reason::UnknownIssuer => "unknown_issuer",
            Reason::UntrustedIssuer => "untrusted_issuer",
            Reason::BadIssuerSignature => "bad_issuer_signature",
            Reason::CredentialNotYetValid => "credential_not_yet_valid",
            Reason::CredentialExpired => "credential_expired",
            Reason::BadDeviceSignature => "bad_device_signature",
            Reason::FromTheFuture => "from_the_future",
            Reason::Stale { .. } => "stale",
            Reason::WrongNonce => "wrong_nonce",
            Reason::UnexpectedNonce => "unexpected_nonce",
            Reason::Revoked => "revoked",
            Reason::Suspended => "suspended",
            Reason::StatusUnknown => "status_unknown",
            Reason::WrongProfile { .. } => "wrong_profile",
            Reason::ProfileExpected { .. } => "profile_expected",
            Reason::TokenUsed => "token_used",
            Reason::TokenExpired => "token_expired",
            Reason::NotAllowed => "not_allowed",
            Reason::DeskNotRecognised => "desk_not_recognised",
            Reason::AccountLocked => "account_locked",
            Reason::BackendRefused { .. } => "backend_refused",
            Reason::BackendUnreachable { .. } => "backend_unreachable",
        }
    }

    /// The English text for the officer.
    pub fn message(&self) -> String {
        let present = |e: PresentError| e.to_string();
        match self {
            Reason::NotAPresentation => present(PresentError::NotAPresentation),
            Reason::Malformed { detail } => format!("malformed: {detail}"),
            Reason::OnlineToken => {
                "an online token: verify it with the backend (--backend)".to_owned()
            }
            Reason::OfflineQr => "an offline QR: verify it offline".to_owned(),
            Reason::UnknownIssuer => present(PresentError::UnknownIssuer),
            Reason::UntrustedIssuer => present(PresentError::UntrustedIssuer),
            Reason::BadIssuerSignature => present(PresentError::BadIssuerSignature),
            Reason::CredentialNotYetValid => present(PresentError::CredentialNotYetValid),
            Reason::CredentialExpired => present(PresentError::CredentialExpired),
            Reason::BadDeviceSignature => present(PresentError::BadDeviceSignature),
            Reason::FromTheFuture => present(PresentError::FromTheFuture),
            Reason::Stale { max_age_s } => present(PresentError::Stale(*max_age_s)),
            Reason::WrongNonce => present(PresentError::WrongNonce),
            Reason::UnexpectedNonce => present(PresentError::UnexpectedNonce),
            Reason::Revoked => present(PresentError::Revoked),
            Reason::Suspended => present(PresentError::Suspended),
            Reason::StatusUnknown => present(PresentError::StatusUnknown),
            Reason::WrongProfile {
                presented,
                expected,
            } => format!("profile {presented} presented, {expected} expected"),
            Reason::ProfileExpected { expected } => format!("profile {expected} expected"),
            Reason::TokenUsed => "the token was already redeemed".to_owned(),
            Reason::TokenExpired => "the token expired (ask for a new QR)".to_owned(),
            Reason::NotAllowed => "this desk may not receive this profile".to_owned(),
            Reason::DeskNotRecognised => {
                "this desk is not registered or its signature failed".to_owned()
            }
            Reason::AccountLocked => "the holder's account is locked".to_owned(),
            Reason::BackendRefused { detail } => format!("the backend refused the token: {detail}"),
            Reason::BackendUnreachable { detail } => {
                format!("backend unreachable, try again or use an offline QR: {detail}")
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// A presentation check's failure as a reason. Decoding yields only `Malformed` and
/// `NotAPresentation`; the wallet-side errors (no credential, signing, QR drawing) never come out
/// of a check and read as a malformed presentation.
impl From<PresentError> for Reason {
    fn from(e: PresentError) -> Reason {
        match e {
            PresentError::NotAPresentation => Reason::NotAPresentation,
            PresentError::Malformed(what) => Reason::Malformed {
                detail: what.to_owned(),
            },
            PresentError::UnknownIssuer => Reason::UnknownIssuer,
            PresentError::UntrustedIssuer => Reason::UntrustedIssuer,
            PresentError::BadIssuerSignature => Reason::BadIssuerSignature,
            PresentError::BadDeviceSignature => Reason::BadDeviceSignature,
            PresentError::CredentialNotYetValid => Reason::CredentialNotYetValid,
            PresentError::CredentialExpired => Reason::CredentialExpired,
            PresentError::Stale(max_age_s) => Reason::Stale { max_age_s },
            PresentError::FromTheFuture => Reason::FromTheFuture,
            PresentError::WrongNonce => Reason::WrongNonce,
            PresentError::UnexpectedNonce => Reason::UnexpectedNonce,
            PresentError::Revoked => Reason::Revoked,
            PresentError::Suspended => Reason::Suspended,
            PresentError::StatusUnknown => Reason::StatusUnknown,
            PresentError::MissingDocument(_)
            | PresentError::NoCredential
            | PresentError::Signing
            | PresentError::Qr(_) => Reason::Malformed {
                detail: "presentation".to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_failures_keep_their_text_and_get_distinct_codes() {
        let checks = [
            PresentError::NotAPresentation,
            PresentError::Malformed("base45"),
            PresentError::UnknownIssuer,
            PresentError::UntrustedIssuer,
            PresentError::BadIssuerSignature,
            PresentError::BadDeviceSignature,
            PresentError::CredentialNotYetValid,
            PresentError::CredentialExpired,
            PresentError::Stale(60),
            PresentError::FromTheFuture,
            PresentError::WrongNonce,
            PresentError::UnexpectedNonce,
            PresentError::Revoked,
            PresentError::Suspended,
            PresentError::StatusUnknown,
        ];
        let mut codes = std::collections::BTreeSet::new();
        for e in checks {
            let text = e.to_string();
            let r = Reason::from(e);
            assert_eq!(r.message(), text);
            assert_eq!(r.to_string(), text);
            assert!(codes.insert(r.code()), "{} twice", r.code());
        }
        assert_eq!(
            Reason::WrongProfile {
                presented: Profile::Clinic,
                expected: Profile::Airport
            }
            .message(),
            "profile clinic presented, airport expected"
        );
    }
}
