//! The rules of level-2 activation, over values only: no database, no clock. What the SMS code
//! is and how it is stored and compared, when a pair may start again, why a try is refused,
//! what a device key and an attestation chain must be, and the account credential a binding
//! gets. The flow (`super`) reads and writes through `super::repo` and asks these.

use crate::error::{ApiFailure, Error};
use crate::http::{random_bytes, random_hex};
use eid_core::api::{B64, ErrorCode};
use eid_core::credential::{AccountLevel, Document, EidAccount};
use p256::ecdsa::VerifyingKey;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// SMS code and challenge lifetime.
pub const CODE_LIFETIME: u64 = 300;
/// Wrong codes after which an activation is void.
pub const MAX_WRONG_CODES: i64 = 5;
/// Rate limit window for starts per ID number and per phone.
pub const RATE_WINDOW: u64 = 3600;

/// What is stored instead of the code: bound to the activation so equal codes hash apart.
pub fn code_hash(activation_id: &str, code: &str) -> Vec<u8> {
    Sha256::new()
        .chain_update(activation_id.as_bytes())
        .chain_update(b":")
        .chain_update(code.as_bytes())
        .finalize()
        .to_vec()
}

/// Six uniformly random digits (rejection sampling, no modulo bias).
pub fn sms_code() -> Result<String, Error> {
    loop {
        let b = random_bytes(4)?;
        let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        // 4_294_000_000 is the largest multiple of 10^6 below 2^32.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// The `rate_keys` row of an (ID number, phone) pair: a hash, so the table holds no numbers.
pub fn rate_key(id_number: &str, phone: &str) -> Vec<u8> {
    Sha256::new()
        .chain_update(b"pair:")
        .chain_update(id_number.as_bytes())
        .chain_update(b":")
        .chain_update(phone.as_bytes())
        .finalize()
        .to_vec()
}

/// "***" and the last three digits: enough for support, not a phone number.
pub fn masked_phone(phone: &str) -> String {
    let tail = phone.get(phone.len().saturating_sub(3)..).unwrap_or("");
    format!("***{tail}")
}

/// Whether the pair may start again, given the `starts` it made since the window began (the
/// `oldest` of them at that time) and the configured `limit`: else 429 with the seconds until
/// the oldest leaves the window.
pub fn check_start_rate(
    starts: i64,
    oldest: Option<i64>,
    limit: i64,
    now: i64,
) -> Result<(), ApiFailure> {
    if starts >= limit {
        let retry = oldest.map_or(RATE_WINDOW as i64, |o| o + RATE_WINDOW as i64 - now);
        return Err(ApiFailure::rate_limited(u64::try_from(retry).unwrap_or(1)));
    }
    Ok(())
}

/// What the activation keeps of its `code`: the code's hash when the pair is the registry's;
/// else random bytes, an activation whose code nobody knows, so completing it is
/// indistinguishable from a wrong code.
pub fn stored_code_hash(matched: bool, activation_id: &str, code: &str) -> Result<Vec<u8>, Error> {
    if matched {
        Ok(code_hash(activation_id, code))
    } else {
        random_bytes(32)
    }
}

pub fn wrong_code() -> ApiFailure {
    ApiFailure::new(ErrorCode::WrongCode, "the SMS code is wrong")
}

pub fn code_used() -> ApiFailure {
    ApiFailure::new(ErrorCode::CodeUsed, "the SMS code was already used")
}

/// Why a try could not be counted against an activation: `used_at` is `None` for an unknown
/// activation (a wrong code, as for an activation nobody can complete), else the activation's
/// `used_at` column (used; or else expired or out of tries).
pub fn unclaimed(used_at: Option<Option<i64>>) -> ApiFailure {
    match used_at {
        None => wrong_code(),
        Some(Some(_)) => code_used(),
        Some(None) => ApiFailure::new(ErrorCode::CodeExpired, "the SMS code expired; start again"),
    }
}

/// The code check of a counted try: the `given` code against the stored hash (constant time),
/// and only for a pair that matched the registry.
pub fn check_code(
    activation_id: &str,
    given: &str,
    stored_hash: &[u8],
    matched: bool,
) -> Result<(), ApiFailure> {
    let code_ok: bool = code_hash(activation_id, given).ct_eq(stored_hash).into();
    if !code_ok || !matched {
        return Err(wrong_code());
    }
    Ok(())
}

/// Attestation chains are platform-specific (Android Key Attestation, Apple App Attest); until
/// their roots are configured, a chain that is sent must at least be certificates.
pub fn check_attestation(chain: Option<&[B64]>) -> Result<(), ApiFailure> {
    if let Some(chain) = chain
        && chain
            .iter()
            .any(|c| <x509_cert::Certificate as der::Decode>::from_der(&c.0).is_err())
    {
        return Err(ApiFailure::invalid(
            "attestation is not a certificate chain",
        ));
    }
    Ok(())
}

/// The device key as the binding keeps it: an uncompressed SEC1 P-256 point.
pub fn device_key(sec1: &[u8]) -> Result<Vec<u8>, ApiFailure> {
    Ok(VerifyingKey::from_sec1_bytes(sec1)
        .map_err(|_| ApiFailure::invalid("device_public_key is not a P-256 point"))?
        .to_sec1_point(false)
        .as_bytes()
        .to_vec())
}

/// A new account's id.
pub fn new_account_id() -> Result<String, Error> {
    Ok(format!("VNEID-{}", random_hex(8)?.to_ascii_uppercase()))
}

/// The account credential: the citizen's identity card (`record`, opened) with the account.
pub fn account_credential(record: Document, account_id: &str) -> Result<Document, ApiFailure> {
    let Document::Identity(card) = record else {
        return Err(Error::Registry("identity record of another kind".into()).into());
    };
    Ok(Document::Identity(card.with_account(EidAccount {
        id: account_id.to_owned(),
        level: AccountLevel::Level2,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_codes() {
        let c = sms_code().unwrap();
        assert!(c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(masked_phone("0912345678"), "***678");
        assert_ne!(code_hash("a", "123456"), code_hash("b", "123456"));
    }

    #[test]
    fn only_the_right_code_of_a_matched_pair_passes() {
        let stored = code_hash("act", "123456");
        check_code("act", "123456", &stored, true).unwrap();
        for (id, code, matched) in [
            ("act", "654321", true),
            ("other", "123456", true),
            ("act", "123456", false),
        ] {
            let err = check_code(id, code, &stored, matched).unwrap_err();
            assert_eq!(err.code, ErrorCode::WrongCode);
        }
        // An unmatched pair stores a hash nobody can hit.
        assert_ne!(stored_code_hash(false, "act", "123456").unwrap(), stored);
        assert_eq!(stored_code_hash(true, "act", "123456").unwrap(), stored);
    }

    #[test]
    fn refusals_of_an_unclaimed_try() {
        assert_eq!(unclaimed(None).code, ErrorCode::WrongCode);
        assert_eq!(unclaimed(Some(Some(1))).code, ErrorCode::CodeUsed);
        assert_eq!(unclaimed(Some(None)).code, ErrorCode::CodeExpired);
    }

    #[test]
    fn the_start_limit_counts_per_window() {
        let now = 10_000;
        check_start_rate(4, Some(now - 10), 5, now).unwrap();
        let err = check_start_rate(5, Some(now - 600), 5, now).unwrap_err();
        assert_eq!(err.code, ErrorCode::RateLimited);
        assert_eq!(err.retry_after, Some(RATE_WINDOW - 600));
    }
}
