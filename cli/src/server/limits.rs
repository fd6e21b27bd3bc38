//! `eid serve`'s abuse limits and SMS gateway (docs/adr/0019): the knobs of
//! `eid_backend::limits::Limits` and `eid_backend::sms::Gateway`, defaults from the backend.

use eid_backend::Config;
use eid_backend::limits::{Limits, Rate};
use std::time::Duration;

#[derive(clap::Args, Clone)]
pub struct LimitArgs {
    /// Open connections at most (keep it below `ulimit -n`).
    #[arg(long, env = "EID_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Open connections per client address (IPv6: per /64); 0 turns the cap off (behind a
    /// reverse proxy, where every client has the proxy's address).
    #[arg(long, env = "EID_MAX_CONNECTIONS_PER_CLIENT", default_value_t = Limits::default().max_connections_per_client)]
    max_connections_per_client: usize,
    /// Seconds for a request head to arrive (also the keep-alive idle limit).
    #[arg(long, env = "EID_HEADER_TIMEOUT", default_value_t = Limits::default().header_read_timeout.as_secs())]
    header_timeout: u64,
    /// Seconds without a byte moving after which a connection is closed.
    #[arg(long, env = "EID_IDLE_TIMEOUT", default_value_t = Limits::default().idle_timeout.as_secs())]
    idle_timeout: u64,
    /// Seconds for a request body to arrive after its head.
    #[arg(long, env = "EID_BODY_TIMEOUT", default_value_t = Limits::default().body_read_timeout.as_secs())]
    body_timeout: u64,
    /// Largest request body in bytes.
    #[arg(long, env = "EID_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Activation starts and completions, and OIDC authorization requests, per minute per client
    /// (also the burst), counted across every instance on the database; 0: off.
    #[arg(long, env = "EID_CLIENT_RATE", default_value_t = Limits::default().client_throttle.per_minute)]
    client_rate: u32,
    /// The same per minute for all clients together; 0: off.
    #[arg(long, env = "EID_GLOBAL_RATE", default_value_t = Limits::default().global_throttle.per_minute)]
    global_rate: u32,
    /// Reverse proxies (comma-separated IP addresses) whose X-Forwarded-For names the client for
    /// the per-client rate; empty: the header is ignored.
    #[arg(long, env = "EID_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Seconds the readiness endpoint (/v1/ready) answers 503 after SIGTERM or Ctrl-C before the
    /// listener stops accepting (set it to the load balancer's check interval); then in-flight
    /// requests finish.
    #[arg(long, env = "EID_DRAIN_SECONDS", default_value_t = Limits::default().drain_delay.as_secs())]
    drain_seconds: u64,
    /// Production: the SMS gateway's URL (POST {"to","text"}, see docs/adr/0019). Without it a
    /// production backend sends no activation codes.
    #[arg(long, env = "EID_SMS_GATEWAY")]
    sms_gateway: Option<String>,
    /// Bearer token for the SMS gateway.
    #[arg(long, env = "EID_SMS_GATEWAY_TOKEN", hide_env_values = true)]
    sms_gateway_token: Option<String>,
}

impl LimitArgs {
    /// Whether an SMS gateway is configured (production needs one to send activation codes).
    pub fn has_sms_gateway(&self) -> bool {
        self.sms_gateway.as_deref().is_some_and(|u| !u.is_empty())
    }

    /// `config` with these limits and gateway.
    pub fn apply(self, config: Config) -> Config {
        let defaults = Limits::default();
        // The global burst scales with its rate (2 s worth, at least the default).
        let global_burst = (self.global_rate / 30).max(defaults.global_throttle.burst);
        Config {
            limits: Limits {
                max_connections: self.max_connections,
                max_connections_per_client: self.max_connections_per_client,
                header_read_timeout: Duration::from_secs(self.header_timeout.max(1)),
                idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
                body_read_timeout: Duration::from_secs(self.body_timeout.max(1)),
                max_body_bytes: self.max_body_bytes,
                client_throttle: Rate {
                    per_minute: self.client_rate,
                    burst: self.client_rate,
                },
                global_throttle: Rate {
                    per_minute: self.global_rate,
                    burst: global_burst,
                },
                trusted_proxies: self.trusted_proxies,
                drain_delay: Duration::from_secs(self.drain_seconds),
            },
            sms_gateway: self.sms_gateway.filter(|u| !u.is_empty()).map(|url| {
                eid_backend::sms::Gateway {
                    url,
                    token: self.sms_gateway_token.filter(|t| !t.is_empty()),
                }
            }),
            ..config
        }
    }
}
