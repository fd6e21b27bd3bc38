//! A host (hotel, hospital) checks a guest in (docs/adr/0048): the guest's `accommodation` QR
//! checked offline by the verifier ([`Verifier::verify_offline`]: issuer, trust list, device
//! signature, freshness, status list, profile), then the stay sent to the backend, signed by
//! the host's registered verifier key, and the backend's receipt checked against the same trust
//! list and the stay that was sent. Nothing leaves the desk for a QR the verifier refuses.

use super::{BackendClient, ClientError, VerifierSigner, new_request_id};
use crate::api::{CheckInRequest, ErrorCode};
use crate::credential::Date;
use crate::present::Profile;
use crate::verify::accommodation::{self, Receipt};
use crate::verify::{Verdict, Verifier};

/// The dates of a stay, in the host's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay {
    pub check_in: Date,
    pub check_out: Date,
}

/// A recorded check-in: the guest's fields as the verifier read them, and the receipt.
#[derive(Debug, Clone)]
pub struct CheckIn {
    pub verdict: Verdict,
    pub receipt: Receipt,
    /// The receipt as signed (COSE_Sign1), to keep.
    pub signed: Vec<u8>,
}

/// Why a check-in was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum CheckInError {
    /// The QR did not verify (tampered, another profile, stale, revoked, ...); nothing was
    /// sent. The verdict lists every reason.
    #[error("the QR was refused: {}", reasons(.0))]
    Refused(Verdict),
    /// Check-out not 1 to 366 nights after check-in.
    #[error("the stay's dates are wrong: check-out must be 1 to 366 nights after check-in")]
    BadStay,
    /// The backend does not know this host's key.
    #[error("this host is not registered at the backend (register it first)")]
    HostNotRegistered,
    /// The desk is registered, but not for the `accommodation` profile.
    #[error("this desk is not registered as a host (profile accommodation)")]
    NotAHost,
    #[error("the backend refused the check-in: {0}")]
    BackendRefused(ClientError),
    #[error("the backend could not be reached, try again: {0}")]
    BackendUnreachable(ClientError),
    /// The answer is not a receipt of the police issuer for this host, stay and QR.
    #[error("the backend's receipt does not verify: {0}")]
    BadReceipt(String),
}

fn reasons(v: &Verdict) -> String {
    v.reasons
        .iter()
        .map(crate::verify::Reason::message)
        .collect::<Vec<_>>()
        .join("; ")
}

impl CheckInError {
    /// A stable code for scripts and apps.
    pub fn code(&self) -> &'static str {
        match self {
            CheckInError::Refused(_) => "qr_refused",
            CheckInError::BadStay => "bad_stay",
            CheckInError::HostNotRegistered => "host_not_registered",
            CheckInError::NotAHost => "not_a_host",
            CheckInError::BackendRefused(_) => "backend_refused",
            CheckInError::BackendUnreachable(_) => "backend_unreachable",
            CheckInError::BadReceipt(_) => "bad_receipt",
        }
    }
}

impl From<ClientError> for CheckInError {
    fn from(e: ClientError) -> Self {
        match &e {
            ClientError::Api { code, .. } => match code {
                ErrorCode::Unauthenticated => CheckInError::HostNotRegistered,
                ErrorCode::NotAllowed => CheckInError::NotAHost,
                ErrorCode::Internal | ErrorCode::RateLimited => CheckInError::BackendUnreachable(e),
                _ => CheckInError::BackendRefused(e),
            },
            ClientError::Decode(why) => CheckInError::BadReceipt(why.clone()),
            _ => CheckInError::BackendUnreachable(e),
        }
    }
}

/// Checks `text` (the guest's QR) with `verifier` at `now` (Unix seconds) as an
/// `accommodation` presentation, then records `stay` at the backend as the host of `host` and
/// checks its receipt.
pub async fn check_in(
    client: &BackendClient,
    verifier: &Verifier,
    host: &dyn VerifierSigner,
    text: &str,
    stay: Stay,
    now: u64,
) -> Result<CheckIn, CheckInError> {
    let (check_in, check_out) = (stay.check_in.to_string(), stay.check_out.to_string());
    if accommodation::stay(&check_in, &check_out).is_none() {
        return Err(CheckInError::BadStay);
    }
    let verdict = verifier.verify_offline(text, now, None, Some(Profile::Accommodation));
    if !verdict.valid {
        return Err(CheckInError::Refused(verdict));
    }
    let digest =
        accommodation::qr_digest(text).ok_or_else(|| CheckInError::Refused(verdict.clone()))?;
    let answer = client
        .accommodation_check_in(
            host,
            &CheckInRequest {
                client_request_id: new_request_id(),
                presentation: text.trim().to_owned(),
                check_in: check_in.clone(),
                check_out: check_out.clone(),
            },
        )
        .await?;
    let receipt = Receipt::from_signed(&answer.signed.0, verifier.trust(), now)
        .map_err(|e| CheckInError::BadReceipt(e.to_string()))?;
    let s = &receipt.statement;
    let matches = s.receipt_id == answer.receipt_id
        && s.host_id == host.verifier_id()
        && s.check_in == check_in
        && s.check_out == check_out
        && s.presentation_digest == digest;
    if !matches {
        return Err(CheckInError::BadReceipt(
            "it is for another host, stay or QR".into(),
        ));
    }
    Ok(CheckIn {
        verdict,
        receipt,
        signed: answer.signed.0,
    })
}
