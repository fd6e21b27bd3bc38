//! The remote signing part of the HTTP API: a subset of the Cloud Signature Consortium API v2
//! (credentials/list, credentials/info, credentials/authorize, signatures/signHash) plus
//! enrolment and an explicit challenge. Field names follow this project's snake_case; the CSC
//! names are given in the doc comments. Every POST here is device-signed (`crate::api::headers`).

use super::hex;
use crate::api::B64;
use serde::{Deserialize, Serialize};

pub mod paths {
    /// Device-signed: creates the account's signing key and certificate (or returns them).
    pub const ENROL: &str = "/v1/signing/enrol";
    /// The signing CA certificate (PEM), to verify signatures with.
    pub const CA_PEM: &str = "/v1/signing/ca.pem";
    pub const CREDENTIALS_LIST: &str = "/v1/signing/credentials/list";
    pub const CREDENTIALS_INFO: &str = "/v1/signing/credentials/info";
    pub const CREDENTIALS_CHALLENGE: &str = "/v1/signing/credentials/getChallenge";
    pub const CREDENTIALS_AUTHORIZE: &str = "/v1/signing/credentials/authorize";
    pub const SIGN_HASH: &str = "/v1/signing/signatures/signHash";
}

/// Hash and signature algorithm of this subset: ECDSA P-256 over a SHA-256 hash (ES256).
pub const SIGN_ALGO: &str = "1.2.840.10045.4.3.2";
/// How long a challenge and a SAD live at most (seconds).
pub const SAD_LIFETIME: u64 = 120;
/// Hashes one authorisation may cover (CSC `numSignatures`).
pub const MAX_HASHES: usize = 16;

/// POST /v1/signing/enrol
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub client_request_id: String,
}

/// POST /v1/signing/credentials/list: the account's credentials (CSC `credentialIDs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsListRequest {
    pub client_request_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsList {
    pub credential_ids: Vec<String>,
    pub credential_infos: Vec<CredentialInfo>,
}

/// POST /v1/signing/credentials/info (CSC `credentialID`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRef {
    pub client_request_id: String,
    pub credential_id: String,
}

/// A signing credential (CSC credentials/info: `key`, `cert`, `SCAL`, `authMode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInfo {
    pub credential_id: String,
    /// `enabled` or `disabled` (CSC `key.status`).
    pub status: String,
    /// Signature algorithm OID (CSC `key.algo`).
    pub key_algo: String,
    pub key_len: u32,
    /// The certificate (DER) and the CA's (CSC `cert.certificates`).
    pub certificates: Vec<B64>,
    /// Subject DN of the certificate (CSC `cert.subjectDN`).
    pub subject: String,
    /// Unix seconds (CSC `cert.validFrom` / `validTo`).
    pub valid_from: u64,
    pub valid_to: u64,
    /// `2`: sole control, every signature authorised on the device (CSC `SCAL`).
    pub scal: String,
    /// `explicit` (CSC `authMode`).
    pub auth_mode: String,
}

/// The answer to credentials/getChallenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub challenge: B64,
    pub expires_at: u64,
}

/// POST /v1/signing/credentials/authorize (CSC `credentialID`, `numSignatures`, `hashes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_request_id: String,
    pub credential_id: String,
    pub challenge: B64,
    /// The exact SHA-256 hashes to be signed.
    pub hashes: Vec<B64>,
    /// Unix seconds; the SAD dies then or after [`SAD_LIFETIME`], whichever is first.
    pub expires_at: u64,
    /// The device key's DER ECDSA P-256/SHA-256 over [`authorization_input`].
    pub device_signature: B64,
    /// The citizen's consent (docs/adr/0017) over
    /// `crate::api::signing_authorization_digest(authorization_input(..))`.
    #[serde(default)]
    pub consent: Option<crate::api::ConsentProof>,
}

/// The signature activation data (CSC `SAD`, `expiresIn`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sad {
    pub sad: String,
    pub expires_in: u64,
}

/// POST /v1/signing/signatures/signHash (CSC `credentialID`, `SAD`, `hashes`, `signAlgo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignHashRequest {
    pub client_request_id: String,
    pub credential_id: String,
    pub sad: String,
    pub hashes: Vec<B64>,
    pub sign_algo: String,
}

/// DER ECDSA signatures, one per hash, in order (CSC `signatures`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signatures {
    pub signatures: Vec<B64>,
}

/// What the device key signs to authorise a signature: the challenge, the credential, the
/// expiry and every hash, one per line, so the SAD cannot be stretched to anything else.
pub fn authorization_input(
    credential_id: &str,
    challenge: &[u8],
    hashes: &[Vec<u8>],
    expires_at: u64,
) -> Vec<u8> {
    let mut text = format!(
        "eid-csc-authorize-v1\n{credential_id}\n{}\n{expires_at}",
        hex(challenge)
    );
    for h in hashes {
        text.push('\n');
        text.push_str(&hex(h));
    }
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_input_binds_every_part() {
        let h = vec![vec![1u8; 32]];
        let a = authorization_input("c", b"x", &h, 5);
        assert_ne!(a, authorization_input("d", b"x", &h, 5));
        assert_ne!(a, authorization_input("c", b"y", &h, 5));
        assert_ne!(a, authorization_input("c", b"x", &h, 6));
        assert_ne!(a, authorization_input("c", b"x", &[vec![2u8; 32]], 5));
        assert_ne!(
            a,
            authorization_input("c", b"x", &[h[0].clone(), h[0].clone()], 5)
        );
        assert_eq!(a, authorization_input("c", b"x", &h, 5));
    }
}
