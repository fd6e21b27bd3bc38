//! Shared harness of the end-to-end tests: the backend on a loopback port, wallets, the
//! simulated chip read with the backend's challenge, and activation.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod bank;

use eid_backend::{App, Config};
use eid_core::account::{KdfParams, Passcode};
use eid_core::client::{BackendClient, RetryPolicy};
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::platform::{Clock, SystemClock};
use eid_core::runtime::{block_on, runtime};
use eid_core::wallet::{PendingActivation, Wallet, WalletError};
use eid_fixtures::card::SimTransport;
use eid_fixtures::card::cccd::{self, CardOptions, Faults};
use eid_fixtures::citizens::Citizen;
use eid_fixtures::drbg::Drbg;
use eid_icao::TransportLimits;
use eid_icao::document::{ChipDocument, read_document};
use eid_icao::pace::PacePassword;
use eid_icao::reader::ReadRequest;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const EXTENDED: TransportLimits = TransportLimits {
    max_command: 65544,
    max_response: 65538,
    extended_length: true,
};

/// The admin token of the test backends (verifier registration).
pub const ADMIN_TOKEN: &str = "e2e-admin-token";

/// A backend served on a free loopback port until dropped.
pub struct Backend {
    pub url: String,
    pub app: App,
    _dir: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The backend on a temporary SQLite database, served on a free loopback port.
pub fn backend() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("backend.db").display());
    serve(url, Some(dir))
}

/// One backend per database under test: SQLite always, and a fresh PostgreSQL database when
/// `EID_TEST_POSTGRES_URL` is set (the test script starts one; then it must answer).
pub fn backends() -> Vec<(&'static str, Backend)> {
    let mut all = vec![("sqlite", backend())];
    if let Ok(server) = std::env::var("EID_TEST_POSTGRES_URL") {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "eid_e2e_{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let url = block_on(eid_backend::db::create_postgres_database(&server, &name))
            .unwrap()
            .unwrap_or_else(|e| panic!("EID_TEST_POSTGRES_URL is set but does not answer: {e}"));
        all.push(("postgres", serve(url, None)));
    }
    all
}

fn serve(url: String, dir: Option<tempfile::TempDir>) -> Backend {
    serve_with_signer(url, dir, &eid_backend::signing::SignerChoice::Software)
}

/// The backend on a temporary SQLite database with its remote signing keys in `signer`.
pub fn backend_with_signer(signer: &eid_backend::signing::SignerChoice) -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("backend.db").display());
    serve_with_signer(url, Some(dir), signer)
}

fn serve_with_signer(
    url: String,
    dir: Option<tempfile::TempDir>,
    signer: &eid_backend::signing::SignerChoice,
) -> Backend {
    serve_config(url, dir, signer, |c| c)
}

/// The backend on a temporary SQLite database with its configuration changed by `change`.
pub fn backend_with(change: impl FnOnce(Config) -> Config) -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("backend.db").display());
    serve_config(
        url,
        Some(dir),
        &eid_backend::signing::SignerChoice::Software,
        change,
    )
}

fn serve_config(
    url: String,
    dir: Option<tempfile::TempDir>,
    signer: &eid_backend::signing::SignerChoice,
    change: impl FnOnce(Config) -> Config,
) -> Backend {
    let config = change(Config {
        admin_token: Some(ADMIN_TOKEN.into()),
        ..Config::development(url)
    });
    let app = block_on(App::open_with_signer(config, signer))
        .unwrap()
        .unwrap();
    let listener = block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap()
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = app.clone();
    runtime().unwrap().spawn(async move {
        let _ = served
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await;
    });
    Backend {
        url: format!("http://{addr}"),
        app,
        _dir: dir,
        stop: Some(tx),
    }
}

/// The backend on a temporary SQLite database (or `db_url`), served on a free loopback port that
/// is also its public URL: its "Log in with e-ID" hub is on (docs/adr/0042).
pub fn backend_with_hub(db_url: Option<String>) -> Backend {
    let (url, dir) = match db_url {
        Some(u) => (u, None),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("backend.db").display());
            (url, Some(dir))
        }
    };
    let listener = block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap()
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Config {
        admin_token: Some(ADMIN_TOKEN.into()),
        public_url: format!("http://{addr}"),
        ..Config::development(url)
    };
    let app = block_on(App::open_with_signer(
        config,
        &eid_backend::signing::SignerChoice::Software,
    ))
    .unwrap()
    .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = app.clone();
    runtime().unwrap().spawn(async move {
        let _ = served
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await;
    });
    Backend {
        url: format!("http://{addr}"),
        app,
        _dir: dir,
        stop: Some(tx),
    }
}

pub fn client(url: &str) -> BackendClient {
    let fast = RetryPolicy {
        attempts: 2,
        first_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
    };
    BackendClient::new(url, fast).unwrap()
}

pub fn wallet(dir: &Path) -> Wallet {
    let keys: Arc<dyn KeyStore> = Arc::new(SoftwareKeyStore::in_memory());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
    let w = Wallet::open(dir, keys, clock)
        .unwrap()
        .with_kdf(KdfParams::FAST_FOR_TESTS);
    w.set_up(&pass()).unwrap();
    w
}

pub fn read_chip(c: &Citizen, challenge: &[u8], faults: Faults) -> ChipDocument {
    let options = CardOptions {
        faults,
        ..CardOptions::default()
    };
    let link = SimTransport::new(cccd::card(c, &options).unwrap(), EXTENDED);
    let mut request = ReadRequest::cccd(false);
    request.aa_challenge = Some(challenge.to_vec());
    let key = PacePassword::Mrz(cccd::mrz_key(c).unwrap());
    let trust = cccd::trust_store().unwrap();
    read_document(
        link,
        key,
        &request,
        Some(&trust),
        &mut Drbg::new(b"e2e", "terminal"),
        None,
    )
    .unwrap()
}

/// Starts an activation and returns it with the SMS code from the dev outbox and the chip read
/// with the backend's challenge.
pub fn begin(
    w: &Wallet,
    api: &BackendClient,
    c: &Citizen,
    faults: Faults,
) -> (PendingActivation, String, ChipDocument) {
    let pending = block_on(w.start_activation(api, &c.id_number, &c.phone))
        .unwrap()
        .unwrap();
    let code = block_on(api.dev_latest_code(&c.phone))
        .unwrap()
        .unwrap()
        .expect("a code in the outbox");
    let chip = read_chip(c, &pending.chip_challenge, faults);
    (pending, code, chip)
}

/// Start, read the code from the dev outbox, read the chip with the server's challenge, complete.
pub fn activate(
    w: &Wallet,
    api: &BackendClient,
    c: &Citizen,
    faults: Faults,
) -> Result<(String, u8), WalletError> {
    let (pending, code, chip) = begin(w, api, c, faults);
    block_on(w.complete_activation(api, &pending, &code, &chip, &pass())).unwrap()
}

/// The passcode of every test wallet.
pub fn pass() -> Passcode {
    Passcode::new("123456").unwrap()
}

/// Registers a relying party for `dns` (purpose `ekyc`) through the admin API.
pub fn admin_register_rp(url: &str, dns: &str) -> eid_core::api::RpRecord {
    let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
    let point = key.verifying_key().to_sec1_point(false);
    post_rp_registration(
        url,
        &eid_core::api::RpRegistrationRequest {
            legal_name: "Ngân hàng Example".into(),
            registration_number: "0101234567".into(),
            logo_url: None,
            dns_name: dns.into(),
            response_uris: vec![format!("https://{dns}/oid4vp/response")],
            purposes: vec![eid_core::api::RpPurpose {
                name: "ekyc".into(),
                claims: vec![],
            }],
            public_key_pem: None,
            public_key_jwk: Some(eid_core::sdjwt::jwk_from_point(point.as_bytes()).unwrap()),
        },
    )
}

/// POSTs `req` to the admin API with the test admin token; the registered record.
pub fn post_rp_registration(
    url: &str,
    req: &eid_core::api::RpRegistrationRequest,
) -> eid_core::api::RpRecord {
    use eid_core::platform::HttpTransport as _;
    let r = eid_core::client::UreqTransport::new()
        .exchange(eid_core::platform::HttpRequest {
            method: eid_core::platform::Method::Post,
            url: format!("{url}{}", eid_core::api::paths::ADMIN_RELYING_PARTIES),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("authorization".into(), format!("Bearer {ADMIN_TOKEN}")),
            ],
            body: Some(serde_json::to_vec(req).unwrap()),
            timeout: Duration::from_secs(10),
        })
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).unwrap()
}

/// Issue 18: a trusted issuer of another kind cannot sign a kind. A fresh level-2 wallet
/// trusting the fixture issuers refuses each `(kind, issuer)` of `wrong` (the documents
/// `docs_at(now)` holds, signed by that issuer) as `IssuerNotAuthorised(kind)`, and imports
/// each kind of `right` signed by its own issuer.
pub fn assert_only_the_authorised_issuer_signs(
    issuers: &eid_fixtures::issuers::Issuers,
    docs_at: impl FnOnce(u64) -> Vec<eid_core::credential::Document>,
    wrong: &[(
        eid_core::credential::DocumentKind,
        &eid_core::credential::IssuerKey,
    )],
    right: &[eid_core::credential::DocumentKind],
) {
    use eid_core::credential::{CredentialError, StatusRef, Validity, issue};
    let dir = tempfile::tempdir().unwrap();
    let w = wallet(dir.path());
    w.activate(2).unwrap();
    w.set_trust_list(&issuers.trust_list().unwrap()).unwrap();
    let device = w.device_public_key().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let docs = docs_at(now);
    let doc_of = |kind| docs.iter().find(|d| d.kind() == kind).unwrap();
    let sign = |kind, by| {
        issue(
            kind,
            doc_of(kind),
            &device,
            Validity::starting(now, 86_400),
            &StatusRef {
                list: "https://status.eid.invalid/lists/1".into(),
                index: 7,
            },
            by,
        )
        .unwrap()
    };
    for &(kind, by) in wrong {
        let err = w.import(&[sign(kind, by)]).unwrap_err();
        assert!(
            matches!(
                err,
                WalletError::Credential(CredentialError::IssuerNotAuthorised(k)) if k == kind
            ),
            "{kind}: {err:?}"
        );
    }
    for &kind in right {
        let infos = w.import(&[sign(kind, issuers.issuer_for(kind))]).unwrap();
        assert_eq!(infos[0].kind, kind);
    }
}
