//! Conditional sync (docs/adr/0044), on SQLite and PostgreSQL: a second sync with nothing new
//! asks for every public list with the ETag it holds and gets 304s without bodies; a list that
//! changed in between (a relying party registered, a device replaced so the status list
//! changed) comes back whole and is applied, and the next sync is conditional again. Prints the
//! bytes each sync received (the figures of the issue note).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use eid_core::api::paths;
use eid_core::client::{BackendClient, RetryPolicy, UreqTransport};
use eid_core::platform::{HttpRequest, HttpResponse, HttpTransport, TransportFailure};
use eid_core::runtime::block_on;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The public lists a sync pulls, by path.
const LISTS: [&str; 4] = [
    paths::TRUST_LIST,
    paths::STATUS_LIST,
    paths::RELYING_PARTIES,
    paths::STATUS_LIST_JWT,
];

/// One exchange as seen on the wire: path, whether If-None-Match was sent, status, body bytes.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    conditional: bool,
    status: u16,
    bytes: usize,
}

#[derive(Debug, Default)]
struct Recorder {
    inner: UreqTransport,
    seen: Mutex<Vec<Seen>>,
}

impl HttpTransport for Recorder {
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let path = request
            .url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
            .unwrap_or_default();
        let path = path.split('?').next().unwrap_or_default().to_owned();
        let conditional = request
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("if-none-match"));
        let r = self.inner.exchange(request)?;
        self.seen.lock().unwrap().push(Seen {
            path,
            conditional,
            status: r.status,
            bytes: r.body.len(),
        });
        Ok(r)
    }
}

impl Recorder {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

fn of<'a>(seen: &'a [Seen], path: &str) -> &'a Seen {
    seen.iter()
        .find(|s| s.path == path)
        .unwrap_or_else(|| panic!("{path} not asked for: {seen:?}"))
}

fn total(seen: &[Seen]) -> usize {
    seen.iter().map(|s| s.bytes).sum()
}

#[test]
fn an_unchanged_sync_costs_304s_and_a_changed_list_still_arrives() {
    for (db, b) in common::backends() {
        let rec = Arc::new(Recorder::default());
        let retry = RetryPolicy {
            attempts: 2,
            first_backoff: Duration::from_millis(20),
            timeout: Duration::from_secs(10),
        };
        let api = BackendClient::with_transport(&b.url, retry, rec.clone());
        let people = citizens::citizens();
        let d = tempfile::tempdir().unwrap();
        let w = common::wallet(d.path());
        common::activate(&w, &api, &people[0], Faults::default()).unwrap();
        // Activation stored the trust list with its ETag.
        let activation = rec.take();
        assert_eq!(of(&activation, paths::TRUST_LIST).status, 200, "{db}");
        // The first sync: the trust list is already current; every other list comes whole
        // (the SD-JWT VCs arrive, then their JWT list).
        block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        let first = rec.take();
        let trust = of(&first, paths::TRUST_LIST);
        assert!(trust.conditional, "{db}");
        assert_eq!(trust.status, 304, "{db}");
        for path in &LISTS[1..] {
            assert_eq!(of(&first, path).status, 200, "{db} {path}");
        }

        // Nothing changed: every list is asked for with its ETag and answered 304, no body.
        block_on(w.sync(&api, None, None)).unwrap().unwrap();
        let quiet = rec.take();
        for path in LISTS {
            let s = of(&quiet, path);
            assert!(s.conditional, "{db} {path} sent without If-None-Match");
            assert_eq!((s.status, s.bytes), (304, 0), "{db} {path}");
        }

        // A relying party registered and another citizen's device replaced: the registry and
        // the status list change, the trust list does not.
        common::admin_register_rp(&b.url, "bank.example.vn");
        let (d2, d3) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (old, new) = (common::wallet(d2.path()), common::wallet(d3.path()));
        common::activate(&old, &common::client(&b.url), &people[1], Faults::default()).unwrap();
        block_on(old.sync(&common::client(&b.url), None, None))
            .unwrap()
            .unwrap();
        common::activate(&new, &common::client(&b.url), &people[1], Faults::default()).unwrap();
        rec.take();
        block_on(w.sync(&api, None, None)).unwrap().unwrap();
        let changed = rec.take();
        assert_eq!(of(&changed, paths::TRUST_LIST).status, 304, "{db}");
        for path in [paths::RELYING_PARTIES, paths::STATUS_LIST] {
            let s = of(&changed, path);
            assert!(s.conditional, "{db} {path}");
            assert_eq!(s.status, 200, "{db} {path}");
            assert!(s.bytes > 0, "{db} {path}");
        }
        // Applied: the new relying party is known; and its ETag kept, so quiet again.
        assert!(
            w.rp_registration("x509_san_dns:bank.example.vn")
                .unwrap()
                .is_some(),
            "{db}"
        );
        block_on(w.sync(&api, None, None)).unwrap().unwrap();
        let again = rec.take();
        for path in LISTS {
            assert_eq!(of(&again, path).status, 304, "{db} {path}");
        }
        // What the same unchanged sync cost before ETags: every list whole.
        let whole: Vec<(&str, usize)> = LISTS
            .iter()
            .map(|p| {
                let seen = if *p == paths::TRUST_LIST {
                    &activation
                } else {
                    &first
                };
                (*p, of(seen, p).bytes)
            })
            .collect();
        let lists_whole: usize = whole.iter().map(|(_, n)| n).sum();
        let lists_now: usize = quiet
            .iter()
            .filter(|s| LISTS.contains(&s.path.as_str()))
            .map(|s| s.bytes)
            .sum();
        assert!(lists_whole > 1000 && lists_now == 0, "{db}");
        eprintln!(
            "{db}: an unchanged sync received {} B in {} requests; the lists' share {lists_now} B, \
             {lists_whole} B without ETags {whole:?}; a sync after a new RP and a new status \
             list {} B",
            total(&quiet),
            quiet.len(),
            total(&changed)
        );
    }
}
