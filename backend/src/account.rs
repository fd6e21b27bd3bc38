//! GET /v1/account, POST /v1/account/lock and /v1/account/unlock (device-signed; unlocking
//! also needs the citizen's consent, docs/adr/0017).

use crate::auth::{Device, Scope, SignedCall, authenticate, device_post};
use crate::coherence::{self, Change};
use crate::error::ApiFailure;
use crate::http::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use eid_core::api::{
    AccountLockRequest, AccountRemoteState, AccountStatus, account_unlock_digest, consent_action,
};
use std::sync::Arc;

fn status_of(device: &Device, locked: bool) -> AccountStatus {
    AccountStatus {
        account_id: device.account_id.clone(),
        level: device.level,
        state: if device.revoked {
            AccountRemoteState::Revoked
        } else if locked {
            AccountRemoteState::Locked
        } else {
            AccountRemoteState::Active
        },
    }
}

/// A revoked device may still ask: the answer (`revoked`) is what tells it to wipe.
pub async fn get(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let device = authenticate(&state, &method, &uri, &headers, b"").await;
    device
        .and_then(|device| Answer::ok(&status_of(&device, device.account_locked)))
        .into_response()
}

pub async fn lock(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    set_locked(&state, &call, true).await
}

pub async fn unlock(State(state): State<Arc<AppState>>, call: SignedCall) -> Response {
    set_locked(&state, &call, false).await
}

async fn set_locked(state: &AppState, call: &SignedCall, locked: bool) -> Response {
    let endpoint = if locked {
        "account_lock"
    } else {
        "account_unlock"
    };
    let post = (Scope::Account, true);
    device_post(state, call, endpoint, post, async |state, device, req| {
        set_locked_inner(state, device, req, locked).await
    })
    .await
}

async fn set_locked_inner(
    state: &AppState,
    device: &Device,
    req: &AccountLockRequest,
    locked: bool,
) -> Result<Answer, ApiFailure> {
    // Unlocking needs the citizen (docs/adr/0017); locking does not: a lost phone must be
    // lockable with what is left of it.
    if !locked {
        crate::consent::check(
            state,
            device,
            req.consent.as_ref(),
            consent_action::ACCOUNT_UNLOCK,
            &account_unlock_digest(&device.account_id),
        )
        .await?;
    }
    let mut w = state.store.write().await?;
    sqlx::query("UPDATE accounts SET state = $1, updated_at = $2 WHERE id = $3")
        .bind(if locked { "locked" } else { "active" })
        .bind(state.now_i64())
        .bind(&device.account_id)
        .execute(&mut *w.tx)
        .await?;
    let changes = [Change::Account(&device.account_id), Change::StatusList];
    let answer = Answer::ok(&status_of(device, locked));
    crate::idempotency::record(&mut w.tx, &answer).await?;
    coherence::commit(state, w, &changes).await?;
    tracing::info!(locked, "account lock changed");
    answer
}
