//! The relying-party hub's registrations (issue 16, docs/adr/0036), admin token only:
//!
//! - POST /v1/admin/relying-parties: checks the registration (legal name, registration number,
//!   logo URL, DNS name, response URIs, purposes with their claim paths, P-256 key), has the RP
//!   CA issue its access certificate (`signing::rp_access`) and stores both.
//! - GET /v1/admin/relying-parties[/{id}]: the registrations with their certificates.
//! - DELETE /v1/admin/relying-parties/{id}, or POST .../{id}/suspend with an optional reason
//!   (logged): suspends it: it leaves the published registry at once (every instance,
//!   `coherence::Change::RelyingParties`), so wallets stop answering it at their next sync or
//!   when their registry expires, and the hub refuses its logins, token exchanges and eKYC
//!   checks at once, saying it is suspended (`oidc::clients`).
//! - POST /v1/admin/relying-parties/{id}/resume: active again, back in the registry.
//!
//! What wallets see of them is `rp_registry`'s.

use crate::coherence::{self, Change};
use crate::error::{ApiFailure, Error};
use crate::http::{Answer, parse, random_hex};
use crate::presentation::require_admin;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use eid_core::api::{
    B64, ErrorCode, MAX_SUSPENSION_REASON, RpList, RpPurpose, RpRecord, RpRegistrationRequest,
    RpSuspend,
};
use eid_core::oid4vp::{ClientId, path_from_json, path_to_json, purposes};
use p256::ecdsa::VerifyingKey;
use sqlx::Row;
use std::sync::Arc;

/// X.520's upper bound of the organization and common names (RFC 5280 Appendix A), where the
/// legal name goes in the access certificate.
const MAX_LEGAL_NAME: usize = 64;
const MAX_REGISTRATION_NUMBER: usize = 64;
const MAX_URI: usize = 2048;
const MAX_URIS: usize = 16;
const MAX_PURPOSES: usize = 16;
const MAX_CLAIMS: usize = 64;
const MAX_PATH: usize = 8;

pub const ACTIVE: &str = "active";
pub const SUSPENDED: &str = "suspended";

/// A registration after its checks: what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub legal_name: String,
    pub registration_number: String,
    pub logo_url: Option<String>,
    pub dns_name: String,
    pub response_uris: Vec<String>,
    pub purposes: Vec<RpPurpose>,
    /// SEC1 uncompressed point.
    pub public_key: Vec<u8>,
}

/// A DNS name for an `x509_san_dns` client id: lower case, at least two labels, each 1–63
/// letters, digits and inner hyphens, not all-numeric at the top.
pub fn dns_name(s: &str) -> Result<String, ApiFailure> {
    let bad = || ApiFailure::invalid("dns_name is not a DNS name (e.g. bank.example.vn)");
    let dns = s.trim().to_ascii_lowercase();
    ClientId::parse(&format!("x509_san_dns:{dns}")).map_err(|_| bad())?;
    let labels: Vec<&str> = dns.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.starts_with('-') || l.ends_with('-'))
        || labels
            .last()
            .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    Ok(dns)
}

/// Whether `host` is a loopback host (`localhost`, `127.x.y.z`, `[::1]`).
fn loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An absolute https URI with a host, no user info, no fragment, no space or control
/// character; plain http only to a loopback host and only on a development backend.
pub fn uri(s: &str, dev_mode: bool) -> Result<String, ApiFailure> {
    let bad = |why: &'static str| ApiFailure::invalid(why);
    if s.is_empty() || s.len() > MAX_URI || s.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad(
            "a URI has no space or control character, at most 2048 bytes",
        ));
    }
    let (secure, rest) = if let Some(r) = s.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = s.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad("a URI must be https"));
    };
    if s.contains('#') {
        return Err(bad("a URI has no fragment"));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(bad("a URI has no user information"));
    }
    let host = if authority.starts_with('[') {
        authority
            .split_inclusive(']')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    } else {
        authority
            .split(':')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let port = authority[host.len().min(authority.len())..].strip_prefix(':');
    if port.is_some_and(|p| p.is_empty() || p.parse::<u16>().is_err()) {
        return Err(bad("a URI port is 0 to 65535"));
    }
    let host_ok =
        loopback(&host) || dns_name(&host).is_ok() || host.parse::<std::net::Ipv4Addr>().is_ok();
    if host.is_empty() || !host_ok {
        return Err(bad("a URI needs a DNS name or IP address as its host"));
    }
    let allowed_plain = dev_mode && loopback(&host);
    if !secure && !allowed_plain {
        return Err(bad(
            "a URI must be https (plain http only to loopback on a development backend)",
        ));
    }
    Ok(s.to_owned())
}

/// The purposes with their claim paths: a known purpose (`login`, `ekyc`, `age_check`) without
/// claims gets its fixed set; any other name (lower case letters, digits, `_`) must list its
/// own paths (1–8 steps of strings, non-negative integers, `null`).
pub fn purposes_of(list: &[RpPurpose]) -> Result<Vec<RpPurpose>, ApiFailure> {
    if list.is_empty() || list.len() > MAX_PURPOSES {
        return Err(ApiFailure::invalid("purposes: 1 to 16"));
    }
    let mut out: Vec<RpPurpose> = Vec::new();
    for p in list {
        let name = p.name.as_str();
        let well_formed = (1..=32).contains(&name.len())
            && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return Err(ApiFailure::invalid(
                "purpose names are 1 to 32 lower-case letters, digits and _",
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(ApiFailure::invalid("a purpose is listed twice"));
        }
        let claims = match (purposes::known_claims(name), p.claims.is_empty()) {
            (Some(known), true) => known.iter().map(path_to_json).collect(),
            (Some(_), false) => {
                return Err(ApiFailure::invalid(
                    "a known purpose (login, ekyc, age_check) takes its fixed claims: list none",
                ));
            }
            (None, true) => {
                return Err(ApiFailure::invalid(
                    "unknown purpose: use login, ekyc or age_check, or list its claim paths",
                ));
            }
            (None, false) => {
                if p.claims.len() > MAX_CLAIMS {
                    return Err(ApiFailure::invalid("at most 64 claim paths per purpose"));
                }
                let mut paths = Vec::new();
                for c in &p.claims {
                    let path = path_from_json(c)
                        .ok()
                        .filter(|p| p.0.len() <= MAX_PATH)
                        .ok_or(ApiFailure::invalid(
                            "a claim path is an array of 1 to 8 strings, integers or null",
                        ))?;
                    paths.push(path_to_json(&path));
                }
                paths
            }
        };
        out.push(RpPurpose {
            name: name.to_owned(),
            claims,
        });
    }
    Ok(out)
}

/// The P-256 key from a PEM SPKI or a JWK (exactly one), as an uncompressed point.
pub fn public_key_of(req: &RpRegistrationRequest) -> Result<Vec<u8>, ApiFailure> {
    let key = match (&req.public_key_pem, &req.public_key_jwk) {
        (Some(pem), None) => {
            use p256::pkcs8::DecodePublicKey;
            VerifyingKey::from_public_key_pem(pem.trim())
                .map_err(|_| ApiFailure::invalid("public_key_pem is not a P-256 PUBLIC KEY"))?
        }
        (None, Some(jwk)) => eid_core::sdjwt::point_from_jwk(jwk)
            .and_then(|p| VerifyingKey::from_sec1_bytes(&p).ok())
            .ok_or(ApiFailure::invalid(
                "public_key_jwk is not a public P-256 JWK",
            ))?,
        _ => {
            return Err(ApiFailure::invalid(
                "give the key once: public_key_pem or public_key_jwk",
            ));
        }
    };
    Ok(key.to_sec1_point(false).as_bytes().to_vec())
}

/// Every check of a registration request.
pub fn check(req: &RpRegistrationRequest, dev_mode: bool) -> Result<Checked, ApiFailure> {
    let legal_name =
        eid_icao::text::display_text(&req.legal_name, MAX_LEGAL_NAME).map_err(|_| {
            ApiFailure::invalid(
                "legal_name must be 1 to 64 printable characters, without bidirectional or \
             zero-width ones",
            )
        })?;
    let number = req.registration_number.trim();
    if number.is_empty()
        || number.len() > MAX_REGISTRATION_NUMBER
        || !number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'.'))
    {
        return Err(ApiFailure::invalid(
            "registration_number is 1 to 64 letters, digits, -, / and .",
        ));
    }
    let logo_url = req
        .logo_url
        .as_deref()
        .map(|u| uri(u, dev_mode))
        .transpose()?;
    let dns_name = dns_name(&req.dns_name)?;
    if req.response_uris.is_empty() || req.response_uris.len() > MAX_URIS {
        return Err(ApiFailure::invalid("response_uris: 1 to 16"));
    }
    let mut response_uris = Vec::new();
    for u in &req.response_uris {
        let u = uri(u, dev_mode)?;
        if !response_uris.contains(&u) {
            response_uris.push(u);
        }
    }
    Ok(Checked {
        legal_name,
        registration_number: number.to_owned(),
        logo_url,
        dns_name,
        response_uris,
        purposes: purposes_of(&req.purposes)?,
        public_key: public_key_of(req)?,
    })
}

/// The client id of a DNS name.
pub fn client_id_of(dns: &str) -> String {
    format!("x509_san_dns:{dns}")
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

const COLUMNS: &str = "id, client_id, legal_name, registration_number, logo_url, dns_name, \
                       response_uris, purposes, status, created_at, access_certificate";

fn record_of(row: &sqlx::any::AnyRow) -> Result<RpRecord, Error> {
    let corrupt = || Error::Registry("stored relying party".into());
    let json = |i: usize| -> Result<String, Error> { Ok(row.try_get::<String, _>(i)?) };
    let certificate: Vec<u8> = row.try_get(10)?;
    Ok(RpRecord {
        id: row.try_get(0)?,
        client_id: row.try_get(1)?,
        legal_name: row.try_get(2)?,
        registration_number: row.try_get(3)?,
        logo_url: row.try_get(4)?,
        dns_name: row.try_get(5)?,
        response_uris: serde_json::from_str(&json(6)?).map_err(|_| corrupt())?,
        purposes: serde_json::from_str(&json(7)?).map_err(|_| corrupt())?,
        status: row.try_get(8)?,
        created_at: u64::try_from(row.try_get::<i64, _>(9)?).unwrap_or(0),
        access_certificate_pem: pem_of(&certificate),
        access_certificate: B64(certificate),
    })
}

/// Every registration, oldest first (`active_only`: those in the published registry).
pub async fn all(
    conn: &mut sqlx::AnyConnection,
    active_only: bool,
) -> Result<Vec<RpRecord>, Error> {
    let query = if active_only {
        format!(
            "SELECT {COLUMNS} FROM relying_parties WHERE status = 'active' ORDER BY created_at, id"
        )
    } else {
        format!("SELECT {COLUMNS} FROM relying_parties ORDER BY created_at, id")
    };
    sqlx::query(sqlx::AssertSqlSafe(query))
        .fetch_all(conn)
        .await?
        .iter()
        .map(record_of)
        .collect()
}

/// Registration `id`, active or not (`not_found` when there is none).
pub(crate) async fn one(state: &AppState, id: &str) -> Result<RpRecord, ApiFailure> {
    let query = format!("SELECT {COLUMNS} FROM relying_parties WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(query))
        .bind(id)
        .fetch_optional(state.store.pool())
        .await
        .map_err(Error::from)?
        .ok_or(ApiFailure::new(
            ErrorCode::NotFound,
            "no such relying party",
        ))?;
    Ok(record_of(&row)?)
}

/// POST /v1/admin/relying-parties
pub async fn register(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    register_inner(&state, &headers, &body)
        .await
        .into_response()
}

async fn register_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer, ApiFailure> {
    require_admin(state, headers)?;
    let req: RpRegistrationRequest = parse(body)?;
    let c = check(&req, state.config.dev_mode)?;
    let now = state.now();
    let certificate = state.rp_ca.issue(
        &c.legal_name,
        &c.registration_number,
        &c.dns_name,
        &c.public_key,
        now,
    )?;
    let id = format!("RP-{}", random_hex(8)?.to_ascii_uppercase());
    let client_id = client_id_of(&c.dns_name);
    let mut w = state.store.write().await?;
    let inserted = sqlx::query(
        "INSERT INTO relying_parties (id, client_id, legal_name, registration_number, logo_url, \
         dns_name, response_uris, purposes, public_key, access_certificate, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11) \
         ON CONFLICT (client_id) DO NOTHING",
    )
    .bind(&id)
    .bind(&client_id)
    .bind(&c.legal_name)
    .bind(&c.registration_number)
    .bind(c.logo_url.as_deref())
    .bind(&c.dns_name)
    .bind(encode(&c.response_uris)?)
    .bind(encode(&c.purposes)?)
    .bind(&c.public_key)
    .bind(&certificate)
    .bind(i64::try_from(now).unwrap_or(i64::MAX))
    .execute(&mut *w.tx)
    .await
    .map_err(Error::from)?
    .rows_affected();
    if inserted != 1 {
        return Err(ApiFailure::invalid(
            "a relying party with this DNS name is already registered (or suspended)",
        ));
    }
    coherence::commit(state, w, &[Change::RelyingParties]).await?;
    tracing::info!(rp = %id, client_id = %client_id, "relying party registered");
    Answer::ok(&one(state, &id).await?)
}

/// JSON of a stored list.
fn encode<T: serde::Serialize>(v: &T) -> Result<String, ApiFailure> {
    serde_json::to_string(v).map_err(|_| ApiFailure::from(Error::Registry("encoding".into())))
}

/// GET /v1/admin/relying-parties
pub async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let run = async {
        require_admin(&state, &headers)?;
        let mut conn = state.store.pool().acquire().await.map_err(Error::from)?;
        Answer::ok(&RpList {
            relying_parties: all(&mut conn, false).await?,
        })
    };
    run.await.into_response()
}

/// GET /v1/admin/relying-parties/{id}
pub async fn get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let run = async {
        require_admin(&state, &headers)?;
        Answer::ok(&one(&state, &id).await?)
    };
    run.await.into_response()
}

/// DELETE /v1/admin/relying-parties/{id}: suspends it (the row stays for the metering).
pub async fn suspend(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let run = async {
        require_admin(&state, &headers)?;
        set_status(&state, &id, SUSPENDED, None).await
    };
    run.await.into_response()
}

/// POST /v1/admin/relying-parties/{id}/suspend `{"reason": ...}`: suspends it, the reason in
/// the log (checked: at most 200 characters, no control character).
pub async fn suspend_with_reason(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let run = async {
        require_admin(&state, &headers)?;
        let req: RpSuspend = if body.is_empty() {
            RpSuspend::default()
        } else {
            parse(&body)?
        };
        let reason = req
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if reason.is_some_and(|r| {
            r.chars().count() > MAX_SUSPENSION_REASON || r.chars().any(char::is_control)
        }) {
            return Err(ApiFailure::invalid(
                "reason: at most 200 characters, no control character",
            ));
        }
        set_status(&state, &id, SUSPENDED, reason).await
    };
    run.await.into_response()
}

/// POST /v1/admin/relying-parties/{id}/resume: a suspended relying party is active again: back
/// in the published registry (every instance), its logins and eKYC checks accepted.
pub async fn resume(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let run = async {
        require_admin(&state, &headers)?;
        set_status(&state, &id, ACTIVE, None).await
    };
    run.await.into_response()
}

/// Moves relying party `id` to `to` (`active` or `suspended`) if it is not there yet and
/// answers its record; a change re-signs the registry on every instance.
async fn set_status(
    state: &AppState,
    id: &str,
    to: &'static str,
    reason: Option<&str>,
) -> Result<Answer, ApiFailure> {
    if to == SUSPENDED && id == crate::oidc::hub::HUB_ID {
        return Err(ApiFailure::invalid(
            "the hub's own registration (Log in with e-ID) cannot be suspended",
        ));
    }
    let current = one(state, id).await?;
    if current.status != to {
        let (from, suspended_at) = if to == SUSPENDED {
            (ACTIVE, Some(state.now_i64()))
        } else {
            (SUSPENDED, None)
        };
        let mut w = state.store.write().await?;
        sqlx::query("UPDATE relying_parties SET status = $1, suspended_at = $2 WHERE id = $3 AND status = $4")
            .bind(to)
            .bind(suspended_at)
            .bind(id)
            .bind(from)
            .execute(&mut *w.tx)
            .await
            .map_err(Error::from)?;
        coherence::commit(state, w, &[Change::RelyingParties]).await?;
        if to == SUSPENDED {
            tracing::info!(rp = %id, reason = reason.unwrap_or("none given"), "relying party suspended");
        } else {
            tracing::info!(rp = %id, "relying party resumed");
        }
    }
    Answer::ok(&one(state, id).await?)
}

/// The active relying party of `client_id`: its id and purposes, for the hub's own flows.
pub async fn active(state: &AppState, client_id: &str) -> Result<Option<RpRecord>, Error> {
    let query =
        format!("SELECT {COLUMNS} FROM relying_parties WHERE client_id = $1 AND status = 'active'");
    sqlx::query(sqlx::AssertSqlSafe(query))
        .bind(client_id)
        .fetch_optional(state.store.pool())
        .await?
        .as_ref()
        .map(record_of)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dns_names_are_checked_and_lowered() {
        assert_eq!(dns_name("Bank.Example.VN").unwrap(), "bank.example.vn");
        for bad in [
            "bank",
            "bank..vn",
            "-bank.vn",
            "bank-.vn",
            "ba nk.vn",
            "bank.vn/x",
            "1.2.3.4",
            "",
        ] {
            assert!(dns_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uris_are_https_except_loopback_in_development() {
        assert!(uri("https://bank.example.vn/cb", false).is_ok());
        assert!(uri("https://bank.example.vn:8443/cb?x=1", false).is_ok());
        assert!(uri("http://bank.example.vn/cb", true).is_err());
        assert!(uri("http://127.0.0.1:8080/cb", false).is_err());
        assert!(uri("http://127.0.0.1:8080/cb", true).is_ok());
        assert!(uri("http://localhost/cb", true).is_ok());
        for bad in [
            "ftp://bank.example.vn",
            "https://user@bank.example.vn/",
            "https://bank.example.vn/#f",
            "https:///path",
            "https://bank.example.vn:99999/",
            "https://bank example.vn/",
            "bank.example.vn/cb",
        ] {
            assert!(uri(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn purposes_known_custom_and_refused() {
        let p = |name: &str, claims: Vec<serde_json::Value>| RpPurpose {
            name: name.into(),
            claims,
        };
        let got = purposes_of(&[p("login", vec![]), p("age_check", vec![])]).unwrap();
        assert!(got[0].claims.is_empty());
        assert_eq!(got[1].claims[0], json!(["age_equal_or_over", "18"]));
        let custom = purposes_of(&[p(
            "sim_registration",
            vec![json!(["given_name"]), json!(["nationalities", null])],
        )])
        .unwrap();
        assert_eq!(custom[0].claims[1], json!(["nationalities", null]));
        for bad in [
            vec![],
            vec![p("marketing", vec![])],
            vec![p("login", vec![json!(["given_name"])])],
            vec![p("Bad Name", vec![json!(["x"])])],
            vec![p("x", vec![json!([])])],
            vec![p("x", vec![json!("given_name")])],
            vec![p("x", vec![json!([1.5])])],
            vec![p("login", vec![]), p("login", vec![])],
        ] {
            assert!(purposes_of(&bad).is_err(), "{bad:?}");
        }
    }
}
