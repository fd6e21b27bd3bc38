//! Idempotent POSTs ([`once`]): a request runs at most once per `(endpoint, scope,
//! client_request_id)`, on every instance of the backend (docs/adr/0027).
//!
//! The request first *claims* its id: a row in `idempotency` with status [`RUNNING`], inserted
//! under the primary key, so of concurrent requests with one id (a client's retry that reached
//! another instance while the first was still running) exactly one runs. The others wait for
//! its answer and replay it; after [`WAIT_FOR_FIRST`] they are told to come back (429,
//! `Retry-After`). The answer replaces the claim; an answer a retry could change (5xx, 429), or
//! a request dropped before it answered, gives the claim up, so a retry runs afresh. A claim
//! left by a process that died is taken over once [`STALE_CLAIM`] old.
//!
//! Not covered: a process killed between a handler's commit and the stored answer; a retry then
//! runs the handler again (the handlers' own checks, such as a used activation, still hold).

use crate::error::{ApiFailure, json_response};
use crate::http::Answer;
use crate::input::is_client_request_id as is_plain_id;
use crate::state::AppState;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::time::{Duration, Instant};

/// `status` of a claim: the request is running (no HTTP status is 0).
const RUNNING: i64 = 0;
/// How long a repeated request waits for the first one's answer.
pub const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);
/// A claim this old (seconds) belongs to a request that will never answer.
pub const STALE_CLAIM: i64 = 60;
/// How often a waiting request looks again.
const POLL: Duration = Duration::from_millis(20);

/// The primary key of one request's row.
#[derive(Clone)]
struct Key {
    endpoint: &'static str,
    scope: String,
    id: String,
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
    let waiting_since = Instant::now();
    loop {
        if claim(state, &key, &request_hash).await? {
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
        if claimed_at < state.now_i64() - STALE_CLAIM && take_over(state, &key).await? {
            break;
        }
        if waiting_since.elapsed() > WAIT_FOR_FIRST {
            return Err(ApiFailure::rate_limited(1));
        }
        tokio::time::sleep(POLL).await;
    }
    let mut held = Held {
        state_store: state.store.clone(),
        key: Some(key.clone()),
    };
    let (status, body, retry_after) = match run.await {
        Ok(a) => (a.status, a.body, None),
        Err(f) => (f.status(), f.body(), f.retry_after),
    };
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        if let Some(key) = held.key.take() {
            give_up(&state.store, &key).await;
        }
        return Ok(json_response(status, body, retry_after));
    }
    state
        .store
        .execute_alone(
            sqlx::query(
                "UPDATE idempotency SET status = $1, body = $2 \
                 WHERE endpoint = $3 AND scope = $4 AND client_request_id = $5 AND status = $6",
            )
            .bind(i64::from(status.as_u16()))
            .bind(&body)
            .bind(key.endpoint)
            .bind(&key.scope)
            .bind(&key.id)
            .bind(RUNNING),
        )
        .await?;
    held.key = None;
    Ok(json_response(status, body, retry_after))
}

fn reused() -> ApiFailure {
    ApiFailure::invalid("client_request_id was already used for another request")
}

/// Inserts the claim; whether this request holds it.
async fn claim(state: &AppState, key: &Key, request_hash: &[u8]) -> Result<bool, ApiFailure> {
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
            .bind(Vec::<u8>::new())
            .bind(state.now_i64()),
        )
        .await?;
    Ok(inserted == 1)
}

/// Takes over a stale claim; whether this request holds it now.
async fn take_over(state: &AppState, key: &Key) -> Result<bool, ApiFailure> {
    let now = state.now_i64();
    let n = state
        .store
        .execute_alone(
            sqlx::query(
                "UPDATE idempotency SET created_at = $1 \
                 WHERE endpoint = $2 AND scope = $3 AND client_request_id = $4 \
                 AND status = $5 AND created_at < $6",
            )
            .bind(now)
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
    key: Option<Key>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.state_store.clone();
        runtime.spawn(async move { give_up(&store, &key).await });
    }
}

/// Deletes the claim of `key` (a retry runs afresh).
async fn give_up(store: &crate::db::Store, key: &Key) {
    let deleted = store
        .execute_alone(
            sqlx::query(
                "DELETE FROM idempotency WHERE endpoint = $1 AND scope = $2 \
                 AND client_request_id = $3 AND status = $4",
            )
            .bind(key.endpoint)
            .bind(&key.scope)
            .bind(&key.id)
            .bind(RUNNING),
        )
        .await;
    if let Err(e) = deleted {
        tracing::warn!(error = %e, "an idempotency claim could not be given up");
    }
}
