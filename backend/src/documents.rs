//! GET /v1/documents: the device's credentials, issued on first request and kept, with a
//! since-cursor (an unchanged wallet gets an empty page) and an ETag.

use crate::auth::{Device, authenticate};
use crate::cache::Cache;
use crate::coherence::{self, Change};
use crate::error::ApiFailure;
use crate::issue;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use eid_core::api::{B64, DocumentsPage, SyncedDocument};
use eid_core::credential::{AccountLevel, Document, DocumentKind, EidAccount};
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

/// One encoded page of a device for one cursor, as sent.
#[derive(Debug)]
pub struct Page {
    since: i64,
    body: Bytes,
    etag: HeaderValue,
    /// When the device's oldest credential falls due for renewal: the page is stale from then.
    renew_at: i64,
}

/// Encoded pages per device id (a few cursors each), dropped (`coherence::Change::Pages`)
/// whenever a credential of the device is issued, renewed or removed.
pub type PageCache = Cache<String, Vec<Arc<Page>>>;

/// Cursors kept per device: the full page and the few a wallet asks with after syncing.
const PAGES_PER_DEVICE: usize = 4;

async fn list_inner(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiFailure> {
    let device = authenticate(state, method, uri, headers, b"").await?;
    device.require_active(false)?;
    let since = since_of(uri)?;
    let now = state.now_i64();
    let (pages, _) = state.pages.get(device.id.as_str());
    let cached = pages.and_then(|pages| {
        pages
            .iter()
            .find(|p| p.since == since && now < p.renew_at)
            .cloned()
    });
    let page = match cached {
        Some(page) => page,
        None => build_page(state, &device, since).await?,
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().as_bytes() == page.etag.as_bytes() || t.trim() == "*")
        });
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            page.body.clone(),
        )
            .into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, page.etag.clone());
    // Per device and signed: no shared cache may keep it.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(resp)
}

/// Issues and renews what is due, reads and encodes the page of `since`, and caches it.
async fn build_page(
    state: &AppState,
    device: &Device,
    since: i64,
) -> Result<Arc<Page>, ApiFailure> {
    ensure_documents(state, device).await?;
    crate::dependants::ensure(state, device).await?;
    renew_documents(state, device).await?;
    // After our own writes (which invalidate): what is read from here on may be cached.
    let (kept, generation) = state.pages.get(device.id.as_str());

    let pool = state.store.pool();
    let dependants = crate::dependants::of_account(state, &device.account_id).await?;
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
        let stored: String = row.try_get(1)?;
        let (kind, dependant) = crate::dependants::split_kind(&stored);
        documents.push(SyncedDocument {
            id: row.try_get(0)?,
            kind: kind.to_owned(),
            credential: B64(row.try_get(2)?),
            dependant: dependant.and_then(|r| dependants.iter().find(|d| d.id == r).cloned()),
        });
    }
    // Removed: credentials replaced by a renewal, and (for completeness: such a device is
    // refused before this point) those of a revoked binding.
    let mut removed = Vec::new();
    for query in [
        "SELECT id FROM document_tombstones WHERE device_id = $1 AND seq > $2 ORDER BY seq",
        "SELECT id FROM documents WHERE device_id = $1 AND removed_seq > $2 ORDER BY removed_seq",
    ] {
        for row in sqlx::query(query)
            .bind(&device.id)
            .bind(since)
            .fetch_all(pool)
            .await?
        {
            removed.push(row.try_get::<String, _>(0)?);
        }
    }
    let row = sqlx::query(
        "SELECT MAX(seq), MAX(removed_seq), \
         (SELECT MAX(seq) FROM document_tombstones WHERE device_id = $1), \
         MIN(CASE WHEN removed_seq IS NULL THEN created_at END) \
         FROM documents WHERE device_id = $1",
    )
    .bind(&device.id)
    .fetch_one(pool)
    .await?;
    let latest = [
        row.try_get::<Option<i64>, _>(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
    ]
    .into_iter()
    .flatten()
    .fold(since, i64::max);
    let oldest: Option<i64> = row.try_get(3)?;
    let renew_after =
        i64::try_from(issue::CREDENTIAL_LIFETIME - issue::RENEW_BEFORE).unwrap_or(i64::MAX);
    let page = DocumentsPage {
        cursor: latest.to_string(),
        documents,
        removed,
    };
    let body = serde_json::to_vec(&page)
        .map_err(|_| ApiFailure::new(eid_core::api::ErrorCode::Internal, "encoding"))?;
    let etag = HeaderValue::from_str(&format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(&body)[..16])
    ))
    .map_err(|_| ApiFailure::new(eid_core::api::ErrorCode::Internal, "encoding"))?;
    let page = Arc::new(Page {
        since,
        body: Bytes::from(body),
        etag,
        renew_at: oldest.map_or(i64::MAX, |o| o.saturating_add(renew_after)),
    });
    let mut pages: Vec<Arc<Page>> = kept
        .iter()
        .flat_map(|k| k.iter())
        .filter(|p| p.since != since)
        .cloned()
        .collect();
    if pages.len() >= PAGES_PER_DEVICE {
        pages.remove(0);
    }
    pages.push(page.clone());
    state
        .pages
        .insert(device.id.clone(), Arc::new(pages), generation);
    Ok(page)
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
    let declared_missing: Vec<&crate::kinds::DeclaredKind> = state
        .kinds
        .declared
        .iter()
        .filter(|k| !held.contains(&k.declaration.name))
        .collect();
    if missing.is_empty() && declared_missing.is_empty() {
        return Ok(());
    }
    let mut w = state.store.write().await?;
    // The kinds declared as data (docs/adr/0060): the citizen's entry in the kind's registry,
    // issued from its declaration.
    if !declared_missing.is_empty() {
        let id_number = id_number_of(&mut w.tx, device).await?;
        for kind in declared_missing {
            let Some(json) = declared_document(kind, &id_number) else {
                continue;
            };
            let exists = sqlx::query("SELECT 1 FROM documents WHERE device_id = $1 AND kind = $2")
                .bind(&device.id)
                .bind(&kind.declaration.name)
                .fetch_optional(&mut *w.tx)
                .await?
                .is_some();
            if exists {
                continue;
            }
            issue::store_new_as(
                state,
                &mut w.tx,
                &device.id,
                &device.public_key,
                issue::ToIssue::Declared(kind, json),
                &kind.declaration.name,
            )
            .await?;
        }
    }
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
    coherence::commit(state, w, &[Change::Pages(&device.id)]).await?;
    Ok(())
}

/// The ID number of the device's citizen.
async fn id_number_of(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    device: &Device,
) -> Result<String, ApiFailure> {
    Ok(sqlx::query("SELECT id_number FROM accounts WHERE id = $1")
        .bind(&device.account_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?)
}

/// The citizen's document in a declared kind's registry, if any.
fn declared_document<'a>(
    kind: &'a crate::kinds::DeclaredKind,
    id_number: &str,
) -> Option<&'a serde_json::Value> {
    kind.documents
        .iter()
        .find(|(n, _)| n == id_number)
        .map(|(_, doc)| doc)
}

/// The model of `kind` for the account's citizen; the identity card carries the account.
async fn model(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    device: &Device,
    kind: DocumentKind,
) -> Result<Document, ApiFailure> {
    let record: Vec<u8> = sqlx::query(
        "SELECT r.record FROM registry_records r \
         JOIN accounts a ON a.id_number = r.id_number WHERE a.id = $1 AND r.kind = $2",
    )
    .bind(&device.account_id)
    .bind(kind.as_str())
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    Ok(match state.keys.open_record(&record, state.now())? {
        Document::Identity(card) => Document::Identity(card.with_account(EidAccount {
            id: device.account_id.clone(),
            level: AccountLevel::Level2,
        })),
        other => other,
    })
}

/// Renews the device's credentials that expire within [`issue::RENEW_BEFORE`].
async fn renew_documents(state: &AppState, device: &Device) -> Result<(), ApiFailure> {
    let issued_before = state.now_i64()
        - i64::try_from(issue::CREDENTIAL_LIFETIME - issue::RENEW_BEFORE).unwrap_or(i64::MAX);
    let due = "SELECT id, kind, status_index FROM documents \
               WHERE device_id = $1 AND removed_seq IS NULL AND created_at <= $2";
    let any_due = sqlx::query(due)
        .bind(&device.id)
        .bind(issued_before)
        .fetch_optional(state.store.pool())
        .await?
        .is_some();
    if !any_due {
        return Ok(());
    }
    let mut w = state.store.write().await?;
    // Read again under the write transaction: a concurrent sync may have renewed them.
    let rows = sqlx::query(due)
        .bind(&device.id)
        .bind(issued_before)
        .fetch_all(&mut *w.tx)
        .await?;
    for row in rows {
        let id: String = row.try_get(0)?;
        let kind: String = row.try_get(1)?;
        let index: i64 = row.try_get(2)?;
        let (kind, dependant) = crate::dependants::split_kind(&kind);
        let Some(kind) = DocumentKind::parse(kind) else {
            // A kind declared as data (docs/adr/0060): renewed from its registry entry.
            let declared = state
                .kinds
                .kind(kind)
                .ok_or_else(|| crate::kinds::unknown(kind))?;
            let id_number = id_number_of(&mut w.tx, device).await?;
            let json = declared_document(declared, &id_number)
                .ok_or_else(|| crate::kinds::unknown(kind))?;
            issue::renew(
                state,
                &mut w.tx,
                &device.id,
                &device.public_key,
                &id,
                index,
                issue::ToIssue::Declared(declared, json),
            )
            .await?;
            continue;
        };
        let doc = match dependant {
            Some(r) => crate::dependants::model(state, &mut w.tx, device, r, kind).await?,
            None => model(state, &mut w.tx, device, kind).await?,
        };
        issue::renew(
            state,
            &mut w.tx,
            &device.id,
            &device.public_key,
            &id,
            index,
            issue::ToIssue::Typed(&doc),
        )
        .await?;
    }
    // The replaced credentials are revoked (the status list).
    coherence::commit(state, w, &[Change::Pages(&device.id), Change::StatusList]).await?;
    tracing::info!("credentials renewed");
    Ok(())
}
