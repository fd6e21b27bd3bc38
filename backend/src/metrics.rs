//! What `GET /metrics` shows (docs/adr/0030), in the Prometheus text format (0.0.4): requests
//! and their latency per route template and status class, the database pools, the caches' hits
//! and misses, whether the cache listener listens. Served on the metrics address only
//! (`App::metrics_router`), never on the API's router.
//!
//! Labels hold the route *template* (`/v1/documents`, never a path with ids or a query), the
//! method and the status class (`2xx`…`5xx`): nothing a client chooses beyond the routes that
//! exist, so no personal data and a bounded number of series.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// The path of the metrics endpoint (on the metrics address).
pub const PATH: &str = "/metrics";

/// Latency buckets (seconds): from a cached sync (under a millisecond) to an activation with
/// chip evidence (tens of milliseconds) and a stuck database (seconds).
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolStateLabels {
    pool: &'static str,
    state: &'static str,
}

type LatencyFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The registry and the handles the code updates.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    cache_hits: Family<CacheLabels, Counter>,
    cache_misses: Family<CacheLabels, Counter>,
    pool_max: Family<PoolLabels, Gauge>,
    pool_connections: Family<PoolStateLabels, Gauge>,
    listener_up: Gauge,
    database_up: Gauge,
    public_reads: Family<SourceLabels, Counter>,
    connections: crate::server::ConnectionCounts,
}

/// The hit and miss counters of one cache (unregistered ones for a cache of its own).
#[derive(Debug, Clone, Default)]
pub struct CacheCounters {
    pub hits: Counter,
    pub misses: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("eid");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status class",
            requests.clone(),
        );
        let latency = LatencyFamily::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from the request head to the answer, by method, route template and status class",
            latency.clone(),
        );
        let cache_hits = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_hits",
            "Lookups answered from an in-memory cache",
            cache_hits.clone(),
        );
        let cache_misses = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_misses",
            "Lookups an in-memory cache did not answer (including while it is bypassed)",
            cache_misses.clone(),
        );
        let pool_max = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_max_connections",
            "Largest number of connections of a database pool",
            pool_max.clone(),
        );
        let pool_connections = Family::<PoolStateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Open connections of a database pool, idle or in use",
            pool_connections.clone(),
        );
        let listener_up = Gauge::default();
        registry.register(
            "cache_listener_up",
            "1 while the caches are in use: on PostgreSQL while the LISTEN connection hears the \
             other instances' invalidations, always on SQLite; 0 while they are bypassed",
            listener_up.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "1 while the primary database answers its probe (docs/adr/0034); 0 while requests \
             that need it are answered 503",
            database_up.clone(),
        );
        let public_reads = Family::<SourceLabels, Counter>::default();
        registry.register(
            "public_reads",
            "Database reads of the public lists (status list), by where they ran: primary (no \
             replica configured), replica, or primary_fallback (the replica was down or behind)",
            public_reads.clone(),
        );
        let connections = crate::server::ConnectionCounts::default();
        registry.register(
            "http_open_connections",
            "Connections the API's listener serves now",
            connections.open.clone(),
        );
        registry.register(
            "http_refused_connections",
            "Connections answered 429 and closed at the per-client connection cap",
            connections.refused.clone(),
        );
        Metrics {
            connections,
            public_reads,
            registry,
            requests,
            latency,
            cache_hits,
            cache_misses,
            pool_max,
            pool_connections,
            listener_up,
            database_up,
        }
    }

    /// The counters of the cache `name` (one series each).
    pub fn cache(&self, name: &'static str) -> CacheCounters {
        let labels = CacheLabels { cache: name };
        CacheCounters {
            hits: self.cache_hits.get_or_create_owned(&labels),
            misses: self.cache_misses.get_or_create_owned(&labels),
        }
    }

    /// The API listener's connection gauges.
    pub fn connections(&self) -> crate::server::ConnectionCounts {
        self.connections.clone()
    }

    /// Counts one public read (see `replica`).
    pub fn public_read(&self, source: crate::replica::Source) {
        self.public_reads
            .get_or_create(&SourceLabels {
                source: source.label(),
            })
            .inc();
    }

    /// Counts one answered request. `route` is the matched route template, or `None`.
    pub fn request(&self, method: &str, route: Option<&str>, status: StatusCode, seconds: f64) {
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.unwrap_or("unmatched").to_owned(),
            status: status_class(status),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// The text exposition of everything, with the gauges read now from `state`.
    pub fn render(&self, state: &AppState) -> Result<String, std::fmt::Error> {
        for (name, pool) in state.store.pools() {
            let size = i64::from(pool.size());
            let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX).min(size);
            let labels = PoolLabels { pool: name };
            self.pool_max
                .get_or_create(&labels)
                .set(i64::from(pool.options().get_max_connections()));
            for (state, n) in [("idle", idle), ("in_use", size - idle)] {
                self.pool_connections
                    .get_or_create(&PoolStateLabels { pool: name, state })
                    .set(n);
            }
        }
        self.listener_up
            .set(i64::from(state.coherence.is_listening()));
        self.database_up.set(i64::from(state.health.is_up()));
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// `2xx`, `4xx`, … of `status`.
fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    match state.metrics.render(&state) {
        Ok(text) => {
            let mut resp = (StatusCode::OK, text).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
            );
            resp
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(status_class(StatusCode::OK), "2xx");
        assert_eq!(status_class(StatusCode::NOT_MODIFIED), "3xx");
        assert_eq!(status_class(StatusCode::CONFLICT), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
    }
}
