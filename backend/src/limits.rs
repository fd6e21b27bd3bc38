//! The knobs that keep one client from taking the backend down (docs/adr/0019): connection caps
//! and timeouts (`server`), the request body's size and read time (`http`), and the throttles of
//! the unauthenticated endpoints (`throttle`). The defaults are production values.

use std::time::Duration;

/// A token bucket: `burst` requests at once, refilled at `per_minute`. `per_minute` 0: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    /// No limit.
    pub const OFF: Rate = Rate {
        per_minute: 0,
        burst: 0,
    };

    pub fn is_off(&self) -> bool {
        self.per_minute == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most; when reached, the listener stops accepting until one closes.
    pub max_connections: usize,
    /// Open connections per client (an IPv4 address or an IPv6 /64); more are answered 429 and
    /// closed. 0: no per-client cap (behind a reverse proxy every client has the proxy's address).
    pub max_connections_per_client: usize,
    /// A request head must be complete within this time of the connection opening or of the
    /// previous answer: so it is also how long a keep-alive connection may wait idle.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves in either direction for this long is closed (a stalled
    /// upload, a client that stops reading its answer).
    pub idle_timeout: Duration,
    /// A request body must be complete within this time of its head (else 408).
    pub body_read_timeout: Duration,
    /// Largest request body (else 413).
    pub max_body_bytes: usize,
    /// Per client on the unauthenticated endpoints (activation start and complete).
    pub client_throttle: Rate,
    /// All clients together on the unauthenticated endpoints.
    pub global_throttle: Rate,
    /// Reverse proxies whose `X-Forwarded-For` names the client for the per-client throttle:
    /// a request from one of these addresses counts for the right-most address in that header
    /// that is not itself one of them. Empty (the default): the header is ignored, so a client
    /// cannot pick its own bucket.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// After the shutdown signal, how long the readiness endpoint answers 503 while the listener
    /// still serves, so a load balancer takes the instance out before it stops accepting
    /// (docs/adr/0027). Then in-flight requests finish. Deployments: the balancer's check
    /// interval (0 by default, so embedded servers and tests stop at once).
    pub drain_delay: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1000,
            max_connections_per_client: 100,
            // Longer than the wallet's keep-alive pool age (ureq: 15 s), so the client drops an
            // idle connection before the server does and never sends on one being closed.
            header_read_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(20),
            // Activation evidence (SOD, DG1/13/14/15, attestation chain) is a few tens of KB.
            max_body_bytes: 256 * 1024,
            client_throttle: Rate {
                per_minute: 30,
                burst: 30,
            },
            global_throttle: Rate {
                per_minute: 12_000,
                burst: 400,
            },
            trusted_proxies: Vec::new(),
            drain_delay: Duration::ZERO,
        }
    }
}
