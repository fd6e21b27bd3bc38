//! Remote signing (issue 6): enrolment of a signing credential for an Active level-2 account,
//! and a CSC API v2 subset (credentials/list, credentials/info, credentials/getChallenge,
//! credentials/authorize → SAD, signatures/signHash). Keys stay in the signer ([`KeySigner`]);
//! every signature needs a SAD that the account's device signed for the exact hashes, used once
//! within [`SAD_LIFETIME`]. See docs/adr/0011-remote-signing.md.

pub mod ca;
pub mod iaca;
pub mod pkcs11;
pub mod rp_access;
pub mod seal;
pub mod signer;

use crate::auth::{Device, SignedCall};
use crate::error::{ApiFailure, Error};
use crate::http::{Answer, parse, random_bytes};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ca::SigningCa;
use der::Decode;
use eid_core::api::{
    B64, ErrorCode, MAX_SKEW_SECONDS, consent_action, signing_authorization_digest,
};
use eid_core::signing::{
    AuthorizeRequest, Challenge, CredentialInfo, CredentialRef, CredentialsList,
    CredentialsListRequest, EnrolRequest, MAX_HASHES, SAD_LIFETIME, SIGN_ALGO, Sad,
    SignHashRequest, Signatures, authorization_input,
};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use seal::SealKey;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
pub use signer::KeySigner;
use sqlx::Row;
use std::sync::Arc;

/// Which signer holds the citizens' keys (`eid serve --signer`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SignerChoice {
    /// Keys sealed in the database (default).
    #[default]
    Software,
    /// A PKCS#11 module; token label and PIN from the environment.
    Pkcs11 { module: String },
}

impl std::str::FromStr for SignerChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            _ if s == "software" => Ok(SignerChoice::Software),
            Some(("pkcs11", module)) if !module.is_empty() => Ok(SignerChoice::Pkcs11 {
                module: module.to_owned(),
            }),
            _ => Err("expected `software` or `pkcs11:MODULE_PATH`".into()),
        }
    }
}

/// The remote signing service of a running backend.
#[derive(Debug)]
pub struct Signing {
    pub signer: Arc<dyn KeySigner>,
    pub ca: SigningCa,
}

impl Signing {
    /// The service, its CA key and software keys sealed under the backend's KEK; `shared`: a
    /// session already open on the PKCS#11 module of `choice`.
    pub async fn open(
        store: &crate::db::Store,
        seal: Arc<SealKey>,
        choice: &SignerChoice,
        shared: Option<Arc<dyn KeySigner>>,
        now: u64,
    ) -> Result<Signing, Error> {
        let signer: Arc<dyn KeySigner> = match (choice, shared) {
            (SignerChoice::Software, _) => Arc::new(signer::SoftwareSigner::new(seal.clone())),
            // The token session the issuer keys already opened on this module.
            (SignerChoice::Pkcs11 { .. }, Some(token)) => token,
            (SignerChoice::Pkcs11 { module }, None) => {
                Arc::new(pkcs11::Pkcs11Signer::from_env(module)?)
            }
        };
        let ca = SigningCa::load_or_create(store, &seal, now).await?;
        tracing::info!(signer = signer.kind(), "remote signing on");
        Ok(Signing { signer, ca })
    }
}

fn refused(message: &'static str) -> ApiFailure {
    ApiFailure::new(ErrorCode::Unauthenticated, message)
}

const SAD_REFUSED: &str =
    "the signature activation data is unknown, used, expired or for other hashes";

/// The service, or 404 when remote signing is off.
fn service(state: &AppState) -> Result<&Signing, ApiFailure> {
    state.signing.as_ref().ok_or(ApiFailure::new(
        ErrorCode::NotFound,
        "remote signing is not configured",
    ))
}

/// The service, the signing device (active, account not locked) and the parsed body.
async fn begin<'a, T: DeserializeOwned>(
    state: &'a AppState,
    call: &SignedCall,
) -> Result<(&'a Signing, Device, T), ApiFailure> {
    let service = service(state)?;
    let device = call.device(state).await?;
    device.require_active(false)?;
    if device.level < 2 {
        return Err(ApiFailure::invalid(
            "remote signing needs a level-2 account",
        ));
    }
    Ok((service, device, parse(&call.body)?))
}

/// Every signed endpoint of the service ([`begin`]), then `run` with the service, the device
/// and the body; its value is the answer.
async fn signing_post<T: DeserializeOwned, R: Serialize>(
    state: &AppState,
    call: &SignedCall,
    run: impl AsyncFnOnce(&AppState, &Signing, Device, T) -> Result<R, ApiFailure>,
) -> Response {
    let result = async {
        let (service, device, req) = begin(state, call).await?;
        run(state, service, device, req).await
    };
    result.await.and_then(|v| Answer::ok(&v)).into_response()
}

/// A credential row: id, certificate, revoked_at, signer, key handle.
struct CredentialRow {
    id: String,
    certificate: Vec<u8>,
    revoked: bool,
    signer: String,
    handle: Vec<u8>,
}

async fn credentials_of(
    state: &AppState,
    account_id: &str,
    id: Option<&str>,
) -> Result<Vec<CredentialRow>, ApiFailure> {
    let rows = sqlx::query(
        "SELECT id, certificate, revoked_at, signer, key_handle FROM signing_credentials \
         WHERE account_id = $1 AND ($2 = '' OR id = $2) ORDER BY created_at",
    )
    .bind(account_id)
    .bind(id.unwrap_or(""))
    .fetch_all(state.store.pool())
    .await?;
    let mut out = Vec::new();
    for row in rows {
        out.push(CredentialRow {
            id: row.try_get(0)?,
            certificate: row.try_get(1)?,
            revoked: row.try_get::<Option<i64>, _>(2)?.is_some(),
            signer: row.try_get(3)?,
            handle: row.try_get(4)?,
        });
    }
    Ok(out)
}

/// The account's enabled credential `id`, or 404 (also for another account's id).
async fn enabled_credential(
    state: &AppState,
    device: &Device,
    id: &str,
) -> Result<CredentialRow, ApiFailure> {
    credentials_of(state, &device.account_id, Some(id))
        .await?
        .into_iter()
        .find(|c| !c.revoked)
        .ok_or(ApiFailure::new(
            ErrorCode::NotFound,
            "no such signing credential",
        ))
}

fn info_of(service: &Signing, row: &CredentialRow) -> Result<CredentialInfo, ApiFailure> {
    let cert = x509_cert::Certificate::from_der(&row.certificate)
        .map_err(|_| ApiFailure::from(Error::Config("stored certificate".into())))?;
    let tbs = cert.tbs_certificate();
    let seconds = |t: &x509_cert::time::Time| t.to_unix_duration().as_secs();
    Ok(CredentialInfo {
        credential_id: row.id.clone(),
        status: if row.revoked { "disabled" } else { "enabled" }.into(),
        key_algo: SIGN_ALGO.into(),
        key_len: 256,
        certificates: vec![
            B64(row.certificate.clone()),
            B64(service.ca.certificate.clone()),
        ],
        subject: tbs.subject().to_string(),
        valid_from: seconds(&tbs.validity().not_before),
        valid_to: seconds(&tbs.validity().not_after),
        scal: "2".into(),
        auth_mode: "explicit".into(),
    })
}

/// POST /v1/signing/enrol: the account's credential, created with a new key on first call.
pub async fn enrol(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    signing_post(&state, &call, enrol_inner).await
}

async fn enrol_inner(
    state: &AppState,
    service: &Signing,
    device: Device,
    _req: EnrolRequest,
) -> Result<CredentialInfo, ApiFailure> {
    let existing = credentials_of(state, &device.account_id, None).await?;
    if let Some(c) = existing.iter().find(|c| !c.revoked) {
        return info_of(service, c);
    }
    // The subject comes from the registry's identity behind the account, not from the request.
    let row = sqlx::query(
        "SELECT c.full_name, c.id_number FROM accounts a \
         JOIN citizens c ON c.id_number = a.id_number WHERE a.id = $1",
    )
    .bind(&device.account_id)
    .fetch_one(state.store.pool())
    .await?;
    let (full_name, id_number): (String, String) = (row.try_get(0)?, row.try_get(1)?);
    let key = service.signer.generate()?;
    let now = state.now();
    let certificate = service.ca.issue(
        ca::citizen_name(&full_name, &id_number)?,
        &key.public_key,
        now,
    )?;
    let id = format!("sc-{}", crate::http::random_hex(12)?);
    let mut w = state.store.write().await?;
    sqlx::query(
        "INSERT INTO signing_credentials \
         (id, account_id, signer, key_handle, certificate, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(&device.account_id)
    .bind(service.signer.kind())
    .bind(&key.handle)
    .bind(&certificate)
    .bind(state.now_i64())
    .execute(&mut *w.tx)
    .await?;
    w.commit().await?;
    tracing::info!(credential = %id, signer = service.signer.kind(), "signing credential enrolled");
    // A concurrent enrolment may have won: answer with what the database holds.
    let stored = credentials_of(state, &device.account_id, None).await?;
    let c = stored
        .iter()
        .find(|c| !c.revoked)
        .ok_or(ApiFailure::new(ErrorCode::Internal, "enrolment failed"))?;
    info_of(service, c)
}

/// GET /v1/signing/ca.pem
pub async fn ca_pem(State(state): State<Arc<AppState>>) -> Response {
    let service = match service(&state) {
        Ok(s) => s,
        Err(f) => return f.into_response(),
    };
    let mut resp = (StatusCode::OK, service.ca.pem.clone()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pem-file"),
    );
    resp
}

/// POST /v1/signing/credentials/list
pub async fn list(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    signing_post(&state, &call, list_inner).await
}

async fn list_inner(
    state: &AppState,
    service: &Signing,
    device: Device,
    _req: CredentialsListRequest,
) -> Result<CredentialsList, ApiFailure> {
    let rows = credentials_of(state, &device.account_id, None).await?;
    Ok(CredentialsList {
        credential_ids: rows.iter().map(|r| r.id.clone()).collect(),
        credential_infos: rows
            .iter()
            .map(|r| info_of(service, r))
            .collect::<Result<_, _>>()?,
    })
}

/// POST /v1/signing/credentials/info
pub async fn info(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    signing_post(&state, &call, info_inner).await
}

async fn info_inner(
    state: &AppState,
    service: &Signing,
    device: Device,
    req: CredentialRef,
) -> Result<CredentialInfo, ApiFailure> {
    let row = credentials_of(state, &device.account_id, Some(&req.credential_id))
        .await?
        .into_iter()
        .next()
        .ok_or(ApiFailure::new(
            ErrorCode::NotFound,
            "no such signing credential",
        ))?;
    info_of(service, &row)
}

/// POST /v1/signing/credentials/getChallenge: a one-time challenge for this device.
pub async fn challenge(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    signing_post(&state, &call, challenge_inner).await
}

async fn challenge_inner(
    state: &AppState,
    _service: &Signing,
    device: Device,
    req: CredentialRef,
) -> Result<Challenge, ApiFailure> {
    let credential = enabled_credential(state, &device, &req.credential_id).await?;
    let challenge = random_bytes(32)?;
    let expires_at = state.now() + SAD_LIFETIME;
    let mut w = state.store.write().await?;
    sqlx::query(
        "INSERT INTO signing_challenges (challenge, credential_id, device_id, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&challenge)
    .bind(&credential.id)
    .bind(&device.id)
    .bind(i64::try_from(expires_at).unwrap_or(i64::MAX))
    .execute(&mut *w.tx)
    .await?;
    w.commit().await?;
    Ok(Challenge {
        challenge: B64(challenge),
        expires_at,
    })
}

/// What a SAD is bound to: the count and the hashes, in order.
fn hashes_digest(hashes: &[B64]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update((hashes.len() as u64).to_be_bytes());
    for x in hashes {
        h.update(&x.0);
    }
    h.finalize().to_vec()
}

/// The checks on an authorisation that need no database: hash list, expiry, device signature.
pub fn check_authorization(
    req: &AuthorizeRequest,
    device_public_key: &[u8],
    now: u64,
) -> Result<(), ApiFailure> {
    if req.hashes.is_empty()
        || req.hashes.len() > MAX_HASHES
        || req.hashes.iter().any(|h| h.0.len() != 32)
    {
        return Err(ApiFailure::invalid("hashes must be 1 to 16 SHA-256 values"));
    }
    if req.expires_at <= now || req.expires_at > now + SAD_LIFETIME + MAX_SKEW_SECONDS {
        return Err(ApiFailure::invalid("expires_at is past or too far ahead"));
    }
    let hashes: Vec<Vec<u8>> = req.hashes.iter().map(|h| h.0.clone()).collect();
    let message = authorization_input(
        &req.credential_id,
        &req.challenge.0,
        &hashes,
        req.expires_at,
    );
    let verified = VerifyingKey::from_sec1_bytes(device_public_key)
        .ok()
        .zip(Signature::from_der(&req.device_signature.0).ok())
        // Low-S only (eid_crypto::es256): one valid encoding per signature.
        .is_some_and(|(k, s)| s.normalize_s() == s && k.verify(&message, &s).is_ok());
    if !verified {
        return Err(refused(
            "the authorisation is not signed by this account's device",
        ));
    }
    Ok(())
}

/// POST /v1/signing/credentials/authorize: checks the device's authorisation of exactly these
/// hashes and the citizen's consent to it (docs/adr/0017), consumes the challenge and answers a
/// one-time SAD (stored hashed).
pub async fn authorize(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    signing_post(&state, &call, authorize_inner).await
}

async fn authorize_inner(
    state: &AppState,
    _service: &Signing,
    device: Device,
    req: AuthorizeRequest,
) -> Result<Sad, ApiFailure> {
    let credential = enabled_credential(state, &device, &req.credential_id).await?;
    let now = state.now();
    let now_i = state.now_i64();
    let mut w = state.store.write().await?;
    // The challenge goes first, whatever follows: one attempt per challenge.
    let consumed = sqlx::query(
        "UPDATE signing_challenges SET used_at = $1 WHERE challenge = $2 \
         AND credential_id = $3 AND device_id = $4 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now_i)
    .bind(&req.challenge.0)
    .bind(&credential.id)
    .bind(&device.id)
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    w.commit().await?;
    if consumed != 1 {
        return Err(refused("the challenge is unknown, used or expired"));
    }
    check_authorization(&req, &device.public_key, now)?;
    // The device key says which hashes; the citizen's consent says that they want it.
    let hashes: Vec<Vec<u8>> = req.hashes.iter().map(|h| h.0.clone()).collect();
    crate::consent::check(
        state,
        &device,
        req.consent.as_ref(),
        consent_action::SIGNING_AUTHORIZE,
        &signing_authorization_digest(&authorization_input(
            &req.credential_id,
            &req.challenge.0,
            &hashes,
            req.expires_at,
        )),
    )
    .await?;
    let sad = random_bytes(32)?;
    let expires_at = req.expires_at.min(now + SAD_LIFETIME);
    let mut w = state.store.write().await?;
    sqlx::query(
        "INSERT INTO signing_sads \
         (sad_hash, credential_id, device_id, hashes_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Sha256::digest(&sad).to_vec())
    .bind(&credential.id)
    .bind(&device.id)
    .bind(hashes_digest(&req.hashes))
    .bind(now_i)
    .bind(i64::try_from(expires_at).unwrap_or(i64::MAX))
    .execute(&mut *w.tx)
    .await?;
    w.commit().await?;
    Ok(Sad {
        sad: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sad),
        expires_in: expires_at - now,
    })
}

/// POST /v1/signing/signatures/signHash: consumes the SAD (whatever the outcome, so a SAD is
/// tried once) and signs the hashes it was issued for, in one transaction with the answer
/// (docs/adr/0034): a retry with the same `client_request_id` gets the same signatures, even
/// after the instance that signed died before answering.
pub async fn sign_hash(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    let (service, device, req) = match begin::<SignHashRequest>(&state, &call).await {
        Ok(b) => b,
        Err(f) => return f.into_response(),
    };
    let (scope, id) = (device.id.clone(), req.client_request_id.clone());
    let run = async {
        let mut w = state.store.write().await?;
        let outcome = sign_hash_in(&state, &mut w.tx, service, device, req)
            .await
            .and_then(|s| Answer::ok(&s));
        crate::idempotency::record(&mut w.tx, &outcome).await?;
        // The SAD is used whatever the outcome.
        w.commit().await?;
        outcome
    };
    crate::idempotency::once(&state, "sign_hash", &scope, &id, &call.body, run)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Uses the SAD in `tx` and signs; the signatures, or why not.
async fn sign_hash_in(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    service: &Signing,
    device: Device,
    req: SignHashRequest,
) -> Result<Signatures, ApiFailure> {
    let sad = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(req.sad.trim_end_matches('='))
        .map_err(|_| refused(SAD_REFUSED))?;
    let now_i = state.now_i64();
    let row = sqlx::query(
        "UPDATE signing_sads SET used_at = $1 WHERE sad_hash = $2 AND used_at IS NULL \
         RETURNING credential_id, device_id, hashes_hash, expires_at",
    )
    .bind(now_i)
    .bind(Sha256::digest(&sad).to_vec())
    .fetch_optional(&mut **tx)
    .await?;
    let row = row.ok_or(refused(SAD_REFUSED))?;
    let (credential_id, device_id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
    let (hashes_hash, expires_at): (Vec<u8>, i64) = (row.try_get(2)?, row.try_get(3)?);
    if credential_id != req.credential_id
        || device_id != device.id
        || expires_at <= now_i
        || hashes_hash != hashes_digest(&req.hashes)
        || req.sign_algo != SIGN_ALGO
    {
        return Err(refused(SAD_REFUSED));
    }
    let credential = enabled_credential(state, &device, &credential_id).await?;
    if credential.signer != service.signer.kind() {
        return Err(ApiFailure::from(Error::Config(
            "the credential's key is in another signer".into(),
        )));
    }
    let cert = x509_cert::Certificate::from_der(&credential.certificate)
        .map_err(|_| ApiFailure::from(Error::Config("stored certificate".into())))?;
    let public = VerifyingKey::from_sec1_bytes(
        cert.tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
    )
    .map_err(|_| ApiFailure::from(Error::Config("stored certificate key".into())))?;
    let mut signatures = Vec::new();
    for h in &req.hashes {
        let der = service.signer.sign_hash(&credential.handle, &h.0)?;
        // A signer fault must not leave as a signature.
        Signature::from_der(&der)
            .ok()
            .filter(|s| public.verify_prehash(&h.0, s).is_ok())
            .ok_or(ApiFailure::from(Error::Config(
                "the signer's signature does not verify".into(),
            )))?;
        signatures.push(B64(der));
    }
    tracing::info!(credential = %credential.id, count = signatures.len(), "hashes signed");
    Ok(Signatures { signatures })
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;

    const NOW: u64 = 1_800_000_000;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_slice(&[n; 32]).unwrap()
    }

    fn public(k: &SigningKey) -> Vec<u8> {
        signer::public_of(k)
    }

    /// An authorisation of `hashes` signed by `by`.
    fn request(by: &SigningKey, hashes: Vec<Vec<u8>>, expires_at: u64) -> AuthorizeRequest {
        let message = authorization_input("sc-1", b"challenge", &hashes, expires_at);
        let sig: Signature = by.sign(&message);
        AuthorizeRequest {
            client_request_id: "r".into(),
            credential_id: "sc-1".into(),
            challenge: B64(b"challenge".to_vec()),
            hashes: hashes.into_iter().map(B64).collect(),
            expires_at,
            device_signature: B64(sig.to_der().as_bytes().to_vec()),
            consent: None,
        }
    }

    #[test]
    fn an_authorisation_counts_only_from_the_bound_device_for_its_exact_hashes() {
        let device = key(1);
        let ok = request(&device, vec![vec![7; 32]], NOW + 60);
        check_authorization(&ok, &public(&device), NOW).unwrap();
        // Another device's key.
        let err = check_authorization(&ok, &public(&key(2)), NOW).unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthenticated);
        // The same signature presented for other hashes, another credential or expiry.
        let mut other = ok.clone();
        other.hashes = vec![B64(vec![8; 32])];
        assert_eq!(
            check_authorization(&other, &public(&device), NOW)
                .unwrap_err()
                .code,
            ErrorCode::Unauthenticated
        );
        let mut other = ok.clone();
        other.credential_id = "sc-2".into();
        assert!(check_authorization(&other, &public(&device), NOW).is_err());
        let mut other = ok;
        other.expires_at += 1;
        assert!(check_authorization(&other, &public(&device), NOW).is_err());
    }

    #[test]
    fn an_authorisation_is_short_lived_and_for_a_few_sha256_hashes() {
        let device = key(1);
        let pk = public(&device);
        let past = request(&device, vec![vec![7; 32]], NOW);
        assert_eq!(
            check_authorization(&past, &pk, NOW).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        let far = request(&device, vec![vec![7; 32]], NOW + 3600);
        assert!(check_authorization(&far, &pk, NOW).is_err());
        for hashes in [vec![], vec![vec![7; 20]], vec![vec![7; 32]; MAX_HASHES + 1]] {
            let r = request(&device, hashes, NOW + 60);
            assert_eq!(
                check_authorization(&r, &pk, NOW).unwrap_err().code,
                ErrorCode::InvalidRequest
            );
        }
        let many = request(&device, vec![vec![7; 32]; MAX_HASHES], NOW + 60);
        check_authorization(&many, &pk, NOW).unwrap();
    }

    #[test]
    fn a_sad_is_bound_to_the_hashes_and_their_order() {
        let (a, b) = (B64(vec![1; 32]), B64(vec![2; 32]));
        let ab = hashes_digest(&[a.clone(), b.clone()]);
        assert_ne!(ab, hashes_digest(&[b.clone(), a.clone()]));
        assert_ne!(ab, hashes_digest(std::slice::from_ref(&a)));
        assert_eq!(ab, hashes_digest(&[a, b]));
    }

    #[test]
    fn signer_choice_parses() {
        assert_eq!("software".parse(), Ok(SignerChoice::Software));
        assert_eq!(
            "pkcs11:/usr/lib/softhsm/libsofthsm2.so".parse(),
            Ok(SignerChoice::Pkcs11 {
                module: "/usr/lib/softhsm/libsofthsm2.so".into()
            })
        );
        assert!("pkcs11:".parse::<SignerChoice>().is_err());
        assert!("hsm".parse::<SignerChoice>().is_err());
    }
}
