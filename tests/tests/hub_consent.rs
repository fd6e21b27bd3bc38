//! "Log in with e-ID" needs the citizen, not the device key alone (docs/adr/0058), on SQLite and
//! PostgreSQL: the hub takes a wallet's OpenID4VP answer only with a consent proof (OPAQUE login
//! with the passcode, MAC over `hub_response` and the digest of that exact answer). A standard
//! answer without it, a proof for another answer (other session or other response bytes), a
//! replayed or already used proof and another citizen's proof are refused, with no code issued;
//! a wrong passcode gives no proof and is counted at the backend.
//!
//! Fails before the change: the standard answer (the device key's KB-JWT only) logged in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eid_core::account::{AccountError, KdfParams, Passcode};
use eid_core::api::{
    B64, ConsentProof, HUB_CONSENT_FIELD, RpPurpose, RpRegistrationRequest, consent_action,
    hub_response_digest, paths,
};
use eid_core::client::{BackendClient, ClientError, DeviceSigner, UreqTransport};
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::oid4vp;
use eid_core::platform::{
    Clock, HttpRequest, HttpResponse, HttpTransport, Method, SystemClock, TransportFailure,
};
use eid_core::runtime::block_on;
use eid_core::wallet::{
    AuthorizationPrompt, AuthorizeError, Consent, DEVICE_KEY_ALIAS, Wallet, WalletError,
};
use eid_crypto::SecretKey;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REDIRECT: &str = "http://127.0.0.1:9/bank/cb";

fn secret() -> SecretKey {
    SecretKey::new(vec![0x42; 32])
}

/// A wallet over a software key store file in `dir` (so a thief can open a copy of it).
fn file_wallet(dir: &Path) -> Wallet {
    let keys: Arc<dyn KeyStore> =
        Arc::new(SoftwareKeyStore::open(&dir.join("keystore.bin"), &secret()).unwrap());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
    let w = Wallet::open(dir, keys, clock)
        .unwrap()
        .with_kdf(KdfParams::FAST_FOR_TESTS);
    w.set_up(&common::pass()).unwrap();
    w
}

/// Device-signed requests with a copy of the wallet's key store: the device key, no passcode.
struct Thief {
    keys: Arc<dyn KeyStore>,
    account: String,
}

impl DeviceSigner for Thief {
    fn account_id(&self) -> String {
        self.account.clone()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.keys
            .sign(DEVICE_KEY_ALIAS, message)
            .map_err(|e| ClientError::DeviceKey(e.to_string()))
    }
}

/// The wallet's HTTP: everything goes to the network except POSTs to the hub's response URI,
/// which are kept (and answered 200) so the test can post them itself, altered or not.
#[derive(Debug)]
struct Capture {
    response_uri: String,
    kept: Mutex<Vec<String>>,
}

impl HttpTransport for Capture {
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        if request.method == Method::Post && request.url == self.response_uri {
            let body = String::from_utf8(request.body.unwrap_or_default()).unwrap();
            self.kept.lock().unwrap().push(body);
            return Ok(HttpResponse {
                status: 200,
                headers: vec![],
                body: b"{}".to_vec(),
            });
        }
        UreqTransport::new().exchange(request)
    }
}

impl Capture {
    fn last(&self) -> String {
        self.kept
            .lock()
            .unwrap()
            .pop()
            .expect("an answer was posted")
    }
}

fn http(method: Method, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, Value) {
    let r = UreqTransport::new()
        .exchange(HttpRequest {
            method,
            url: url.to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.map(|b| b.as_bytes().to_vec()),
            timeout: Duration::from_secs(20),
        })
        .unwrap();
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

/// A bank registered for `login` and made an OIDC client of the hub: its client id.
fn oidc_bank(url: &str) -> String {
    let key = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
    let point = key.verifying_key().to_sec1_point(false);
    let rec = common::post_rp_registration(
        url,
        &RpRegistrationRequest {
            legal_name: "Ngan hang Hub".into(),
            registration_number: "0100000009".into(),
            logo_url: None,
            dns_name: "bank.example.vn".into(),
            response_uris: vec![REDIRECT.into()],
            purposes: vec![RpPurpose {
                name: "login".into(),
                claims: vec![],
            }],
            public_key_pem: None,
            public_key_jwk: Some(eid_core::sdjwt::jwk_from_point(point.as_bytes()).unwrap()),
        },
    );
    let path = paths::ADMIN_RP_OIDC_CLIENT.replace("{id}", &rec.id);
    let (status, v) = http(
        Method::Post,
        &format!("{url}{path}"),
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {}", common::ADMIN_TOKEN)),
        ],
        Some(&json!({"redirect_uris": [REDIRECT]}).to_string()),
    );
    assert_eq!(status, 200, "{v}");
    v["client_id"].as_str().unwrap().to_owned()
}

/// One login started at the hub: (openid4vp:// URI, poll URI).
fn start_login(url: &str, client_id: &str) -> (String, String) {
    let query = oid4vp::form_encode(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "st-1"),
        ("nonce", "n-hub"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]);
    let (status, v) = http(
        Method::Get,
        &format!("{url}/v1/oidc/authorize?{query}"),
        &[("accept", "application/json")],
        None,
    );
    assert_eq!(status, 200, "{v}");
    (
        v["openid4vp_uri"].as_str().unwrap().to_owned(),
        v["poll_uri"].as_str().unwrap().to_owned(),
    )
}

fn poll(uri: &str) -> Value {
    http(Method::Get, uri, &[], None).1
}

fn waiting(uri: &str) -> bool {
    poll(uri)["status"] == "waiting"
}

/// Posts `body` to the hub's response URI: (status, error_description).
fn post(url: &str, body: &str) -> (u16, String) {
    let (status, v) = http(
        Method::Post,
        &format!("{url}{}", paths::OIDC_RESPONSE),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body),
    );
    (
        status,
        v["error_description"].as_str().unwrap_or("").to_owned(),
    )
}

/// The `response` (JWE) of a standard answer's body.
fn response_of(body: &str) -> String {
    oid4vp::form_decode(body).unwrap()["response"].clone()
}

/// The digest a proof for `body` as the answer to `prompt` covers.
fn digest(prompt: &AuthorizationPrompt, body: &str) -> [u8; 32] {
    hub_response_digest(
        prompt.state().unwrap(),
        prompt.nonce(),
        &prompt.rp.client_id,
        &response_of(body),
    )
}

fn with_proof(body: &str, proof: &ConsentProof) -> String {
    format!(
        "{body}&{}",
        oid4vp::form_encode(&[(
            HUB_CONSENT_FIELD,
            serde_json::to_string(proof).unwrap().as_str()
        )])
    )
}

fn proof(w: &Wallet, api: &BackendClient, digest: &[u8]) -> ConsentProof {
    block_on(w.consent_proof(api, &common::pass(), consent_action::HUB_RESPONSE, digest))
        .unwrap()
        .unwrap()
}

fn hubs() -> Vec<(&'static str, common::Backend)> {
    let mut all = vec![("sqlite", common::backend_with_hub(None))];
    if let Ok(server) = std::env::var("EID_TEST_POSTGRES_URL") {
        let name = format!("eid_e2e_hub_{}", std::process::id());
        let url = block_on(eid_backend::db::create_postgres_database(&server, &name))
            .unwrap()
            .unwrap();
        all.push(("postgres", common::backend_with_hub(Some(url))));
    }
    all
}

#[test]
fn a_hub_login_needs_the_citizens_consent_bound_to_that_answer() {
    for (db, b) in hubs() {
        let url = b.url.clone();
        let api = common::client(&url);
        let bank = oidc_bank(&url);
        let dir_a = tempfile::tempdir().unwrap();
        let wa = file_wallet(dir_a.path());
        common::activate(
            &wa,
            &api,
            &citizens::citizens().remove(1),
            Faults::default(),
        )
        .unwrap();
        block_on(wa.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        let dir_b = tempfile::tempdir().unwrap();
        let wb = common::wallet(dir_b.path());
        common::activate(
            &wb,
            &api,
            &citizens::citizens().remove(2),
            Faults::default(),
        )
        .unwrap();
        let capture = Capture {
            response_uri: format!("{url}{}", paths::OIDC_RESPONSE),
            kept: Mutex::new(vec![]),
        };
        let pass = common::pass();

        // (2) The standard answer alone (the device key's KB-JWT): refused, no code.
        let (uri1, poll1) = start_login(&url, &bank);
        let p1 = wa.authorize_prepare(&uri1, &capture).unwrap();
        assert!(p1.answers_hub_of(&api), "{db}");
        wa.authorize_answer(&p1, Consent::Passcode(&pass), &capture)
            .unwrap();
        let a1 = capture.last();
        assert!(!a1.contains(HUB_CONSENT_FIELD), "{db}");
        let (status, why) = post(&url, &a1);
        assert_eq!(status, 400, "{db}: {why}");
        assert!(why.contains("no consent proof"), "{db}: {why}");
        assert!(waiting(&poll1), "{db}: no code without the consent");
        // The wallet's own standard path to the hub is refused the same way.
        let (uri0, poll0) = start_login(&url, &bank);
        let p0 = wa.authorize_prepare(&uri0, &UreqTransport::new()).unwrap();
        let err = wa
            .authorize_answer(&p0, Consent::Passcode(&pass), &UreqTransport::new())
            .unwrap_err();
        assert!(matches!(err, AuthorizeError::Status(400)), "{db}: {err}");
        assert!(waiting(&poll0), "{db}");

        // (3) A proof for another answer: another session's, or other response bytes.
        let (uri2, poll2) = start_login(&url, &bank);
        let p2 = wa.authorize_prepare(&uri2, &capture).unwrap();
        wa.authorize_answer(&p2, Consent::Passcode(&pass), &capture)
            .unwrap();
        let a2 = capture.last();
        let for_a2 = proof(&wa, &api, &digest(&p2, &a2));
        let (status, why) = post(&url, &with_proof(&a1, &for_a2));
        assert_eq!(status, 400, "{db}: {why}");
        assert!(why.contains("consent"), "{db}: {why}");
        let other_bytes = hub_response_digest(
            p1.state().unwrap(),
            p1.nonce(),
            &p1.rp.client_id,
            &response_of(&a2),
        );
        let (status, _) = post(&url, &with_proof(&a1, &proof(&wa, &api, &other_bytes)));
        assert_eq!(status, 400, "{db}");
        let other_session = hub_response_digest(
            p2.state().unwrap(),
            p2.nonce(),
            &p2.rp.client_id,
            &response_of(&a1),
        );
        let (status, _) = post(&url, &with_proof(&a1, &proof(&wa, &api, &other_session)));
        assert_eq!(status, 400, "{db}");
        assert!(waiting(&poll1) && waiting(&poll2), "{db}");
        // (4) The proof for a2 was used by that refusal: it cannot serve a2 itself now.
        let (status, why) = post(&url, &with_proof(&a2, &for_a2));
        assert_eq!(status, 400, "{db}: {why}");
        assert!(why.contains("unknown, used"), "{db}: {why}");
        assert!(waiting(&poll2), "{db}");

        // (5) Another citizen's consent over this citizen's answer: refused.
        let theirs = proof(&wb, &api, &digest(&p2, &a2));
        let (status, why) = post(&url, &with_proof(&a2, &theirs));
        assert_eq!(status, 400, "{db}: {why}");
        assert!(why.contains("another account"), "{db}: {why}");
        assert!(waiting(&poll2), "{db}");

        // (1) The citizen's own proof for exactly this answer: the login goes through, once.
        let good = with_proof(&a1, &proof(&wa, &api, &digest(&p1, &a1)));
        let (status, why) = post(&url, &good);
        assert_eq!(status, 200, "{db}: {why}");
        let done = poll(&poll1);
        let to = done["redirect_uri"].as_str().unwrap();
        assert!(to.starts_with(&format!("{REDIRECT}?code=")), "{db}: {to}");
        // (4) Replayed: refused, and no second code.
        let (status, _) = post(&url, &good);
        assert_eq!(status, 400, "{db}");
        assert!(poll(&poll1).get("redirect_uri").is_none(), "{db}");

        // The wallet's hub path does all of it: consent login, answer, proof, post.
        let (uri3, poll3) = start_login(&url, &bank);
        let http = UreqTransport::new();
        let p3 = wa.authorize_prepare(&uri3, &http).unwrap();
        let sent = block_on(wa.authorize_answer_hub(&p3, &pass, &api, &http))
            .unwrap()
            .unwrap();
        assert!(sent.disclosed, "{db}");
        assert!(
            poll(&poll3)["redirect_uri"]
                .as_str()
                .unwrap()
                .starts_with(REDIRECT),
            "{db}"
        );
        // Not to an ordinary relying party's response URI: only to this backend's hub.
        let elsewhere = common::client("http://127.0.0.1:9");
        assert!(!p3.answers_hub_of(&elsewhere), "{db}");

        // (6) A wrong passcode: the wallet refuses it locally and sends nothing.
        let (uri4, poll4) = start_login(&url, &bank);
        let p4 = wa.authorize_prepare(&uri4, &http).unwrap();
        let wrong = Passcode::new("654321").unwrap();
        let err = block_on(wa.authorize_answer_hub(&p4, &wrong, &api, &http))
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                err,
                AuthorizeError::Wallet(WalletError::Account(AccountError::WrongPasscode { .. }))
            ),
            "{db}: {err}"
        );
        assert!(waiting(&poll4), "{db}");
        // With the device key but not the passcode (a copy of the key store): the backend
        // counts each guess, the guess makes no proof, and a made-up proof is refused.
        let stolen = tempfile::tempdir().unwrap();
        std::fs::copy(
            dir_a.path().join("keystore.bin"),
            stolen.path().join("keystore.bin"),
        )
        .unwrap();
        let thief = Thief {
            keys: Arc::new(
                SoftwareKeyStore::open(&stolen.path().join("keystore.bin"), &secret()).unwrap(),
            ),
            account: wa.account_id().unwrap().unwrap(),
        };
        let guess = |n: u32| {
            let (login, ke1) = eid_core::consent::login_start(&wrong).unwrap();
            let started = block_on(api.consent_start(&thief, ke1, None))
                .unwrap()
                .unwrap();
            assert_eq!(started.attempts_left, n, "{db}");
            let finished = eid_core::consent::login_finish(
                login,
                &wrong,
                &started.consent_id,
                &started.credential_response.0,
                KdfParams::FAST_FOR_TESTS,
            );
            assert!(finished.is_err(), "{db}: a wrong passcode makes no proof");
            started.consent_id
        };
        let id = guess(4);
        wa.authorize_answer(&p4, Consent::Passcode(&pass), &capture)
            .unwrap();
        let a4 = capture.last();
        let made_up = ConsentProof {
            consent_id: id,
            finalization: B64(vec![0; 64]),
            mac: B64(vec![0; 32]),
        };
        let (status, _) = post(&url, &with_proof(&a4, &made_up));
        assert_eq!(status, 400, "{db}");
        guess(3);
        assert!(
            waiting(&poll4),
            "{db}: nothing issued to the device key alone"
        );
        // The citizen's consent resets the count.
        let (status, why) = post(&url, &with_proof(&a4, &proof(&wa, &api, &digest(&p4, &a4))));
        assert_eq!(status, 200, "{db}: {why}");
        guess(4);
    }
}
