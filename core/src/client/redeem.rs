//! Online mode of the verifier: a desk redeems a `VNT2:` token at the backend, once, and gets
//! the consented fields from there as a [`Verdict`]. The desk signs its request with its own
//! registered key. It lives with the client, above the verifier's checks (`crate::verify`), so
//! the verifier never reaches up to the network.

use super::{BackendClient, ClientError, VerifierSigner};
use crate::api::{ErrorCode, TokenRedeemed};
use crate::present::{Disclosed, PresentError, Profile, QrPayload};
use crate::verify::{Mode, Reason, Verdict};

/// Why a token gave no fields.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// An offline QR: check it with [`crate::verify::Verifier::verify_offline`].
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

/// Why the backend did not give a token's fields, for the officer.
impl From<&ClientError> for Reason {
    fn from(e: &ClientError) -> Reason {
        match e {
            ClientError::Api { code, .. } => match code {
                ErrorCode::TokenUsed => Reason::TokenUsed,
                ErrorCode::TokenExpired => Reason::TokenExpired,
                ErrorCode::NotAllowed => Reason::NotAllowed,
                ErrorCode::Unauthenticated => Reason::DeskNotRecognised,
                ErrorCode::AccountLocked => Reason::AccountLocked,
                _ => Reason::BackendRefused {
                    detail: e.to_string(),
                },
            },
            other => Reason::BackendUnreachable {
                detail: other.to_string(),
            },
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

    #[test]
    fn backend_refusals_are_typed() {
        let api = |code| ClientError::Api {
            status: 409,
            code,
            message: "m".into(),
            request_id: "r".into(),
        };
        assert_eq!(Reason::from(&api(ErrorCode::TokenUsed)), Reason::TokenUsed);
        assert_eq!(
            Reason::from(&api(ErrorCode::Unauthenticated)),
            Reason::DeskNotRecognised
        );
        assert_eq!(
            Reason::from(&api(ErrorCode::RateLimited)).message(),
            "the backend refused the token: m"
        );
        let down = Reason::from(&ClientError::Network("timeout".into()));
        assert_eq!(down.code(), "backend_unreachable");
        assert_eq!(
            down.message(),
            "backend unreachable, try again or use an offline QR: backend unreachable: timeout"
        );
    }
}
