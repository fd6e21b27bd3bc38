//! Idempotent POSTs ([`once`]): a request runs at most once per `(endpoint, scope,
//! client_request_id)`, on every instance of the backend (docs/adr/0027, 0034).
//!
//! The request first *claims* its id: a row in `idempotency` with status [`RUNNING`] and a
//! random claim token in `body`, inserted under the primary key, so of concurrent requests
//! with one id (a client's retry that reached another instance while the first was still
//! running) exactly one runs. The others wait for its answer and replay it; after
//! [`WAIT_FOR_FIRST`] they are told to come back (429, `Retry-After`).
//!
//! The answer is stored **in the transaction of the handler's effect** ([`record`], called by
//! the handler just before it commits): the effect and its answer commit together or not at
//! all, so a process that dies after the commit leaves the answer for the retry to replay,
//! and one that dies before leaves no effect. [`record`] only updates a claim that still holds
//! this request's token, else the effect rolls back: a claim taken over (below) can never be
//! applied twice. Handlers that commit nothing get their answer stored after they return.
//!
//! An answer a retry could change (5xx, 429), or a request dropped before it answered, gives
//! the claim up, so a retry runs afresh. A claim left by a process that died is taken over (a
//! new token) once [`STALE_CLAIM`] old.

use crate::error::{ApiFailure, json_response};
use crate::http::Answer;
use crate::http::random_bytes;
use crate::input::is_client_request_id as is_plain_id;
use crate::state::AppState;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `status` of a claim: the request is running (no HTTP status is 0).
const RUNNING: i64 = 0;
/// How long a repeated request waits for the first one's answer.
pub const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);
/// A claim this old (seconds) is taken over: its request died (a process killed), or is so slow
/// that its client retried; either way its effect can no longer commit ([`record`]).
pub const STALE_CLAIM: i64 = 5;
/// How often a waiting request looks again.
const POLL: Duration = Duration::from_millis(20);

/// The primary key of one request's row.
#[derive(Clone)]
struct Key {
    endpoint: &'static str,
    scope: String,
    id: String,
}

/// The claim the running request holds: its key and token; whether its answer is stored.
struct Claim {
    key: Key,
    token: Vec<u8>,
    recorded: AtomicBool,
}

tokio::task_local! {
    /// The claim of the idempotent request this task runs, for [`record`].
    static CLAIM: Arc<Claim>;
}

/// Stores `outcome` as the answer of the idempotent request this task runs, inside `tx`, the
/// transaction of its effect: call it just before that transaction commits. Nothing outside
/// an idempotent request, or for an answer that is not kept (5xx, 429). If the claim was taken
/// over meanwhile (see [`STALE_CLAIM`]) the effect must not commit: 503, and `tx` rolls back.
pub async fn record(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    outcome: &Result<crate::http::Answer, ApiFailure>,
) -> Result<(), ApiFailure> {
    let Ok(claim) = CLAIM.try_with(Arc::clone) else {
        return Ok(());
    };
    let (status, body) = match outcome {
        Ok(a) => (a.status, a.body.clone()),
        Err(f) => (f.status(), f.body()),
    };
    if !is_kept(status) {
        return Ok(());
    }
    let n = store_answer(&claim, status, &body)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n != 1 {
        tracing::warn!("an idempotency claim was taken over: this run does not commit");
        return Err(ApiFailure::unavailable());
    }
    claim.recorded.store(true, Ordering::SeqCst);
    Ok(())
}

/// Whether an answer with `status` is stored for retries (not one a retry could change).
fn is_kept(status: StatusCode) -> bool {
    !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
}

/// The answer replaces the claim, if the claim is still this request's.
fn store_answer<'q>(
    claim: &'q Claim,
    status: StatusCode,
    body: &'q [u8],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(
        "UPDATE idempotency SET status = $1, body = $2 \
         WHERE endpoint = $3 AND scope = $4 AND client_request_id = $5 AND status = $6 \
         AND body = $7",
    )
    .bind(i64::from(status.as_u16()))
    .bind(body.to_vec())
    .bind(claim.key.endpoint)
    .bind(claim.key.scope.clone())
    .bind(claim.key.id.clone())
    .bind(RUNNING)
    .bind(claim.token.clone())
}

/// Runs `run` unless a request with the same key ran (then its answer) or runs (then its
/// answer once there). The same id with another body is refused.
pub async fn once<F>(
    state: &AppState,
    endpoint: &'static str,
    scope: &str,
    client_request_id: &str,
    request_body: &[u8],
    run: F,
) -> Result<Response, ApiFailure>
where
    F: Future<Output = Result<Answer, ApiFailure>>,
{
    if !is_plain_id(client_request_id) {
        return Err(ApiFailure::invalid("client_request_id is malformed"));
    }
    let key = Key {
        endpoint,
        scope: scope.to_owned(),
        id: client_request_id.to_owned(),
    };
    let request_hash = Sha256::digest(request_body).to_vec();
    // This request's claim token (never a stored answer's body: those are JSON).
    let token = random_bytes(16)?;
    let waiting_since = Instant::now();
    loop {
        if claim(state, &key, &request_hash, &token).await? {
            break;
        }
        let Some(row) = lookup(state, &key).await? else {
            // The first gave its claim up: claim again.
            continue;
        };
        let stored_hash: Vec<u8> = row.try_get(0)?;
        if stored_hash != request_hash {
            return Err(reused());
        }
        if row.try_get::<i64, _>(1)? != RUNNING {
            return replay(&row);
        }
        let claimed_at: i64 = row.try_get(3)?;
        if claimed_at < state.now_i64() - STALE_CLAIM && take_over(state, &key, &token).await? {
            break;
        }
        if waiting_since.elapsed() > WAIT_FOR_FIRST {
            return Err(ApiFailure::rate_limited(1));
        }
        tokio::time::sleep(POLL).await;
    }
    let claim = Arc::new(Claim {
        key,
        token,
        recorded: AtomicBool::new(false),
    });
    let mut held = Held {
        state_store: state.store.clone(),
        claim: Some(claim.clone()),
    };
    let (status, body, retry_after) = match CLAIM.scope(claim.clone(), run).await {
        Ok(a) => (a.status, a.body, None),
        Err(f) => (f.status(), f.body(), f.retry_after),
    };
    crate::faults::after_effect(endpoint);
    if !is_kept(status) {
        // `held` gives the claim up in the background: the answer does not wait for the
        // database a 503 may have just found unreachable.
        drop(held);
        return Ok(json_response(status, body, retry_after));
    }
    if !claim.recorded.load(Ordering::SeqCst) {
        // A handler that committed nothing (a refusal before any write): stored now.
        let n = state
            .store
            .execute_alone(store_answer(&claim, status, &body))
            .await?;
        if n != 1 {
            tracing::debug!("an idempotency claim was taken over before its answer");
        }
    }
    held.claim = None;
    Ok(json_response(status, body, retry_after))
}

fn reused() -> ApiFailure {
    ApiFailure::invalid("client_request_id was already used for another request")
}

/// Inserts the claim with `token`; whether this request holds it.
async fn claim(
    state: &AppState,
    key: &Key,
    request_hash: &[u8],
    token: &[u8],
) -> Result<bool, ApiFailure> {
    let inserted = state
        .store
        .execute_alone(
            sqlx::query(
                "INSERT INTO idempotency \
                 (endpoint, scope, client_request_id, request_hash, status, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(key.endpoint)
            .bind(&key.scope)
            .bind(&key.id)
            .bind(request_hash)
            .bind(RUNNING)
            .bind(token)
            .bind(state.now_i64()),
        )
        .await?;
    Ok(inserted == 1)
}

/// Takes over a stale claim with `token` (the old holder's [`record`] then fails); whether this
/// request holds it now.
async fn take_over(state: &AppState, key: &Key, token: &[u8]) -> Result<bool, ApiFailure> {
    let now = state.now_i64();
    let n = state
        .store
        .execute_alone(
            sqlx::query(
                "UPDATE idempotency SET created_at = $1, body = $2 \
                 WHERE endpoint = $3 AND scope = $4 AND client_request_id = $5 \
                 AND status = $6 AND created_at < $7",
            )
            .bind(now)
            .bind(token)
            .bind(key.endpoint)
            .bind(&key.scope)
            .bind(&key.id)
            .bind(RUNNING)
            .bind(now - STALE_CLAIM),
        )
        .await?;
    Ok(n == 1)
}

async fn lookup(state: &AppState, key: &Key) -> Result<Option<sqlx::any::AnyRow>, ApiFailure> {
    Ok(sqlx::query(
        "SELECT request_hash, status, body, created_at FROM idempotency \
         WHERE endpoint = $1 AND scope = $2 AND client_request_id = $3",
    )
    .bind(key.endpoint)
    .bind(&key.scope)
    .bind(&key.id)
    .fetch_optional(state.store.pool())
    .await?)
}

fn replay(row: &sqlx::any::AnyRow) -> Result<Response, ApiFailure> {
    let status: i64 = row.try_get(1)?;
    let body: Vec<u8> = row.try_get(2)?;
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json_response(status, body, None);
    resp.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(resp)
}

/// A claim held by a running request: given up (deleted) when dropped before the answer is
/// stored (a 5xx or 429, or the request dropped with its connection).
struct Held {
    state_store: crate::db::Store,
    claim: Option<Arc<Claim>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(claim) = self.claim.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.state_store.clone();
        runtime.spawn(async move { give_up(&store, &claim).await });
    }
}

/// Deletes `claim` if it is still unanswered and this request's (a retry runs afresh).
async fn give_up(store: &crate::db::Store, claim: &Claim) {
    let deleted = store
        .execute_alone(
            sqlx::query(
                "DELETE FROM idempotency WHERE endpoint = $1 AND scope = $2 \
                 AND client_request_id = $3 AND status = $4 AND body = $5",
            )
            .bind(claim.key.endpoint)
            .bind(claim.key.scope.clone())
            .bind(claim.key.id.clone())
            .bind(RUNNING)
            .bind(claim.token.clone()),
        )
        .await;
    if let Err(e) = deleted {
        tracing::warn!(error = %e, "an idempotency claim could not be given up");
    }
}
