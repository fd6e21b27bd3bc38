//! Throttles of the unauthenticated endpoints (activation start and complete, OIDC authorization
//! requests): a token bucket per client and one for all clients together, kept in the database
//! so that every instance on it draws from the same buckets (docs/adr/0052; per instance before,
//! docs/adr/0019). A refused request is 429 `rate_limited` with `Retry-After`, before its handler
//! runs.

use crate::db::{Backend, Store};
use crate::error::{ApiFailure, Error};
use crate::limits::Rate;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Who a request comes from for the throttles and the connection cap: the IPv4 address, or the
/// /64 of an IPv6 address (one subscriber's prefix); IPv4-mapped IPv6 is IPv4.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Refills the bucket `$1` (burst `$2`, `$4` tokens a millisecond) up to `$3` (ms; an earlier
/// time, from an instance whose clock is behind, refills nothing) and takes one token, in one
/// statement under the row's lock; no row comes back when less than one token is there (nothing
/// is then changed). A new bucket starts full. Written once for PostgreSQL and SQLite.
const TAKE: &str = "INSERT INTO throttle_buckets (key, tokens, at_ms) VALUES ($1, $2 - 1.0, $3) \
     ON CONFLICT (key) DO UPDATE SET \
     tokens = (CASE WHEN throttle_buckets.tokens + (CASE WHEN $3 > throttle_buckets.at_ms \
         THEN $3 - throttle_buckets.at_ms ELSE 0 END) * $4 > $2 THEN $2 \
         ELSE throttle_buckets.tokens + (CASE WHEN $3 > throttle_buckets.at_ms \
         THEN $3 - throttle_buckets.at_ms ELSE 0 END) * $4 END) - 1.0, \
     at_ms = CASE WHEN $3 > throttle_buckets.at_ms THEN $3 ELSE throttle_buckets.at_ms END \
     WHERE throttle_buckets.tokens + (CASE WHEN $3 > throttle_buckets.at_ms \
         THEN $3 - throttle_buckets.at_ms ELSE 0 END) * $4 >= 1.0 \
     RETURNING tokens";

/// The key of all clients' bucket.
const GLOBAL: &[u8] = b"throttle:global";

/// A bucket's row key: a hash, so the table holds no addresses.
fn row_key(client: Option<IpAddr>) -> Vec<u8> {
    match client {
        None => GLOBAL.to_vec(),
        Some(ip) => Sha256::digest(format!("throttle:client:{ip}")).to_vec(),
    }
}

/// Milliseconds since the epoch on this instance's clock.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The per-client and global rates; the buckets are rows of `throttle_buckets`.
#[derive(Debug)]
pub struct Throttle {
    client: Rate,
    global: Rate,
}

impl Throttle {
    pub fn new(client: Rate, global: Rate) -> Throttle {
        Throttle { client, global }
    }

    /// Takes one token from `client`'s bucket and one from the global bucket, or neither: then
    /// `Ok(Err(seconds))` after which to try again. The client's bucket first, so one client's
    /// flood is refused on its own row without queueing on the global one.
    pub async fn take(
        &self,
        store: &Store,
        client: IpAddr,
        now_ms: i64,
    ) -> Result<Result<(), u64>, Error> {
        let buckets = [(Some(client), self.client), (None, self.global)];
        if buckets.iter().all(|(_, rate)| rate.is_off()) {
            return Ok(Ok(()));
        }
        let mut w = store.write().await?;
        if store.backend() == Backend::Postgres {
            // A throttle row lost in a crash costs nothing (a few more requests let through), so
            // this commit does not wait for the WAL flush: no fsync per throttled request.
            sqlx::query("SET LOCAL synchronous_commit TO off")
                .execute(&mut *w.tx)
                .await?;
        }
        for (who, rate) in buckets {
            if rate.is_off() {
                continue;
            }
            let key = row_key(who);
            let per_ms = f64::from(rate.per_minute) / 60_000.0;
            let taken = sqlx::query(TAKE)
                .bind(key.clone())
                .bind(f64::from(rate.burst.max(1)))
                .bind(now_ms)
                .bind(per_ms)
                .fetch_optional(&mut *w.tx)
                .await?;
            if taken.is_none() {
                let row = sqlx::query("SELECT tokens, at_ms FROM throttle_buckets WHERE key = $1")
                    .bind(key)
                    .fetch_one(&mut *w.tx)
                    .await?;
                // Dropping `w` rolls back the other bucket's take.
                return Ok(Err(wait_seconds(
                    row.try_get(0)?,
                    row.try_get(1)?,
                    now_ms,
                    per_ms,
                )));
            }
        }
        w.commit().await?;
        Ok(Ok(()))
    }

    /// Deletes the rows of buckets that are full again by `now_ms` (a full bucket is the same as
    /// none); returns how many.
    pub async fn prune(&self, store: &Store, now_ms: i64) -> Result<u64, Error> {
        // The slower of the two rates refills last: from empty to full in burst / rate minutes.
        let refill_ms = [self.client, self.global]
            .iter()
            .filter(|r| !r.is_off())
            .map(|r| i64::from(r.burst.max(1)) * 60_000 / i64::from(r.per_minute).max(1))
            .max()
            .unwrap_or(0);
        store
            .execute_alone(
                sqlx::query("DELETE FROM throttle_buckets WHERE at_ms < $1")
                    .bind(now_ms.saturating_sub(refill_ms + 1)),
            )
            .await
    }
}

/// Whole seconds until a bucket with `tokens` at `at_ms` has one token at `per_ms`: at least 1,
/// rounded up, so the client does not come back before it is there.
fn wait_seconds(tokens: f64, at_ms: i64, now_ms: i64, per_ms: f64) -> u64 {
    let elapsed = now_ms.saturating_sub(at_ms).max(0) as f64;
    let missing = 1.0 - (tokens + elapsed * per_ms);
    (missing / per_ms / 1000.0).ceil().max(1.0) as u64
}

/// Who sent a request that reached us from `peer`: `peer` itself, unless it is a trusted proxy;
/// then the right-most address of `X-Forwarded-For` (all such headers, in order) that is not a
/// trusted proxy — what the nearest untrusted hop connected from; addresses further left were
/// written by the client and prove nothing. A header that does not parse: the proxy itself.
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.contains(&client_key(*ip)) || trusted.contains(ip);
    if !is_trusted(&peer) {
        return client_key(peer);
    }
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return client_key(peer);
        };
        for hop in text.split(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip),
                Err(_) => return client_key(peer),
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .map_or(client_key(peer), client_key)
}

/// The middleware of the throttled routes. Without a peer address (the router called directly,
/// as in tests) all requests count as one client.
pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let client = client_of(peer, req.headers(), &state.config.limits.trusted_proxies);
    match state.throttle.take(&state.store, client, now_ms()).await {
        Ok(Ok(())) => next.run(req).await,
        Ok(Err(retry_after)) => ApiFailure::rate_limited(retry_after).into_response(),
        Err(e) => ApiFailure::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (dir, Store::open(&url).await.unwrap())
    }

    #[tokio::test]
    async fn buckets_refill_and_clients_are_apart() {
        let (_dir, store) = store().await;
        let t = Throttle::new(
            Rate {
                per_minute: 60,
                burst: 3,
            },
            Rate {
                per_minute: 600,
                burst: 5,
            },
        );
        let now = 1_700_000_000_000;
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        let take = async |who, at| t.take(&store, who, at).await.unwrap();
        for _ in 0..3 {
            assert_eq!(take(a, now).await, Ok(()));
        }
        assert_eq!(take(a, now).await, Err(1));
        // Another client still gets through, until the global bucket is empty.
        assert_eq!(take(b, now).await, Ok(()));
        assert_eq!(take(b, now).await, Ok(()));
        assert_eq!(take(b, now).await, Err(1));
        // One second refills one token of a (1/s) and the global bucket (10/s).
        assert_eq!(take(a, now + 1000).await, Ok(()));
        assert_eq!(take(a, now + 1000).await, Err(1));
        // The global bucket's refusal rolled b's own take back: b took 2 of 3, refilled by 1.
        assert_eq!(take(b, now + 1000).await, Ok(()));
        assert_eq!(take(b, now + 1000).await, Ok(()));
        assert_eq!(take(b, now + 1000).await, Err(1));
        // A clock behind the bucket's refills nothing and takes nothing away.
        assert_eq!(take(a, now + 500).await, Err(1));
        assert_eq!(take(a, now + 2000).await, Ok(()));
        // The wait is whole seconds until the next token, at least 1.
        let slow = Throttle::new(
            Rate {
                per_minute: 2,
                burst: 1,
            },
            Rate::OFF,
        );
        let c = IpAddr::from([10, 0, 0, 3]);
        assert_eq!(slow.take(&store, c, now).await.unwrap(), Ok(()));
        assert_eq!(slow.take(&store, c, now).await.unwrap(), Err(30));
        assert_eq!(slow.take(&store, c, now + 20_000).await.unwrap(), Err(10));
        assert_eq!(slow.take(&store, c, now + 30_001).await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn full_buckets_are_pruned_and_the_rest_kept() {
        let (_dir, store) = store().await;
        let rate = Rate {
            per_minute: 60,
            burst: 3,
        };
        let t = Throttle::new(rate, Rate::OFF);
        let now = 1_700_000_000_000;
        let a = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..3 {
            assert_eq!(t.take(&store, a, now).await.unwrap(), Ok(()));
        }
        // Empty at `now`, full 3 s later: kept until then, deleted after.
        assert_eq!(t.prune(&store, now + 2_000).await.unwrap(), 0);
        assert_eq!(t.take(&store, a, now + 100).await.unwrap(), Err(1));
        assert_eq!(t.prune(&store, now + 3_200).await.unwrap(), 1);
        for _ in 0..3 {
            assert_eq!(t.take(&store, a, now + 3_200).await.unwrap(), Ok(()));
        }
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_nobody_else_does() {
        let proxy = IpAddr::from([10, 0, 0, 9]);
        let inner = IpAddr::from([10, 0, 0, 8]);
        let trusted = [proxy, inner];
        let xff = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append("x-forwarded-for", v.parse().unwrap());
            }
            h
        };
        let client = IpAddr::from([203, 0, 113, 5]);
        // The proxy appended the address it saw; what the client wrote before it is ignored.
        let h = xff(&["198.51.100.77, 203.0.113.5"]);
        assert_eq!(client_of(proxy, &h, &trusted), client);
        // Two proxies in a row: skip the inner one.
        let h = xff(&["198.51.100.77", "203.0.113.5, 10.0.0.8"]);
        assert_eq!(client_of(proxy, &h, &trusted), client);
        // An untrusted peer cannot choose its bucket with the header.
        assert_eq!(client_of(client, &h, &trusted), client);
        assert_eq!(client_of(client, &h, &[]), client);
        // No header, or one that does not parse: the proxy's own bucket.
        assert_eq!(client_of(proxy, &HeaderMap::new(), &trusted), proxy);
        assert_eq!(
            client_of(proxy, &xff(&["203.0.113.5, junk"]), &trusted),
            proxy
        );
        // IPv6 clients behind the proxy are their /64.
        let h = xff(&["2001:db8:1:2:aaaa::1"]);
        assert_eq!(
            client_of(proxy, &h, &trusted),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ipv6_clients_are_their_64() {
        let x: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let z: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(x), client_key(y));
        assert_ne!(client_key(x), client_key(z));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client_key(mapped), IpAddr::from([10, 0, 0, 1]));
    }
}
