//! Test harness: the backend on a fresh database (SQLite in a temporary directory always, and
//! PostgreSQL when `EID_TEST_POSTGRES_URL` is set: then a fresh database per test on that
//! server, and an unreachable server fails the test), plus a simulated citizen with a chip and a
//! device key.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine;
use coset::{CoseSign1, TaggedCborSerializable};
use der::Decode;
use eid_backend::{App, Config};
use eid_core::account::{KdfParams, Passcode};
use eid_core::api::{
    self, ActivationComplete, ActivationStart, ActivationStarted, B64, ChipEvidence, ConsentProof,
    DevOutbox, ErrorBody, ErrorCode, TokenRedeem, VerifierRegistered, VerifierRegistration,
    headers,
};
use eid_core::client::{VerifierKey, VerifierSigner};
use eid_core::consent;
use eid_core::present::Profile;
use eid_fixtures::card::aa::ActiveAuthCard;
use eid_fixtures::card::cccd;
use eid_fixtures::citizens::{self, Citizen};
use eid_icao::ec::{Curve, HashAlg};
use eid_icao::lds::LdsFile;
use http_body_util::BodyExt;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;

pub struct Harness {
    pub app: App,
    pub router: Router,
    pub db: &'static str,
    _dir: Option<tempfile::TempDir>,
    /// Requests go over HTTP to this address (a served instance, or a proxy in front of
    /// several) instead of straight into `router`.
    remote: Option<std::net::SocketAddr>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {e}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn error(&self) -> ErrorCode {
        self.json::<ErrorBody>().error.code
    }

    /// Panics unless the answer is 200, with `what` (the case) and the body.
    #[track_caller]
    pub fn assert_ok(&self, what: &str) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{what}{}",
            String::from_utf8_lossy(&self.body)
        );
    }
}

/// The passcode every test wallet registers at activation.
pub const PASSCODE: &str = "135790";
/// Argon2id cost of the tests' OPAQUE key stretching.
pub const KDF: KdfParams = KdfParams::FAST_FOR_TESTS;

/// How a consent attempt ended.
pub enum Consented {
    Proof(ConsentProof),
    /// The backend refused to start (locked, not registered, ...).
    Refused(Reply),
    /// The backend answered; the passcode did not open it.
    WrongPasscode {
        attempts_left: u32,
    },
}

/// The admin token of every test backend.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The development configuration of the tests: with [`ADMIN_TOKEN`].
pub fn config(url: String) -> Config {
    Config {
        admin_token: Some(ADMIN_TOKEN.into()),
        ..Config::development(url)
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh client_request_id.
pub fn request_id() -> String {
    format!(
        "req-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

async fn sqlite(tune: &dyn Fn(Config) -> Config) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("backend.db").display());
    let app = App::open(tune(config(url))).await.unwrap();
    Harness {
        router: app.router(),
        app,
        db: "sqlite",
        _dir: Some(dir),
        remote: None,
    }
}

/// A new database on the test server, so tests run in parallel without sharing citizens.
async fn postgres(url: &str, tune: &dyn Fn(Config) -> Config) -> Harness {
    let name = format!(
        "eid_t_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let db = eid_backend::db::create_postgres_database(url, &name)
        .await
        .unwrap_or_else(|e| panic!("EID_TEST_POSTGRES_URL is set but does not answer: {e}"));
    let app = App::open(tune(config(db))).await.unwrap();
    Harness {
        router: app.router(),
        app,
        db: "postgres",
        _dir: None,
        remote: None,
    }
}

/// One harness per database under test.
pub async fn harnesses() -> Vec<Harness> {
    harnesses_with(|c| c).await
}

/// [`harnesses`] with the test configuration changed by `tune`.
pub async fn harnesses_with(tune: impl Fn(Config) -> Config) -> Vec<Harness> {
    let mut out = vec![sqlite(&tune).await];
    if let Ok(url) = std::env::var("EID_TEST_POSTGRES_URL")
        && !url.is_empty()
    {
        out.push(postgres(&url, &tune).await);
    }
    out
}

/// A configuration without the throttles of the unauthenticated endpoints (tests that send many
/// requests from the one client a router test has).
pub fn unthrottled(c: Config) -> Config {
    let mut c = c;
    c.limits.client_throttle = eid_backend::limits::Rate::OFF;
    c.limits.global_throttle = eid_backend::limits::Rate::OFF;
    c
}

pub fn citizen(i: usize) -> Citizen {
    citizens::citizens()[i].clone()
}

impl Harness {
    pub fn from_app(app: App, db: &'static str) -> Harness {
        Harness {
            router: app.router(),
            app,
            db,
            _dir: None,
            remote: None,
        }
    }

    /// Requests go over HTTP/1.1 to `addr`, one connection each; `app` gives the clock.
    pub fn over_http(app: App, db: &'static str, addr: std::net::SocketAddr) -> Harness {
        Harness {
            remote: Some(addr),
            ..Harness::from_app(app, db)
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = match self.remote {
            None => self
                .router
                .clone()
                .oneshot(req)
                .await
                .unwrap()
                .map(Body::new),
            Some(addr) => {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(conn);
                sender.send_request(req).await.unwrap().map(Body::new)
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post<T: Serialize>(&self, path: &str, body: &T) -> Reply {
        self.post_raw(path, serde_json::to_vec(body).unwrap()).await
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Reply {
        self.send(
            Request::post(path)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    pub async fn start(&self, c: &Citizen) -> ActivationStarted {
        let r = self
            .post(
                api::paths::ACTIVATION_START,
                &ActivationStart {
                    client_request_id: request_id(),
                    id_number: c.id_number.clone(),
                    phone: c.phone.clone(),
                },
            )
            .await;
        r.assert_ok("");
        r.json()
    }

    pub async fn outbox(&self, phone: &str) -> DevOutbox {
        let r = self
            .get(&format!("{}?phone={phone}", api::paths::DEV_OUTBOX))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        r.json()
    }

    /// The code of the latest SMS to `phone`.
    pub async fn code(&self, phone: &str) -> String {
        self.outbox(phone)
            .await
            .messages
            .last()
            .expect("an SMS")
            .code
            .clone()
    }

    pub async fn complete(
        &self,
        started: &ActivationStarted,
        code: &str,
        chip: ChipEvidence,
        device: &DeviceKey,
    ) -> Reply {
        self.post(
            api::paths::ACTIVATION_COMPLETE,
            &ActivationComplete {
                client_request_id: request_id(),
                activation_id: started.activation_id.clone(),
                sms_code: code.to_owned(),
                chip,
                device_public_key: B64(device.public_key()),
                attestation: None,
                consent_registration: Some(B64(device.start_registration())),
            },
        )
        .await
    }

    /// A full activation of `c` on a new device.
    pub async fn activate(&self, c: &Citizen) -> DeviceKey {
        let started = self.start(c).await;
        let code = self.code(&c.phone).await;
        let mut device = DeviceKey::new();
        let r = self
            .complete(
                &started,
                &code,
                evidence(c, &started.chip_challenge.0),
                &device,
            )
            .await;
        r.assert_ok("");
        let done: api::ActivationCompleted = r.json();
        device.account = done.account_id;
        device.account_credential = done.account_credential.0;
        let upload = device.finish_registration(&done.consent_registration.unwrap().0);
        let r = self.register_consent(&device, &upload, None).await;
        r.assert_ok("");
        device
    }

    /// POST /v1/account/unlock with the citizen's consent.
    pub async fn unlock(&self, device: &DeviceKey) -> Reply {
        let proof = self
            .consent(
                device,
                api::consent_action::ACCOUNT_UNLOCK,
                &api::account_unlock_digest(&device.account),
            )
            .await;
        let body = serde_json::to_vec(&api::AccountLockRequest {
            client_request_id: request_id(),
            consent: Some(proof),
        })
        .unwrap();
        self.signed(device, "POST", api::paths::ACCOUNT_UNLOCK, body, &[])
            .await
    }

    /// An online token of `device` for `profile`, registered with the citizen's consent.
    pub async fn registered_token(
        &self,
        device: &DeviceKey,
        profile: eid_core::present::Profile,
        expires_at: u64,
    ) -> String {
        let t = token(device, profile, expires_at);
        let r = self.register_token(device, &t).await;
        r.assert_ok("");
        t
    }

    /// POST /v1/presentations/tokens with the citizen's consent.
    pub async fn register_token(&self, device: &DeviceKey, token: &str) -> Reply {
        let proof = self
            .consent(
                device,
                api::consent_action::PRESENTATION_TOKEN,
                &api::token_digest(token),
            )
            .await;
        self.post_token(device, token, Some(proof)).await
    }

    pub async fn post_token(
        &self,
        device: &DeviceKey,
        token: &str,
        proof: Option<ConsentProof>,
    ) -> Reply {
        let body = serde_json::to_vec(&api::TokenRegistration {
            client_request_id: request_id(),
            token: token.to_owned(),
            consent: proof,
        })
        .unwrap();
        self.signed(device, "POST", api::paths::PRESENTATION_TOKENS, body, &[])
            .await
    }

    /// POST /v1/consent/register.
    pub async fn register_consent(
        &self,
        device: &DeviceKey,
        upload: &[u8],
        proof: Option<ConsentProof>,
    ) -> Reply {
        let body = serde_json::to_vec(&api::ConsentRegister {
            client_request_id: request_id(),
            upload: B64(upload.to_vec()),
            consent: proof,
        })
        .unwrap();
        self.signed(device, "POST", api::paths::CONSENT_REGISTER, body, &[])
            .await
    }

    /// POST /v1/consent/start with a login of `passcode`.
    pub async fn consent_start(
        &self,
        device: &DeviceKey,
        passcode: &str,
    ) -> (consent::Login, Reply) {
        let (login, ke1) = consent::login_start(&Passcode::new(passcode).unwrap()).unwrap();
        let body = serde_json::to_vec(&api::ConsentStart {
            client_request_id: request_id(),
            credential_request: B64(ke1),
            registration_request: None,
        })
        .unwrap();
        let r = self
            .signed(device, "POST", api::paths::CONSENT_START, body, &[])
            .await;
        (login, r)
    }

    /// A consent login with `passcode` and its proof for `action` over `digest`.
    pub async fn try_consent(
        &self,
        device: &DeviceKey,
        passcode: &str,
        action: &str,
        digest: &[u8],
    ) -> Consented {
        let (login, r) = self.consent_start(device, passcode).await;
        if r.status != StatusCode::OK {
            return Consented::Refused(r);
        }
        let started: api::ConsentStarted = r.json();
        match consent::login_finish(
            login,
            &Passcode::new(passcode).unwrap(),
            &started.consent_id,
            &started.credential_response.0,
            KDF,
        ) {
            Ok(done) => Consented::Proof(done.proof(action, digest)),
            Err(consent::ConsentError::WrongPasscode) => Consented::WrongPasscode {
                attempts_left: started.attempts_left,
            },
            Err(e) => panic!("{e}"),
        }
    }

    /// The citizen's consent (with [`PASSCODE`]) to `action` over `digest`.
    pub async fn consent(&self, device: &DeviceKey, action: &str, digest: &[u8]) -> ConsentProof {
        match self.try_consent(device, PASSCODE, action, digest).await {
            Consented::Proof(p) => p,
            Consented::Refused(r) => panic!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
            Consented::WrongPasscode { .. } => panic!("the test passcode was refused"),
        }
    }

    /// A device-signed request.
    pub async fn signed(
        &self,
        device: &DeviceKey,
        method: &str,
        path: &str,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let now = self.app.clock().now();
        self.signed_at(device, method, path, body, extra, now).await
    }

    pub async fn signed_at(
        &self,
        device: &DeviceKey,
        method: &str,
        path: &str,
        body: Vec<u8>,
        extra: &[(&str, &str)],
        timestamp: u64,
    ) -> Reply {
        let nonce = api::new_nonce();
        let signature = device.sign(&api::signing_input(method, path, timestamp, &nonce, &body));
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(headers::ACCOUNT, &device.account)
            .header(headers::TIMESTAMP, timestamp.to_string())
            .header(headers::NONCE, nonce)
            .header(headers::SIGNATURE, signature)
            .header("content-type", "application/json");
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }
}

/// An online token of `device` (not registered).
pub fn token(device: &DeviceKey, profile: eid_core::present::Profile, expires_at: u64) -> String {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).unwrap();
    let input = eid_core::present::Token::signing_input(&id, profile, expires_at);
    eid_core::present::Token {
        id,
        profile,
        expires_at,
        signature: device.sign_raw(&input),
    }
    .to_text()
}

/// The chip's files as evidence, with its active-authentication answer to `challenge`.
pub fn evidence(c: &Citizen, challenge: &[u8]) -> ChipEvidence {
    evidence_with(c, challenge, &cccd::CardOptions::default(), false)
}

/// `clone`: the answer comes from another key than the one DG15 announces (a cloned chip).
pub fn evidence_with(
    c: &Citizen,
    challenge: &[u8],
    options: &cccd::CardOptions,
    clone: bool,
) -> ChipEvidence {
    let files = cccd::personalise(c, options).unwrap();
    let file = |f: LdsFile| B64(files.get(&f).cloned().unwrap());
    // The same seed as the simulated card (eid_fixtures::card::cccd).
    let seed = format!("{}{}", c.id_number, if clone { "/clone" } else { "" });
    let aa = ActiveAuthCard::from_seed(Curve::P256, seed.as_bytes(), HashAlg::Sha256);
    let answer = aa.internal_authenticate(challenge);
    assert_eq!(answer.sw, 0x9000);
    ChipEvidence {
        sod: file(LdsFile::Sod),
        dg1: file(LdsFile::Dg(1)),
        dg13: file(LdsFile::Dg(13)),
        dg14: Some(file(LdsFile::Dg(14))),
        dg15: Some(file(LdsFile::Dg(15))),
        aa_signature: Some(B64(answer.data)),
    }
}

/// The status list's (revoked, suspended) bits, after checking the police signature.
pub async fn status_bits(h: &Harness) -> (Vec<u8>, Vec<u8>) {
    let r = h.get(api::paths::STATUS_LIST).await;
    assert_eq!(r.status, StatusCode::OK);
    // Cacheable for what is left of its 300 s TTL (a cached list was signed earlier).
    let max_age: u64 = r.headers["cache-control"]
        .to_str()
        .unwrap()
        .split("max-age=")
        .nth(1)
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok())
        .expect("a max-age");
    assert!((1..=300).contains(&max_age), "max-age={max_age}");
    let list: api::StatusListResponse = r.json();
    let sign1 = CoseSign1::from_tagged_slice(&list.signed.0).unwrap();
    let cert_der = sign1
        .protected
        .header
        .rest
        .iter()
        .find_map(|(l, v)| (*l == coset::Label::Int(33)).then(|| v.as_bytes().unwrap().clone()))
        .unwrap();
    let cert = x509_cert::Certificate::from_der(&cert_der).unwrap();
    assert!(
        cert.tbs_certificate()
            .subject()
            .to_string()
            .contains("Bo Cong an")
    );
    let point = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let key = VerifyingKey::from_sec1_bytes(&point).unwrap();
    sign1
        .verify_signature(&[], |sig, tbs| {
            key.verify(tbs, &Signature::from_slice(sig).unwrap())
        })
        .unwrap();
    let payload: ciborium::Value =
        ciborium::from_reader(sign1.payload.as_deref().unwrap()).unwrap();
    let map = payload.as_map().unwrap();
    let field = |name: &str| {
        map.iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(field("list").as_text().unwrap(), list.list);
    let bits = |name: &str| {
        miniz_oxide::inflate::decompress_to_vec_zlib(field(name).as_bytes().unwrap()).unwrap()
    };
    (bits("revoked"), bits("suspended"))
}

pub fn bit(bits: &[u8], index: u32) -> bool {
    bits[(index / 8) as usize] & (1 << (index % 8)) != 0
}

/// A wallet's device key and, once activated, its account.
pub struct DeviceKey {
    key: SigningKey,
    pub account: String,
    pub account_credential: Vec<u8>,
    /// The consent registration sent with activation, until its answer comes.
    registration: Mutex<Option<consent::Registration>>,
}

impl DeviceKey {
    pub fn new() -> DeviceKey {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).unwrap();
        DeviceKey {
            key: SigningKey::from_slice(&secret).unwrap(),
            account: String::new(),
            account_credential: Vec::new(),
            registration: Mutex::new(None),
        }
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.key
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec()
    }

    /// ES256 r || s, as QR payloads carry it.
    pub fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        let sig: Signature = self.key.sign(message);
        sig.normalize_s().to_bytes().into()
    }

    pub fn sign(&self, message: &[u8]) -> String {
        let sig: Signature = self.key.sign(message);
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sig.normalize_s().to_der().as_bytes())
    }

    /// The device's private key (to sign remote-signing authorisations with).
    pub fn signing_key(&self) -> SigningKey {
        self.key.clone()
    }

    /// A copy of this device's key file and account (what a thief of the phone's files holds).
    pub fn copy(&self) -> DeviceKey {
        DeviceKey {
            key: self.key.clone(),
            account: self.account.clone(),
            account_credential: self.account_credential.clone(),
            registration: Mutex::new(None),
        }
    }

    /// Starts registering [`PASSCODE`]: the request bytes for activation.
    pub fn start_registration(&self) -> Vec<u8> {
        let (state, request) =
            consent::registration_start(&Passcode::new(PASSCODE).unwrap()).unwrap();
        *self.registration.lock().unwrap() = Some(state);
        request
    }

    /// The upload that finishes the registration started with activation.
    pub fn finish_registration(&self, response: &[u8]) -> Vec<u8> {
        let state = self.registration.lock().unwrap().take().unwrap();
        consent::registration_finish(state, &Passcode::new(PASSCODE).unwrap(), response, KDF)
            .unwrap()
    }
}

/// A verifier registered by the admin for `profiles`, with its signing key.
pub async fn register_verifier(h: &Harness, profiles: &[Profile]) -> VerifierKey {
    let mut key = VerifierKey::generate();
    let r = h
        .send(
            Request::post(api::paths::ADMIN_VERIFIERS)
                .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                .header("content-type", "application/json")
                .body(Body::from(
                    serde_json::to_vec(&VerifierRegistration {
                        name: "Quầy thủ tục sân bay Nội Bài 3".into(),
                        public_key: B64(key.public_key()),
                        profiles: profiles.iter().map(|p| p.as_str().to_owned()).collect(),
                    })
                    .unwrap(),
                ))
                .unwrap(),
        )
        .await;
    r.assert_ok("");
    key.verifier_id = r.json::<VerifierRegistered>().verifier_id;
    key
}

/// A verifier-signed redemption of `token` at `timestamp`.
pub async fn redeem_at(h: &Harness, verifier: &VerifierKey, token: &str, timestamp: u64) -> Reply {
    h.send(redeem_request(verifier, token, timestamp)).await
}

/// The request of a verifier-signed redemption of `token` at `timestamp` (no client_request_id,
/// as a desk from before docs/adr/0045 sends).
pub fn redeem_request(verifier: &VerifierKey, token: &str, timestamp: u64) -> Request<Body> {
    redeem_request_with_id(verifier, token, timestamp, None)
}

/// [`redeem_request`] with this redemption's `client_request_id`.
pub fn redeem_request_with_id(
    verifier: &VerifierKey,
    token: &str,
    timestamp: u64,
    client_request_id: Option<&str>,
) -> Request<Body> {
    let body = serde_json::to_vec(&TokenRedeem {
        token: token.into(),
        client_request_id: client_request_id.map(str::to_owned),
    })
    .unwrap();
    let path = api::paths::TOKEN_REDEEM;
    let nonce = api::new_nonce();
    let sig = verifier
        .sign(&api::signing_input("POST", path, timestamp, &nonce, &body))
        .unwrap();
    Request::post(path)
        .header(headers::VERIFIER, verifier.verifier_id())
        .header(headers::TIMESTAMP, timestamp.to_string())
        .header(headers::NONCE, nonce)
        .header(
            headers::SIGNATURE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig),
        )
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

/// A verifier-signed redemption of `token` now.
pub async fn redeem(h: &Harness, verifier: &VerifierKey, token: &str) -> Reply {
    redeem_at(h, verifier, token, h.app.clock().now()).await
}

/// A TCP proxy that hands each new connection to the next of `backends` in turn (the
/// multi-instance and fault tests' balancer; a backend that refuses the connection gets the
/// client's connection closed, as a balancer without health checks does).
pub async fn round_robin(backends: Vec<std::net::SocketAddr>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let next = std::sync::atomic::AtomicUsize::new(0);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let to = backends[next.fetch_add(1, Ordering::Relaxed) % backends.len()];
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    addr
}
