//! Throttles of the unauthenticated endpoints (activation start and complete): a token bucket per
//! client and one for all clients together, in memory per backend instance (docs/adr/0019): N
//! instances on one database allow N times the rates (docs/adr/0027: set each instance's share,
//! or throttle at the proxy). A refused request is 429 `rate_limited` with `Retry-After`, before
//! its handler runs.

use crate::error::ApiFailure;
use crate::limits::Rate;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Clients tracked at most before full buckets are forgotten (a full bucket is the same as none).
const MAX_TRACKED: usize = 100_000;

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

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(rate.burst.max(1)),
            at: now,
        }
    }

    /// Refills up to `now`; then whole seconds until a token is there (0: one is there now).
    fn wait(&mut self, rate: Rate, now: Instant) -> u64 {
        let per_second = f64::from(rate.per_minute) / 60.0;
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(f64::from(rate.burst.max(1)));
        self.at = now;
        if self.tokens >= 1.0 {
            0
        } else {
            // Rounded up, and at least 1: the client must not come back before a token is there.
            ((1.0 - self.tokens) / per_second).ceil().max(1.0) as u64
        }
    }

    fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let mut b = *self;
        b.wait(rate, now);
        b.tokens >= f64::from(rate.burst.max(1))
    }
}

#[derive(Debug)]
struct Buckets {
    global: Bucket,
    clients: HashMap<IpAddr, Bucket>,
}

/// The per-client and global token buckets.
#[derive(Debug)]
pub struct Throttle {
    client: Rate,
    global: Rate,
    buckets: Mutex<Buckets>,
}

impl Throttle {
    pub fn new(client: Rate, global: Rate) -> Throttle {
        Throttle {
            client,
            global,
            buckets: Mutex::new(Buckets {
                global: Bucket::full(global, Instant::now()),
                clients: HashMap::new(),
            }),
        }
    }

    /// Takes one token from `client`'s bucket and one from the global bucket, or neither: then
    /// the seconds after which to try again.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(mut b) = self.buckets.lock() else {
            return Err(1);
        };
        let client_rate = self.client;
        if !client_rate.is_off() && !b.clients.contains_key(&client) {
            if b.clients.len() >= MAX_TRACKED {
                b.clients
                    .retain(|_, bucket| !bucket.is_full(client_rate, now));
                // Still full (many clients at once, e.g. from many IPv6 prefixes): start afresh,
                // as the caches do (ADR 0010); the global bucket still holds.
                if b.clients.len() >= MAX_TRACKED {
                    b.clients.clear();
                }
            }
            b.clients.insert(client, Bucket::full(client_rate, now));
        }
        let client_wait = match b.clients.get_mut(&client) {
            Some(bucket) if !client_rate.is_off() => bucket.wait(client_rate, now),
            _ => 0,
        };
        let global_wait = if self.global.is_off() {
            0
        } else {
            b.global.wait(self.global, now)
        };
        let wait = client_wait.max(global_wait);
        if wait > 0 {
            return Err(wait);
        }
        if let Some(bucket) = b.clients.get_mut(&client) {
            bucket.tokens -= 1.0;
        }
        if !self.global.is_off() {
            b.global.tokens -= 1.0;
        }
        Ok(())
    }
}

/// The middleware of the throttled routes. Without a peer address (the router called directly,
/// as in tests) all requests count as one client.
pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| client_key(c.0.ip()));
    match state.throttle.take(peer, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(retry_after) => ApiFailure::rate_limited(retry_after).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_refill_and_clients_are_apart() {
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
        let now = Instant::now();
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        for _ in 0..3 {
            assert_eq!(t.take(a, now), Ok(()));
        }
        assert_eq!(t.take(a, now), Err(1));
        // Another client still gets through, until the global bucket is empty.
        assert_eq!(t.take(b, now), Ok(()));
        assert_eq!(t.take(b, now), Ok(()));
        assert!(t.take(b, now).is_err());
        // One second refills one token of a (1/s) and the global bucket (10/s).
        assert_eq!(t.take(a, now + Duration::from_secs(1)), Ok(()));
        assert_eq!(t.take(a, now + Duration::from_secs(1)), Err(1));
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
