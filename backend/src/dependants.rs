//! Dependants (docs/adr/0055): the children under 14 of a citizen, whose documents the
//! citizen's devices receive at sync, each tagged with the child's opaque handle. A device's
//! copy of a child's document is a `documents` row of kind `KIND/REF`; on the child's 14th
//! birthday the next sync removes them (the wallet deletes them, their status entries are
//! revoked) and no more presentation credentials are issued for the child.

use crate::auth::Device;
use crate::coherence::{self, Change};
use crate::error::ApiFailure;
use crate::issue;
use crate::state::AppState;
use eid_core::api::Dependant;
use eid_core::credential::{Date, Document, DocumentKind};
use sqlx::Row;

/// A child's documents go to the guardian until this birthday.
pub const DEPENDANT_UNTIL_AGE: u32 = 14;

/// A stored kind as the document kind and, for a dependant's document, the child's handle.
pub fn split_kind(stored: &str) -> (&str, Option<&str>) {
    match stored.split_once('/') {
        Some((kind, r)) => (kind, Some(r)),
        None => (stored, None),
    }
}

/// Whether a child born on `birth_date` (ISO 8601) is a dependant on the day of `now`.
pub fn is_dependant(birth_date: &str, now: u64) -> bool {
    Date::parse_iso(birth_date)
        .is_some_and(|d| d.years_until(Date::from_unix(now)) < DEPENDANT_UNTIL_AGE)
}

/// (handle, ID number, name, birth date) of every child of the account's citizen.
async fn children(
    state: &AppState,
    account_id: &str,
) -> Result<Vec<(String, String, String, String)>, ApiFailure> {
    let rows = sqlx::query(
        "SELECT d.ref, d.id_number, d.full_name, d.birth_date FROM dependants d \
         JOIN accounts a ON a.id_number = d.guardian_id_number WHERE a.id = $1 \
         ORDER BY d.birth_date DESC",
    )
    .bind(account_id)
    .fetch_all(state.store.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect()
}

/// The account's dependants now (children under 14), youngest first.
pub async fn of_account(state: &AppState, account_id: &str) -> Result<Vec<Dependant>, ApiFailure> {
    let now = state.now();
    Ok(children(state, account_id)
        .await?
        .into_iter()
        .filter(|(_, _, _, born)| is_dependant(born, now))
        .map(|(id, _, name, birth_date)| Dependant {
            id,
            name,
            birth_date,
        })
        .collect())
}

/// Issues the documents of the account's dependants the device lacks, and removes those of a
/// child who turned 14.
pub async fn ensure(state: &AppState, device: &Device) -> Result<(), ApiFailure> {
    let children = children(state, &device.account_id).await?;
    if children.is_empty() {
        return Ok(());
    }
    let now = state.now();
    let pool = state.store.pool();
    let held: Vec<(String, bool)> = sqlx::query(
        "SELECT kind, removed_seq FROM documents WHERE device_id = $1 AND kind LIKE '%/%'",
    )
    .bind(&device.id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get::<Option<i64>, _>(1)?.is_none())))
    .collect::<Result<_, ApiFailure>>()?;
    let mut remove = Vec::new();
    let mut missing = Vec::new();
    for (r, id_number, _, born) in &children {
        if !is_dependant(born, now) {
            if held
                .iter()
                .any(|(k, live)| *live && split_kind(k).1 == Some(r.as_str()))
            {
                remove.push(r.clone());
            }
            continue;
        }
        for row in sqlx::query("SELECT kind FROM dependant_records WHERE id_number = $1")
            .bind(id_number)
            .fetch_all(pool)
            .await?
        {
            let kind: String = row.try_get(0)?;
            let stored = format!("{kind}/{r}");
            if !held.iter().any(|(k, _)| *k == stored) {
                missing.push((id_number.clone(), kind, stored));
            }
        }
    }
    if remove.is_empty() && missing.is_empty() {
        return Ok(());
    }
    let mut w = state.store.write().await?;
    if !remove.is_empty() {
        let seq = crate::db::next_counter(&mut w.tx, "seq").await?;
        for r in &remove {
            sqlx::query(
                "UPDATE documents SET removed_seq = $1 \
                 WHERE device_id = $2 AND kind LIKE $3 AND removed_seq IS NULL",
            )
            .bind(seq)
            .bind(&device.id)
            .bind(format!("%/{r}"))
            .execute(&mut *w.tx)
            .await?;
        }
    }
    for (id_number, kind, stored) in &missing {
        let record: Vec<u8> =
            sqlx::query("SELECT record FROM dependant_records WHERE id_number = $1 AND kind = $2")
                .bind(id_number)
                .bind(kind)
                .fetch_one(&mut *w.tx)
                .await?
                .try_get(0)?;
        let doc = state.keys.open_record(&record, now)?;
        issue::store_new_as(
            state,
            &mut w.tx,
            &device.id,
            &device.public_key,
            issue::ToIssue::Typed(&doc),
            stored,
        )
        .await?;
    }
    let changes = [Change::Pages(&device.id), Change::StatusList];
    let changes = if remove.is_empty() {
        &changes[..1]
    } else {
        &changes[..]
    };
    coherence::commit(state, w, changes).await?;
    tracing::info!(
        issued = missing.len(),
        removed = remove.len(),
        "dependants' documents"
    );
    Ok(())
}

/// The model of `kind` for the account's dependant `r` (for a renewal).
pub async fn model(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    device: &Device,
    r: &str,
    kind: DocumentKind,
) -> Result<Document, ApiFailure> {
    let record: Vec<u8> = sqlx::query(
        "SELECT r.record FROM dependant_records r JOIN dependants d ON d.id_number = r.id_number \
         JOIN accounts a ON a.id_number = d.guardian_id_number \
         WHERE a.id = $1 AND d.ref = $2 AND r.kind = $3",
    )
    .bind(&device.account_id)
    .bind(r)
    .bind(kind.as_str())
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    Ok(state.keys.open_record(&record, state.now())?)
}

/// The registry records of `kinds` of the account's dependant `r`, for presentation
/// credentials: refused (404, as for an unknown child) unless `r` is a child of the account's
/// citizen under 14 today.
pub async fn records(
    state: &AppState,
    account_id: &str,
    r: &str,
    kinds: &[&str],
) -> Result<Vec<Vec<u8>>, ApiFailure> {
    let now = state.now();
    let child = children(state, account_id)
        .await?
        .into_iter()
        .find(|(id, _, _, born)| id == r && is_dependant(born, now))
        .ok_or(ApiFailure::new(
            eid_core::api::ErrorCode::NotFound,
            "no such dependant",
        ))?;
    let mut out = Vec::new();
    for row in sqlx::query("SELECT kind, record FROM dependant_records WHERE id_number = $1")
        .bind(&child.1)
        .fetch_all(state.store.pool())
        .await?
    {
        let kind: String = row.try_get(0)?;
        if kinds.contains(&kind.as_str()) {
            out.push(row.try_get(1)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_kinds_split_into_kind_and_handle() {
        assert_eq!(split_kind("vaccination"), ("vaccination", None));
        assert_eq!(
            split_kind("vaccination/ab12"),
            ("vaccination", Some("ab12"))
        );
    }

    #[test]
    fn a_child_is_a_dependant_until_the_fourteenth_birthday() {
        let day = |s: &str| Date::parse_iso(s).unwrap().unix_seconds();
        assert!(is_dependant("2012-12-05", day("2026-12-04")));
        assert!(!is_dependant("2012-12-04", day("2026-12-04")));
        assert!(!is_dependant("2010-01-01", day("2026-12-04")));
        assert!(!is_dependant("not a date", day("2026-12-04")));
    }
}
