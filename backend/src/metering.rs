//! Metering of the relying-party hub (issue 16, docs/adr/0036): every billable event (a login,
//! a presentation verification, a chip check) adds one to a counter per relying party, purpose,
//! kind and UTC day in `billable_events`. What, to whom, when: never a claim value, never a
//! citizen. One upsert per event, atomic on SQLite and PostgreSQL, so any number of instances
//! count into the same rows. `GET /v1/admin/metering` reports them.

use crate::error::{ApiFailure, Error};
use crate::http::Answer;
use crate::presentation::require_admin;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use eid_core::api::{MeteringReport, MeteringRow};
use eid_core::credential::Date;
use sqlx::Row;
use std::sync::Arc;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillableKind {
    /// A "log in with e-ID" completed.
    Login,
    /// An OpenID4VP presentation verified for the relying party.
    PresentationVerification,
    /// Chip evidence checked for the relying party (bank eKYC).
    ChipCheck,
}

impl BillableKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BillableKind::Login => "login",
            BillableKind::PresentationVerification => "presentation_verification",
            BillableKind::ChipCheck => "chip_check",
        }
    }
}

const UPSERT: &str = "INSERT INTO billable_events (rp_id, purpose, kind, day, count) \
                      VALUES ($1, $2, $3, $4, 1) \
                      ON CONFLICT (rp_id, purpose, kind, day) \
                      DO UPDATE SET count = billable_events.count + 1";

fn day_of(at: u64) -> i64 {
    i64::try_from(at / 86_400).unwrap_or(i64::MAX)
}

/// Counts one event of relying party `rp_id` (its registration id) for `purpose` at `at`
/// (Unix seconds), on its own.
pub async fn record(
    state: &AppState,
    rp_id: &str,
    purpose: &str,
    kind: BillableKind,
    at: u64,
) -> Result<(), Error> {
    state
        .store
        .execute_alone(
            sqlx::query(UPSERT)
                .bind(rp_id)
                .bind(purpose)
                .bind(kind.as_str())
                .bind(day_of(at)),
        )
        .await?;
    Ok(())
}

/// [`record`] inside a flow's own transaction (counted only if it commits).
pub async fn record_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    rp_id: &str,
    purpose: &str,
    kind: BillableKind,
    at: u64,
) -> Result<(), Error> {
    sqlx::query(UPSERT)
        .bind(rp_id)
        .bind(purpose)
        .bind(kind.as_str())
        .bind(day_of(at))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The longest report (days).
const MAX_DAYS: i64 = 366;

/// The counts from day `from` to day `to` (both included, days since 1970-01-01), by client id,
/// purpose, kind and day.
pub async fn report(state: &AppState, from: i64, to: i64) -> Result<Vec<MeteringRow>, Error> {
    let rows = sqlx::query(
        "SELECT r.client_id, b.purpose, b.kind, b.day, b.count FROM billable_events b \
         JOIN relying_parties r ON r.id = b.rp_id WHERE b.day >= $1 AND b.day <= $2 \
         ORDER BY r.client_id, b.purpose, b.kind, b.day",
    )
    .bind(from)
    .bind(to)
    .fetch_all(state.store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let day: i64 = r.try_get(3)?;
            Ok(MeteringRow {
                client_id: r.try_get(0)?,
                purpose: r.try_get(1)?,
                kind: r.try_get(2)?,
                day: Date::from_unix_days(day)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                count: u64::try_from(r.try_get::<i64, _>(4)?).unwrap_or(0),
            })
        })
        .collect()
}

/// `from` and `to` of the query string as days; `to` defaults to today, `from` to 30 days
/// before `to`.
fn range(query: Option<&str>, today: i64) -> Result<(i64, i64), ApiFailure> {
    let bad =
        || ApiFailure::invalid("from and to are dates YYYY-MM-DD, from <= to, at most 366 days");
    let (mut from, mut to) = (None, None);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(bad)?;
        let day = Date::parse_iso(v).ok_or_else(bad)?.unix_days();
        match k {
            "from" => from = Some(day),
            "to" => to = Some(day),
            _ => return Err(ApiFailure::invalid("the parameters are from and to")),
        }
    }
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - 30);
    if from > to || to - from >= MAX_DAYS {
        return Err(bad());
    }
    Ok((from, to))
}

/// GET /v1/admin/metering?from=YYYY-MM-DD&to=YYYY-MM-DD
pub async fn metering(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let run = async {
        require_admin(&state, &headers)?;
        let (from, to) = range(query.as_deref(), day_of(state.now()))?;
        let day = |d: i64| {
            Date::from_unix_days(d)
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        Answer::ok(&MeteringReport {
            from: day(from),
            to: day(to),
            rows: report(&state, from, to).await?,
        })
    };
    run.await.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_defaults_and_refuses() {
        let today = 20_000;
        assert_eq!(range(None, today).unwrap(), (today - 30, today));
        let d = |s: &str| Date::parse_iso(s).unwrap().unix_days();
        assert_eq!(
            range(Some("from=2026-01-01&to=2026-01-31"), today).unwrap(),
            (d("2026-01-01"), d("2026-01-31"))
        );
        for bad in [
            "from=2026-02-01&to=2026-01-01",
            "from=2024-01-01&to=2026-01-01",
            "from=yesterday",
            "since=2026-01-01",
            "from",
        ] {
            assert!(range(Some(bad), today).is_err(), "{bad}");
        }
    }
}
