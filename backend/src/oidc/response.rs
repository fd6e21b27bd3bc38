//! The wallet's answer and the browser's poll. The wallet posts to the hub's response URI
//! (`direct_post.jwt`); the answer is opened to find its session (`state`); the citizen's
//! consent proof beside it (`eid_consent`, docs/adr/0058) must be bound to exactly this answer
//! (`consent_action::HUB_RESPONSE` over `hub_response_digest`), single use and counted; then the
//! standard `response` is checked by `oid4vp::verify_response` exactly as any relying party
//! checks it (issuer trust list, JWT status list, KB-JWT over the session's nonce, only the
//! claims asked), and the citizen presented must be the account that consented. The subject is made of
//! the ID number there and sealed with the claims of the client's purpose; nothing else is kept.
//! The browser's poll (its own token, never in the QR code) then takes the code, once.

use crate::error::{Error, OAuthFailure};
use crate::oidc::authorize::{error_redirect, with_query};
use crate::oidc::{session, subject};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use eid_core::api::{ConsentProof, HUB_CONSENT_FIELD, consent_action, hub_response_digest};
use eid_core::oid4vp::{self, MemoryNonceLedger, ResponsePolicy};
use serde_json::{Map, Value, json};
use sqlx::Row;
use std::sync::Arc;

/// Seconds a code is valid once the browser took it.
pub const CODE_LIFETIME: u64 = 60;

/// What the ID token will say, sealed in the session until the code is redeemed.
pub fn seal_purpose(id: &str) -> String {
    format!("oidc-result/{id}")
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

const REFUSED: OAuthFailure = OAuthFailure::invalid_request("the presentation was refused");
const NO_CONSENT: OAuthFailure = OAuthFailure::invalid_request(
    "the answer carries no consent proof (eid_consent): the citizen's passcode is needed",
);
const BAD_CONSENT: OAuthFailure =
    OAuthFailure::invalid_request("the consent proof (eid_consent) is malformed");
const OTHER_CITIZEN: OAuthFailure = OAuthFailure::invalid_request(
    "the consent was given by another account than the citizen presented",
);

/// POST /v1/oidc/response
pub async fn response(State(state): State<Arc<AppState>>, body: String) -> Response {
    match answer(&state, &body).await {
        Ok(()) => no_store(axum::Json(json!({})).into_response()),
        Err(e) => e.into_response(),
    }
}

async fn answer(state: &AppState, body: &str) -> Result<(), OAuthFailure> {
    let form = oid4vp::form_decode(body).map_err(|_| REFUSED)?;
    if form.contains_key("error") {
        // The citizen declined (an unencrypted error response names its session).
        let id = form.get("state").ok_or(REFUSED)?;
        let mut w = state.store.write().await?;
        let done = sqlx::query(
            "UPDATE oidc_sessions SET status = 'refused' WHERE id = $1 AND status = 'waiting'",
        )
        .bind(id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        w.commit().await?;
        return if done == 1 { Ok(()) } else { Err(REFUSED) };
    }
    // The session is inside the JWE: open it once to find it, then verify it against that one.
    let jwe = form.get("response").ok_or(REFUSED)?;
    // The citizen's consent (docs/adr/0058): the device key's KB-JWT alone logs nobody in.
    let proof: ConsentProof = serde_json::from_str(form.get(HUB_CONSENT_FIELD).ok_or(NO_CONSENT)?)
        .map_err(|_| BAD_CONSENT)?;
    let opened = oid4vp::decrypt(jwe, &state.oidc.decryption, Some(session::ENC_KID))
        .map_err(|_| REFUSED)?;
    let id = serde_json::from_slice::<Value>(&opened.plaintext)
        .ok()
        .and_then(|v| v.get("state").and_then(Value::as_str).map(str::to_owned))
        .ok_or(REFUSED)?;
    let row = sqlx::query(
        "SELECT s.purpose, s.vp_nonce, s.rp_id, r.dns_name, r.legal_name FROM oidc_sessions s \
         JOIN relying_parties r ON r.id = s.rp_id \
         WHERE s.id = $1 AND s.status = 'waiting' AND s.expires_at > $2 AND r.status = 'active'",
    )
    .bind(&id)
    .bind(state.now_i64())
    .fetch_optional(state.store.pool())
    .await?
    .ok_or(REFUSED)?;
    let (purpose, vp_nonce, rp_id, sector, rp_name): (String, String, String, String, String) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
    );
    let pending = session::pending(state, &id, &vp_nonce, &purpose)?;
    // Bound to this session, its nonce and audience and the exact bytes of `response`; used up
    // whatever follows, and counted with the account's other consents.
    let digest = hub_response_digest(&id, &vp_nonce, &pending.client_id, jwe);
    let consenter =
        crate::consent::check_detached(state, &proof, consent_action::HUB_RESPONSE, &digest)
            .await?;
    // The standard answer alone is verified, as any relying party verifies it.
    let standard = oid4vp::form_encode(&[("response", jwe.as_str())]);
    let trust = &state.keys.trust_list;
    let status_jwt = crate::lists::current_jwt(state).await?;
    let now = state.now();
    // Synchronous, and its borrows end before the next await.
    let presentations = {
        let status_list =
            |uri: &str| eid_core::sdjwt::verify_status_list_jwt(&status_jwt, uri, trust, now).ok();
        let policy = ResponsePolicy {
            issuer_trust: trust.anchor_store(),
            now,
            max_age: session::LOGIN_LIFETIME,
            status_list: &status_list,
            decryption_key: Some(&state.oidc.decryption),
        };
        // The session leaves `waiting` once (below): that is this nonce's ledger.
        oid4vp::verify_response(
            &pending,
            &standard,
            &policy,
            &mut MemoryNonceLedger::default(),
        )
        .map_err(|e| {
            tracing::info!(reason = %e, "OIDC login: presentation refused");
            REFUSED
        })?
    };
    let claims: Map<String, Value> = presentations.into_iter().flat_map(|p| p.claims).collect();
    let id_number = claims
        .get("personal_administrative_number")
        .and_then(Value::as_str)
        .ok_or(REFUSED)?;
    // The same citizen: the consenting device's account (active, the device not replaced) is
    // the one of the ID number presented.
    let same = sqlx::query(
        "SELECT 1 FROM devices d JOIN accounts a ON a.id = d.account_id \
         WHERE d.id = $1 AND a.id = $2 AND a.id_number = $3 AND d.revoked_at IS NULL \
         AND a.state = 'active'",
    )
    .bind(&consenter.device_id)
    .bind(&consenter.account_id)
    .bind(id_number)
    .fetch_optional(state.store.pool())
    .await?;
    if same.is_none() {
        tracing::info!("OIDC login: the consent is another account's than the citizen presented");
        return Err(OTHER_CITIZEN);
    }
    let sub = subject::pairwise(&state.oidc.pairwise, &sector, id_number);
    let released: Map<String, Value> = session::released_claims(&purpose)
        .iter()
        .filter_map(|c| claims.get(*c).map(|v| ((*c).to_owned(), v.clone())))
        .collect();
    let result = serde_json::to_vec(&json!({ "sub": sub, "claims": released }))
        .map_err(|_| Error::Config("encoding".into()))?;
    let sealed = state.oidc.seal.seal(&seal_purpose(&id), &result)?;
    let mut w = state.store.write().await?;
    let done = sqlx::query(
        "UPDATE oidc_sessions SET status = 'answered', sealed_result = $1 \
         WHERE id = $2 AND status = 'waiting'",
    )
    .bind(sealed)
    .bind(&id)
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    if done != 1 {
        return Err(REFUSED);
    }
    // One presentation verified for the relying party (docs/adr/0050): billed whether or not
    // its code is redeemed later (that is the `login`).
    crate::metering::record_in(
        &mut w.tx,
        &rp_id,
        &purpose,
        crate::metering::BillableKind::PresentationVerification,
        now,
    )
    .await?;
    // The citizen's disclosure history (docs/adr/0050): names, never values.
    let passed: Vec<String> = session::released_paths(&purpose)
        .iter()
        .map(eid_core::wallet::claim_text)
        .collect();
    crate::disclosures::record_in(
        &mut w.tx,
        &crate::disclosures::NewDisclosure {
            id_number,
            rp_id: &rp_id,
            rp_client_id: &crate::relying_parties::client_id_of(&sector),
            rp_name: &rp_name,
            purpose: &purpose,
            claims: &passed,
            via: "oidc",
        },
        &oid4vp::fresh_nonce(&mut eid_crypto::OsRng),
        now,
    )
    .await?;
    w.commit().await?;
    tracing::info!(rp = %rp_id, purpose = %purpose, "OIDC login answered by the wallet");
    Ok(())
}

/// GET /v1/oidc/poll/{token}: `waiting`, or where the browser goes now (once with the code).
pub async fn poll(State(state): State<Arc<AppState>>, Path(token): Path<String>) -> Response {
    match poll_inner(&state, &token).await {
        Ok(v) => no_store(axum::Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}

async fn poll_inner(state: &AppState, token: &str) -> Result<Value, OAuthFailure> {
    let row = sqlx::query(
        "SELECT id, status, redirect_uri, rp_state, expires_at FROM oidc_sessions \
         WHERE poll_hash = $1",
    )
    .bind(session::sha256(token))
    .fetch_optional(state.store.pool())
    .await?
    .ok_or(OAuthFailure::not_found("no such login"))?;
    let (id, status, redirect_uri, rp_state, expires_at): (
        String,
        String,
        String,
        Option<String>,
        i64,
    ) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
    );
    let now = state.now_i64();
    Ok(match status.as_str() {
        "waiting" if expires_at > now => json!({"status": "waiting"}),
        "waiting" | "refused" => json!({
            "status": "refused",
            "redirect_uri": error_redirect(&redirect_uri, rp_state.as_deref(), "access_denied"),
        }),
        "answered" => {
            let code = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(crate::http::random_bytes(32)?);
            let mut w = state.store.write().await?;
            let done = sqlx::query(
                "UPDATE oidc_sessions SET status = 'code_issued', code_hash = $1, \
                 expires_at = $2 WHERE id = $3 AND status = 'answered'",
            )
            .bind(session::sha256(&code))
            .bind(now + CODE_LIFETIME as i64)
            .bind(&id)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
            w.commit().await?;
            if done != 1 {
                return Ok(json!({"status": "done"}));
            }
            let mut pairs = vec![("code", code.as_str())];
            if let Some(s) = rp_state.as_deref() {
                pairs.push(("state", s));
            }
            let query = oid4vp::form_encode(&pairs);
            json!({"status": "done", "redirect_uri": with_query(&redirect_uri, &query)})
        }
        _ => json!({"status": "done"}),
    })
}
