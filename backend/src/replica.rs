//! A PostgreSQL streaming replica for the public, cacheable reads (docs/adr/0030).
//!
//! Only the reads that serve the public lists may go to the replica: today the status list's
//! queries (the trust list is served from the keys loaded at start; OIDC discovery and JWKS,
//! when they exist, belong here too). Everything else — writes, device-signed and verifier
//! reads, readiness — uses the primary, so it sees the latest write.
//!
//! The replica may lag. A read taken there must still see every write that changed the status
//! list before the read started (the cache was invalidated by it): such writes commit with
//! `synchronous_commit = on` (`coherence::commit`), so once acknowledged they are in the
//! primary's flushed WAL; the read first takes the primary's flush position, then waits on its
//! replica connection until the replica has replayed that far ([`FRESH_WAIT`] at most). A
//! replica that is down, lagging or not a standby is not used: the read goes to the primary
//! (and `/metrics` counts it, `eid_public_reads_total{source="primary_fallback"}`).

use crate::db::Store;
use crate::error::Error;
use sqlx::Row;
use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
use std::time::{Duration, Instant};

/// How long a read waits for the replica to catch up before it goes to the primary.
pub const FRESH_WAIT: Duration = Duration::from_millis(500);
/// Connections to the replica (only the status list reads there, on a cache miss).
const MAX_CONNECTIONS: u32 = 2;
/// A replica that does not give a connection this fast is skipped for this read.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// Where a public read ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// No replica is configured.
    Primary,
    /// The replica, caught up with the primary's flushed WAL.
    Replica,
    /// A replica is configured but was down, behind or not a standby.
    PrimaryFallback,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Primary => "primary",
            Source::Replica => "replica",
            Source::PrimaryFallback => "primary_fallback",
        }
    }
}

/// The replica's pool, connected lazily: nothing touches the replica before a public read.
pub fn pool(url: &str) -> Result<AnyPool, Error> {
    if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
        return Err(Error::Config(
            "the replica URL must be postgres:// (a streaming replica of the primary)".into(),
        ));
    }
    sqlx::any::install_default_drivers();
    Ok(AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy(url)?)
}

/// A connection for a public read: the replica's once it has replayed the primary's flushed
/// WAL as of now, else the primary's.
pub async fn connection(store: &Store) -> Result<(PoolConnection<Any>, Source), Error> {
    let Some(replica) = store.replica() else {
        return Ok((store.pool().acquire().await?, Source::Primary));
    };
    match caught_up(store.pool(), replica).await {
        Ok(Some(conn)) => Ok((conn, Source::Replica)),
        Ok(None) => {
            tracing::warn!("replica behind the primary: public read from the primary");
            Ok((store.pool().acquire().await?, Source::PrimaryFallback))
        }
        Err(e) => {
            tracing::warn!(error = %e, "replica unavailable: public read from the primary");
            Ok((store.pool().acquire().await?, Source::PrimaryFallback))
        }
    }
}

/// A replica connection that has replayed at least the primary's flush position, or `None`
/// when it does not get there within [`FRESH_WAIT`].
async fn caught_up(
    primary: &AnyPool,
    replica: &AnyPool,
) -> Result<Option<PoolConnection<Any>>, Error> {
    let target: String = sqlx::query("SELECT pg_current_wal_flush_lsn()::text")
        .fetch_one(primary)
        .await?
        .try_get(0)?;
    let mut conn = replica.acquire().await?;
    let start = Instant::now();
    loop {
        // NULL (not a standby) or behind: not fresh.
        let fresh: i32 = sqlx::query(
            "SELECT CASE WHEN pg_last_wal_replay_lsn() >= $1::pg_lsn THEN 1 ELSE 0 END",
        )
        .bind(&target)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
        if fresh == 1 {
            return Ok(Some(conn));
        }
        if start.elapsed() >= FRESH_WAIT {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
