//! Citizen-entered data (issue 18, docs/adr/0057):
//!
//! - POST /v1/submissions (device-signed, idempotent by `client_request_id`): the citizen's
//!   proposed record or change of a kind its authority takes from citizens (a vaccination given
//!   abroad, a temporary residence), with attachments. The proposal is merged into the
//!   citizen's registry record and checked by the kind's declaration
//!   (`eid_core::credential::apply_proposal`) before it is queued: a refusal names the field and
//!   the rule. It goes to the queue of the authority the declaration names; the fields and
//!   attachments are sealed under the KEK.
//! - GET /v1/submissions (device-signed): the account's submissions, state and reason.
//! - GET /v1/admin/submissions?authority=ID&state=pending, GET /v1/admin/submissions/{id}
//!   (admin token): an authority's queue, one submission with its attachments.
//! - POST /v1/admin/submissions/{id}/decision (admin token): `verified` merges the proposal
//!   into the registry record (again, over the record as it is now), re-signs it with the
//!   kind's issuer and re-issues the held credentials (as a registry change does, ADR 0056), so
//!   the next sync brings them; `rejected` needs a reason, which the citizen sees.
//!
//! Nothing personal is logged: kinds, authorities and counts only.

use crate::auth::{Device, Scope, SignedCall, authenticate, device_post};
use crate::coherence::{self, Change};
use crate::error::{ApiFailure, Error, invalid_detail};
use crate::http::{Answer, parse, random_hex};
use crate::presentation::{Clerk, require_clerk};
use crate::state::AppState;
use crate::{lifecycle, registry};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use eid_core::api::{
    AttachmentInfo, B64, ErrorCode, QueuedSubmission, SubmissionAttachment, SubmissionDecided,
    SubmissionDecision, SubmissionDetail, SubmissionInfo, SubmissionList, SubmissionQueue,
    SubmissionRequest, SubmissionState, attachment_refusal, consent_action, submission_digest,
};
use eid_core::credential::{Date, Document, DocumentKind, ProposalError, apply_proposal};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::sync::Arc;

/// The most submissions one answer lists.
const MAX_LISTED: i64 = 200;
/// The longest reason a clerk gives, in characters.
const MAX_REASON: usize = 500;

/// The columns [`info_of`] reads (a literal: sqlx takes no built SQL).
macro_rules! info_select {
    () => {
        "SELECT s.id, s.kind, s.authority, s.state, s.reason, s.field_names, \
         s.created_at, s.decided_at, \
         (SELECT COUNT(*) FROM submission_attachments t WHERE t.submission_id = s.id) \
         FROM submissions s"
    };
}

/// The columns [`queued_of`] reads.
macro_rules! queued_select {
    () => {
        "SELECT s.id, s.kind, s.authority, s.state, s.id_number, s.fields, \
         s.reason, s.created_at, s.decided_at FROM submissions s"
    };
}

/// The seal's purpose of a submission's fields, bound to its id.
fn fields_purpose(id: &str) -> String {
    format!("submission:{id}:fields")
}

/// The seal's purpose of a submission's attachment, bound to its id and place.
fn attachment_purpose(id: &str, index: i64) -> String {
    format!("submission:{id}:attachment:{index}")
}

// ---------------------------------------------------------------------------------------------
// POST /v1/submissions

pub async fn submit(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    device_post(
        &state,
        &call,
        "submission",
        (Scope::Account, false),
        async |state, device, req: &SubmissionRequest| submit_inner(state, device, req).await,
    )
    .await
}

/// Why a proposal was refused, for the citizen or the clerk (field paths and rules only).
fn proposal_refusal(e: &ProposalError) -> String {
    e.to_string()
}

/// The account's citizen's ID number.
async fn id_number_of(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account_id: &str,
) -> Result<String, ApiFailure> {
    Ok(sqlx::query("SELECT id_number FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?)
}

/// The citizen's registry record of `kind`, opened, if there is one.
async fn current_record(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id_number: &str,
    kind: DocumentKind,
) -> Result<Option<Document>, ApiFailure> {
    let row = sqlx::query("SELECT record FROM registry_records WHERE id_number = $1 AND kind = $2")
        .bind(id_number)
        .bind(kind.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let bytes: Vec<u8> = r.try_get(0)?;
            Ok(Some(state.keys.open_record(&bytes, state.now())?))
        }
    }
}

/// The names of the proposal's top-level fields, as stored in clear.
fn field_names(fields: &serde_json::Value) -> Vec<String> {
    fields
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

async fn submit_inner(
    state: &AppState,
    device: &Device,
    req: &SubmissionRequest,
) -> Result<Answer, ApiFailure> {
    let Some(kind) = DocumentKind::parse(&req.kind) else {
        return Err(ApiFailure::invalid("unknown document kind"));
    };
    if let Some(why) = attachment_refusal(&req.attachments) {
        return Ok(invalid_detail(why));
    }
    // Filed in the citizen's name: their consent over this exact request, not the device key
    // alone (docs/adr/0057). Checked before anything is written or looked up.
    crate::consent::check(
        state,
        device,
        req.consent.as_ref(),
        consent_action::SUBMISSION,
        &submission_digest(
            &req.client_request_id,
            &req.kind,
            &req.fields,
            &req.attachments,
        ),
    )
    .await?;
    let digest = hex::encode(Sha256::digest(
        serde_json::to_vec(&(&req.kind, &req.fields, &req.attachments))
            .map_err(|_| ApiFailure::invalid("the body does not parse"))?,
    ));
    let now = state.now();
    let mut w = state.store.write().await?;
    // The same key again (long after the idempotency row went): the same submission.
    if let Some(row) = sqlx::query(
        "SELECT id, request_digest FROM submissions WHERE account_id = $1 \
         AND client_request_id = $2",
    )
    .bind(&device.account_id)
    .bind(&req.client_request_id)
    .fetch_optional(&mut *w.tx)
    .await?
    {
        let id: String = row.try_get(0)?;
        let stored: String = row.try_get(1)?;
        drop(w);
        if stored != digest {
            return Err(ApiFailure::invalid(
                "this client_request_id was used for another submission",
            ));
        }
        return Answer::ok(&info(state, &device.account_id, &id).await?);
    }
    let id_number = id_number_of(&mut w.tx, &device.account_id).await?;
    let current = current_record(state, &mut w.tx, &id_number, kind).await?;
    if let Err(e) = apply_proposal(
        kind,
        current.as_ref(),
        &req.fields,
        &id_number,
        Date::from_unix(now),
    ) {
        return Ok(invalid_detail(proposal_refusal(&e)));
    }
    let id = format!("SUB-{}", random_hex(8)?.to_ascii_uppercase());
    let fields = serde_json::to_vec(&req.fields)
        .map_err(|_| ApiFailure::invalid("the body does not parse"))?;
    let sealed = state.kek.seal(&fields_purpose(&id), &fields)?;
    let names = field_names(&req.fields);
    let authority = kind.declaration().issuer.id.clone();
    sqlx::query(
        "INSERT INTO submissions (id, account_id, device_id, id_number, kind, authority, state, \
         fields, field_names, client_request_id, request_digest, seq, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&id)
    .bind(&device.account_id)
    .bind(&device.id)
    .bind(&id_number)
    .bind(kind.as_str())
    .bind(&authority)
    .bind(SubmissionState::Pending.as_str())
    .bind(sealed)
    .bind(names.join(","))
    .bind(&req.client_request_id)
    .bind(&digest)
    .bind(crate::db::next_counter(&mut w.tx, "submission").await?)
    .bind(state.now_i64())
    .execute(&mut *w.tx)
    .await?;
    for (i, a) in req.attachments.iter().enumerate() {
        let index = i64::try_from(i).unwrap_or(i64::MAX);
        let sealed = state
            .kek
            .seal(&attachment_purpose(&id, index), &a.content.0)?;
        sqlx::query(
            "INSERT INTO submission_attachments (submission_id, idx, media_type, size, content) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(index)
        .bind(&a.media_type)
        .bind(i64::try_from(a.content.0.len()).unwrap_or(i64::MAX))
        .bind(sealed)
        .execute(&mut *w.tx)
        .await?;
    }
    let answer = Answer::ok(&SubmissionInfo {
        id,
        kind: kind.as_str().to_owned(),
        authority: authority.clone(),
        state: SubmissionState::Pending,
        reason: None,
        fields: names,
        attachments: u32::try_from(req.attachments.len()).unwrap_or(u32::MAX),
        created_at: now,
        decided_at: None,
    });
    crate::idempotency::record(&mut w.tx, &answer).await?;
    w.commit().await?;
    tracing::info!(kind = %kind, authority = %authority, attachments = req.attachments.len(), "submission queued");
    answer
}

// ---------------------------------------------------------------------------------------------
// GET /v1/submissions

pub async fn list(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let device = authenticate(&state, &method, &uri, &headers, b"").await?;
        device.require_active(true)?;
        let rows = sqlx::query(concat!(
            info_select!(),
            " WHERE s.account_id = $1 ORDER BY s.seq DESC LIMIT $2"
        ))
        .bind(&device.account_id)
        .bind(MAX_LISTED)
        .fetch_all(state.store.pool())
        .await?;
        let submissions = rows
            .iter()
            .map(info_of)
            .collect::<Result<Vec<_>, ApiFailure>>()?;
        Answer::ok(&SubmissionList { submissions })
    };
    run.await.into_response()
}

fn info_of(row: &sqlx::any::AnyRow) -> Result<SubmissionInfo, ApiFailure> {
    let state: String = row.try_get(3)?;
    let names: String = row.try_get(5)?;
    let created: i64 = row.try_get(6)?;
    let decided: Option<i64> = row.try_get(7)?;
    let count: i64 = row.try_get(8)?;
    Ok(SubmissionInfo {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        authority: row.try_get(2)?,
        state: SubmissionState::parse(&state)
            .ok_or_else(|| ApiFailure::from(Error::Registry("submission state".into())))?,
        reason: row.try_get(4)?,
        fields: names
            .split(',')
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect(),
        attachments: u32::try_from(count).unwrap_or(0),
        created_at: u64::try_from(created).unwrap_or(0),
        decided_at: decided.and_then(|d| u64::try_from(d).ok()),
    })
}

/// One submission of the account, as its list shows it.
async fn info(state: &AppState, account_id: &str, id: &str) -> Result<SubmissionInfo, ApiFailure> {
    let row = sqlx::query(concat!(
        info_select!(),
        " WHERE s.account_id = $1 AND s.id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_one(state.store.pool())
    .await?;
    info_of(&row)
}

// ---------------------------------------------------------------------------------------------
// The authority's side (admin token)

/// A queued submission with its fields opened and its attachments listed.
async fn queued_of(
    state: &AppState,
    row: &sqlx::any::AnyRow,
) -> Result<QueuedSubmission, ApiFailure> {
    let id: String = row.try_get(0)?;
    let sealed: Vec<u8> = row.try_get(5)?;
    let fields = state.kek.open(&fields_purpose(&id), &sealed)?;
    let fields: serde_json::Value = serde_json::from_slice(&fields)
        .map_err(|_| ApiFailure::from(Error::Registry("submission fields".into())))?;
    let st: String = row.try_get(3)?;
    let created: i64 = row.try_get(7)?;
    let decided: Option<i64> = row.try_get(8)?;
    let attachments = sqlx::query(
        "SELECT media_type, size FROM submission_attachments WHERE submission_id = $1 \
         ORDER BY idx",
    )
    .bind(&id)
    .fetch_all(state.store.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(AttachmentInfo {
            media_type: r.try_get(0)?,
            size: u64::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0),
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(QueuedSubmission {
        id,
        kind: row.try_get(1)?,
        authority: row.try_get(2)?,
        state: SubmissionState::parse(&st)
            .ok_or_else(|| ApiFailure::from(Error::Registry("submission state".into())))?,
        id_number: row.try_get(4)?,
        fields,
        attachments,
        reason: row.try_get(6)?,
        created_at: u64::try_from(created).unwrap_or(0),
        decided_at: decided.and_then(|d| u64::try_from(d).ok()),
    })
}

/// `authority` and `state` of the queue's query string.
fn queue_query(uri: &Uri) -> Result<(Option<String>, SubmissionState), ApiFailure> {
    let (mut authority, mut wanted) = (None, SubmissionState::Pending);
    for pair in uri.query().unwrap_or("").split('&') {
        if let Some(v) = pair.strip_prefix("authority=") {
            if !DocumentKind::ALL
                .iter()
                .any(|k| k.declaration().issuer.id == v)
            {
                return Err(ApiFailure::invalid(
                    "unknown authority (an issuer id of the kinds' declarations, e.g. health)",
                ));
            }
            authority = Some(v.to_owned());
        } else if let Some(v) = pair.strip_prefix("state=") {
            wanted = SubmissionState::parse(v).ok_or(ApiFailure::invalid(
                "state must be pending, verified or rejected",
            ))?;
        }
    }
    Ok((authority, wanted))
}

/// GET /v1/admin/submissions?authority=ID&state=STATE (state: pending unless given), oldest
/// first.
pub async fn queue(State(state): State<Arc<AppState>>, uri: Uri, headers: HeaderMap) -> Response {
    let run = async {
        let clerk = require_clerk(&state, &headers)?;
        let (mut authority, wanted) = queue_query(&uri)?;
        // An authority's clerk: its own queue, whether named or not.
        if let Clerk::Of(own) = &clerk {
            if authority.as_ref().is_some_and(|a| a != own) {
                return Err(ApiFailure::new(
                    ErrorCode::NotAllowed,
                    "this token opens its own authority's queue only",
                ));
            }
            authority = Some(own.clone());
        }
        // '' is every authority.
        let rows = sqlx::query(concat!(
            queued_select!(),
            " WHERE ($1 = '' OR s.authority = $1) AND s.state = $2 \
             ORDER BY s.seq LIMIT $3"
        ))
        .bind(authority.unwrap_or_default())
        .bind(wanted.as_str())
        .bind(MAX_LISTED)
        .fetch_all(state.store.pool())
        .await?;
        let mut submissions = Vec::with_capacity(rows.len());
        for row in &rows {
            submissions.push(queued_of(&state, row).await?);
        }
        Answer::ok(&SubmissionQueue { submissions })
    };
    run.await.into_response()
}

fn not_found() -> ApiFailure {
    ApiFailure::new(ErrorCode::NotFound, "no submission with this id")
}

/// GET /v1/admin/submissions/{id}: the submission and its attachments.
pub async fn get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let run = async {
        let clerk = require_clerk(&state, &headers)?;
        let row = sqlx::query(concat!(queued_select!(), " WHERE s.id = $1"))
            .bind(&id)
            .fetch_optional(state.store.pool())
            .await?
            .ok_or_else(not_found)?;
        let submission = queued_of(&state, &row).await?;
        // Another authority's submission is none of this clerk's: as if there were none.
        if !clerk.serves(&submission.authority) {
            return Err(not_found());
        }
        let mut attachments = Vec::new();
        for r in sqlx::query(
            "SELECT idx, media_type, content FROM submission_attachments \
             WHERE submission_id = $1 ORDER BY idx",
        )
        .bind(&id)
        .fetch_all(state.store.pool())
        .await?
        {
            let index: i64 = r.try_get(0)?;
            let sealed: Vec<u8> = r.try_get(2)?;
            attachments.push(SubmissionAttachment {
                media_type: r.try_get(1)?,
                content: B64(state
                    .kek
                    .open(&attachment_purpose(&id, index), &sealed)?
                    .to_vec()),
            });
        }
        Answer::ok(&SubmissionDetail {
            submission,
            attachments,
        })
    };
    run.await.into_response()
}

/// POST /v1/admin/submissions/{id}/decision
pub async fn decide(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let run = async {
        let clerk = require_clerk(&state, &headers)?;
        let authority: Option<String> =
            sqlx::query_scalar("SELECT authority FROM submissions WHERE id = $1")
                .bind(&id)
                .fetch_optional(state.store.pool())
                .await?;
        if !authority.is_some_and(|a| clerk.serves(&a)) {
            return Err(not_found());
        }
        let decision: SubmissionDecision = parse(&body)?;
        let reason = match decision.reason.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(r) => Some(eid_icao::text::display_text(r, MAX_REASON).map_err(|_| {
                ApiFailure::invalid(
                    "reason must be 1 to 500 printable characters, without bidirectional or \
                     zero-width ones",
                )
            })?),
        };
        match decision.decision {
            SubmissionState::Pending => {
                Err(ApiFailure::invalid("decision must be verified or rejected"))
            }
            SubmissionState::Rejected => {
                let reason = reason.ok_or(ApiFailure::invalid(
                    "a rejection needs a reason the citizen can act on",
                ))?;
                reject(&state, &id, &reason).await
            }
            SubmissionState::Verified => verify(&state, &id, reason.as_deref()).await,
        }
    };
    run.await.into_response()
}

/// Refuses a decision on a submission that is not pending (404 when there is none).
async fn not_pending(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: &str,
) -> Result<ApiFailure, ApiFailure> {
    let exists = sqlx::query("SELECT 1 FROM submissions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    Ok(if exists {
        ApiFailure::invalid("this submission was already decided")
    } else {
        not_found()
    })
}

async fn reject(state: &AppState, id: &str, reason: &str) -> Result<Answer, ApiFailure> {
    let mut w = state.store.write().await?;
    let updated = sqlx::query(
        "UPDATE submissions SET state = $1, reason = $2, decided_at = $3 \
         WHERE id = $4 AND state = $5",
    )
    .bind(SubmissionState::Rejected.as_str())
    .bind(reason)
    .bind(state.now_i64())
    .bind(id)
    .bind(SubmissionState::Pending.as_str())
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(not_pending(&mut w.tx, id).await?);
    }
    w.commit().await?;
    tracing::info!("submission rejected");
    Answer::ok(&SubmissionDecided {
        id: id.to_owned(),
        state: SubmissionState::Rejected,
        reason: Some(reason.to_owned()),
        reissued: 0,
    })
}

async fn verify(state: &AppState, id: &str, note: Option<&str>) -> Result<Answer, ApiFailure> {
    let now = state.now();
    let mut w = state.store.write().await?;
    let Some(row) = sqlx::query(
        "SELECT account_id, id_number, kind, fields FROM submissions \
         WHERE id = $1 AND state = $2",
    )
    .bind(id)
    .bind(SubmissionState::Pending.as_str())
    .fetch_optional(&mut *w.tx)
    .await?
    else {
        return Err(not_pending(&mut w.tx, id).await?);
    };
    let account_id: String = row.try_get(0)?;
    let id_number: String = row.try_get(1)?;
    let kind: String = row.try_get(2)?;
    let kind = DocumentKind::parse(&kind)
        .ok_or_else(|| ApiFailure::from(Error::Registry("submission kind".into())))?;
    let sealed: Vec<u8> = row.try_get(3)?;
    let fields: serde_json::Value =
        serde_json::from_slice(&state.kek.open(&fields_purpose(id), &sealed)?)
            .map_err(|_| ApiFailure::from(Error::Registry("submission fields".into())))?;
    // Over the record as it is now: it may have changed since the citizen sent the proposal.
    let current = current_record(state, &mut w.tx, &id_number, kind).await?;
    let doc = match apply_proposal(
        kind,
        current.as_ref(),
        &fields,
        &id_number,
        Date::from_unix(now),
    ) {
        Ok(doc) => doc,
        Err(e) => {
            return Ok(invalid_detail(format!(
                "the record no longer takes this change ({}); reject it with a reason",
                proposal_refusal(&e)
            )));
        }
    };
    let signed = registry::sign_record(&doc, state.keys.issuer_at(kind, now)?, now)?;
    let query = if current.is_some() {
        "UPDATE registry_records SET record = $1 WHERE id_number = $2 AND kind = $3"
    } else {
        "INSERT INTO registry_records (record, id_number, kind) VALUES ($1, $2, $3)"
    };
    sqlx::query(query)
        .bind(&signed)
        .bind(&id_number)
        .bind(kind.as_str())
        .execute(&mut *w.tx)
        .await?;
    sqlx::query(
        "INSERT INTO registry_changes (id_number, kind, change_type, reason, at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id_number)
    .bind(kind.as_str())
    .bind("citizen_submission")
    .bind(id)
    .bind(state.now_i64())
    .execute(&mut *w.tx)
    .await?;
    let reissued = lifecycle::reissue_held(state, &mut w.tx, &id_number, &doc).await?;
    sqlx::query("UPDATE submissions SET state = $1, reason = $2, decided_at = $3 WHERE id = $4")
        .bind(SubmissionState::Verified.as_str())
        .bind(note)
        .bind(state.now_i64())
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    // Every active device of the account: one that does not hold the kind yet gets it at its
    // next sync (documents::ensure_documents), so its cached pages go too.
    let devices: Vec<String> =
        sqlx::query("SELECT id FROM devices WHERE account_id = $1 AND revoked_at IS NULL")
            .bind(&account_id)
            .fetch_all(&mut *w.tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
    let mut changes: Vec<Change<'_>> = devices.iter().map(|d| Change::Pages(d)).collect();
    // The replaced credentials are revoked.
    changes.push(Change::StatusList);
    coherence::commit(state, w, &changes).await?;
    tracing::info!(kind = %kind, reissued = reissued.len(), "submission verified");
    Answer::ok(&SubmissionDecided {
        id: id.to_owned(),
        state: SubmissionState::Verified,
        reason: note.map(str::to_owned),
        reissued: reissued.len() as u64,
    })
}
