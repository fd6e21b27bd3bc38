//! Online mode: a verifier desk redeems a `VNT2:` token at the backend, once, and gets the
//! consented fields from there. The desk signs its request with its own registered key.

use super::{Mode, Reason, Verdict};
use crate::api::TokenRedeemed;
use crate::client::VerifierSigner;
use crate::client::{BackendClient, ClientError};
use crate::keys::KeyStore;
use crate::present::{Disclosed, PresentError, Profile, QrPayload};
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
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.keys
            .sign(&self.alias, message)
            .map_err(|e| ClientError::DeviceKey(e.to_string()))
    }
}

/// Why a token gave no fields.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// An offline QR: check it with [`super::Verifier::verify_offline`].
    #[error("an offline QR: verify it offline")]
    OfflineQr,
    /// The text does not decode as a token.
    #[error(transparent)]
    Unreadable(PresentError),
    /// The backend refused the token or could not be reached (or answered something that is
    /// not the token's profile and fields: `ClientError::Decode`).
    #[error(transparent)]
    Backend(#[from] ClientError),
}

impl RedeemError {
    /// The failure as a verdict for the officer: invalid, with the reason.
    pub fn to_verdict(&self, now: u64) -> Verdict {
        match self {
            RedeemError::OfflineQr => Verdict::invalid(Mode::Offline, now, Reason::OfflineQr),
            RedeemError::Unreadable(e) => Verdict::invalid(Mode::Online, now, e.clone()),
            RedeemError::Backend(e) => Verdict::invalid(Mode::Online, now, Reason::from(e)),
        }
    }
}

/// Redeems `text` as the desk of `signer` at `now` (Unix seconds, for the verdict): the
/// consented fields from the backend, once.
pub async fn redeem(
    client: &BackendClient,
    signer: &dyn VerifierSigner,
    text: &str,
    now: u64,
) -> Result<Verdict, RedeemError> {
    match QrPayload::parse(text).map_err(RedeemError::Unreadable)? {
        QrPayload::Token(_) => {}
        QrPayload::Offline(_) => return Err(RedeemError::OfflineQr),
    }
    let answer = client.redeem_token(signer, text).await?;
    Ok(redeemed(&answer, now)?)
}

/// The backend's answer as a verdict: its profile and fields read as the profile's typed fields.
fn redeemed(answer: &TokenRedeemed, now: u64) -> Result<Verdict, ClientError> {
    let decode = |what: &str| ClientError::Decode(format!("redeemed token: {what}"));
    let profile = Profile::parse(&answer.profile).ok_or_else(|| decode("unknown profile"))?;
    let fields = Disclosed::from_json(profile, &answer.fields).map_err(decode)?;
    Ok(Verdict {
        valid: true,
        profile: Some(profile),
        fields,
        reasons: Vec::new(),
        checked_at: now,
        mode: Mode::Online,
        status_list_age_s: None,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::present::{Field, FieldValue};
    use serde_json::json;

    fn answer(profile: &str, fields: serde_json::Value) -> TokenRedeemed {
        TokenRedeemed {
            profile: profile.into(),
            fields,
            account_level: 2,
            redeemed_at: 7,
        }
    }

    #[test]
    fn redeemed_fields_are_typed_in_the_profile_order() {
        let v = redeemed(
            &answer(
                "airport",
                json!({"sex": "F", "full_name": "TRAN THI LAN", "date_of_birth": "1990-02-28"}),
            ),
            7,
        )
        .unwrap();
        assert!(v.valid);
        assert_eq!(
            (v.profile, v.mode, v.checked_at),
            (Some(Profile::Airport), Mode::Online, 7)
        );
        let names: Vec<_> = v.fields.0.iter().map(|(f, _)| f.name()).collect();
        assert_eq!(names, ["full_name", "date_of_birth", "sex"]);
        assert_eq!(
            v.fields.get(Field::FullName),
            Some(&FieldValue::Text("TRAN THI LAN".into()))
        );
        // Back to the backend's JSON, unchanged.
        assert_eq!(
            v.fields.to_json(),
            json!({"sex": "F", "full_name": "TRAN THI LAN", "date_of_birth": "1990-02-28"})
        );
    }

    #[test]
    fn an_answer_outside_the_profile_is_not_shown() {
        for bad in [
            answer("airport", json!({"full_name": "TRAN THI LAN", "extra": 3})),
            answer("airport", json!({"date_of_birth": "28/02/1990"})),
            answer("airport", json!(["full_name"])),
            answer("pub", json!({})),
        ] {
            assert!(matches!(redeemed(&bad, 7), Err(ClientError::Decode(_))));
        }
        // The refusal reads as the backend's failure.
        let e = RedeemError::from(ClientError::Decode("x".into()));
        let v = e.to_verdict(9);
        assert!(!v.valid && v.fields.0.is_empty() && v.mode == Mode::Online);
        assert_eq!(v.reasons[0].code(), "backend_unreachable");
        let offline = RedeemError::OfflineQr.to_verdict(9);
        assert_eq!(
            (offline.mode, &offline.reasons[..]),
            (Mode::Offline, &[Reason::OfflineQr][..])
        );
    }
}
