//! Accommodation notices (thông báo lưu trú; issue 18, docs/adr/0048):
//!
//! - POST /v1/accommodation/check-ins (signed by a host: a verifier registered for the
//!   `accommodation` profile; idempotent): the guest's offline `accommodation` QR, checked here
//!   like a desk checks it (issuer, trust list, device signature, freshness, status list,
//!   profile), and the stay's dates. The stay is recorded for the police (host, the guest's ID
//!   number, dates, time) and a receipt signed by the police issuer is answered. The same QR from
//!   the same host gets the same receipt, however often it is sent.
//! - GET /v1/accommodation/notices?after=SEQ (device-signed): the stays recorded for the
//!   account's citizen, found by the ID number the QR disclosed, as the receipts the hosts got.

use crate::auth::{SignedCall, authenticate};
use crate::error::{ApiFailure, Error};
use crate::http::{Answer, idempotent_post, random_hex};
use crate::presentation::{Verifier as Host, verifier};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use eid_core::api::{
    AccommodationNotice, AccommodationNotices, AccommodationReceipt, B64, CheckInAnswer,
    CheckInRequest, ErrorCode, MAX_NOTICES_PAGE, headers,
};
use eid_core::credential::Date;
use eid_core::present::{Field, FieldValue, Profile};
use eid_core::verify::accommodation::{RECEIPT_CONTENT_TYPE, RECEIPT_URI, qr_digest, stay};
use eid_core::verify::{Reason, Verifier};
use sqlx::Row;
use std::sync::Arc;

/// Stays are kept this many days after check-out, then deleted (`App::prune`; docs/adr/0048).
pub const STAY_RETENTION_DAYS: i64 = 365;
/// How far the check-in date may be from the backend's UTC day (a host's time zone, a guest
/// arriving after midnight).
const CHECK_IN_SLACK_DAYS: i64 = 1;

// ---------------------------------------------------------------------------------------------
// POST /v1/accommodation/check-ins

pub async fn check_in(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    let (host_id, host) = match host(&state, &call).await {
        Ok(h) => h,
        Err(f) => return f.into_response(),
    };
    idempotent_post(
        &state,
        "accommodation_check_in",
        &host_id,
        &call.body,
        async |state, req: &CheckInRequest| check_in_inner(state, &host_id, &host, req).await,
    )
    .await
}

/// The registered host that signed `call`: an unknown key or a wrong signature is 401, a desk
/// not registered for the `accommodation` profile 403. The request's nonce is taken once.
async fn host(state: &AppState, call: &SignedCall) -> Result<(String, Arc<Host>), ApiFailure> {
    let request = call.signed_request(state, headers::VERIFIER)?;
    let host = verifier(state, request.signer)
        .await?
        .ok_or_else(unregistered)?;
    if !request.verifies(&host.key) {
        return Err(unregistered());
    }
    request.consume_nonce(state).await?;
    if !host.profiles.contains(&Profile::Accommodation) {
        return Err(ApiFailure::new(
            ErrorCode::NotAllowed,
            "this desk is not registered as a host (profile accommodation)",
        ));
    }
    Ok((request.signer.to_owned(), host))
}

fn unregistered() -> ApiFailure {
    ApiFailure::new(
        ErrorCode::Unauthenticated,
        "unknown host, or its signature is stale or wrong",
    )
}

/// Why the backend's own check refused the QR, for the host (no personal data).
fn refusal(reasons: &[Reason]) -> ApiFailure {
    let message = match reasons.first() {
        Some(Reason::WrongProfile { .. }) => {
            "wrong profile: the QR is not an accommodation presentation"
        }
        Some(Reason::Stale { .. } | Reason::FromTheFuture) => {
            "the QR is stale: ask the guest for a new one"
        }
        Some(Reason::Revoked | Reason::Suspended | Reason::StatusUnknown) => {
            "the guest's credential is revoked or suspended"
        }
        _ => "the QR does not verify (tampered, untrusted or malformed)",
    };
    ApiFailure::invalid(message)
}

async fn check_in_inner(
    state: &AppState,
    host_id: &str,
    host: &Host,
    req: &CheckInRequest,
) -> Result<Answer, ApiFailure> {
    let digest = qr_digest(&req.presentation)
        .ok_or(ApiFailure::invalid("presentation is not an offline QR"))?;
    // The same QR from this host: the receipt it got, whatever the time now.
    if let Some(answer) = recorded(state, host_id, &digest, req).await? {
        return Ok(answer);
    }
    let (check_in, check_out) = stay(&req.check_in, &req.check_out).ok_or(ApiFailure::invalid(
        "check_in and check_out must be ISO dates 1 to 366 nights apart",
    ))?;
    let now = state.now();
    let today = Date::from_unix(now).unix_days();
    if (check_in.unix_days() - today).abs() > CHECK_IN_SLACK_DAYS {
        return Err(ApiFailure::invalid("check_in must be today"));
    }
    // The desk's check, made again here: a host's word is not the police's record.
    let status = crate::lists::current_checked(state, now).await?;
    let verdict = Verifier::new(state.keys.trust_list.clone())
        .with_status_list(status)
        .verify_offline(&req.presentation, now, None, Some(Profile::Accommodation));
    if !verdict.valid {
        return Err(refusal(&verdict.reasons));
    }
    let Some(FieldValue::Text(id_number)) = verdict.fields.get(Field::IdNumber) else {
        return Err(ApiFailure::invalid("the QR carries no ID number"));
    };
    let statement = AccommodationReceipt {
        receipt: RECEIPT_URI.to_owned(),
        receipt_id: format!("LT-{}", random_hex(8)?.to_ascii_uppercase()),
        host_id: host_id.to_owned(),
        host_name: host.name.clone(),
        check_in: check_in.to_string(),
        check_out: check_out.to_string(),
        recorded_at: now,
        presentation_digest: digest.clone(),
    };
    let payload =
        serde_json::to_vec(&statement).map_err(|_| Error::Registry("receipt encoding".into()))?;
    let signed = crate::lists::police_signed(
        state.keys.status_signer(now)?,
        RECEIPT_CONTENT_TYPE,
        payload,
        "receipt",
    )?;
    let mut w = state.store.write().await?;
    let inserted = sqlx::query(
        "INSERT INTO accommodation_stays (receipt_id, host_id, presentation_digest, id_number, \
         check_in_day, check_out_day, recorded_at, receipt) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(&statement.receipt_id)
    .bind(host_id)
    .bind(&digest)
    .bind(id_number)
    .bind(check_in.unix_days())
    .bind(check_out.unix_days())
    .bind(state.now_i64())
    .bind(signed.clone())
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // Recorded meanwhile by a concurrent request with another client_request_id.
        drop(w);
        return recorded(state, host_id, &digest, req)
            .await?
            .ok_or_else(|| ApiFailure::new(ErrorCode::Internal, "the stay was not recorded"));
    }
    let answer = Answer::ok(&CheckInAnswer {
        receipt_id: statement.receipt_id,
        signed: B64(signed),
    });
    crate::idempotency::record(&mut w.tx, &answer).await?;
    w.commit().await?;
    tracing::info!(host = %host_id, "accommodation stay recorded");
    answer
}

/// The receipt `host_id` got for the QR of `digest`, if it checked it in before; the same QR
/// with other dates is refused.
async fn recorded(
    state: &AppState,
    host_id: &str,
    digest: &str,
    req: &CheckInRequest,
) -> Result<Option<Answer>, ApiFailure> {
    let Some(row) = sqlx::query(
        "SELECT receipt_id, check_in_day, check_out_day, receipt FROM accommodation_stays \
         WHERE host_id = $1 AND presentation_digest = $2",
    )
    .bind(host_id)
    .bind(digest)
    .fetch_optional(state.store.pool())
    .await?
    else {
        return Ok(None);
    };
    let days = |v: i64| Date::from_unix_days(v).map(|d| d.to_string());
    if days(row.try_get(1)?).as_deref() != Some(req.check_in.as_str())
        || days(row.try_get(2)?).as_deref() != Some(req.check_out.as_str())
    {
        return Err(ApiFailure::invalid(
            "this host checked this QR in before, with other dates",
        ));
    }
    Answer::ok(&CheckInAnswer {
        receipt_id: row.try_get(0)?,
        signed: B64(row.try_get(3)?),
    })
    .map(Some)
}

// ---------------------------------------------------------------------------------------------
// GET /v1/accommodation/notices

pub async fn notices(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    notices_inner(&state, &method, &uri, &headers)
        .await
        .into_response()
}

fn after_of(uri: &Uri) -> Result<i64, ApiFailure> {
    let mut after = 0;
    for pair in uri.query().unwrap_or("").split('&') {
        if let Some(v) = pair.strip_prefix("after=") {
            after = v
                .parse::<i64>()
                .ok()
                .filter(|a| *a >= 0)
                .ok_or(ApiFailure::invalid("after is not a cursor"))?;
        }
    }
    Ok(after)
}

async fn notices_inner(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Answer, ApiFailure> {
    let device = authenticate(state, method, uri, headers, b"").await?;
    device.require_active(false)?;
    let after = after_of(uri)?;
    let rows = sqlx::query(
        "SELECT s.seq, s.receipt FROM accommodation_stays s \
         JOIN accounts a ON a.id_number = s.id_number \
         WHERE a.id = $1 AND s.seq > $2 ORDER BY s.seq LIMIT $3",
    )
    .bind(&device.account_id)
    .bind(after)
    .bind(i64::try_from(MAX_NOTICES_PAGE).unwrap_or(100))
    .fetch_all(state.store.pool())
    .await?;
    let mut notices = Vec::with_capacity(rows.len());
    for row in rows {
        let seq: i64 = row.try_get(0)?;
        notices.push(AccommodationNotice {
            seq: u64::try_from(seq).unwrap_or(0),
            signed: B64(row.try_get(1)?),
        });
    }
    Answer::ok(&AccommodationNotices { notices })
}
