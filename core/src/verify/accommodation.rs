//! Accommodation receipts (docs/adr/0048): what the backend answers a host's check-in and what
//! the guest's wallet syncs as a notice. A COSE_Sign1 by the police issuer over the JSON of
//! [`AccommodationReceipt`], checked like the status list (an issuer authorised for identity
//! documents, chaining to the trust list).

use super::signed_list::{SignedListError, police_signed_payload};
use crate::api::AccommodationReceipt;
use crate::credential::{Date, TrustList};
use crate::present::QrPayload;
use thiserror::Error;

/// The `receipt` of every receipt this backend signs.
pub const RECEIPT_URI: &str = "urn:vn-eid:backend:accommodation-receipt:1";
/// COSE content type of a signed receipt.
pub const RECEIPT_CONTENT_TYPE: &str = "application/vnd.vn-eid.accommodation-receipt+json";
/// The longest stay one notice reports (nights).
pub const MAX_NIGHTS: u32 = 366;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiptError {
    #[error("accommodation receipt malformed: {0}")]
    Malformed(&'static str),
    #[error("accommodation receipt signature does not verify")]
    BadSignature,
    #[error("accommodation receipt signer is not trusted")]
    Untrusted,
}

impl From<SignedListError> for ReceiptError {
    fn from(e: SignedListError) -> Self {
        match e {
            SignedListError::Malformed(m) => ReceiptError::Malformed(m),
            SignedListError::BadSignature => ReceiptError::BadSignature,
            SignedListError::Untrusted => ReceiptError::Untrusted,
        }
    }
}

/// A checked receipt: its statement and its stay's dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub statement: AccommodationReceipt,
    pub check_in: Date,
    pub check_out: Date,
}

impl Receipt {
    /// Checks the signature and the signer's chain against `trust` at `now`, then reads the
    /// statement: its URI, and a stay of 1 to [`MAX_NIGHTS`] nights.
    pub fn from_signed(
        signed: &[u8],
        trust: &TrustList,
        now: u64,
    ) -> Result<Receipt, ReceiptError> {
        use ReceiptError::Malformed;
        let payload = police_signed_payload(signed, trust, now)?;
        let statement: AccommodationReceipt =
            serde_json::from_slice(&payload).map_err(|_| Malformed("payload"))?;
        if statement.receipt != RECEIPT_URI {
            return Err(Malformed("not an accommodation receipt"));
        }
        let (check_in, check_out) =
            stay(&statement.check_in, &statement.check_out).ok_or(Malformed("dates"))?;
        Ok(Receipt {
            statement,
            check_in,
            check_out,
        })
    }
}

/// The [`crate::api::presentation_digest`] of an offline QR's canonical text (however the
/// scanner spaced it), which a receipt names; `None` when `text` is not an offline QR.
pub fn qr_digest(text: &str) -> Option<String> {
    match QrPayload::parse(text).ok()? {
        QrPayload::Offline(p) => Some(crate::api::presentation_digest(&p.to_text())),
        QrPayload::Token(_) => None,
    }
}

/// The dates of a stay (ISO `YYYY-MM-DD`): check-out after check-in, at most [`MAX_NIGHTS`]
/// nights later. `None` otherwise.
pub fn stay(check_in: &str, check_out: &str) -> Option<(Date, Date)> {
    let (a, b) = (Date::parse_iso(check_in)?, Date::parse_iso(check_out)?);
    let nights = b.unix_days() - a.unix_days();
    (1..=i64::from(MAX_NIGHTS))
        .contains(&nights)
        .then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stay_is_one_night_to_a_year() {
        assert!(stay("2026-12-04", "2026-12-05").is_some());
        assert!(stay("2026-12-04", "2027-12-05").is_some());
        assert!(stay("2026-12-04", "2026-12-04").is_none());
        assert!(stay("2026-12-05", "2026-12-04").is_none());
        assert!(stay("2026-12-04", "2027-12-06").is_none());
        assert!(stay("2026-02-30", "2026-03-02").is_none());
        assert!(stay("04/12/2026", "2026-12-05").is_none());
    }
}
