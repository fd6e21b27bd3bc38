//! Revocation of reader certificates (issue 15, docs/adr/0053): the admin revokes one
//! (`POST /v1/admin/reader-certificates/revoke`), and the reader CA publishes an X.509 CRL
//! (RFC 5280 §5) of the revoked ones that have not yet expired at `GET /v1/reader-ca.crl`, the
//! distribution point its certificates name. Wallets pull it at sync and refuse a listed reader.
//!
//! Each instance keeps its last signed CRL and checks the database for a changed list at most
//! every [`RECHECK`]; it signs a new one when the list changed or the last is [`REFRESH`] old
//! (valid [`LIFETIME`]), so a revocation reaches every instance's CRL within [`RECHECK`] and the
//! same CRL (one ETag) is served in between.

use crate::error::{ApiFailure, Error};
use crate::http::{Answer, parse};
use crate::presentation::require_admin;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use der::Encode;
use der::asn1::BitString;
use der::oid::AssociatedOid;
use eid_core::api::{ErrorCode, ReaderCertificateRevoke, ReaderCertificateRevoked};
use eid_crypto::x509_build::ext;
use p256::ecdsa::DerSignature;
use p256::ecdsa::signature::Signer;
use sqlx::Row;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use x509_cert::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::DynSignatureAlgorithmIdentifier;
use x509_cert::time::Time;

/// How long a CRL may be used (nextUpdate − thisUpdate).
pub const LIFETIME: u64 = 86_400;
/// A CRL is signed again when this old even if nothing changed.
pub const REFRESH: u64 = 3_600;
/// How often an instance looks for revocations made elsewhere.
pub const RECHECK: Duration = Duration::from_secs(30);

/// The last signed CRL of this instance.
#[derive(Debug, Default)]
pub struct CrlCache(Mutex<Option<Signed>>);

#[derive(Debug, Clone)]
struct Signed {
    der: Bytes,
    etag: String,
    revoked: Vec<(Vec<u8>, u64)>,
    this_update: u64,
    checked: Instant,
}

impl CrlCache {
    /// Forgets the CRL (after a revocation here, so the next request signs a new one).
    fn clear(&self) {
        if let Ok(mut c) = self.0.lock() {
            *c = None;
        }
    }

    fn get(&self) -> Option<Signed> {
        self.0.lock().ok().and_then(|c| c.clone())
    }

    fn put(&self, s: Signed) {
        if let Ok(mut c) = self.0.lock() {
            *c = Some(s);
        }
    }
}

/// Records a certificate the reader CA just issued (its serial and end of validity).
pub async fn record_issued(state: &AppState, serial: &[u8], not_after: u64) -> Result<(), Error> {
    state
        .store
        .execute_alone(
            sqlx::query(
                "INSERT INTO reader_certificates (serial, issued_at, not_after) VALUES ($1, $2, $3)",
            )
            .bind(serial.to_vec())
            .bind(state.now_i64())
            .bind(i64::try_from(not_after).unwrap_or(i64::MAX)),
        )
        .await?;
    Ok(())
}

/// POST /v1/admin/reader-certificates/revoke
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    revoke_inner(&state, &headers, &body).await.into_response()
}

async fn revoke_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer, ApiFailure> {
    require_admin(state, headers)?;
    let req: ReaderCertificateRevoke = parse(body)?;
    let cert = eid_crypto::x509::SignerCertificate::from_der(&req.certificate.0)
        .map_err(|_| ApiFailure::invalid("certificate is not a DER X.509 certificate"))?;
    let ca = ca_certificate(state)?;
    if eid_crypto::x509::verify_certificate(&cert, &ca).is_err() {
        return Err(ApiFailure::invalid(
            "certificate was not issued by this backend's reader CA",
        ));
    }
    let serial = cert
        .certificate
        .tbs_certificate()
        .serial_number()
        .as_bytes()
        .to_vec();
    let now = state.now_i64();
    state
        .store
        .execute_alone(
            sqlx::query(
                "UPDATE reader_certificates SET revoked_at = $2 \
                 WHERE serial = $1 AND revoked_at IS NULL",
            )
            .bind(serial.clone())
            .bind(now),
        )
        .await?;
    let row = sqlx::query("SELECT revoked_at FROM reader_certificates WHERE serial = $1")
        .bind(serial)
        .fetch_optional(state.store.pool())
        .await
        .map_err(Error::from)?;
    let Some(row) = row else {
        return Err(ApiFailure::new(
            ErrorCode::NotFound,
            "no reader certificate with this serial number was issued here",
        ));
    };
    let revoked_at: Option<i64> = row.try_get(0).map_err(Error::from)?;
    state.reader_crl.clear();
    tracing::info!("reader certificate revoked");
    Answer::ok(&ReaderCertificateRevoked {
        revoked_at: revoked_at.and_then(|t| u64::try_from(t).ok()).unwrap_or(0),
    })
}

/// GET /v1/reader-ca.crl: the current CRL (DER, `application/pkix-crl`), cacheable by ETag.
pub async fn crl(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match current(&state).await {
        Ok(s) => crate::http::cacheable(
            &headers,
            "application/pkix-crl",
            s.der,
            &s.etag,
            RECHECK.as_secs(),
        ),
        Err(e) => ApiFailure::from(e).into_response(),
    }
}

async fn current(state: &AppState) -> Result<Signed, Error> {
    let now = state.now();
    let held = state.reader_crl.get();
    if let Some(s) = &held
        && s.checked.elapsed() < RECHECK
        && now < s.this_update + REFRESH
    {
        return Ok(s.clone());
    }
    let rows = sqlx::query(
        "SELECT serial, revoked_at FROM reader_certificates \
         WHERE revoked_at IS NOT NULL AND not_after >= $1 ORDER BY serial",
    )
    .bind(i64::try_from(now).unwrap_or(i64::MAX))
    .fetch_all(state.store.pool())
    .await?;
    let mut revoked = Vec::with_capacity(rows.len());
    for r in rows {
        let at: i64 = r.try_get(1)?;
        revoked.push((r.try_get::<Vec<u8>, _>(0)?, u64::try_from(at).unwrap_or(0)));
    }
    let signed = match held {
        Some(mut s) if s.revoked == revoked && now < s.this_update + REFRESH => {
            s.checked = Instant::now();
            s
        }
        _ => {
            let der = sign(state, &revoked, now)?;
            Signed {
                etag: crate::http::etag_of(&der),
                der: der.into(),
                revoked,
                this_update: now,
                checked: Instant::now(),
            }
        }
    };
    state.reader_crl.put(signed.clone());
    Ok(signed)
}

fn ca_certificate(state: &AppState) -> Result<x509_cert::Certificate, Error> {
    <x509_cert::Certificate as der::Decode>::from_der(&state.reader_ca.certificate).map_err(crl_err)
}

fn time(secs: u64) -> Result<Time, Error> {
    Time::try_from(std::time::UNIX_EPOCH + Duration::from_secs(secs)).map_err(crl_err)
}

fn crl_err(_: impl std::fmt::Display) -> Error {
    crate::signing::signer::signer_error("reader CRL")
}

/// A v2 CRL by the reader CA: thisUpdate `now`, nextUpdate `now` + [`LIFETIME`], the CA's key
/// identifier and a CRL number (`now`: increasing), the `revoked` serials with their times.
fn sign(state: &AppState, revoked: &[(Vec<u8>, u64)], now: u64) -> Result<Vec<u8>, Error> {
    let ca = &state.reader_ca;
    let ca_cert = ca_certificate(state)?;
    let key = ca.key();
    let algorithm = key.signature_algorithm_identifier().map_err(crl_err)?;
    let mut entries: Vec<RevokedCert> = Vec::with_capacity(revoked.len());
    for (serial, at) in revoked {
        entries.push(RevokedCert {
            serial_number: SerialNumber::new(serial).map_err(crl_err)?,
            revocation_date: time(*at)?,
            crl_entry_extensions: None,
        });
    }
    let ski = eid_crypto::x509::subject_key_identifier(&ca_cert)
        .ok_or_else(|| crl_err("reader CA without a subject key identifier"))?;
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(der::asn1::OctetString::new(ski).map_err(crl_err)?),
        ..Default::default()
    };
    let number = CrlNumber::try_from(now).map_err(crl_err)?;
    let tbs = TbsCertList {
        version: Version::V2,
        signature: algorithm.clone(),
        issuer: ca_cert.tbs_certificate().subject().clone(),
        this_update: time(now)?,
        next_update: Some(time(now + LIFETIME)?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(vec![
            ext(AuthorityKeyIdentifier::OID, false, &aki).map_err(crl_err)?,
            ext(CrlNumber::OID, false, &number).map_err(crl_err)?,
        ]),
    };
    let tbs_der = tbs.to_der().map_err(crl_err)?;
    let signature: DerSignature = key.try_sign(&tbs_der).map_err(crl_err)?;
    CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(signature.as_bytes()).map_err(crl_err)?,
    }
    .to_der()
    .map_err(crl_err)
}
