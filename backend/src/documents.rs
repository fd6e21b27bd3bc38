//! GET /v1/documents: the device's credentials, issued on first request and kept, with a
//! since-cursor (an unchanged wallet gets an empty page) and an ETag.

use crate::AppState;
use crate::auth::{Device, authenticate};
use crate::error::{ApiFailure, json_response};
use crate::issue;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use eid_core::api::{B64, DocumentsPage, SyncedDocument};
use eid_core::credential::DocumentKind;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::sync::Arc;

pub async fn list(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match list_inner(&state, &method, &uri, &headers).await {
        Ok(r) => r,
        Err(f) => f.into_response(),
    }
}

fn since_of(uri: &Uri) -> Result<i64, ApiFailure> {
    let mut since = 0;
    for pair in uri.query().unwrap_or("").split('&') {
        if let Some(v) = pair.strip_prefix("since=") {
            if v.is_empty() {
                continue;
            }
            since = v
                .parse::<i64>()
                .ok()
                .filter(|s| *s >= 0)
                .ok_or_else(|| ApiFailure::invalid("since is not a cursor"))?;
        }
    }
    Ok(since)
}

async fn list_inner(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiFailure> {
    let device = authenticate(state, method, uri, headers, b"").await?;
    device.require_active(false)?;
    let since = since_of(uri)?;
    ensure_documents(state, &device).await?;

    let pool = state.store.pool();
    let mut documents = Vec::new();
    for row in sqlx::query(
        "SELECT id, kind, credential FROM documents \
         WHERE device_id = $1 AND removed_seq IS NULL AND seq > $2 ORDER BY seq",
    )
    .bind(&device.id)
    .bind(since)
    .fetch_all(pool)
    .await?
    {
        documents.push(SyncedDocument {
            id: row.try_get(0)?,
            kind: row.try_get(1)?,
            credential: B64(row.try_get(2)?),
        });
    }
    let removed = sqlx::query(
        "SELECT id FROM documents WHERE device_id = $1 AND removed_seq > $2 ORDER BY removed_seq",
    )
    .bind(&device.id)
    .bind(since)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<Vec<String>, _>>()?;
    let row = sqlx::query("SELECT MAX(seq), MAX(removed_seq) FROM documents WHERE device_id = $1")
        .bind(&device.id)
        .fetch_one(pool)
        .await?;
    let latest = [row.try_get::<Option<i64>, _>(0)?, row.try_get(1)?]
        .into_iter()
        .flatten()
        .fold(since, i64::max);
    let page = DocumentsPage {
        cursor: latest.to_string(),
        documents,
        removed,
    };
    let body = serde_json::to_vec(&page)
        .map_err(|_| ApiFailure::new(eid_core::api::ErrorCode::Internal, "encoding"))?;
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        json_response(StatusCode::OK, body, None)
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // Per device and signed: no shared cache may keep it.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(resp)
}

/// Issues the kinds the device does not hold yet (the identity card came with activation).
async fn ensure_documents(state: &AppState, device: &Device) -> Result<(), ApiFailure> {
    let held: Vec<String> = sqlx::query("SELECT kind FROM documents WHERE device_id = $1")
        .bind(&device.id)
        .fetch_all(state.store.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let missing: Vec<DocumentKind> = DocumentKind::ALL
        .into_iter()
        .filter(|k| *k != DocumentKind::Identity && !held.iter().any(|h| h == k.as_str()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut w = state.store.write().await?;
    let records = sqlx::query(
        "SELECT r.kind, r.record FROM registry_records r \
         JOIN accounts a ON a.id_number = r.id_number WHERE a.id = $1",
    )
    .bind(&device.account_id)
    .fetch_all(&mut *w.tx)
    .await?;
    for row in records {
        let kind: String = row.try_get(0)?;
        if !missing.iter().any(|k| k.as_str() == kind) {
            continue;
        }
        let exists = sqlx::query("SELECT 1 FROM documents WHERE device_id = $1 AND kind = $2")
            .bind(&device.id)
            .bind(&kind)
            .fetch_optional(&mut *w.tx)
            .await?
            .is_some();
        if exists {
            continue;
        }
        let record: Vec<u8> = row.try_get(1)?;
        let doc = state.keys.open_record(&record, state.now())?;
        issue::store_new(state, &mut w.tx, &device.id, &device.public_key, &doc).await?;
    }
    w.commit().await?;
    Ok(())
}
