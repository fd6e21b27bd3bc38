//! The wallet's side of the relying-party hub (docs/adr/0036), on SQLite and PostgreSQL: the
//! admin registers a relying party at the backend; the wallet's sync fetches the signed
//! registry and the RP CA, checks them and stores them; `Wallet::rp_registration` answers the
//! registration; a tampered registry fails the sync and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eid_core::api::paths;
use eid_core::client::{BackendClient, RetryPolicy, UreqTransport};
use eid_core::platform::{HttpRequest, HttpResponse, HttpTransport, TransportFailure};
use eid_core::runtime::block_on;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const BANK: &str = "bank.example.vn";

/// Passes everything through, and while `tamper` is set flips one byte of the signed registry.
#[derive(Debug)]
struct Tamperer {
    inner: UreqTransport,
    tamper: AtomicBool,
}

impl HttpTransport for Tamperer {
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let registry = request.url.ends_with(paths::RELYING_PARTIES);
        let mut r = self.inner.exchange(request)?;
        if registry && self.tamper.load(Ordering::SeqCst) {
            let mut body: eid_core::api::RpRegistryResponse =
                serde_json::from_slice(&r.body).unwrap();
            let at = body
                .signed
                .0
                .windows(3)
                .position(|w| w == b"ekyc")
                .unwrap_or(body.signed.0.len() - 80);
            body.signed.0[at] ^= 0x20;
            r.body = serde_json::to_vec(&body).unwrap();
        }
        Ok(r)
    }
}

#[test]
fn the_wallet_syncs_the_signed_registry_and_refuses_a_tampered_one() {
    for (db, b) in common::backends() {
        let transport = Arc::new(Tamperer {
            inner: UreqTransport::new(),
            tamper: AtomicBool::new(false),
        });
        let api = BackendClient::with_transport(
            &b.url,
            RetryPolicy {
                attempts: 2,
                first_backoff: Duration::from_millis(20),
                timeout: Duration::from_secs(10),
            },
            transport.clone(),
        );
        let d = tempfile::tempdir().unwrap();
        let w = common::wallet(d.path());
        common::activate(&w, &api, &citizens::citizens().remove(0), Faults::default()).unwrap();
        let client_id = format!("x509_san_dns:{BANK}");
        // Activation brought the RP CA already; no registry yet.
        assert_eq!(w.rp_trust().unwrap().len(), 1, "{db}");
        assert_eq!(w.rp_registration(&client_id).unwrap(), None);
        let rec = common::admin_register_rp(&b.url, BANK);
        block_on(w.sync(&api, None, None)).unwrap().unwrap();
        let reg = w.rp_registration(&client_id).unwrap().expect("registered");
        assert_eq!(reg.name, "Ngân hàng Example", "{db}");
        assert_eq!(
            reg.response_uris,
            [format!("https://{BANK}/oid4vp/response")]
        );
        assert_eq!(reg.purposes.len(), 1);
        assert_eq!(reg.purposes[0].name, "ekyc");
        assert!(!reg.purposes[0].claims.is_empty());
        // The bank and the hub itself (docs/adr/0042).
        assert_eq!(w.rp_registrations().unwrap().len(), 2);
        // The access certificate chains to what the wallet stored.
        let leaf =
            eid_crypto::x509::SignerCertificate::from_der(&rec.access_certificate.0).unwrap();
        assert!(w.rp_trust().unwrap().issuer_of(&leaf).is_some(), "{db}");
        // Another relying party registers, and the registry the wallet receives is altered: the
        // sync fails, the wallet keeps what it had.
        common::admin_register_rp(&b.url, "hue-s.example.vn");
        transport.tamper.store(true, Ordering::SeqCst);
        let err = block_on(w.sync(&api, None, None)).unwrap().unwrap_err();
        assert!(
            err.to_string().contains("relying-party registry"),
            "{db}: {err}"
        );
        assert!(w.rp_registration(&client_id).unwrap().is_some());
        assert_eq!(
            w.rp_registration("x509_san_dns:hue-s.example.vn").unwrap(),
            None,
            "{db}"
        );
        // Untampered again: both (and the hub).
        transport.tamper.store(false, Ordering::SeqCst);
        block_on(w.sync(&api, None, None)).unwrap().unwrap();
        assert_eq!(w.rp_registrations().unwrap().len(), 3, "{db}");
    }
}
