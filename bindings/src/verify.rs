//! Verifier desks (airport, clinic): `Verifier` checks offline QRs against the trust list and
//! status list it was built with; `VerifierDesk` is a desk registered at the backend that
//! redeems online tokens once. Over `eid_core::verify` (the checks) and `eid_core::client` (the
//! online redeem).

use crate::error::EidError;
use crate::http::{HttpTransport, client};
use crate::keys::{ForeignKeyStore, KeyStore};
use crate::present::{DisclosedField, Profile, disclosed};
use crate::run::{logged, on_runtime};
use eid_core::api::{B64, VerifierRegistration};
use eid_core::client::{BackendClient, KeyStoreVerifier, Stay, redeem};
use eid_core::credential::{Date, TrustList};
use eid_core::verify::{self as core, StatusList};
use std::sync::Arc;

/// The desk's key alias in its key store.
const VERIFIER_KEY_ALIAS: &str = "eid.verifier";

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The outcome of a check. `fields` is empty unless `valid`; `reasons` lists every failure.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct Verdict {
    pub valid: bool,
    /// None when the QR could not be read far enough to know it.
    pub profile: Option<Profile>,
    pub fields: Vec<DisclosedField>,
    pub reasons: Vec<VerdictReason>,
    /// Unix seconds of the check.
    pub checked_at: u64,
    /// Redeemed at the backend (an online token), not checked offline.
    pub online: bool,
    /// Age of the status list used; None: revocation was not checked.
    pub status_list_age_s: Option<u64>,
    /// Worth telling the officer but not a refusal (an old status list, none at all).
    pub warnings: Vec<String>,
}

pub type VerdictReason = core::Reason;

/// One failed check of a verdict: translate by the variant, or show `message()` (English).
#[uniffi::remote(Enum)]
pub enum VerdictReason {
    /// Not a presentation QR of this scheme.
    NotAPresentation,
    /// The QR or its credential does not decode; `detail` names the part.
    Malformed {
        detail: String,
    },
    /// An online token given to `Verifier.verify_offline`: redeem it with a `VerifierDesk`.
    OnlineToken,
    /// An offline QR given to the online redeem.
    OfflineQr,
    UnknownIssuer,
    /// The issuer's chain, validity or authorisation for the profile's document failed.
    UntrustedIssuer,
    BadIssuerSignature,
    CredentialNotYetValid,
    CredentialExpired,
    BadDeviceSignature,
    FromTheFuture,
    /// Older than its lifetime.
    Stale {
        max_age_s: u64,
    },
    WrongNonce,
    /// A nonce this desk did not show (made for another verifier).
    UnexpectedNonce,
    Revoked,
    Suspended,
    /// The status index lies outside the status list.
    StatusUnknown,
    /// Another profile than the desk accepts.
    WrongProfile {
        presented: Profile,
        expected: Profile,
    },
    /// Not of the profile the desk accepts.
    ProfileExpected {
        expected: Profile,
    },
    TokenUsed,
    TokenExpired,
    /// This desk may not receive the profile.
    NotAllowed,
    /// The backend does not know this desk or its signature failed.
    DeskNotRecognised,
    AccountLocked,
    BackendRefused {
        detail: String,
    },
    BackendUnreachable {
        detail: String,
    },
}

/// The English text of `reason` for the officer (what `eid verify` prints).
// A function, not a `VerdictReason` method: UniFFI exports methods through an inherent impl,
// which Rust allows only in the crate that defines the type (the core).
#[uniffi::export]
pub fn verdict_reason_message(reason: &VerdictReason) -> String {
    reason.message()
}

impl From<core::Verdict> for Verdict {
    fn from(v: core::Verdict) -> Self {
        Verdict {
            valid: v.valid,
            profile: v.profile,
            fields: disclosed(&v.fields),
            reasons: v.reasons,
            checked_at: v.checked_at,
            online: v.mode == core::Mode::Online,
            status_list_age_s: v.status_list_age_s,
            warnings: v.warnings,
        }
    }
}

/// Checks offline QRs (`VN1:`) with the trust list (and status list) it was built with. Keep
/// one per list version: the issuers' chains are checked once, here, not on every scan.
#[derive(Debug, uniffi::Object)]
pub struct Verifier {
    inner: core::Verifier,
}

impl Verifier {
    fn build(trust_list: &[u8], status_list: Option<&[u8]>) -> Result<Arc<Self>, EidError> {
        let trust = TrustList::decode(trust_list)?;
        let status = status_list
            .map(|s| StatusList::from_signed(s, &trust, now_s()))
            .transpose()?;
        let mut inner = core::Verifier::new(trust);
        if let Some(s) = status {
            inner = inner.with_status_list(s);
        }
        Ok(Arc::new(Verifier { inner }))
    }
}

#[uniffi::export]
impl Verifier {
    /// From the backend's lists as fetched earlier: `trust_list` is the decoded `issuers` of
    /// GET /v1/trust-list (CBOR), `status_list` the decoded `signed` of GET /v1/status-list
    /// (COSE_Sign1, checked here against the trust list). Without a status list revocation is
    /// not checked (the verdict warns).
    #[uniffi::constructor]
    pub fn new(trust_list: Vec<u8>, status_list: Option<Vec<u8>>) -> Result<Arc<Self>, EidError> {
        logged("verifier", Self::build(&trust_list, status_list.as_deref()))
    }

    /// Fetches the trust list and status list from the backend at `backend_url` through `http`:
    /// `Network` when it cannot be reached (keep the verifier you have), `Crypto` when the status
    /// list does not verify against the trust list.
    #[uniffi::constructor]
    pub async fn fetch(
        backend_url: String,
        http: Arc<dyn HttpTransport>,
    ) -> Result<Arc<Self>, EidError> {
        let backend = client(&backend_url, http);
        on_runtime("verifier_fetch", async move {
            let trust = backend.trust_list().await?;
            let status = backend.status_list().await?;
            Self::build(&trust.issuers.0, Some(&status.signed.0))
        })
        .await
    }

    /// Checks a scanned offline QR now. `nonce`: the one this desk showed the wallet, if any;
    /// `expected_profile`: the only profile this desk accepts, if restricted. An online token
    /// is invalid here: redeem it with a `VerifierDesk`.
    pub fn verify_offline(
        &self,
        text: String,
        nonce: Option<Vec<u8>>,
        expected_profile: Option<Profile>,
    ) -> Verdict {
        self.inner
            .verify_offline(&text, now_s(), nonce.as_deref(), expected_profile)
            .into()
    }
}

/// A guest checked in by a host (docs/adr/0048): the receipt, checked against the trust list,
/// this host, the dates and the QR, and the guest's fields as the verifier read them. No
/// `Debug`: the guest's fields are personal data.
#[derive(uniffi::Record)]
pub struct CheckInReceipt {
    pub receipt_id: String,
    pub host_id: String,
    pub host_name: String,
    /// ISO dates (`YYYY-MM-DD`).
    pub check_in: String,
    pub check_out: String,
    /// Unix seconds the backend recorded the stay.
    pub recorded_at: u64,
    pub guest: Verdict,
    /// The receipt as signed (COSE_Sign1 by the police issuer), to keep.
    pub signed: Vec<u8>,
}

/// A verifier desk registered at the backend: its key lives in the desk's `KeyStore` (alias
/// `eid.verifier`), its id is kept by the app.
#[derive(uniffi::Object)]
pub struct VerifierDesk {
    signer: Arc<KeyStoreVerifier>,
    backend: Arc<BackendClient>,
}

impl std::fmt::Debug for VerifierDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierDesk")
            .field("verifier_id", &self.signer.verifier_id)
            .finish_non_exhaustive()
    }
}

impl VerifierDesk {
    fn with(backend: BackendClient, key_store: Arc<dyn KeyStore>, verifier_id: String) -> Self {
        VerifierDesk {
            signer: Arc::new(KeyStoreVerifier {
                keys: Arc::new(ForeignKeyStore(key_store)),
                alias: VERIFIER_KEY_ALIAS.to_owned(),
                verifier_id,
            }),
            backend: Arc::new(backend),
        }
    }
}

#[uniffi::export]
impl VerifierDesk {
    /// A desk registered earlier as `verifier_id`, its key in `key_store`, talking to the
    /// backend through `http`.
    #[uniffi::constructor]
    pub fn open(
        backend_url: String,
        key_store: Arc<dyn KeyStore>,
        verifier_id: String,
        http: Arc<dyn HttpTransport>,
    ) -> Arc<Self> {
        Arc::new(Self::with(
            client(&backend_url, http),
            key_store,
            verifier_id,
        ))
    }

    /// Creates the desk's key in `key_store` (or reuses it) and registers it with the backend's
    /// admin token for `profiles`, through `http`; keep `verifier_id()` to `open` the desk later.
    #[uniffi::constructor]
    pub async fn register(
        backend_url: String,
        key_store: Arc<dyn KeyStore>,
        admin_token: String,
        name: String,
        profiles: Vec<Profile>,
        http: Arc<dyn HttpTransport>,
    ) -> Result<Arc<Self>, EidError> {
        let backend = client(&backend_url, http);
        on_runtime("verifier_register", async move {
            let public_key = match key_store.public_key(VERIFIER_KEY_ALIAS.into())? {
                Some(k) => k,
                None => key_store.create_signing_key(VERIFIER_KEY_ALIAS.into())?,
            };
            let registration = VerifierRegistration {
                name,
                public_key: B64(public_key),
                profiles: profiles
                    .into_iter()
                    .map(|p| p.as_str().to_owned())
                    .collect(),
            };
            let registered = backend
                .register_verifier(&admin_token, &registration)
                .await?;
            Ok(Arc::new(Self::with(
                backend,
                key_store,
                registered.verifier_id,
            )))
        })
        .await
    }

    pub fn verifier_id(&self) -> String {
        self.signer.verifier_id.clone()
    }

    /// Redeems a scanned online token (`VNT2:`) once at the backend and returns the consented
    /// fields. Fails with `TokenUsed`, `TokenExpired`, `Backend { code: "not_allowed" }` (a
    /// profile this desk may not receive), `Network` (retry or ask for an offline QR), or
    /// `InvalidInput` for an offline QR.
    pub async fn redeem(&self, text: String) -> Result<Verdict, EidError> {
        let (signer, backend) = (self.signer.clone(), self.backend.clone());
        on_runtime("redeem", async move {
            let verdict = redeem(&backend, &*signer, &text, now_s()).await?;
            Ok(verdict.into())
        })
        .await
    }

    /// Checks a guest in, as a host (a desk registered for `Profile.ACCOMMODATION`): `text`, the
    /// guest's accommodation QR, is checked with `verifier` first (nothing is sent for a QR it
    /// refuses: `Presentation`), then the stay from `check_in` to `check_out` (ISO dates, 1 to
    /// 366 nights; else `InvalidInput`) is recorded at the backend and its receipt checked. Fails
    /// with `Backend { code: "unauthenticated" }` (an unregistered host), `Backend { code:
    /// "not_allowed" }` (a desk that is not a host), `Network` (retry: the same QR gets the same
    /// receipt), or `Backend { code: "bad_receipt" }`.
    pub async fn check_in(
        &self,
        verifier: Arc<Verifier>,
        text: String,
        check_in: String,
        check_out: String,
    ) -> Result<CheckInReceipt, EidError> {
        let (signer, backend) = (self.signer.clone(), self.backend.clone());
        let date = |s: &str| {
            Date::parse_iso(s).ok_or_else(|| EidError::InvalidInput {
                reason: "dates must be YYYY-MM-DD".into(),
            })
        };
        let stay = Stay {
            check_in: date(&check_in)?,
            check_out: date(&check_out)?,
        };
        on_runtime("check_in", async move {
            let done = eid_core::client::check_in(
                &backend,
                &verifier.inner,
                &*signer,
                &text,
                stay,
                now_s(),
            )
            .await?;
            let s = done.receipt.statement;
            Ok(CheckInReceipt {
                receipt_id: s.receipt_id,
                host_id: s.host_id,
                host_name: s.host_name,
                check_in: s.check_in,
                check_out: s.check_out,
                recorded_at: s.recorded_at,
                guest: done.verdict.into(),
                signed: done.signed,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eid_core::credential::Sex;
    use eid_core::present::{self, Disclosed, Field, FieldValue};

    #[test]
    fn verdict_fields_follow_the_profile_order_with_labels() {
        // The backend's JSON is read into typed fields in the profile's order by the core
        // (`eid_core::client::redeem`, tested there, unknown fields refused); here the labels.
        let v = core::Verdict {
            valid: true,
            profile: Some(present::Profile::Airport),
            fields: Disclosed(vec![
                (Field::FullName, FieldValue::Text("TRAN THI LAN".into())),
                (Field::Sex, FieldValue::Sex(Sex::Female)),
            ]),
            reasons: Vec::new(),
            checked_at: 7,
            mode: core::Mode::Online,
            status_list_age_s: None,
            warnings: Vec::new(),
        };
        let v = Verdict::from(v);
        assert_eq!(v.profile, Some(Profile::Airport));
        assert!(v.online);
        let got: Vec<_> = v
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.label.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("full_name", "Họ và tên", "TRAN THI LAN"),
                ("sex", "Giới tính", "F"),
            ]
        );
    }

    /// What crosses the FFI comes back as it went (the remote types' generated converters).
    fn through_ffi<T>(v: T) -> T
    where
        T: uniffi::Lower<crate::UniFfiTag> + uniffi::Lift<crate::UniFfiTag>,
    {
        let mut buf = Vec::new();
        <T as uniffi::Lower<crate::UniFfiTag>>::write(v, &mut buf);
        let mut read = buf.as_slice();
        match <T as uniffi::Lift<crate::UniFfiTag>>::try_read(&mut read) {
            Ok(v) if read.is_empty() => v,
            _ => panic!("the FFI form does not read back"),
        }
    }

    #[test]
    fn reasons_cross_as_enums_with_the_core_message() {
        let wrong = core::Reason::WrongProfile {
            presented: present::Profile::Clinic,
            expected: present::Profile::Airport,
        };
        let r: VerdictReason = through_ffi(wrong.clone());
        assert_eq!(
            r,
            VerdictReason::WrongProfile {
                presented: Profile::Clinic,
                expected: Profile::Airport
            }
        );
        assert_eq!(verdict_reason_message(&r), wrong.message());
        assert_eq!(r, wrong);
        let stale: VerdictReason = through_ffi(core::Reason::Stale { max_age_s: 60 });
        assert_eq!(
            verdict_reason_message(&stale),
            "the presentation is older than 60 s"
        );
    }

    #[test]
    fn garbage_lists_and_texts_are_refused() {
        assert!(matches!(
            Verifier::new(vec![1, 2, 3], None),
            Err(EidError::InvalidInput { .. })
        ));
        for p in present::Profile::ALL {
            assert_eq!(through_ffi::<Profile>(p), p);
        }
    }
}
