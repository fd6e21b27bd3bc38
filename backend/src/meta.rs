//! The service's own endpoints: GET /health (liveness), GET /ready (readiness), GET
//! /openapi.json and, in development mode only, GET /dev/outbox (the SMS a development backend
//! did not send).

use crate::error::{ApiFailure, json_response};
use crate::state::AppState;
use crate::{OPENAPI_JSON, input};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use eid_core::api::{DevOutbox, DevSms, ErrorCode};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::sync::Arc;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Health {
    pub status: String,
    pub version: String,
}

pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    // Healthy means the database answers.
    match sqlx::query("SELECT 1").fetch_one(state.store.pool()).await {
        Ok(_) => Json(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
        .into_response(),
        Err(e) => ApiFailure::from(e).into_response(),
    }
}

/// The readiness endpoint (a backend path, not part of the wallet's contract).
pub const READY: &str = "/v1/ready";
/// How long readiness waits for the database.
const READY_DB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ready {
    /// "ready".
    pub status: String,
    /// "on", or "bypassed" while the cache listener is not listening (PostgreSQL,
    /// docs/adr/0027): still correct, every read goes to the database.
    pub caches: String,
}

/// Ready: not shutting down and the database answers within 2 s; else 503 with Retry-After
/// (a load balancer sends nothing new here).
pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let unavailable = || {
        let body = ApiFailure::new(ErrorCode::Internal, "not ready: try another instance").body();
        json_response(StatusCode::SERVICE_UNAVAILABLE, body, Some(1))
    };
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) || !state.health.is_up() {
        return unavailable();
    }
    let probe = sqlx::query("SELECT 1").fetch_one(state.store.pool());
    match tokio::time::timeout(READY_DB_TIMEOUT, probe).await {
        Ok(Ok(_)) => Json(Ready {
            status: "ready".into(),
            caches: if state.coherence.is_listening() {
                "on"
            } else {
                "bypassed"
            }
            .into(),
        })
        .into_response(),
        Ok(Err(e)) => {
            state.health.suspect();
            tracing::warn!(error = %e, "not ready: the database does not answer");
            unavailable()
        }
        Err(_) => {
            state.health.suspect();
            tracing::warn!("not ready: the database does not answer in time");
            unavailable()
        }
    }
}

pub async fn openapi() -> Response {
    let mut resp = (StatusCode::OK, OPENAPI_JSON).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

#[derive(Deserialize)]
pub struct OutboxQuery {
    phone: Option<String>,
}

pub async fn dev_outbox(
    State(state): State<Arc<AppState>>,
    query: Result<Query<OutboxQuery>, QueryRejection>,
) -> Response {
    if !state.config.dev_mode {
        return ApiFailure::new(ErrorCode::NotFound, "no such endpoint").into_response();
    }
    let Some(phone) = query.ok().and_then(|q| q.0.phone) else {
        return ApiFailure::invalid("phone is required").into_response();
    };
    // The form the outbox holds (`+84…` is the same phone).
    let phone = input::normalise_phone(&phone).unwrap_or(phone);
    let rows = match sqlx::query(
        "SELECT phone, body, created_at FROM sms_outbox WHERE phone = $1 ORDER BY id",
    )
    .bind(&phone)
    .fetch_all(state.store.pool())
    .await
    {
        Ok(r) => r,
        Err(e) => return ApiFailure::from(e).into_response(),
    };
    let mut messages = Vec::new();
    for row in rows {
        let (Ok(phone), Ok(text), Ok(sent_at)) = (
            row.try_get::<String, _>(0),
            row.try_get::<String, _>(1),
            row.try_get::<i64, _>(2),
        ) else {
            continue;
        };
        let code = text
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap_or_default()
            .to_owned();
        messages.push(DevSms {
            phone,
            code,
            text,
            sent_at: u64::try_from(sent_at).unwrap_or(0),
        });
    }
    match serde_json::to_vec(&DevOutbox { messages }) {
        Ok(body) => json_response(StatusCode::OK, body, None),
        Err(_) => ApiFailure::new(ErrorCode::Internal, "encoding").into_response(),
    }
}
