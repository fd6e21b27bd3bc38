//! The citizen's disclosure history of hub-mediated flows (docs/adr/0050): each presentation
//! the hub verified for a relying party ("Log in with e-ID") is recorded, in the transaction
//! that accepts it, for the account whose identity the wallet presented: the relying party, the
//! time, the purpose and the names of the claims it receives, never a value.
//! `GET /v1/disclosures` (device-signed, like `/v1/documents`) gives them to the citizen's
//! wallet, which merges them with its own log of direct flows.

use crate::auth::authenticate;
use crate::error::{ApiFailure, Error};
use crate::http::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use eid_core::api::{DisclosureList, HubDisclosure};
use sqlx::Row;
use std::sync::Arc;

/// At most this many (the newest) in one answer.
const MAX_ANSWER: i64 = 1000;

/// One disclosure to record.
pub struct NewDisclosure<'a> {
    pub id_number: &'a str,
    pub rp_id: &'a str,
    pub rp_client_id: &'a str,
    pub rp_name: &'a str,
    pub purpose: &'a str,
    pub claims: &'a [String],
    pub via: &'a str,
}

/// Records `d` in `tx` for the account of its ID number (none: a citizen without an account
/// here, nothing recorded).
pub async fn record_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    d: &NewDisclosure<'_>,
    id: &str,
    now: u64,
) -> Result<(), Error> {
    let account: Option<String> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE id_number = $1")
            .bind(d.id_number)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(account) = account else {
        return Ok(());
    };
    let claims = serde_json::to_string(d.claims).map_err(|_| Error::Config("encoding".into()))?;
    sqlx::query(
        "INSERT INTO hub_disclosures (id, account_id, rp_id, rp_client_id, rp_name, purpose, \
         claims, via, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(account)
    .bind(d.rp_id)
    .bind(d.rp_client_id)
    .bind(d.rp_name)
    .bind(d.purpose)
    .bind(claims)
    .bind(d.via)
    .bind(i64::try_from(now).unwrap_or(i64::MAX))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// GET /v1/disclosures
pub async fn list(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let device = authenticate(&state, &method, &uri, &headers, b"").await?;
        // A locked account still sees what was disclosed; a revoked device nothing.
        device.require_active(true)?;
        let rows = sqlx::query(
            "SELECT id, at, rp_client_id, rp_name, purpose, claims, via FROM hub_disclosures \
             WHERE account_id = $1 ORDER BY at DESC, id LIMIT $2",
        )
        .bind(&device.account_id)
        .bind(MAX_ANSWER)
        .fetch_all(state.store.pool())
        .await
        .map_err(Error::from)?;
        let mut disclosures = rows
            .iter()
            .map(|r| {
                let claims: String = r.try_get(5)?;
                let at: i64 = r.try_get(1)?;
                Ok(HubDisclosure {
                    id: r.try_get(0)?,
                    at: u64::try_from(at).unwrap_or(0),
                    rp_client_id: r.try_get(2)?,
                    rp_name: r.try_get(3)?,
                    purpose: r.try_get(4)?,
                    claims: serde_json::from_str(&claims)
                        .map_err(|_| Error::Registry("stored disclosure".into()))?,
                    via: r.try_get(6)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        disclosures.reverse();
        Answer::ok(&DisclosureList { disclosures })
    };
    run.await.map_err(|e: ApiFailure| e).into_response()
}
