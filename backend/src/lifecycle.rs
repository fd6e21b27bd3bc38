//! POST /v1/admin/registry/changes (issue 18, docs/adr/0056), admin token only: a registry
//! authority's change to a citizen's record, pushed to the wallets.
//!
//! - `licence_points`: points deducted from the driving licence (never below 0);
//! - `bhyt_renew`: the health insurance card renewed to a new end date;
//! - `licence_suspend`: the licence taken away (tước GPLX) until a date;
//! - `permanent_address`: a new permanent residence (thường trú) on the identity card's
//!   record (docs/adr/0062): the identity card is re-issued with it, carrying the account as
//!   at activation;
//! - `record_update`: a new entry from the authority's own systems in a vaccination record (a
//!   dose given at a clinic) or residence information (a new address), merged exactly as a
//!   verified citizen submission is (`apply_proposal`, docs/adr/0057) and checked by the kind's
//!   declaration.
//!
//! A change of content re-signs the registry record and re-issues the citizen's credentials of
//! that kind on every active device (`issue::renew`: the old one becomes a tombstone, revoked),
//! so the next sync delivers the new version. A suspension changes no content: the status list
//! marks every credential of the record suspended (`lists`) until the date, so an offline
//! verifier holding a fresh list sees it. Every change is kept in `registry_changes` (type and
//! reason, never values). The answer names the kind and how many credentials were re-issued;
//! no personal data is logged.

use crate::coherence::{self, Change};
use crate::error::{ApiFailure, Error, invalid_detail};
use crate::http::{Answer, parse};
use crate::issue;
use crate::presentation::require_admin;
use crate::registry;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use eid_core::api::ErrorCode;
use eid_core::credential::{
    AccountLevel, CITIZEN_ENTERED, Date, Document, DocumentKind, EidAccount, apply_proposal,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::sync::Arc;

/// Most points a licence holds (2024 law art. 58): the most one change deducts.
const MAX_POINTS: u8 = 12;
/// Longest permanent address taken (characters).
const MAX_ADDRESS: usize = 300;

/// One change, as the admin sends it (`{"type": "licence_points", ...}`).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RegistryChange {
    LicencePoints {
        id_number: String,
        deduct: u8,
        reason: String,
    },
    LicenceSuspend {
        id_number: String,
        /// ISO date, inclusive: the licence is usable again the day after.
        until: String,
        reason: String,
    },
    BhytRenew {
        id_number: String,
        /// ISO date: the card's new end of validity.
        valid_until: String,
    },
    PermanentAddress {
        id_number: String,
        /// The new permanent residence as the card prints it.
        address: String,
        reason: String,
    },
    RecordUpdate {
        id_number: String,
        /// `vaccination` or `residence` (the kinds `apply_proposal` merges).
        kind: String,
        /// The fields to merge, as a citizen's proposal carries them (`{"doses": [..]}`).
        fields: serde_json::Value,
        reason: String,
    },
}

impl RegistryChange {
    fn id_number(&self) -> &str {
        match self {
            RegistryChange::LicencePoints { id_number, .. }
            | RegistryChange::LicenceSuspend { id_number, .. }
            | RegistryChange::BhytRenew { id_number, .. }
            | RegistryChange::PermanentAddress { id_number, .. }
            | RegistryChange::RecordUpdate { id_number, .. } => id_number,
        }
    }

    fn kind(&self) -> Result<DocumentKind, ApiFailure> {
        Ok(match self {
            RegistryChange::LicencePoints { .. } | RegistryChange::LicenceSuspend { .. } => {
                DocumentKind::DrivingLicence
            }
            RegistryChange::BhytRenew { .. } => DocumentKind::HealthInsurance,
            RegistryChange::PermanentAddress { .. } => DocumentKind::Identity,
            RegistryChange::RecordUpdate { kind, .. } => DocumentKind::parse(kind)
                .filter(|k| CITIZEN_ENTERED.contains(k))
                .ok_or(ApiFailure::invalid(
                    "record_update takes a vaccination or residence record",
                ))?,
        })
    }

    fn type_name(&self) -> &'static str {
        match self {
            RegistryChange::LicencePoints { .. } => "licence_points",
            RegistryChange::LicenceSuspend { .. } => "licence_suspend",
            RegistryChange::BhytRenew { .. } => "bhyt_renew",
            RegistryChange::PermanentAddress { .. } => "permanent_address",
            RegistryChange::RecordUpdate { .. } => "record_update",
        }
    }

    fn reason(&self) -> &str {
        match self {
            RegistryChange::LicencePoints { reason, .. }
            | RegistryChange::LicenceSuspend { reason, .. }
            | RegistryChange::PermanentAddress { reason, .. }
            | RegistryChange::RecordUpdate { reason, .. } => reason,
            RegistryChange::BhytRenew { .. } => "renewal",
        }
    }
}

/// The answer: what was changed and how many wallets' credentials were re-issued.
#[derive(Debug, Serialize, Deserialize)]
pub struct RegistryChangeResult {
    #[serde(rename = "type")]
    pub change_type: String,
    pub kind: String,
    pub reissued: u64,
    /// Unix seconds until which the record's credentials are suspended (`licence_suspend`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub suspended_until: Option<u64>,
}

/// POST /v1/admin/registry/changes
pub async fn change(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change_inner(&state, &headers, &body).await.into_response()
}

fn date(s: &str) -> Result<Date, ApiFailure> {
    Date::parse_iso(s).ok_or_else(|| ApiFailure::invalid("a date is not an ISO date"))
}

/// The document with `change` applied (content changes of a fixed shape; `record_update` is
/// merged by `apply_proposal`).
fn apply(change: &RegistryChange, doc: Document) -> Result<Document, ApiFailure> {
    match (change, doc) {
        (RegistryChange::LicencePoints { deduct, .. }, Document::DrivingLicence(mut l)) => {
            if *deduct == 0 || *deduct > MAX_POINTS {
                return Err(ApiFailure::invalid("deduct must be 1 to 12"));
            }
            l.points = l.points.saturating_sub(*deduct);
            Ok(Document::DrivingLicence(l))
        }
        (RegistryChange::BhytRenew { valid_until, .. }, Document::HealthInsurance(mut c)) => {
            let to = date(valid_until)?;
            if to <= c.valid_to {
                return Err(ApiFailure::invalid(
                    "valid_until must be after the card's current end date",
                ));
            }
            c.valid_to = to;
            Ok(Document::HealthInsurance(c))
        }
        (RegistryChange::PermanentAddress { address, .. }, Document::Identity(mut c)) => {
            let address = address.trim();
            if address.is_empty()
                || address.chars().count() > MAX_ADDRESS
                || address.chars().any(char::is_control)
            {
                return Err(ApiFailure::invalid(
                    "address must be 1 to 300 characters, none a control character",
                ));
            }
            if address == c.place_of_residence {
                return Err(ApiFailure::invalid(
                    "address is the card's current permanent residence",
                ));
            }
            c.place_of_residence = address.to_owned();
            Ok(Document::Identity(c))
        }
        _ => Err(ApiFailure::from(Error::Registry("record kind".into()))),
    }
}

async fn change_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer, ApiFailure> {
    require_admin(state, headers)?;
    let change: RegistryChange = parse(body)?;
    if change.reason().trim().is_empty() || change.reason().len() > 500 {
        return Err(ApiFailure::invalid("reason must be 1 to 500 characters"));
    }
    let kind = change.kind()?;
    let id_number = change.id_number();
    let now = state.now();
    let now_i64 = state.now_i64();
    let mut w = state.store.write().await?;
    let record: Option<Vec<u8>> =
        sqlx::query("SELECT record FROM registry_records WHERE id_number = $1 AND kind = $2")
            .bind(id_number)
            .bind(kind.as_str())
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(Error::from)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(Error::from)?;
    let record = record.ok_or(ApiFailure::new(
        ErrorCode::NotFound,
        "no registry record of this kind for this ID number",
    ))?;
    sqlx::query(
        "INSERT INTO registry_changes (id_number, kind, change_type, reason, at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_number)
    .bind(kind.as_str())
    .bind(change.type_name())
    .bind(change.reason())
    .bind(now_i64)
    .execute(&mut *w.tx)
    .await
    .map_err(Error::from)?;

    if let RegistryChange::LicenceSuspend { until, .. } = &change {
        // Through the end of the day `until` (UTC).
        let until = date(until)?.unix_seconds().saturating_add(86_399);
        if until <= now {
            return Err(ApiFailure::invalid("until must be in the future"));
        }
        let until_i64 = i64::try_from(until).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO registry_suspensions (id_number, kind, until, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id_number, kind) DO UPDATE \
             SET until = excluded.until, reason = excluded.reason, created_at = excluded.created_at",
        )
        .bind(id_number)
        .bind(kind.as_str())
        .bind(until_i64)
        .bind(change.reason())
        .bind(now_i64)
        .execute(&mut *w.tx)
        .await
        .map_err(Error::from)?;
        coherence::commit(state, w, &[Change::StatusList]).await?;
        tracing::info!(kind = %kind, "registry record suspended");
        return Answer::ok(&RegistryChangeResult {
            change_type: change.type_name().into(),
            kind: kind.as_str().into(),
            reissued: 0,
            suspended_until: Some(until),
        });
    }

    let current = state.keys.open_record(&record, now)?;
    let doc = match &change {
        RegistryChange::RecordUpdate {
            id_number, fields, ..
        } => match apply_proposal(
            kind,
            Some(&current),
            fields,
            id_number,
            Date::from_unix(now),
        ) {
            Ok(doc) => doc,
            // The field path and the rule, never a value (nothing is written: `w` rolls back).
            Err(e) => return Ok(invalid_detail(format!("the change cannot be merged: {e}"))),
        },
        _ => apply(&change, current)?,
    };
    doc.validate()
        .map_err(|_| ApiFailure::invalid("the changed document breaks its kind's rules"))?;
    let signed = registry::sign_record(&doc, state.keys.issuer_at(kind, now)?, now)?;
    sqlx::query("UPDATE registry_records SET record = $1 WHERE id_number = $2 AND kind = $3")
        .bind(&signed)
        .bind(id_number)
        .bind(kind.as_str())
        .execute(&mut *w.tx)
        .await
        .map_err(Error::from)?;
    let devices = reissue_held(state, &mut w.tx, id_number, &doc).await?;
    let mut changes: Vec<Change<'_>> = devices.iter().map(|d| Change::Pages(d)).collect();
    // The replaced credentials are revoked.
    changes.push(Change::StatusList);
    coherence::commit(state, w, &changes).await?;
    tracing::info!(kind = %kind, reissued = devices.len(), "registry record changed");
    Answer::ok(&RegistryChangeResult {
        change_type: change.type_name().into(),
        kind: kind.as_str().into(),
        reissued: devices.len() as u64,
        suspended_until: None,
    })
}

/// Re-issues every held credential of the record of `doc`'s kind for the citizen `id_number`,
/// on the citizen's active devices, with `doc` (`issue::renew`: the old credential becomes a
/// tombstone, revoked). Returns the devices whose credential was re-issued (their pages and
/// the status list are to be invalidated at commit). Also used by verified citizen submissions
/// (docs/adr/0057).
pub(crate) async fn reissue_held(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id_number: &str,
    doc: &Document,
) -> Result<Vec<String>, ApiFailure> {
    let kind = doc.kind();
    let rows = sqlx::query(
        "SELECT d.id, d.status_index, d.device_id, v.public_key, a.id FROM documents d \
         JOIN devices v ON v.id = d.device_id JOIN accounts a ON a.id = v.account_id \
         WHERE a.id_number = $1 AND d.kind = $2 AND d.removed_seq IS NULL \
         AND v.revoked_at IS NULL",
    )
    .bind(id_number)
    .bind(kind.as_str())
    .fetch_all(&mut **tx)
    .await
    .map_err(Error::from)?;
    let mut devices = Vec::new();
    for row in &rows {
        let id: String = row.try_get(0).map_err(Error::from)?;
        let index: i64 = row.try_get(1).map_err(Error::from)?;
        let device_id: String = row.try_get(2).map_err(Error::from)?;
        let key: Vec<u8> = row.try_get(3).map_err(Error::from)?;
        let account_id: String = row.try_get(4).map_err(Error::from)?;
        // The identity card carries the account, as at activation (`documents::model`).
        let with_account = match doc {
            Document::Identity(card) => {
                Some(Document::Identity(card.clone().with_account(EidAccount {
                    id: account_id,
                    level: AccountLevel::Level2,
                })))
            }
            _ => None,
        };
        let doc = with_account.as_ref().unwrap_or(doc);
        issue::renew(
            state,
            tx,
            &device_id,
            &key,
            &id,
            index,
            issue::ToIssue::Typed(doc),
        )
        .await?;
        devices.push(device_id);
    }
    // The presentation credentials drawn from the old record are revoked (docs/adr/0062); the
    // wallets drop them at their next sync and refill from the new record.
    let superseded = crate::supersede::supersede(tx, id_number, kind, state.now_i64()).await?;
    tracing::info!(kind = %kind, superseded, "presentation credentials superseded");
    Ok(devices)
}
