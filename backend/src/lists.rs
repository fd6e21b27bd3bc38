//! GET /v1/trust-list and GET /v1/status-list (and its Token Status List forms, CWT and JWT):
//! public, signed or static, cacheable.

use crate::cache::Cache;
use crate::error::{ApiFailure, Error};
use crate::replica;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ciborium::Value;
use eid_core::api::{B64, StatusListResponse, TrustListResponse};
use eid_core::credential::IssuerKey;
use eid_crypto::cose::{self, Protected, SignError, Tagging};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::sync::Arc;

/// The status list every credential of this backend points at.
pub const STATUS_LIST_URI: &str = "urn:vn-eid:backend:status-list:1";
/// COSE content type of the signed status list payload.
pub const STATUS_LIST_CONTENT_TYPE: &str = "application/vnd.vn-eid.status-list+cbor";
/// How long a fetched status list may be used (seconds): the payload's `ttl` and max-age.
pub const STATUS_LIST_TTL: u64 = 300;
/// The bitstrings cover at least this many entries, so their length says nothing about how
/// many credentials exist (herd privacy, as in the IETF Token Status List draft).
pub(crate) const MIN_ENTRIES: usize = 131_072;
/// A status list this old is signed afresh on the next request even with no change, so what a
/// client fetches stays usable for at least half of [`STATUS_LIST_TTL`].
const STATUS_LIST_RESIGN_AFTER: u64 = STATUS_LIST_TTL / 2;

/// The trust list's version: derived from its content (the first 8 bytes of a SHA-256 over the
/// issuer list and the CSCA certificates, each length-prefixed), so it changes exactly when an
/// anchor or an authorisation does. An identifier to compare for equality, not a counter.
pub fn trust_list_version(issuers: &[u8], csca: &[Vec<u8>]) -> u64 {
    let mut h = Sha256::new();
    for part in std::iter::once(issuers).chain(csca.iter().map(Vec::as_slice)) {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    let d = h.finalize();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

pub async fn trust_list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let body = TrustListResponse {
        version: trust_list_version(&state.keys.trust_list_cbor, &state.keys.csca),
        issuers: B64(state.keys.trust_list_cbor.clone()),
        csca: state.keys.csca.iter().cloned().map(B64).collect(),
        iaca: vec![B64(state.mdoc.iaca.clone())],
        rp_ca: vec![B64(state.rp_ca.certificate.clone())],
        reader_ca: vec![B64(state.reader_ca.certificate.clone())],
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => {
            let etag = crate::http::etag_of(&bytes);
            crate::http::cacheable_json(&headers, bytes, &etag, 3600)
        }
        Err(_) => ApiFailure::from(Error::Random).into_response(),
    }
}

/// Bit `index` of a bitstring, least significant bit first within each byte (the order of the
/// IETF Token Status List draft), at least [`MIN_ENTRIES`] long.
fn bitstring(indices: &[i64]) -> Vec<u8> {
    let max = indices
        .iter()
        .filter_map(|i| usize::try_from(*i).ok())
        .max()
        .unwrap_or(0);
    let mut bits = vec![0u8; (max + 1).max(MIN_ENTRIES).div_ceil(8)];
    for i in indices.iter().filter_map(|i| usize::try_from(*i).ok()) {
        if let Some(b) = bits.get_mut(i / 8) {
            *b |= 1 << (i % 8);
        }
    }
    bits
}

/// The signed status list (COSE_Sign1, tagged) of `revoked` and `suspended` bitstrings (raw;
/// zlib-compressed here, RFC 1950) signed by `key` with its certificate in x5chain. Public so
/// tests can sign lists the backend would never make (e.g. shorter than a credential's index).
pub fn sign_status_list(
    key: &IssuerKey,
    issued_at: u64,
    revoked: &[u8],
    suspended: &[u8],
) -> Result<Vec<u8>, Error> {
    let payload = Value::Map(vec![
        (Value::from("list"), Value::from(STATUS_LIST_URI)),
        (Value::from("issued_at"), Value::from(issued_at)),
        (Value::from("ttl"), Value::from(STATUS_LIST_TTL)),
        (
            Value::from("revoked"),
            Value::Bytes(miniz_oxide::deflate::compress_to_vec_zlib(revoked, 9)),
        ),
        (
            Value::from("suspended"),
            Value::Bytes(miniz_oxide::deflate::compress_to_vec_zlib(suspended, 9)),
        ),
    ]);
    let mut encoded = Vec::new();
    ciborium::into_writer(&payload, &mut encoded)
        .map_err(|_| Error::Registry("status list encoding".into()))?;
    police_signed(key, STATUS_LIST_CONTENT_TYPE, encoded, "status list")
}

/// `payload` signed by `key` (the police issuer) as a tagged COSE_Sign1 with `content_type`
/// and the key's certificate in x5chain: the form of the status list, the relying-party
/// registry and accommodation receipts (`eid_core::verify`'s `police_signed_payload` checks
/// it). `what` names the document in errors.
pub(crate) fn police_signed(
    key: &IssuerKey,
    content_type: &'static str,
    payload: Vec<u8>,
    what: &str,
) -> Result<Vec<u8>, Error> {
    let protected = Protected {
        content_type: Some(content_type),
        x5chain: Some(key.certificate()),
        ..Protected::default()
    };
    // RFC 9053 §2.1: r || s, low-S (IssuerKey::sign_raw).
    cose::sign_es256(&protected, payload, Tagging::Tagged, |tbs| {
        key.sign_raw(tbs)
    })
    .map_err(|e| match e {
        SignError::Signer(_) => Error::Registry(format!("{what} signature")),
        SignError::Encoding => Error::Registry(format!("{what} encoding")),
    })
}

async fn indices(conn: &mut sqlx::AnyConnection, query: &'static str) -> Result<Vec<i64>, Error> {
    sqlx::query(query)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| r.try_get(0).map_err(Error::from))
        .collect()
}

/// Credentials of registry records suspended at `now` (a licence taken away, docs/adr/0056):
/// the held documents of that kind, and the presentation credentials whose profile is drawn
/// from that kind (`Profile::source`), on the citizen's active devices.
async fn registry_suspended(conn: &mut sqlx::AnyConnection, now: u64) -> Result<Vec<i64>, Error> {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let mut out: Vec<i64> = sqlx::query(
        "SELECT d.status_index FROM documents d JOIN devices v ON v.id = d.device_id \
         JOIN accounts a ON a.id = v.account_id \
         JOIN registry_suspensions s ON s.id_number = a.id_number AND s.kind = d.kind \
         WHERE v.revoked_at IS NULL AND d.removed_seq IS NULL AND s.until > $1",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get(0).map_err(Error::from))
    .collect::<Result<_, _>>()?;
    for row in sqlx::query(
        "SELECT p.status_index, p.profile, s.kind FROM presentation_credentials p \
         JOIN devices v ON v.id = p.device_id JOIN accounts a ON a.id = v.account_id \
         JOIN registry_suspensions s ON s.id_number = a.id_number \
         WHERE v.revoked_at IS NULL AND s.until > $1",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?
    {
        let profile: String = row.try_get(1)?;
        let kind: String = row.try_get(2)?;
        if eid_core::present::Profile::parse(&profile).is_some_and(|p| p.source().as_str() == kind)
        {
            out.push(row.try_get(0)?);
        }
    }
    Ok(out)
}

/// The signed status list as sent, its Token Status List forms (CWT, JWT), and when they were
/// signed: one query, one cache entry, one invalidation for every form.
#[derive(Debug)]
pub struct SignedStatusList {
    body: Bytes,
    cwt: Bytes,
    jwt: Bytes,
    /// The strong ETags of `body`, `cwt` and `jwt`, in that order: a wallet or reader that
    /// holds the current signing gets a 304 (docs/adr/0044).
    etags: [String; 3],
    issued_at: u64,
}

/// The forms of the status list served.
#[derive(Clone, Copy)]
enum Form {
    Own,
    Cwt,
    Jwt,
}

/// The last signed status list (one entry, key `()`), dropped when a revocation or suspension
/// changes (`coherence::Change::StatusList`: a device revoked, a credential renewed, an account
/// locked or unlocked) and re-signed when it is half its TTL old.
pub type StatusListCache = Cache<(), SignedStatusList>;

/// The current signed lists, from the cache while fresh.
/// The current JWT status list (`statuslist+jwt` text), as served: what the hub's own
/// OpenID4VP checks read (the OIDC facade).
pub(crate) async fn current_jwt(state: &AppState) -> Result<String, Error> {
    let list = current(state).await?;
    String::from_utf8(list.jwt.to_vec()).map_err(|_| Error::Registry("status list".into()))
}

/// The current status list, checked against the backend's own trust list at `now`: what the
/// backend's own offline checks read (accommodation check-ins, docs/adr/0048).
pub(crate) async fn current_checked(
    state: &AppState,
    now: u64,
) -> Result<eid_core::verify::StatusList, Error> {
    let list = current(state).await?;
    let answer: StatusListResponse =
        serde_json::from_slice(&list.body).map_err(|_| Error::Registry("status list".into()))?;
    eid_core::verify::StatusList::from_signed(&answer.signed.0, &state.keys.trust_list, now)
        .map_err(|e| Error::Registry(format!("status list: {e}")))
}

async fn current(state: &AppState) -> Result<Arc<SignedStatusList>, Error> {
    let now = state.now();
    let (cached, generation) = state.status_list.get(&());
    match cached.filter(|l| now.saturating_sub(l.issued_at) < STATUS_LIST_RESIGN_AFTER) {
        Some(list) => Ok(list),
        None => {
            let list = Arc::new(sign_current(state).await?);
            state.status_list.insert((), list.clone(), generation);
            Ok(list)
        }
    }
}

pub async fn status_list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    serve_form(&state, &headers, Form::Own).await
}

/// GET /v1/status-list/cwt: the Token Status List (draft-ietf-oauth-status-list) in CWT form,
/// what the MSOs' `status` names (docs/adr/0031).
pub async fn status_list_cwt(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    serve_form(&state, &headers, Form::Cwt).await
}

/// GET /v1/status-list/jwt: the Token Status List in JWT form (`statuslist+jwt`), what the
/// SD-JWT VCs' `status` names (docs/adr/0035).
pub async fn status_list_jwt(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    serve_form(&state, &headers, Form::Jwt).await
}

/// The URI of the JWT status list: the SD-JWT VCs' `status.status_list.uri` and its `sub`.
pub fn status_list_jwt_uri(state: &AppState) -> String {
    format!(
        "{}{}",
        state.config.public_url.trim_end_matches('/'),
        eid_core::api::paths::STATUS_LIST_JWT
    )
}

/// The URI of the CWT status list: the MSOs' `status.status_list.uri` and the token's `sub`.
pub fn status_list_cwt_uri(state: &AppState) -> String {
    format!(
        "{}{}",
        state.config.public_url.trim_end_matches('/'),
        eid_core::api::paths::STATUS_LIST_CWT
    )
}

async fn serve_form(state: &AppState, headers: &HeaderMap, form: Form) -> Response {
    let now = state.now();
    let list = match current(state).await {
        Ok(list) => list,
        Err(e) => return ApiFailure::from(e).into_response(),
    };
    let (content_type, body, etag) = match form {
        Form::Cwt => (
            eid_core::mdoc::STATUS_LIST_CWT_MEDIA_TYPE,
            &list.cwt,
            &list.etags[1],
        ),
        Form::Jwt => (
            eid_core::sdjwt::STATUS_LIST_JWT_MEDIA_TYPE,
            &list.jwt,
            &list.etags[2],
        ),
        Form::Own => ("application/json", &list.body, &list.etags[0]),
    };
    // Usable for what is left of its TTL.
    let left = STATUS_LIST_TTL.saturating_sub(now.saturating_sub(list.issued_at));
    crate::http::cacheable(headers, content_type, body.clone(), etag, left)
}

async fn sign_current(state: &AppState) -> Result<SignedStatusList, Error> {
    let issued_at = state.now();
    // A public read: the replica when one is configured and caught up (docs/adr/0030).
    let (mut conn, source) = replica::connection(&state.store).await?;
    state.metrics.public_read(source);
    let conn = &mut *conn;
    // Revoked: credentials of devices whose binding was revoked, and renewed ones. Suspended: credentials of a
    // locked account's current device.
    let mut revoked = indices(
        conn,
        "SELECT d.status_index FROM documents d JOIN devices v ON v.id = d.device_id \
         WHERE v.revoked_at IS NOT NULL UNION ALL \
         SELECT p.status_index FROM presentation_credentials p JOIN devices v ON v.id = p.device_id \
         WHERE v.revoked_at IS NOT NULL",
    )
    .await?;
    // Replaced by a renewal: the old credential must not outlive its replacement's issue.
    revoked.extend(indices(conn, "SELECT status_index FROM document_tombstones").await?);
    // Presentation credentials drawn from a registry record that changed since (docs/adr/0062).
    revoked.extend(
        indices(
            conn,
            "SELECT status_index FROM presentation_credentials WHERE superseded_at IS NOT NULL",
        )
        .await?,
    );
    // A dependant's documents removed from the guardian's device on the 14th birthday
    // (docs/adr/0055).
    revoked.extend(
        indices(
            conn,
            "SELECT status_index FROM documents WHERE removed_seq IS NOT NULL AND kind LIKE '%/%'",
        )
        .await?,
    );
    let suspended = indices(
        conn,
        "SELECT d.status_index FROM documents d JOIN devices v ON v.id = d.device_id \
         JOIN accounts a ON a.id = v.account_id \
         WHERE v.revoked_at IS NULL AND a.state = 'locked' UNION ALL \
         SELECT p.status_index FROM presentation_credentials p JOIN devices v ON v.id = p.device_id \
         JOIN accounts a ON a.id = v.account_id \
         WHERE v.revoked_at IS NULL AND a.state = 'locked'",
    )
    .await?;
    let mut suspended = suspended;
    suspended.extend(registry_suspended(conn, issued_at).await?);
    let signed = sign_status_list(
        state.keys.status_signer(issued_at)?,
        issued_at,
        &bitstring(&revoked),
        &bitstring(&suspended),
    )?;
    let body = serde_json::to_vec(&StatusListResponse {
        list: STATUS_LIST_URI.to_owned(),
        signed: B64(signed),
    })
    .map_err(|_| Error::Registry("status list encoding".into()))?;
    let list = token_status_list(&revoked, &suspended)?;
    let cwt = sign_cwt(state, issued_at, &list)?;
    let jwt = sign_jwt(state, issued_at, &list)?;
    let etags = [body.as_slice(), cwt.as_slice(), jwt.as_slice()].map(crate::http::etag_of);
    Ok(SignedStatusList {
        body: Bytes::from(body),
        cwt: Bytes::from(cwt),
        jwt: Bytes::from(jwt),
        etags,
        issued_at,
    })
}

/// A CWT status list is used at most this long after it was signed (`exp`): a reader offline
/// for a day still has an answer, not a year-old one.
pub const STATUS_LIST_CWT_LIFETIME: u64 = 86_400;

/// The Token Status List (2 bits: 1 invalid, 2 suspended) of the same entries, for both forms.
fn token_status_list(
    revoked: &[i64],
    suspended: &[i64],
) -> Result<eid_core::sdjwt::StatusList, Error> {
    use eid_core::sdjwt::{INVALID, SUSPENDED, StatusList};
    let len = revoked
        .iter()
        .chain(suspended)
        .filter_map(|i| usize::try_from(*i).ok())
        .max()
        .map_or(0, |m| m + 1)
        .max(MIN_ENTRIES);
    let mut list =
        StatusList::new(2, len).map_err(|_| Error::Registry("status list encoding".into()))?;
    for (indexes, status) in [(suspended, SUSPENDED), (revoked, INVALID)] {
        for i in indexes.iter().filter_map(|i| u64::try_from(*i).ok()) {
            list.set(i, status);
        }
    }
    Ok(list)
}

/// The CWT form, signed by the mdoc document signer (readers trust its IACA already).
fn sign_cwt(
    state: &AppState,
    issued_at: u64,
    list: &eid_core::sdjwt::StatusList,
) -> Result<Vec<u8>, Error> {
    let uri = status_list_cwt_uri(state);
    let signer = &state.mdoc.signer;
    eid_core::mdoc::sign_status_list_cwt(
        list,
        &eid_core::mdoc::StatusListCwtClaims {
            uri: &uri,
            issued_at,
            expires_at: Some(issued_at + STATUS_LIST_CWT_LIFETIME),
            ttl: Some(STATUS_LIST_TTL),
        },
        signer.certificate(),
        |tbs| signer.sign_raw(tbs),
    )
    .map_err(|_| Error::Registry("status list signature".into()))
}

/// The JWT form (`statuslist+jwt`), signed by the identity issuer with its certificate in
/// `x5c` (what signs the SD-JWT VCs; verifiers chain it to the trust list's root). The same
/// lifetime and ttl as the CWT form.
fn sign_jwt(
    state: &AppState,
    issued_at: u64,
    list: &eid_core::sdjwt::StatusList,
) -> Result<Vec<u8>, Error> {
    let uri = status_list_jwt_uri(state);
    let (signer, x5c) = crate::sdjwt_issue::identity_signer(state, issued_at)?;
    list.sign_jwt(
        &eid_core::sdjwt::StatusListClaims {
            uri: &uri,
            issued_at,
            expires_at: Some(issued_at + STATUS_LIST_CWT_LIFETIME),
            ttl: Some(STATUS_LIST_TTL),
        },
        &x5c,
        &signer,
    )
    .map(String::into_bytes)
    .map_err(|_| Error::Registry("status list signature".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trust_list_version_follows_its_content() {
        let csca = vec![vec![1u8, 2], vec![3]];
        let v = trust_list_version(b"issuers", &csca);
        assert_eq!(v, trust_list_version(b"issuers", &csca));
        assert_ne!(v, trust_list_version(b"issuers2", &csca));
        assert_ne!(v, trust_list_version(b"issuers", &csca[..1]));
        // Length prefixes: moving a byte between parts is another content.
        assert_ne!(v, trust_list_version(b"issuers", &[vec![1u8], vec![2, 3]]));
    }

    #[test]
    fn bitstring_is_lsb_first_and_compact() {
        let bits = bitstring(&[0, 9, 200_000]);
        let z = miniz_oxide::deflate::compress_to_vec_zlib(&bits, 9);
        assert!(z.len() < 200, "{}", z.len());
        assert_eq!(bits.len(), 200_001usize.div_ceil(8));
        assert_eq!(bits[0], 0b0000_0001);
        assert_eq!(bits[1], 0b0000_0010);
        assert_eq!(bits[25_000], 0b0000_0001);
        assert_eq!(bitstring(&[]).len(), MIN_ENTRIES / 8);
    }
}
