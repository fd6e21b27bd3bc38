//! The one public error of the bindings, and the one place that maps core errors to it (and,
//! for the foreign callbacks, back). Messages never contain personal data or key bytes.

use crate::http::HttpTransportError;
use eid_core::account::AccountError;
use eid_core::api::ErrorCode;
use eid_core::client::{CheckInError, ClientError, RedeemError};
use eid_core::credential::TrustListError;
use eid_core::keys::KeyError;
use eid_core::mdoc::transport::ble::BleError;
use eid_core::platform::TransportFailure;
use eid_core::present::PresentError;
use eid_core::verify::StatusListError;
use eid_core::wallet::{AuthorizeError, WalletError};
use eid_icao::card_qr::CardQrError;
use eid_icao::{ChipError, TransportError};

/// Errors an app acts on. Foreign `ApduTransport` and `KeyStore` implementations throw these too
/// (Kotlin: `throw EidError.ChipLinkLost()` on `TagLostException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum EidError {
    /// The input given by the app or the user is malformed (ID number, phone, SMS code, MRZ).
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
    /// Wrong passcode; after `attempts_left` more the account locks for a while.
    #[error("wrong passcode ({attempts_left} attempts left)")]
    WrongPasscode { attempts_left: u32 },
    /// Too many wrong passcodes: no attempt is accepted before `until_ms` (wall clock, display
    /// only; the wallet measures the wait with a clock the user cannot set).
    #[error("locked after too many wrong passcodes")]
    Locked { until_ms: i64, remaining_ms: i64 },
    /// Documents need `unlock` (or biometric unlock) first.
    #[error("the wallet is locked: unlock it first")]
    NotUnlocked,
    /// No passcode yet: call `set_up` first.
    #[error("the wallet is not set up")]
    NotSetUp,
    /// `set_up` on a wallet that has a passcode: use `change_passcode`.
    #[error("the wallet is already set up")]
    AlreadySetUp,
    /// The account was revoked (activated on another device): documents are gone.
    #[error("the account was revoked")]
    Revoked,
    #[error("not found")]
    NotFound,
    /// The SMS code is wrong, expired or already used: ask for a new one.
    #[error("the SMS code was refused: {reason}")]
    SmsCodeRefused { reason: String },
    /// BAC/PACE refused: the MRZ data or CAN do not match the card.
    #[error("the card refused access: check the ID number, date of birth and expiry")]
    ChipAccessDenied,
    /// PACE with the card access number refused: the CAN does not match the card.
    #[error("the card refused access: check the card access number (CAN)")]
    ChipWrongCan,
    /// The card left the field and did not come back (hold it still and retry).
    #[error("the link to the card was lost")]
    ChipLinkLost,
    /// The chip's data or the chip itself did not verify (altered data, cloned chip).
    #[error("the card is not genuine: {reason}")]
    ChipNotGenuine { reason: String },
    /// Not a CCCD/eMRTD, or a protocol this reader lacks.
    #[error("unsupported card: {reason}")]
    ChipUnsupported { reason: String },
    /// Any other failure while reading the card (status words, malformed data).
    #[error("reading the card failed: {reason}")]
    ChipFailed { reason: String },
    /// The operation was cancelled (chip read cancelled or its coroutine/task dropped).
    #[error("cancelled")]
    Cancelled,
    /// The backend could not be reached; nothing changed locally. Retry later.
    #[error("network: {reason}")]
    Network { reason: String },
    /// The backend refused the request (`code` is the API's error code, e.g. `rate_limited`).
    #[error("backend: {detail}")]
    Backend { code: String, detail: String },
    /// A QR could not be made (offline: no presentation credential left, sync first).
    #[error("presentation: {reason}")]
    Presentation { reason: String },
    /// An online token was already redeemed (by this desk or another): ask for a new QR.
    #[error("the token was already redeemed")]
    TokenUsed,
    /// An online token is older than its minute: ask for a new QR.
    #[error("the token expired")]
    TokenExpired,
    /// Remote signing failed on this side (not enrolled, a returned signature that does not
    /// verify).
    #[error("signing: {reason}")]
    Signing { reason: String },
    /// No key under this alias (key store).
    #[error("no key under this alias")]
    KeyNotFound,
    /// A key already exists under this alias (key store).
    #[error("a key already exists under this alias")]
    KeyAlreadyExists,
    /// The key needs the user's biometric or device credential first (show the prompt).
    #[error("user authentication is required")]
    UserAuthenticationRequired,
    /// The key was invalidated (biometrics changed): set biometric unlock up again.
    #[error("the key was invalidated")]
    KeyInvalidated,
    /// The key store cannot be reached (secure hardware busy or missing).
    #[error("key store unavailable: {reason}")]
    KeyStoreUnavailable { reason: String },
    /// A cryptographic operation failed (tampered or foreign data).
    #[error("cryptographic operation failed")]
    Crypto,
    /// Local storage failed or holds data this version cannot read.
    #[error("storage: {reason}")]
    Storage { reason: String },
    /// An ISO 18013-5 session failed: the BLE or NFC link dropped, a wrong reader (BLE Ident),
    /// or a message out of protocol. Nothing was shared unless the state says so.
    #[error("mdoc session: {reason}")]
    Mdoc { reason: String },
    /// The wallet refused a relying party's request (signature, access certificate, client id,
    /// not in the hub's registry, claims outside its registered purpose, nothing held matches):
    /// nothing was disclosed.
    #[error("request refused: {reason}")]
    RequestRefused { reason: String },
    /// The relying party could not be reached or refused the answer (HTTP error status).
    #[error("relying party: {reason}")]
    RelyingParty { reason: String },
    /// A bug or an unexpected failure of a foreign callback.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for EidError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        EidError::Internal { reason: e.reason }
    }
}

impl From<CardQrError> for EidError {
    fn from(e: CardQrError) -> Self {
        EidError::InvalidInput {
            reason: e.to_string(),
        }
    }
}

impl From<AccountError> for EidError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::InvalidPasscode => EidError::InvalidInput {
                reason: e.to_string(),
            },
            AccountError::WrongPasscode { attempts_left } => {
                EidError::WrongPasscode { attempts_left }
            }
            AccountError::Locked {
                until_ms,
                remaining_ms,
            } => EidError::Locked {
                until_ms,
                remaining_ms,
            },
            AccountError::NoPasscode => EidError::NotSetUp,
            AccountError::PasscodeAlreadySet => EidError::AlreadySetUp,
            AccountError::Revoked => EidError::Revoked,
            AccountError::Storage(reason) => EidError::Storage { reason },
            AccountError::Keys(e) => e.into(),
        }
    }
}

impl From<KeyError> for EidError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NotFound => EidError::KeyNotFound,
            KeyError::AlreadyExists => EidError::KeyAlreadyExists,
            KeyError::UserAuthenticationRequired => EidError::UserAuthenticationRequired,
            KeyError::Invalidated => EidError::KeyInvalidated,
            KeyError::Unavailable(reason) => EidError::KeyStoreUnavailable { reason },
            KeyError::Crypto => EidError::Crypto,
        }
    }
}

/// What a foreign key store threw, as the core's key error.
pub(crate) fn to_key_error(e: EidError) -> KeyError {
    match e {
        EidError::KeyNotFound => KeyError::NotFound,
        EidError::KeyAlreadyExists => KeyError::AlreadyExists,
        EidError::UserAuthenticationRequired => KeyError::UserAuthenticationRequired,
        EidError::KeyInvalidated => KeyError::Invalidated,
        EidError::Crypto => KeyError::Crypto,
        other => KeyError::Unavailable(other.to_string()),
    }
}

/// A foreign HTTP transport that threw something else than `HttpTransportError` (a bug): the
/// request may have left, so only replay-safe calls are retried.
impl From<uniffi::UnexpectedUniFFICallbackError> for HttpTransportError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        HttpTransportError::MaybeSent {
            reason: "the app's HTTP transport failed".into(),
        }
    }
}

/// What a foreign HTTP transport threw, as the core's transport failure.
pub(crate) fn to_transport_failure(e: HttpTransportError) -> TransportFailure {
    match e {
        HttpTransportError::NotSent { reason } => TransportFailure::NotSent(reason),
        HttpTransportError::MaybeSent { reason } => TransportFailure::MaybeSent(reason),
    }
}

/// What a foreign transport threw, as the core's transport error.
pub(crate) fn to_transport_error(e: EidError) -> TransportError {
    match e {
        EidError::ChipLinkLost => TransportError::LinkLost,
        other => TransportError::Other(other.to_string()),
    }
}

/// What a foreign GATT link threw, as the core's BLE error.
pub(crate) fn to_ble_error(e: EidError) -> BleError {
    match e {
        EidError::Mdoc { .. } | EidError::ChipLinkLost => {
            BleError::Disconnected { mid_message: false }
        }
        other => BleError::Platform(other.to_string()),
    }
}

/// A BLE session that failed.
pub(crate) fn ble_failure(e: BleError) -> EidError {
    EidError::Mdoc {
        reason: e.to_string(),
    }
}

impl From<ChipError> for EidError {
    fn from(e: ChipError) -> Self {
        match e {
            ChipError::AccessDenied => EidError::ChipAccessDenied,
            ChipError::WrongCan => EidError::ChipWrongCan,
            ChipError::LinkLost | ChipError::Transport(TransportError::LinkLost) => {
                EidError::ChipLinkLost
            }
            ChipError::Cancelled => EidError::Cancelled,
            ChipError::NotGenuine(n) => EidError::ChipNotGenuine {
                reason: n.reason().to_owned(),
            },
            ChipError::InvalidInput(reason) => EidError::InvalidInput { reason },
            ChipError::NotEmrtd | ChipError::Unsupported(_) => EidError::ChipUnsupported {
                reason: e.to_string(),
            },
            other => EidError::ChipFailed {
                reason: other.to_string(),
            },
        }
    }
}

impl From<ClientError> for EidError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Network(reason) => EidError::Network { reason },
            ClientError::Api { code, message, .. } => match code {
                ErrorCode::WrongCode | ErrorCode::CodeExpired | ErrorCode::CodeUsed => {
                    EidError::SmsCodeRefused { reason: message }
                }
                ErrorCode::ChipEvidenceInvalid => EidError::ChipNotGenuine { reason: message },
                ErrorCode::Revoked => EidError::Revoked,
                ErrorCode::TokenUsed => EidError::TokenUsed,
                ErrorCode::TokenExpired => EidError::TokenExpired,
                other => EidError::Backend {
                    code: serde_json::to_value(other)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    detail: message,
                },
            },
            ClientError::Decode(reason) => EidError::Backend {
                code: "decode".into(),
                detail: reason,
            },
            ClientError::DeviceKey(reason) => EidError::KeyStoreUnavailable { reason },
        }
    }
}

impl From<PresentError> for EidError {
    fn from(e: PresentError) -> Self {
        EidError::Presentation {
            reason: e.to_string(),
        }
    }
}

/// A token a verifier desk could not redeem.
impl From<RedeemError> for EidError {
    fn from(e: RedeemError) -> Self {
        match e {
            RedeemError::OfflineQr => EidError::InvalidInput {
                reason: e.to_string(),
            },
            RedeemError::Unreadable(p) => p.into(),
            RedeemError::Backend(s) => s.into(),
        }
    }
}

/// A check-in a host could not record (docs/adr/0048).
impl From<CheckInError> for EidError {
    fn from(e: CheckInError) -> Self {
        let backend = |code: &str, e: &CheckInError| EidError::Backend {
            code: code.into(),
            detail: e.to_string(),
        };
        match e {
            CheckInError::Refused(_) => EidError::Presentation {
                reason: e.to_string(),
            },
            CheckInError::BadStay => EidError::InvalidInput {
                reason: e.to_string(),
            },
            CheckInError::HostNotRegistered => backend("unauthenticated", &e),
            CheckInError::NotAHost => backend("not_allowed", &e),
            CheckInError::BadReceipt(_) => backend("bad_receipt", &e),
            CheckInError::BackendRefused(c) | CheckInError::BackendUnreachable(c) => c.into(),
        }
    }
}

/// A trust list or status list given to a verifier that does not decode or verify.
impl From<TrustListError> for EidError {
    fn from(e: TrustListError) -> Self {
        EidError::InvalidInput {
            reason: e.to_string(),
        }
    }
}

impl From<StatusListError> for EidError {
    fn from(e: StatusListError) -> Self {
        match e {
            StatusListError::Malformed(_) => EidError::InvalidInput {
                reason: e.to_string(),
            },
            StatusListError::BadSignature | StatusListError::Untrusted => EidError::Crypto,
        }
    }
}

impl From<WalletError> for EidError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Account(a) => a.into(),
            WalletError::Keys(k) => k.into(),
            WalletError::Backend(s) => s.into(),
            WalletError::InvalidInput(reason) => EidError::InvalidInput { reason },
            WalletError::Locked => EidError::NotUnlocked,
            WalletError::NotSetUp => EidError::NotSetUp,
            WalletError::NotFound => EidError::NotFound,
            WalletError::Credential(_) | WalletError::Store(_) | WalletError::Io(_) => {
                EidError::Storage {
                    reason: e.to_string(),
                }
            }
            WalletError::Present(p) => p.into(),
            WalletError::Signing(s) => EidError::Signing {
                reason: s.to_string(),
            },
            WalletError::Corrupt(_) | WalletError::KindList(_) => EidError::Storage {
                reason: e.to_string(),
            },
        }
    }
}

/// A relying party's request the wallet did not answer, or an answer that did not arrive.
impl From<AuthorizeError> for EidError {
    fn from(e: AuthorizeError) -> Self {
        match e {
            AuthorizeError::Refused(r) => EidError::RequestRefused {
                reason: r.to_string(),
            },
            AuthorizeError::Identity(r) => EidError::RequestRefused { reason: r.into() },
            AuthorizeError::Network(r) => EidError::RelyingParty {
                reason: format!("unreachable: {r}"),
            },
            AuthorizeError::Status(s) => EidError::RelyingParty {
                reason: format!("answered HTTP {s}"),
            },
            AuthorizeError::Wallet(w) => w.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eid_icao::NotGenuine;

    #[test]
    fn account_and_sync_errors_map_to_what_the_app_acts_on() {
        let e: EidError =
            WalletError::Account(AccountError::WrongPasscode { attempts_left: 3 }).into();
        assert_eq!(e, EidError::WrongPasscode { attempts_left: 3 });
        // The key store wrapping the passcode verifier: the key store's own error.
        let e: EidError =
            WalletError::Account(AccountError::Keys(KeyError::Unavailable("busy".into()))).into();
        assert_eq!(
            e,
            EidError::KeyStoreUnavailable {
                reason: "busy".into()
            }
        );
        let e: EidError = WalletError::Backend(ClientError::Api {
            status: 429,
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            request_id: "r".into(),
        })
        .into();
        assert_eq!(
            e,
            EidError::Backend {
                code: "rate_limited".into(),
                detail: "slow down".into()
            }
        );
        assert_eq!(
            EidError::from(ChipError::Transport(TransportError::LinkLost)),
            EidError::ChipLinkLost
        );
        // The check's own reason, as before the one genuine-card rule.
        assert_eq!(
            EidError::from(ChipError::NotGenuine(NotGenuine::Chip("AA failed".into()))),
            EidError::ChipNotGenuine {
                reason: "AA failed".into()
            }
        );
    }

    #[test]
    fn token_and_list_errors_are_typed() {
        let api = |code| ClientError::Api {
            status: 409,
            code,
            message: "m".into(),
            request_id: "r".into(),
        };
        assert_eq!(
            EidError::from(api(ErrorCode::TokenUsed)),
            EidError::TokenUsed
        );
        assert_eq!(
            EidError::from(api(ErrorCode::TokenExpired)),
            EidError::TokenExpired
        );
        assert_eq!(
            EidError::from(StatusListError::BadSignature),
            EidError::Crypto
        );
        assert!(matches!(
            EidError::from(WalletError::Present(PresentError::NoCredential)),
            EidError::Presentation { .. }
        ));
        assert_eq!(
            EidError::from(RedeemError::Backend(api(ErrorCode::TokenUsed))),
            EidError::TokenUsed
        );
        assert_eq!(
            EidError::from(RedeemError::OfflineQr),
            EidError::InvalidInput {
                reason: "an offline QR: verify it offline".into()
            }
        );
    }

    #[test]
    fn refused_requests_and_unreachable_relying_parties_are_typed() {
        use eid_core::oid4vp::Oid4vpError;
        assert!(matches!(
            EidError::from(AuthorizeError::Refused(Oid4vpError::Unregistered)),
            EidError::RequestRefused { .. }
        ));
        assert_eq!(
            EidError::from(AuthorizeError::Identity("the request is not signed")),
            EidError::RequestRefused {
                reason: "the request is not signed".into()
            }
        );
        assert_eq!(
            EidError::from(AuthorizeError::Status(500)),
            EidError::RelyingParty {
                reason: "answered HTTP 500".into()
            }
        );
        // The passcode's errors stay the passcode's (the app asks again).
        assert_eq!(
            EidError::from(AuthorizeError::Wallet(WalletError::Account(
                AccountError::WrongPasscode { attempts_left: 4 }
            ))),
            EidError::WrongPasscode { attempts_left: 4 }
        );
    }

    #[test]
    fn foreign_errors_round_trip_to_the_core() {
        for k in [
            KeyError::NotFound,
            KeyError::AlreadyExists,
            KeyError::UserAuthenticationRequired,
            KeyError::Invalidated,
            KeyError::Crypto,
        ] {
            assert_eq!(to_key_error(k.clone().into()), k);
        }
        assert_eq!(
            to_transport_error(EidError::ChipLinkLost),
            TransportError::LinkLost
        );
        let why = || "ConnectException".to_owned();
        assert_eq!(
            to_transport_failure(HttpTransportError::NotSent { reason: why() }),
            TransportFailure::NotSent(why())
        );
        assert_eq!(
            to_transport_failure(HttpTransportError::MaybeSent { reason: why() }),
            TransportFailure::MaybeSent(why())
        );
        // A GATT link that threw: a lost link ends the session as a disconnect, anything
        // else as the platform's error; a failed BLE session reaches the app as `Mdoc`.
        assert_eq!(
            to_ble_error(EidError::Mdoc {
                reason: "link closed".into()
            }),
            BleError::Disconnected { mid_message: false }
        );
        assert!(matches!(
            to_ble_error(EidError::Internal {
                reason: "IllegalStateException".into()
            }),
            BleError::Platform(_)
        ));
        assert!(matches!(
            ble_failure(BleError::IdentMismatch),
            EidError::Mdoc { reason } if reason.contains("Ident")
        ));
        let bug = uniffi::UnexpectedUniFFICallbackError::new("NullPointerException");
        assert!(matches!(
            to_transport_failure(bug.into()),
            TransportFailure::MaybeSent(_)
        ));
    }
}
