//! `GET /metrics` (docs/adr/0030): on the metrics router only, Prometheus text format, request
//! counts and latency histograms per route template and status class, caches, pools, listener.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use eid_core::api;
use http_body_util::BodyExt;
use std::collections::HashMap;
use tower::ServiceExt;

/// One sample: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parses the text exposition format (0.0.4): `# ` lines are comments, the others
/// `name{label="value",...} value`. Panics on anything else.
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect(line);
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().expect(line),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), HashMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect(line);
                let labels = body
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once("=\"").expect(line);
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name.to_owned(), labels)
            }
        };
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "{line}"
        );
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect()
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = find(samples, name, labels);
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0].value
}

async fn scrape(h: &Harness) -> (String, Vec<Sample>) {
    let resp = h
        .app
        .metrics_router()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let samples = parse(&text);
    (text, samples)
}

async fn sync(h: &Harness, device: &DeviceKey) -> Reply {
    h.signed(device, "GET", api::paths::DOCUMENTS, Vec::new(), &[])
        .await
}

#[tokio::test]
async fn metrics_count_requests_per_route_template_with_cumulative_histograms() {
    for h in harnesses_with(unthrottled).await {
        let db = h.db;
        // Not on the API's router.
        assert_eq!(
            h.get("/metrics").await.status,
            StatusCode::NOT_FOUND,
            "{db}"
        );
        let device = h.activate(&citizen(0)).await;
        for _ in 0..3 {
            assert_eq!(sync(&h, &device).await.status, StatusCode::OK, "{db}");
        }
        // A signed request from an unknown account: 401, counted under the same route.
        let mut stranger = DeviceKey::new();
        stranger.account = "acct-unknown".into();
        assert_eq!(
            sync(&h, &stranger).await.status,
            StatusCode::UNAUTHORIZED,
            "{db}"
        );
        assert_eq!(h.get(api::paths::STATUS_LIST).await.status, StatusCode::OK);
        // A path with an id in it matches no route: counted as "unmatched", never by its path.
        let odd = "/v1/documents/0123456789ab";
        assert_eq!(h.get(odd).await.status, StatusCode::NOT_FOUND, "{db}");

        let (text, samples) = scrape(&h).await;
        assert!(
            !text.contains("0123456789ab"),
            "{db}: a raw path in the metrics"
        );
        assert!(!text.contains(&citizen(0).id_number), "{db}");
        let docs = [("method", "GET"), ("route", api::paths::DOCUMENTS)];
        let ok = [docs[0], docs[1], ("status", "2xx")];
        assert_eq!(value(&samples, "eid_http_requests_total", &ok), 3.0, "{db}");
        let refused = [docs[0], docs[1], ("status", "4xx")];
        assert_eq!(
            value(&samples, "eid_http_requests_total", &refused),
            1.0,
            "{db}"
        );
        let unmatched = [("route", "unmatched"), ("status", "4xx")];
        // This one and the GET /metrics on the API's router.
        assert_eq!(
            value(&samples, "eid_http_requests_total", &unmatched),
            2.0,
            "{db}"
        );
        let start = [
            ("method", "POST"),
            ("route", api::paths::ACTIVATION_START),
            ("status", "2xx"),
        ];
        assert_eq!(
            value(&samples, "eid_http_requests_total", &start),
            1.0,
            "{db}"
        );
        // Every route label is a route template or "unmatched".
        for s in find(&samples, "eid_http_requests_total", &[]) {
            let route = &s.labels["route"];
            assert!(
                route == "unmatched" || eid_backend::ROUTES.iter().any(|(_, p)| p == route),
                "{db}: {route}"
            );
        }

        // The histogram of the successful syncs: buckets cumulative, +Inf = count = 3.
        let mut buckets: Vec<(f64, f64)> =
            find(&samples, "eid_http_request_duration_seconds_bucket", &ok)
                .iter()
                .map(|s| {
                    let le = match s.labels["le"].as_str() {
                        "+Inf" => f64::INFINITY,
                        v => v.parse().unwrap(),
                    };
                    (le, s.value)
                })
                .collect();
        buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        assert!(buckets.len() > 5, "{db}: {buckets:?}");
        assert!(
            buckets.windows(2).all(|w| w[0].1 <= w[1].1),
            "{db}: not cumulative {buckets:?}"
        );
        assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, 3.0), "{db}");
        assert_eq!(
            value(&samples, "eid_http_request_duration_seconds_count", &ok),
            3.0
        );
        let sum = value(&samples, "eid_http_request_duration_seconds_sum", &ok);
        assert!(sum > 0.0 && sum < 30.0, "{db}: {sum}");

        // The three syncs: the first misses the page cache, the next two hit it.
        let pages = [("cache", "document_pages")];
        assert!(
            value(&samples, "eid_cache_hits_total", &pages) >= 2.0,
            "{db}"
        );
        assert!(
            value(&samples, "eid_cache_misses_total", &pages) >= 1.0,
            "{db}"
        );
        for cache in ["accounts", "status_list", "verifiers", "registry_records"] {
            assert_eq!(
                find(&samples, "eid_cache_hits_total", &[("cache", cache)]).len(),
                1,
                "{db} {cache}"
            );
        }
        // The pool: idle + in use within the maximum; the listener (always on SQLite).
        let primary = [("pool", "primary")];
        let max = value(&samples, "eid_db_pool_max_connections", &primary);
        assert_eq!(max, if db == "sqlite" { 4.0 } else { 8.0 });
        let idle = value(
            &samples,
            "eid_db_pool_connections",
            &[primary[0], ("state", "idle")],
        );
        let used = value(
            &samples,
            "eid_db_pool_connections",
            &[primary[0], ("state", "in_use")],
        );
        assert!(
            idle + used >= 1.0 && idle + used <= max,
            "{db}: {idle} {used}"
        );
        assert_eq!(value(&samples, "eid_cache_listener_up", &[]), 1.0, "{db}");
        assert_eq!(value(&samples, "eid_database_up", &[]), 1.0, "{db}");

        // Counters move: three more syncs, three more in the count.
        for _ in 0..3 {
            sync(&h, &device).await;
        }
        let (_, again) = scrape(&h).await;
        assert_eq!(value(&again, "eid_http_requests_total", &ok), 6.0, "{db}");
        assert_eq!(
            value(&again, "eid_http_request_duration_seconds_count", &ok),
            6.0
        );
    }
}

#[tokio::test]
async fn metrics_count_open_and_refused_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tune = |mut c: eid_backend::Config| {
        c.limits.max_connections_per_client = 3;
        c
    };
    for h in harnesses_with(tune).await {
        let db = h.db;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = h.app.clone();
        let served = tokio::spawn(async move {
            app.serve(listener, async {
                let _ = stopped.await;
            })
            .await
        });
        let open_now = async |want: f64| {
            for _ in 0..200 {
                let (_, s) = scrape(&h).await;
                if value(&s, "eid_http_open_connections", &[]) == want {
                    return s;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("{db}: open connections never {want}");
        };
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            c.write_all(b"GET /v1/health HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 12];
            c.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"HTTP/1.1 200", "{db}");
            held.push(c);
        }
        open_now(3.0).await;
        // The fourth from the same address: 429 and closed, counted, never open.
        let mut fourth = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut answer = Vec::new();
        fourth.read_to_end(&mut answer).await.unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 429"), "{db}");
        let s = open_now(3.0).await;
        assert_eq!(
            value(&s, "eid_http_refused_connections_total", &[]),
            1.0,
            "{db}"
        );
        drop(held);
        open_now(0.0).await;
        let _ = stop.send(());
        served.await.unwrap().unwrap();
    }
}
