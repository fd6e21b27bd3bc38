//! The hub as the verifier of "Log in with e-ID" (docs/adr/0042): a relying party of its own
//! registry (`RP-HUB`, `x509_san_dns:` the public URL's host), so wallets check it exactly like
//! any bank: its access certificate from the RP CA (made per instance over the shared request
//! key, renewed long before its 90 days end), its registered response URI and purposes. The
//! citizen's wallet shows the hub; the relying party behind it only ever gets the OIDC answer.

use crate::coherence::{self, Change};
use crate::error::Error;
use crate::relying_parties::{client_id_of, dns_name, purposes_of};
use crate::state::AppState;
use eid_core::api::RpPurpose;
use eid_core::oid4vp::purposes;
use eid_crypto::x509::{SignerCertificate, p256_point, verify_certificate};
use serde_json::json;
use sqlx::Row;
use std::sync::Mutex;

pub const HUB_ID: &str = "RP-HUB";
const HUB_NAME: &str = "Cong dang nhap e-ID";
const HUB_NUMBER: &str = "EID-HUB-OIDC";
/// The hub's own purpose for a `login`: the ID number only (the subject is derived from it and
/// never leaves the hub).
pub const SUBJECT_PURPOSE: &str = "oidc_subject";
/// The hub's own purpose for an `age_check` login: the ID number (for the subject) and over 18.
pub const AGE_PURPOSE: &str = "oidc_age_check";
/// Development fallback when the public URL's host is no DNS name (a loopback address).
const DEV_DNS: &str = "login.eid.localhost";
/// An access certificate is renewed after this many seconds (it lives 90 days).
const RENEW_AFTER: u64 = 30 * 86_400;

/// The hub's verifier identity in one instance.
#[derive(Debug, Default)]
pub struct Hub {
    /// (certificate DER, issued at).
    certificate: Mutex<Option<(Vec<u8>, u64)>>,
}

/// The DNS name of the hub's client id.
pub fn dns(state: &AppState) -> String {
    let url = state.config.public_url.as_str();
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':', '?'])
        .next()
        .unwrap_or("");
    dns_name(host).unwrap_or_else(|_| DEV_DNS.to_owned())
}

pub fn client_id(state: &AppState) -> String {
    client_id_of(&dns(state))
}

/// The hub's response URI (registered in its row).
pub fn response_uri(state: &AppState) -> String {
    format!(
        "{}{}",
        super::discovery::issuer(state),
        super::paths::RESPONSE
    )
}

/// Writes the hub's registration (made or brought up to date: the response URI follows the
/// public URL); a suspended hub stays suspended. A public URL no wallet may answer to (plain
/// http off loopback) leaves the facade off, with a warning.
pub async fn ensure(state: &AppState) -> Result<(), Error> {
    let bad = |_| Error::Config("the OIDC hub's registration".into());
    let purposes = purposes_of(&[
        RpPurpose {
            name: SUBJECT_PURPOSE.into(),
            claims: vec![json!(["personal_administrative_number"])],
        },
        RpPurpose {
            name: AGE_PURPOSE.into(),
            claims: vec![
                json!(["personal_administrative_number"]),
                json!(super::session::AGE_OVER_18),
            ],
        },
        RpPurpose {
            name: purposes::EKYC.into(),
            claims: vec![],
        },
    ])
    .map_err(bad)?;
    let Ok(response) = crate::relying_parties::uri(&response_uri(state), state.config.dev_mode)
    else {
        // E.g. a development backend on http://0.0.0.0: no wallet could answer the hub there.
        tracing::warn!("the public URL is no valid response URI: Log in with e-ID is off");
        return Ok(());
    };
    let response_uris = vec![response];
    let point = state.oidc.request_point();
    let dns = dns(state);
    let now = state.now();
    let (uris_text, purposes_text) = (json_text(&response_uris)?, json_text(&purposes)?);
    // The row as stored: written again only when something changed, so the registry (and its
    // ETag, what every wallet's conditional sync compares) stays as it is across starts.
    let stored = sqlx::query(
        "SELECT client_id, dns_name, response_uris, purposes, public_key, access_certificate \
         FROM relying_parties WHERE id = $1",
    )
    .bind(HUB_ID)
    .fetch_optional(state.store.pool())
    .await?;
    let (mut unchanged, mut kept) = (false, None);
    if let Some(row) = stored {
        let (client_id, stored_dns, uris, stored_purposes, key, cert): (
            String,
            String,
            String,
            String,
            Vec<u8>,
            Vec<u8>,
        ) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
            row.try_get(4)?,
            row.try_get(5)?,
        );
        kept = reusable(state, &cert, &point, &dns, now).map(|at| (cert, at));
        unchanged = kept.is_some()
            && client_id == client_id_of(&dns)
            && stored_dns == dns
            && uris == uris_text
            && stored_purposes == purposes_text
            && key == point;
    }
    let (certificate, issued_at) = match kept {
        Some(k) => k,
        None => (
            state.rp_ca.issue(HUB_NAME, HUB_NUMBER, &dns, &point, now)?,
            now,
        ),
    };
    if !unchanged {
        let mut w = state.store.write().await?;
        sqlx::query(
            "INSERT INTO relying_parties (id, client_id, legal_name, registration_number, logo_url, \
             dns_name, response_uris, purposes, public_key, access_certificate, status, created_at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, 'active', $10) \
             ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, \
             dns_name = excluded.dns_name, response_uris = excluded.response_uris, \
             purposes = excluded.purposes, public_key = excluded.public_key, \
             access_certificate = excluded.access_certificate",
        )
        .bind(HUB_ID)
        .bind(client_id_of(&dns))
        .bind(HUB_NAME)
        .bind(HUB_NUMBER)
        .bind(&dns)
        .bind(&uris_text)
        .bind(&purposes_text)
        .bind(&point)
        .bind(&certificate)
        .bind(i64::try_from(now).unwrap_or(i64::MAX))
        .execute(&mut *w.tx)
        .await?;
        coherence::commit(state, w, &[Change::RelyingParties]).await?;
    }
    if let Ok(mut held) = state.oidc_hub.certificate.lock() {
        *held = Some((certificate, issued_at));
    }
    Ok(())
}

/// When the stored access certificate `der` was issued, if it may still be used: issued by the
/// current RP CA for the request key `point` and the DNS name `dns`, and younger than
/// [`RENEW_AFTER`] (so it is renewed on the same schedule as a held one).
fn reusable(state: &AppState, der: &[u8], point: &[u8], dns: &str, now: u64) -> Option<u64> {
    let cert = SignerCertificate::from_der(der).ok()?;
    let ca = SignerCertificate::from_der(&state.rp_ca.certificate).ok()?;
    verify_certificate(&cert, &ca.certificate).ok()?;
    if p256_point(&cert.certificate)?.as_slice() != point
        || eid_core::oid4vp::dns_names(&cert) != [dns]
    {
        return None;
    }
    // `ca::validity` starts a certificate 300 s before its issue.
    let issued_at = cert
        .certificate
        .tbs_certificate()
        .validity()
        .not_before
        .to_unix_duration()
        .as_secs()
        + 300;
    (issued_at <= now && now - issued_at < RENEW_AFTER).then_some(issued_at)
}

/// The access certificate to sign a request with (renewed when old).
pub fn certificate(state: &AppState) -> Result<Vec<u8>, Error> {
    let now = state.now();
    let mut held = state
        .oidc_hub
        .certificate
        .lock()
        .map_err(|_| Error::Config("hub certificate lock".into()))?;
    match &*held {
        Some((cert, at)) if now.saturating_sub(*at) < RENEW_AFTER => Ok(cert.clone()),
        _ => {
            let cert = state.rp_ca.issue(
                HUB_NAME,
                HUB_NUMBER,
                &dns(state),
                &state.oidc.request_point(),
                now,
            )?;
            *held = Some((cert.clone(), now));
            Ok(cert)
        }
    }
}

/// JSON text of a stored list.
fn json_text<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string(v).map_err(|_| Error::Registry("encoding".into()))
}
