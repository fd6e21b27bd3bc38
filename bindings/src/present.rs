//! Showing a QR: the consent preview, offline presentations, online tokens and the stock of
//! presentation credentials, as `WalletHandle` methods over `eid_core::wallet` (ADR 0013).

use crate::error::EidError;
use crate::passcode::Passcode;
use crate::run::{logged, on_runtime};
use crate::wallet::WalletHandle;
use eid_core::present::Disclosed;
use eid_core::wallet::{self as core, PresentationOut};
use std::sync::Arc;

pub use eid_core::present::Profile;

/// What a verifier asks for (docs/adr/0013).
#[uniffi::remote(Enum)]
pub enum Profile {
    /// Airport check-in: name, date of birth, sex, ID number, nationality, card expiry.
    Airport,
    /// Clinic reception: name, date of birth, sex, BHYT code, benefit level, facility, validity.
    Clinic,
    /// Traffic check: licence number, classes, validity, points.
    Driving,
    /// Yes or no, nothing else.
    AgeOver18,
    /// Every identity field but the photo.
    Full,
    /// Accommodation notice at a hotel or hospital: name, ID number, date of birth, permanent
    /// address.
    Accommodation,
}

/// How the citizen confirmed an offline presentation. The passcode is a [`Passcode`] object,
/// so printing a `Consent` never shows the digits. Online and remote actions take a
/// `Passcode` directly: biometric unlock cannot prove the passcode to the backend
/// (docs/adr/0017).
#[derive(Clone, uniffi::Enum)]
pub enum Consent {
    Passcode {
        passcode: Arc<Passcode>,
    },
    /// The key store's `unwrap_key` shows the platform's biometric prompt.
    Biometric,
}

/// One disclosed field: its JSON name, the Vietnamese label and the value as text (dates ISO
/// 8601; licence classes as JSON).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct DisclosedField {
    pub name: String,
    pub label: String,
    pub value: String,
}

/// A QR ready to show. Draw `modules` (`size` × `size`, row-major, `true` = dark) with a quiet
/// zone of 4 light modules, or encode `text` with the platform's QR encoder at `ecc`.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct Presentation {
    pub profile: Profile,
    pub text: String,
    pub qr_version: u8,
    /// "M".
    pub ecc: String,
    /// Bytes before base45.
    pub payload_bytes: u64,
    /// Unix seconds after which verifiers refuse it.
    pub expires_at: u64,
    pub size: u32,
    pub modules: Vec<bool>,
    /// What it discloses (online: what the verifier gets on redemption).
    pub fields: Vec<DisclosedField>,
    /// No unused credential was left and one was shown again (sync to refill).
    pub reused: bool,
    /// A `VNT2:` token to redeem at the backend, not an offline presentation.
    pub online: bool,
}

/// Unused presentation credentials left of one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct PresentationStock {
    pub profile: Profile,
    pub unused: u64,
}

/// A JSON value as display text: strings as they are, anything else as JSON.
pub(crate) fn display(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn disclosed(fields: &Disclosed) -> Vec<DisclosedField> {
    fields
        .0
        .iter()
        .map(|(f, v)| DisclosedField {
            name: f.name().to_owned(),
            label: f.label().to_owned(),
            value: display(&v.to_json()),
        })
        .collect()
}

fn presentation(out: PresentationOut) -> Presentation {
    Presentation {
        profile: out.profile,
        qr_version: out.qr.version,
        ecc: out.qr.ecc.to_owned(),
        payload_bytes: u64::try_from(out.payload_bytes).unwrap_or(u64::MAX),
        expires_at: out.expires_at,
        size: u32::try_from(out.qr.width).unwrap_or(u32::MAX),
        modules: out.qr.modules,
        fields: disclosed(&out.fields),
        reused: out.reused,
        online: out.online,
        text: out.text,
    }
}

/// Who the transaction log names as the recipient (the wallet does not know the desk).
const OFFLINE_VERIFIER: &str = "QR verifier";
const ONLINE_VERIFIER: &str = "online verifier";

/// Runs `f` with the core's form of `consent`.
fn with_consent<T>(
    consent: &Consent,
    f: impl FnOnce(core::Consent<'_>) -> Result<T, core::WalletError>,
) -> Result<T, EidError> {
    match consent {
        Consent::Passcode { passcode } => f(core::Consent::Passcode(&passcode.0)),
        Consent::Biometric => f(core::Consent::Biometric),
    }
    .map_err(EidError::from)
}

#[uniffi::export]
impl WalletHandle {
    /// What `profile` would disclose, for the consent screen (unlocked wallet).
    pub fn presentation_preview(&self, profile: Profile) -> Result<Vec<DisclosedField>, EidError> {
        let fields = self.wallet.preview(profile);
        logged("presentation_preview", fields.map(|f| disclosed(&f)))
    }

    /// An offline QR for `profile` after the citizen's consent, bound to the verifier's `nonce`
    /// when its screen shows one. Valid 60 s. Fails with `Presentation` when no credential of
    /// the profile was ever synced.
    pub fn present(
        &self,
        profile: Profile,
        consent: Consent,
        nonce: Option<Vec<u8>>,
    ) -> Result<Presentation, EidError> {
        let out = with_consent(&consent, |c| {
            self.wallet
                .present(profile, nonce.as_deref(), c, OFFLINE_VERIFIER)
        });
        logged("present", out.map(presentation))
    }

    /// An online token for `profile`, signed with the device key and registered at the
    /// backend with the citizen's passcode (docs/adr/0017) before it is returned: a registered
    /// verifier redeems it once within a minute. Needs the network and the passcode.
    pub async fn present_online(
        &self,
        profile: Profile,
        passcode: Arc<Passcode>,
    ) -> Result<Presentation, EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("present_online", async move {
            let out = w
                .present_online(&b, profile, &passcode.0, ONLINE_VERIFIER)
                .await?;
            Ok(presentation(out))
        })
        .await
    }

    /// Unused presentation credentials per profile (sync refills those running low).
    pub fn presentation_stock(&self) -> Result<Vec<PresentationStock>, EidError> {
        let stock = self.wallet.presentation_stock().map(|all| {
            all.into_iter()
                .map(|s| PresentationStock {
                    profile: s.profile,
                    unused: s.unused,
                })
                .collect()
        });
        logged("presentation_stock", stock)
    }
}
