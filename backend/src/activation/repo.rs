//! The rows of activation: each function one statement (or one fixed sequence) inside the
//! caller's write transaction, reading or writing and deciding nothing. Which statement takes
//! which row lock, and so the order the flow (`super`) calls them in, is documented there.

use super::rules::MAX_WRONG_CODES;
use crate::error::Error;
use crate::evidence::RegistryChip;
use eid_core::credential::DocumentKind;
use sqlx::Row;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Touches the pair's `rate_keys` row (created on its first start): on PostgreSQL the row lock
/// that queues concurrent starts of one pair until this transaction ends.
pub async fn touch_rate_key(tx: &mut Tx, key: &[u8], now: i64) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO rate_keys (key, touched_at) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET touched_at = excluded.touched_at",
    )
    .bind(key)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The pair's starts since `since`: how many, and when the oldest was.
pub async fn starts_since(
    tx: &mut Tx,
    id_number: &str,
    phone: &str,
    since: i64,
) -> Result<(i64, Option<i64>), Error> {
    let row = sqlx::query(
        "SELECT COUNT(*), MIN(created_at) FROM activations \
         WHERE id_number = $1 AND phone = $2 AND created_at > $3",
    )
    .bind(id_number)
    .bind(phone)
    .bind(since)
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Whether the registry holds a citizen with this ID number and phone.
pub async fn citizen_matches(tx: &mut Tx, id_number: &str, phone: &str) -> Result<bool, Error> {
    Ok(
        sqlx::query("SELECT 1 FROM citizens WHERE id_number = $1 AND phone = $2")
            .bind(id_number)
            .bind(phone)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

/// A new activation row (no failed attempts yet).
pub struct NewActivation<'a> {
    pub id: &'a str,
    pub id_number: &'a str,
    pub phone: &'a str,
    pub matched: bool,
    pub code_hash: &'a [u8],
    pub challenge: &'a [u8],
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn insert_activation(tx: &mut Tx, a: &NewActivation<'_>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO activations (id, id_number, phone, matched, code_hash, challenge, \
         created_at, expires_at, failed_attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
    )
    .bind(a.id)
    .bind(a.id_number)
    .bind(a.phone)
    .bind(i64::from(a.matched))
    .bind(a.code_hash)
    .bind(a.challenge)
    .bind(a.created_at)
    .bind(a.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a try at an activation needs once it is counted.
pub struct Claimed {
    pub id_number: String,
    pub matched: bool,
    pub code_hash: Vec<u8>,
    pub challenge: Vec<u8>,
}

/// Counts a try against the activation: one atomic UPDATE that only succeeds while the
/// activation is unused, unexpired and below [`MAX_WRONG_CODES`] tries (`None` otherwise). On
/// PostgreSQL it takes the row lock until the transaction ends, so concurrent tries queue and
/// each sees the count the previous ones left.
pub async fn claim_try(
    tx: &mut Tx,
    activation_id: &str,
    now: i64,
) -> Result<Option<Claimed>, Error> {
    let claimed = sqlx::query(
        "UPDATE activations SET failed_attempts = failed_attempts + 1 \
         WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND failed_attempts < $3 \
         RETURNING id_number, matched, code_hash, challenge",
    )
    .bind(activation_id)
    .bind(now)
    .bind(MAX_WRONG_CODES)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = claimed else {
        return Ok(None);
    };
    Ok(Some(Claimed {
        id_number: row.try_get(0)?,
        matched: row.try_get::<i64, _>(1)? != 0,
        code_hash: row.try_get(2)?,
        challenge: row.try_get(3)?,
    }))
}

/// The activation's `used_at`; `None` for an unknown activation.
pub async fn used_at(tx: &mut Tx, activation_id: &str) -> Result<Option<Option<i64>>, Error> {
    let row = sqlx::query("SELECT used_at FROM activations WHERE id = $1")
        .bind(activation_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    })
}

/// The registry's copy of the citizen's chip files.
pub async fn registry_chip(tx: &mut Tx, id_number: &str) -> Result<RegistryChip, Error> {
    let citizen = sqlx::query("SELECT dg1, dg13, dg15 FROM citizens WHERE id_number = $1")
        .bind(id_number)
        .fetch_one(&mut **tx)
        .await?;
    Ok(RegistryChip {
        dg1: citizen.try_get(0)?,
        dg13: citizen.try_get(1)?,
        dg15: citizen.try_get(2)?,
    })
}

/// Marks the activation used and gives the right try's count back; the rows changed (1, or 0
/// when it was used since).
pub async fn mark_used(tx: &mut Tx, activation_id: &str, now: i64) -> Result<u64, Error> {
    Ok(sqlx::query(
        "UPDATE activations SET used_at = $1, failed_attempts = failed_attempts - 1 \
         WHERE id = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(activation_id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Creates the citizen's account as `new_id` unless one exists (ON CONFLICT: a concurrent
/// activation may have created it since), then answers the account's id.
pub async fn ensure_account(
    tx: &mut Tx,
    new_id: &str,
    id_number: &str,
    now: i64,
) -> Result<String, Error> {
    sqlx::query(
        "INSERT INTO accounts (id, id_number, level, state, created_at, updated_at) \
         VALUES ($1, $2, 2, 'active', $3, $3) ON CONFLICT (id_number) DO NOTHING",
    )
    .bind(new_id)
    .bind(id_number)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query("SELECT id FROM accounts WHERE id_number = $1")
        .bind(id_number)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?)
}

/// Sets the account active (lifting a lock); on PostgreSQL the account's row lock.
pub async fn activate_account(tx: &mut Tx, account_id: &str, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE accounts SET state = 'active', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The account's device bindings not revoked.
pub async fn active_devices(tx: &mut Tx, account_id: &str) -> Result<Vec<String>, Error> {
    Ok(
        sqlx::query("SELECT id FROM devices WHERE account_id = $1 AND revoked_at IS NULL")
            .bind(account_id)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?,
    )
}

/// Revokes the binding `device_id` and removes its documents (at the next sync sequence).
pub async fn revoke_device(tx: &mut Tx, device_id: &str, now: i64) -> Result<(), Error> {
    let seq = crate::db::next_counter(tx, "seq").await?;
    sqlx::query("UPDATE devices SET revoked_at = $1 WHERE id = $2")
        .bind(now)
        .bind(device_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE documents SET removed_seq = $1 WHERE device_id = $2 AND removed_seq IS NULL",
    )
    .bind(seq)
    .bind(device_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn insert_device(
    tx: &mut Tx,
    device_id: &str,
    account_id: &str,
    public_key: &[u8],
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO devices (id, account_id, public_key, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(device_id)
    .bind(account_id)
    .bind(public_key)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The citizen's identity record as the registry keeps it (sealed, see `Keys::open_record`).
pub async fn identity_record(tx: &mut Tx, id_number: &str) -> Result<Vec<u8>, Error> {
    Ok(
        sqlx::query("SELECT record FROM registry_records WHERE id_number = $1 AND kind = $2")
            .bind(id_number)
            .bind(DocumentKind::Identity.as_str())
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?,
    )
}
