//! The database: one `sqlx::Any` pool over SQLite (default) or PostgreSQL, the migrations of
//! each, and a writer lock for SQLite.
//!
//! Queries are written once in the SQL both accept (`$n` parameters, `ON CONFLICT`,
//! `RETURNING`); only the DDL differs, hence one migration directory per database.

use crate::error::Error;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Database, Row, SqlSafeStr};
use std::sync::Arc;
use tokio::sync::{Mutex, MutexGuard};

/// How long a request waits for a pooled connection before it is answered 503 (docs/adr/0034):
/// while PostgreSQL is down the pool retries its connect until then, so this bounds how long a
/// request in flight at the outage waits (later ones are answered at once, see `health`).
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Which database the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connection pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time; a deferred transaction that reads and then writes can
    /// fail with SQLITE_BUSY when another writer got in between, so writers queue here instead.
    writer: Option<Arc<Mutex<()>>>,
    /// A streaming replica for the public reads (`replica`), connected on first use.
    replica: Option<AnyPool>,
}

/// A write transaction, holding the SQLite writer lock while it lives.
pub struct WriteTx<'a> {
    pub tx: sqlx::Transaction<'static, sqlx::Any>,
    _guard: Option<MutexGuard<'a, ()>>,
}

impl WriteTx<'_> {
    pub async fn commit(self) -> Result<(), Error> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// The migrations of `backend`, embedded in the binary (version, description, SQL).
fn migrator(backend: Backend) -> Migrator {
    let files: [(i64, &'static str, &'static str); 21] = match backend {
        Backend::Sqlite => [
            (
                1,
                "init",
                include_str!("../migrations/sqlite/0001_init.sql"),
            ),
            (
                2,
                "renewal",
                include_str!("../migrations/sqlite/0002_renewal.sql"),
            ),
            (
                3,
                "rate keys",
                include_str!("../migrations/sqlite/0003_rate_keys.sql"),
            ),
            (
                4,
                "remote_signing",
                include_str!("../migrations/sqlite/0004_remote_signing.sql"),
            ),
            (
                5,
                "presentation",
                include_str!("../migrations/sqlite/0005_presentation.sql"),
            ),
            (
                6,
                "backend keys",
                include_str!("../migrations/sqlite/0006_backend_keys.sql"),
            ),
            (
                7,
                "privacy",
                include_str!("../migrations/sqlite/0007_privacy.sql"),
            ),
            (
                8,
                "consent",
                include_str!("../migrations/sqlite/0008_consent.sql"),
            ),
            (
                9,
                "token registration",
                include_str!("../migrations/sqlite/0009_token_registration.sql"),
            ),
            (
                10,
                "relying parties",
                include_str!("../migrations/sqlite/0010_relying_parties.sql"),
            ),
            (
                11,
                "redeem retry",
                include_str!("../migrations/sqlite/0011_redeem_retry.sql"),
            ),
            (
                12,
                "oidc",
                include_str!("../migrations/sqlite/0012_oidc.sql"),
            ),
            (
                13,
                "accommodation",
                include_str!("../migrations/sqlite/0013_accommodation.sql"),
            ),
            (14, "hub", include_str!("../migrations/sqlite/0014_hub.sql")),
            (
                15,
                "throttle buckets",
                include_str!("../migrations/sqlite/0015_throttle_buckets.sql"),
            ),
            (
                16,
                "reader certificates",
                include_str!("../migrations/sqlite/0016_reader_certificates.sql"),
            ),
            (
                17,
                "ekyc challenges",
                include_str!("../migrations/sqlite/0017_ekyc.sql"),
            ),
            (
                18,
                "dependants",
                include_str!("../migrations/sqlite/0018_dependants.sql"),
            ),
            (
                19,
                "lifecycle",
                include_str!("../migrations/sqlite/0019_lifecycle.sql"),
            ),
            (
                20,
                "submissions",
                include_str!("../migrations/sqlite/0020_submissions.sql"),
            ),
            (
                21,
                "superseded presentations",
                include_str!("../migrations/sqlite/0021_superseded_presentations.sql"),
            ),
        ],
        Backend::Postgres => [
            (
                1,
                "init",
                include_str!("../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                "renewal",
                include_str!("../migrations/postgres/0002_renewal.sql"),
            ),
            (
                3,
                "rate keys",
                include_str!("../migrations/postgres/0003_rate_keys.sql"),
            ),
            (
                4,
                "remote_signing",
                include_str!("../migrations/postgres/0004_remote_signing.sql"),
            ),
            (
                5,
                "presentation",
                include_str!("../migrations/postgres/0005_presentation.sql"),
            ),
            (
                6,
                "backend keys",
                include_str!("../migrations/postgres/0006_backend_keys.sql"),
            ),
            (
                7,
                "privacy",
                include_str!("../migrations/postgres/0007_privacy.sql"),
            ),
            (
                8,
                "consent",
                include_str!("../migrations/postgres/0008_consent.sql"),
            ),
            (
                9,
                "token registration",
                include_str!("../migrations/postgres/0009_token_registration.sql"),
            ),
            (
                10,
                "relying parties",
                include_str!("../migrations/postgres/0010_relying_parties.sql"),
            ),
            (
                11,
                "redeem retry",
                include_str!("../migrations/postgres/0011_redeem_retry.sql"),
            ),
            (
                12,
                "oidc",
                include_str!("../migrations/postgres/0012_oidc.sql"),
            ),
            (
                13,
                "accommodation",
                include_str!("../migrations/postgres/0013_accommodation.sql"),
            ),
            (
                14,
                "hub",
                include_str!("../migrations/postgres/0014_hub.sql"),
            ),
            (
                15,
                "throttle buckets",
                include_str!("../migrations/postgres/0015_throttle_buckets.sql"),
            ),
            (
                16,
                "reader certificates",
                include_str!("../migrations/postgres/0016_reader_certificates.sql"),
            ),
            (
                17,
                "ekyc challenges",
                include_str!("../migrations/postgres/0017_ekyc.sql"),
            ),
            (
                18,
                "dependants",
                include_str!("../migrations/postgres/0018_dependants.sql"),
            ),
            (
                19,
                "lifecycle",
                include_str!("../migrations/postgres/0019_lifecycle.sql"),
            ),
            (
                20,
                "submissions",
                include_str!("../migrations/postgres/0020_submissions.sql"),
            ),
            (
                21,
                "superseded presentations",
                include_str!("../migrations/postgres/0021_superseded_presentations.sql"),
            ),
        ],
    };
    Migrator::with_migrations(
        files
            .into_iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl Store {
    /// Opens (and for SQLite creates) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store, Error> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            // Create the file on first run unless the URL chose a mode.
            let url = if rest.contains("mode=") {
                url.to_owned()
            } else if rest.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(Error::Config(
                "database URL must start with sqlite: or postgres:".into(),
            ));
        };
        // PostgreSQL runs a process per connection: more connections than a few per core only
        // add context switches (the sync hot path is served from memory, see docs/adr/0010);
        // 8 keeps concurrent activations going on a 2-core machine.
        let max = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite {
            // WAL: readers never wait for the writer. Persistent in the file, so set once.
            sqlx::query("PRAGMA journal_mode = WAL")
                .fetch_optional(&pool)
                .await?;
        }
        migrator(backend).run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            writer: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            replica: None,
        })
    }

    /// This store with the streaming replica at `url` for the public reads (PostgreSQL only;
    /// see `replica`). Nothing connects to it until a public read.
    pub fn with_replica(self, url: &str) -> Result<Store, Error> {
        if self.backend != Backend::Postgres {
            return Err(Error::Config(
                "a read replica needs a PostgreSQL primary (--db postgres://...)".into(),
            ));
        }
        Ok(Store {
            replica: Some(crate::replica::pool(url)?),
            ..self
        })
    }

    /// The replica's pool, if one is configured.
    pub fn replica(&self) -> Option<&AnyPool> {
        self.replica.as_ref()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Every pool by name, for `/metrics`.
    pub fn pools(&self) -> Vec<(&'static str, &AnyPool)> {
        let mut pools = vec![("primary", &self.pool)];
        if let Some(r) = &self.replica {
            pools.push(("replica", r));
        }
        pools
    }

    /// Begins a write transaction (serialised on SQLite).
    ///
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`, which waits out the busy
    /// timeout). A deferred transaction, which reads first and asks for the write lock at its
    /// first write, can fail there at once with "database is locked" when another connection
    /// holds or has just used the write lock (SQLite cannot upgrade a read snapshot another write
    /// may have made stale). The queue above does not rule that out: a transaction dropped on an
    /// error path releases the queue before its connection's rollback has run. Under load
    /// `backend/tests/lifecycle.rs` failed 9 times in 20 this way before.
    pub async fn write(&self) -> Result<WriteTx<'_>, Error> {
        let guard = match &self.writer {
            Some(m) => Some(m.lock().await),
            None => None,
        };
        let tx = if self.backend == Backend::Sqlite {
            self.pool.begin_with("BEGIN IMMEDIATE").await?
        } else {
            self.pool.begin().await?
        };
        Ok(WriteTx { tx, _guard: guard })
    }

    /// Runs one statement atomically on its own and answers the rows it changed: on PostgreSQL
    /// straight on the pool (one round trip), on SQLite in the queued writer transaction.
    pub async fn execute_alone(
        &self,
        statement: Query<'_, Any, <Any as Database>::Arguments>,
    ) -> Result<u64, Error> {
        if self.backend == Backend::Postgres {
            return Ok(statement.execute(&self.pool).await?.rows_affected());
        }
        let mut w = self.write().await?;
        let n = statement.execute(&mut *w.tx).await?.rows_affected();
        w.commit().await?;
        Ok(n)
    }

    pub async fn close(&self) {
        if let Some(r) = &self.replica {
            r.close().await;
        }
        self.pool.close().await;
    }
}

/// Next value of a counter ('seq', 'status_index') inside `tx`.
pub async fn next_counter(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    name: &'static str,
) -> Result<i64, Error> {
    let row: AnyRow =
        sqlx::query("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value")
            .bind(name)
            .fetch_one(&mut **tx)
            .await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// Creates database `name` (letters, digits, `_`) on the PostgreSQL server of `server_url` and
/// returns its URL: a fresh database per test run, or for a new deployment.
pub async fn create_postgres_database(server_url: &str, name: &str) -> Result<String, Error> {
    use sqlx::Connection;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Error::Config(
            "database names are letters, digits and _".into(),
        ));
    }
    let mut conn = sqlx::PgConnection::connect(server_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let base = server_url.rsplit_once('/').map_or(server_url, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `name`, `sql` of every schema object, for comparing schemas.
    async fn schema(store: &Store) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = sqlx::query(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE '_sqlx%'",
        )
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
        .collect();
        rows.sort();
        rows
    }

    #[tokio::test]
    async fn an_upgraded_database_equals_a_fresh_one() {
        let dir = tempfile::tempdir().unwrap();
        let old = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        // A database left at version 1 by an earlier release.
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new().connect(&old).await.unwrap();
        let mut v1 = migrator(Backend::Sqlite);
        v1.migrations.to_mut().truncate(1);
        v1.run(&pool).await.unwrap();
        sqlx::query("INSERT INTO counters (name, value) VALUES ('probe', 7)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let upgraded = Store::open(&old).await.unwrap();
        let fresh_url = format!("sqlite://{}", dir.path().join("fresh.db").display());
        let fresh = Store::open(&fresh_url).await.unwrap();
        assert_eq!(schema(&upgraded).await, schema(&fresh).await);
        // Data survives the upgrade; opening again is a no-op.
        let probe: i64 = sqlx::query("SELECT value FROM counters WHERE name = 'probe'")
            .fetch_one(upgraded.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(probe, 7);
        upgraded.close().await;
        Store::open(&old).await.unwrap();
    }
}
