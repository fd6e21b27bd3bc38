//! OpenID4VP 1.0 end to end with the fixtures: a bank (access certificate from the test RP CA,
//! `x509_san_dns:bank.example.vn`) builds a signed request object, the wallet parses the
//! `openid4vp://` URI, fetches by reference (POST with `wallet_nonce`), verifies the request,
//! evaluates the DCQL query over the citizen's PID SD-JWT VC, "consents" and answers
//! `direct_post.jwt`; the bank verifies and gets exactly the claims it asked. Then every refusal
//! of issue 16's security list, each on its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eid_core::oid4vp::{
    self, AuthorizationRequest, ClientIdPrefix, DcqlQuery, Enc, MemoryNonceLedger, Oid4vpError,
    PendingRequest, Purpose, RequestSource, RequestSpec, RequestUriMethod, ResponseMode,
    ResponsePolicy, RpRegistration, RpSigner, VerifiedPresentation, WalletCredential, WalletPolicy,
};
use eid_core::sdjwt::{
    self, ClaimPath, INVALID, KeyBinding, SdJwt, SdJwtError, StatusList, StatusReference,
};
use eid_crypto::Rng;
use eid_crypto::trust::TrustStore;
use eid_fixtures::citizens::citizens;
use eid_fixtures::issuers::Issuers;
use eid_fixtures::pki::Issued;
use eid_fixtures::relying_parties::{BANK_DNS, CITY_DNS, RpPki};
use eid_fixtures::sd_jwt_vc::{PID_STATUS_LIST, PID_VCT, pid_sd_jwt_vc};
use p256::ecdsa::SigningKey;
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000; // 2027-01-15
const BANK: &str = "x509_san_dns:bank.example.vn";
const CITY: &str = "x509_san_dns:hue-s.example.vn";
const BANK_RESPONSE: &str = "https://bank.example.vn/oid4vp/response";
const BANK_REQUEST: &str = "https://bank.example.vn/oid4vp/request/7Jx1";
const STATE: &str = "st-4f1c9a";
const STATUS_IDX: u64 = 42;

struct CountingRng(u8);
impl Rng for CountingRng {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
}

fn device(i: u8) -> SigningKey {
    SigningKey::from_slice(&[i; 32]).unwrap()
}

fn point(k: &SigningKey) -> Vec<u8> {
    k.verifying_key().to_sec1_point(false).as_bytes().to_vec()
}

fn pid(citizen: usize, key: &SigningKey) -> SdJwt {
    let status = StatusReference {
        idx: STATUS_IDX + citizen as u64,
        uri: PID_STATUS_LIST.into(),
    };
    pid_sd_jwt_vc(&citizens()[citizen], &point(key), NOW - 3600, &status).unwrap()
}

fn enc_key() -> p256::SecretKey {
    p256::SecretKey::from_slice(&[11u8; 32]).unwrap()
}

struct World {
    pki: RpPki,
    rp_trust: TrustStore,
    issuer_trust: TrustStore,
    registrations: Vec<RpRegistration>,
    status: StatusList,
}

fn keys(paths: &[&[&str]]) -> Vec<ClaimPath> {
    paths.iter().map(|p| ClaimPath::keys(p)).collect()
}

fn world() -> World {
    let pki = RpPki::new().unwrap();
    let mut rp_trust = TrustStore::new();
    rp_trust.add_der(&pki.ca.der).unwrap();
    let mut issuer_trust = TrustStore::new();
    issuer_trust.add_der(&Issuers::new().unwrap().root).unwrap();
    let bank = RpRegistration {
        client_id: BANK.into(),
        name: "Ngan hang Example".into(),
        response_uris: vec![BANK_RESPONSE.into()],
        purposes: vec![
            Purpose {
                name: "age_check".into(),
                claims: keys(&[&["age_equal_or_over", "18"]]),
            },
            Purpose {
                name: "ekyc".into(),
                claims: keys(&[
                    &["family_name"],
                    &["given_name"],
                    &["birthdate"],
                    &["personal_administrative_number"],
                    &["address"],
                    &["nationalities"],
                ]),
            },
        ],
        intermediary: false,
    };
    let city = RpRegistration {
        client_id: CITY.into(),
        name: "Hue-S".into(),
        response_uris: vec!["https://hue-s.example.vn/oid4vp/response".into()],
        purposes: vec![Purpose {
            name: "login".into(),
            claims: keys(&[&["family_name"], &["given_name"]]),
        }],
        intermediary: false,
    };
    let mut status = StatusList::new(1, 1024).unwrap();
    status.set(STATUS_IDX, 0);
    World {
        pki,
        rp_trust,
        issuer_trust,
        registrations: vec![bank, city],
        status,
    }
}

fn ekyc_query() -> DcqlQuery {
    DcqlQuery::parse(&json!({"credentials": [{
        "id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]},
        "claims": [
            {"path": ["family_name"]}, {"path": ["given_name"]}, {"path": ["birthdate"]}
        ]
    }]}))
    .unwrap()
}

/// What a relying party request varies on in these tests.
struct Rp<'a> {
    client_id: &'a str,
    cert: &'a Issued,
    chain: Vec<Vec<u8>>,
    response_uri: &'a str,
    mode: ResponseMode,
    query: DcqlQuery,
    wallet_nonce: Option<&'a str>,
    issued_at: u64,
}

impl<'a> Rp<'a> {
    fn bank(w: &'a World) -> Rp<'a> {
        Rp {
            client_id: BANK,
            cert: &w.pki.bank,
            chain: vec![w.pki.bank.der.clone()],
            response_uri: BANK_RESPONSE,
            mode: ResponseMode::DirectPostJwt,
            query: ekyc_query(),
            wallet_nonce: None,
            issued_at: NOW,
        }
    }

    fn request(&self, nonce: &str) -> (String, PendingRequest) {
        self.request_with(nonce, &[])
    }

    /// With `verifier_info` entries.
    fn request_with(&self, nonce: &str, info: &[serde_json::Value]) -> (String, PendingRequest) {
        let enc = enc_key();
        let enc_point = enc.public_key().to_sec1_point(false);
        oid4vp::request_object_with(
            &RpSigner {
                client_id: self.client_id,
                key: self.cert.signing_key(),
                x5c: &self.chain,
            },
            &RequestSpec {
                response_uri: self.response_uri,
                response_mode: self.mode,
                nonce,
                state: Some(STATE),
                dcql: &self.query,
                encryption_key: Some(("rp-enc-1", enc_point.as_bytes())),
                enc_values: &[Enc::A256Gcm, Enc::A128Gcm],
                wallet_nonce: self.wallet_nonce,
                issued_at: self.issued_at,
                lifetime: 300,
            },
            info,
        )
        .unwrap()
    }
}

use p256::elliptic_curve::sec1::ToSec1Point;

fn policy<'a>(w: &'a World, wallet_nonce: Option<&'a str>) -> WalletPolicy<'a> {
    WalletPolicy {
        rp_trust: &w.rp_trust,
        registrations: &w.registrations,
        now: NOW + 5,
        allow_unsigned_test_rps: false,
        wallet_nonce,
    }
}

fn status_of(w: &World) -> impl Fn(&str) -> Option<StatusList> + '_ {
    move |uri: &str| (uri == PID_STATUS_LIST).then(|| w.status.clone())
}

fn verify(
    w: &World,
    pending: &PendingRequest,
    body: &str,
    ledger: &mut MemoryNonceLedger,
    now: u64,
) -> Result<Vec<VerifiedPresentation>, Oid4vpError> {
    let key = enc_key();
    let status = status_of(w);
    oid4vp::verify_response(
        pending,
        body,
        &ResponsePolicy {
            issuer_trust: &w.issuer_trust,
            now,
            max_age: 300,
            status_list: &status,
            decryption_key: Some(&key),
        },
        ledger,
    )
}

/// The wallet's side from a verified request: select, consent, present, respond.
fn answer(request: &AuthorizationRequest, wallet: &[WalletCredential<'_>]) -> String {
    let selection = oid4vp::select(&request.dcql, wallet).unwrap();
    let token = oid4vp::vp_token(request, &selection, wallet, NOW + 10).unwrap();
    oid4vp::respond(request, &token, &mut CountingRng(50))
        .unwrap()
        .body
}

#[test]
fn bank_request_wallet_answer_bank_gets_exactly_the_asked_claims() {
    let w = world();
    let started = std::time::Instant::now();
    // The bank's page shows the QR / opens the wallet.
    let uri = oid4vp::authorization_uri("openid4vp://", BANK, BANK_REQUEST, RequestUriMethod::Post);
    let parsed = oid4vp::parse_authorization_uri(&uri).unwrap();
    let RequestSource::Reference {
        request_uri,
        method,
    } = &parsed.source
    else {
        panic!("by reference");
    };
    assert_eq!(
        (request_uri.as_str(), *method),
        (BANK_REQUEST, RequestUriMethod::Post)
    );
    // The wallet POSTs its nonce; the bank signs the request object with it.
    let wallet_nonce = oid4vp::fresh_nonce(&mut CountingRng(90));
    let body = oid4vp::request_uri_post_body(Some(&wallet_nonce), None);
    let posted = oid4vp::form_decode(&body).unwrap();
    let nonce = oid4vp::fresh_nonce(&mut CountingRng(7));
    let rp = Rp {
        wallet_nonce: posted.get("wallet_nonce").map(String::as_str),
        ..Rp::bank(&w)
    };
    let (jwt, pending) = rp.request(&nonce);
    // The wallet verifies the request and shows the RP, purpose and claims.
    let request =
        oid4vp::verify_request_object(&jwt, &parsed.client_id, &policy(&w, Some(&wallet_nonce)))
            .unwrap();
    assert_eq!(
        request.client_id.prefix,
        ClientIdPrefix::X509SanDns(BANK_DNS.into())
    );
    assert_eq!(request.purpose, "ekyc");
    assert_eq!(request.response_mode, ResponseMode::DirectPostJwt);
    let cert = request.certificate.as_ref().unwrap();
    assert!(cert.subject.contains("Ngan hang Example TEST"));
    assert_eq!(cert.dns_names, [BANK_DNS]);
    // The citizen's PID, bound to the device key.
    let key = device(7);
    let wallet = [WalletCredential::new("pid", pid(0, &key), &key).unwrap()];
    let selection = oid4vp::select(&request.dcql, &wallet).unwrap();
    assert_eq!(selection.presentations.len(), 1);
    assert_eq!(
        selection.presentations[0].disclose,
        keys(&[&["family_name"], &["given_name"], &["birthdate"]])
    );
    let token = oid4vp::vp_token(&request, &selection, &wallet, NOW + 10).unwrap();
    let post = oid4vp::respond(&request, &token, &mut CountingRng(50)).unwrap();
    assert_eq!(post.uri, BANK_RESPONSE);
    let form = oid4vp::form_decode(&post.body).unwrap();
    assert_eq!(
        form.keys().collect::<Vec<_>>(),
        ["response"],
        "only the JWE travels"
    );
    // The JWE header: ECDH-ES, the RP's first supported enc, the key's kid, an ephemeral key.
    let protected = form["response"].split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, protected)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            &header["alg"],
            &header["enc"],
            &header["kid"],
            &header["epk"]["crv"]
        ),
        (
            &json!("ECDH-ES"),
            &json!("A256GCM"),
            &json!("rp-enc-1"),
            &json!("P-256")
        )
    );
    assert!(!post.body.contains(&citizens()[0].id_number));
    // The bank verifies.
    let mut ledger = MemoryNonceLedger::default();
    let verified = verify(&w, &pending, &post.body, &mut ledger, NOW + 20).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(verified.len(), 1);
    let p = &verified[0];
    assert_eq!(p.query_id, "pid");
    assert_eq!(
        p.disclosed,
        keys(&[&["birthdate"], &["family_name"], &["given_name"]])
    );
    let citizen = &citizens()[0];
    let (family, given) = citizen.full_name.split_once(' ').unwrap();
    assert_eq!(p.claims["family_name"], family);
    assert_eq!(p.claims["given_name"], given);
    for hidden in [
        "personal_administrative_number",
        "address",
        "age_equal_or_over",
        "nationalities",
        "sex",
    ] {
        assert!(!p.claims.contains_key(hidden), "{hidden} must stay hidden");
    }
    // Only the always-visible claims besides the three.
    let mut names: Vec<&str> = p.claims.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "birthdate",
            "cnf",
            "exp",
            "family_name",
            "given_name",
            "iat",
            "iss",
            "issuing_country",
            "status",
            "vct"
        ]
    );
    eprintln!("OpenID4VP request → answer → verify (direct_post.jwt): {elapsed:?}");
}

#[test]
fn direct_post_unencrypted_and_age_check_purpose() {
    let w = world();
    let query = DcqlQuery::parse(&json!({"credentials": [{
        "id": "age", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]},
        "claims": [{"path": ["age_equal_or_over", "18"], "values": [true]}]
    }]}))
    .unwrap();
    let rp = Rp {
        mode: ResponseMode::DirectPost,
        query,
        ..Rp::bank(&w)
    };
    let (jwt, pending) = rp.request("n-age-1");
    let request = oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap();
    assert_eq!(request.purpose, "age_check");
    let key = device(7);
    let wallet = [WalletCredential::new("pid", pid(0, &key), &key).unwrap()];
    let body = answer(&request, &wallet);
    let form = oid4vp::form_decode(&body).unwrap();
    assert_eq!(form["state"], STATE);
    let verified = verify(
        &w,
        &pending,
        &body,
        &mut MemoryNonceLedger::default(),
        NOW + 20,
    )
    .unwrap();
    assert_eq!(verified[0].claims["age_equal_or_over"], json!({"18": true}));
    assert!(!verified[0].claims.contains_key("birthdate"));
}

#[test]
fn x509_hash_client_identifier_is_accepted_when_it_is_the_leafs_hash() {
    let mut w = world();
    let client_id = format!("x509_hash:{}", oid4vp::x509_hash(&w.pki.bank.der));
    w.registrations[0].client_id = client_id.clone();
    let rp = Rp {
        client_id: &client_id,
        ..Rp::bank(&w)
    };
    let (jwt, _) = rp.request("n-hash");
    let r = oid4vp::verify_request_object(&jwt, &client_id, &policy(&w, None)).unwrap();
    assert!(matches!(r.client_id.prefix, ClientIdPrefix::X509Hash(_)));
    // The city's certificate hash under the bank's signature: refused.
    let other = format!("x509_hash:{}", oid4vp::x509_hash(&w.pki.city.der));
    w.registrations[0].client_id = other.clone();
    let rp = Rp {
        client_id: &other,
        ..Rp::bank(&w)
    };
    let (jwt, _) = rp.request("n-hash2");
    assert_eq!(
        oid4vp::verify_request_object(&jwt, &other, &policy(&w, None)).unwrap_err(),
        Oid4vpError::ClientId("x509_hash does not match the leaf certificate")
    );
}

// ---- Security: the request ----

fn flip(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

#[test]
fn request_object_with_a_bad_signature_is_refused() {
    let w = world();
    let (jwt, _) = Rp::bank(&w).request("n1");
    let sig_at = jwt.rfind('.').unwrap() + 5;
    assert_eq!(
        oid4vp::verify_request_object(&flip(&jwt, sig_at), BANK, &policy(&w, None)).unwrap_err(),
        Oid4vpError::RequestSignature
    );
    // Signed by another key than the leaf's (the city's key under the bank's certificate).
    let rp = Rp {
        cert: &w.pki.city,
        chain: vec![w.pki.bank.der.clone()],
        ..Rp::bank(&w)
    };
    let (jwt, _) = rp.request("n1");
    assert_eq!(
        oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap_err(),
        Oid4vpError::RequestSignature
    );
}

#[test]
fn request_object_whose_chain_does_not_reach_the_rp_ca_is_refused() {
    let w = world();
    // A certificate for the bank's very name, from a CA nobody trusts.
    for chain in [
        vec![w.pki.rogue_bank.der.clone()],
        vec![w.pki.rogue_bank.der.clone(), w.pki.rogue_ca.der.clone()],
    ] {
        let rp = Rp {
            cert: &w.pki.rogue_bank,
            chain,
            ..Rp::bank(&w)
        };
        let (jwt, _) = rp.request("n2");
        assert_eq!(
            oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap_err(),
            Oid4vpError::UntrustedRp
        );
    }
    // No x5c at all.
    let rp = Rp {
        chain: vec![],
        ..Rp::bank(&w)
    };
    let (jwt, _) = rp.request("n2");
    assert_eq!(
        oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap_err(),
        Oid4vpError::UntrustedRp
    );
}

#[test]
fn wrong_client_id_prefixes_are_refused() {
    let w = world();
    for (client_id, want) in [
        ("bank.example.vn", "no client identifier prefix"),
        (
            "decentralized_identifier:did:web:bank.example.vn",
            "unsupported client identifier prefix",
        ),
        (
            "redirect_uri:https://bank.example.vn/oid4vp/response",
            "a redirect_uri client cannot sign its request",
        ),
    ] {
        let rp = Rp {
            client_id,
            ..Rp::bank(&w)
        };
        let (jwt, _) = rp.request("n3");
        assert_eq!(
            oid4vp::verify_request_object(&jwt, client_id, &policy(&w, None)).unwrap_err(),
            Oid4vpError::ClientId(want),
            "{client_id}"
        );
    }
    // The URI names one client, the signed object another.
    let (jwt, _) = Rp::bank(&w).request("n3");
    assert_eq!(
        oid4vp::verify_request_object(&jwt, CITY, &policy(&w, None)).unwrap_err(),
        Oid4vpError::ClientId("client_id differs from the URI's")
    );
}

#[test]
fn an_rp_impersonating_another_is_refused() {
    let w = world();
    // The city's valid access certificate signs a request claiming the bank's client_id.
    let rp = Rp {
        cert: &w.pki.city,
        chain: vec![w.pki.city.der.clone()],
        ..Rp::bank(&w)
    };
    let (jwt, _) = rp.request("n4");
    assert_eq!(
        oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap_err(),
        Oid4vpError::ClientId("DNS name not a SAN of the leaf certificate")
    );
    // With its own name it is fine (and gets its own registration).
    let rp = Rp {
        client_id: CITY,
        cert: &w.pki.city,
        chain: vec![w.pki.city.der.clone()],
        response_uri: "https://hue-s.example.vn/oid4vp/response",
        query: DcqlQuery::parse(&json!({"credentials": [{"id": "pid", "format": "dc+sd-jwt",
            "meta": {"vct_values": [PID_VCT]}, "claims": [{"path": ["given_name"]}]}]}))
        .unwrap(),
        ..Rp::bank(&w)
    };
    let (jwt, _) = rp.request("n4");
    let r = oid4vp::verify_request_object(&jwt, CITY, &policy(&w, None)).unwrap();
    assert_eq!(r.registration.name, "Hue-S");
    assert_eq!(r.certificate.unwrap().dns_names, [CITY_DNS]);
}

#[test]
fn response_uri_not_registered_for_the_rp_is_refused() {
    let w = world();
    for uri in [
        "https://evil.example/collect",
        "https://hue-s.example.vn/oid4vp/response",
        "https://bank.example.vn/oid4vp/response2",
    ] {
        let rp = Rp {
            response_uri: uri,
            ..Rp::bank(&w)
        };
        let (jwt, _) = rp.request("n5");
        assert_eq!(
            oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap_err(),
            Oid4vpError::ResponseUri,
            "{uri}"
        );
    }
}

#[test]
fn claims_outside_the_registered_scope_are_refused_before_anything_is_disclosed() {
    let w = world();
    // The city may log in with names only; it asks for the ID number.
    let rp = Rp {
        client_id: CITY,
        cert: &w.pki.city,
        chain: vec![w.pki.city.der.clone()],
        response_uri: "https://hue-s.example.vn/oid4vp/response",
        query: DcqlQuery::parse(&json!({"credentials": [{"id": "pid", "format": "dc+sd-jwt",
            "meta": {"vct_values": [PID_VCT]},
            "claims": [{"path": ["given_name"]}, {"path": ["personal_administrative_number"]}]}]}))
        .unwrap(),
        ..Rp::bank(&w)
    };
    let (jwt, _) = rp.request("n6");
    assert_eq!(
        oid4vp::verify_request_object(&jwt, CITY, &policy(&w, None)).unwrap_err(),
        Oid4vpError::Scope
    );
    // A claim set option outside the scope counts too, even if another option is inside.
    let rp = Rp {
        query: DcqlQuery::parse(&json!({"credentials": [{"id": "pid", "format": "dc+sd-jwt",
            "meta": {"vct_values": [PID_VCT]},
            "claims": [{"id": "a", "path": ["age_equal_or_over", "18"]}, {"id": "b", "path": ["birthdate"]}],
            "claim_sets": [["a"], ["b"]]}]}))
        .unwrap(),
        ..Rp::bank(&w)
    };
    let (jwt, _) = rp.request("n6");
    // The bank's ekyc purpose covers birthdate but not age; age_check covers age but not
    // birthdate: no single purpose covers both.
    assert_eq!(
        oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap_err(),
        Oid4vpError::Scope
    );
    // An unregistered relying party gets nothing.
    let mut w2 = world();
    w2.registrations.retain(|r| r.client_id != BANK);
    let (jwt, _) = Rp::bank(&w2).request("n6");
    assert_eq!(
        oid4vp::verify_request_object(&jwt, BANK, &policy(&w2, None)).unwrap_err(),
        Oid4vpError::Unregistered
    );
    // The wallet's second check: a selection reaching outside the purpose is refused.
    let (jwt, _) = Rp::bank(&w).request("n6");
    let request = oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap();
    let key = device(7);
    let wallet = [WalletCredential::new("pid", pid(0, &key), &key).unwrap()];
    let mut selection = oid4vp::select(&request.dcql, &wallet).unwrap();
    selection.presentations[0]
        .disclose
        .push(ClaimPath::keys(&["sex"]));
    assert_eq!(
        oid4vp::vp_token(&request, &selection, &wallet, NOW + 10).unwrap_err(),
        Oid4vpError::Scope
    );
}

#[test]
fn expired_request_object_and_wrong_wallet_nonce_are_refused() {
    let w = world();
    let rp = Rp {
        issued_at: NOW - 1000,
        ..Rp::bank(&w)
    };
    let (jwt, _) = rp.request("n7");
    assert_eq!(
        oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap_err(),
        Oid4vpError::RequestValidity("exp")
    );
    let rp = Rp {
        wallet_nonce: Some("someone-elses"),
        ..Rp::bank(&w)
    };
    let (jwt, _) = rp.request("n7");
    assert_eq!(
        oid4vp::verify_request_object(&jwt, BANK, &policy(&w, Some("mine"))).unwrap_err(),
        Oid4vpError::RequestValidity("wallet_nonce")
    );
}

#[test]
fn unsigned_requests_only_from_redirect_uri_test_rps_when_allowed() {
    let mut w = world();
    let test_rp = "redirect_uri:https://rp.test.example/cb";
    w.registrations.push(RpRegistration {
        client_id: test_rp.into(),
        name: "Test RP".into(),
        response_uris: vec!["https://rp.test.example/cb".into()],
        purposes: vec![Purpose {
            name: "login".into(),
            claims: keys(&[&["given_name"]]),
        }],
        intermediary: false,
    });
    let dcql = json!({"credentials": [{"id": "pid", "format": "dc+sd-jwt",
        "meta": {"vct_values": [PID_VCT]}, "claims": [{"path": ["given_name"]}]}]})
    .to_string();
    let uri = format!(
        "openid4vp://?{}",
        oid4vp::form_encode(&[
            ("client_id", test_rp),
            ("response_type", "vp_token"),
            ("response_mode", "direct_post"),
            ("nonce", "n-test"),
            ("dcql_query", &dcql),
        ])
    );
    let parsed = oid4vp::parse_authorization_uri(&uri).unwrap();
    let RequestSource::Parameters(params) = parsed.source else {
        panic!("by value");
    };
    assert_eq!(
        oid4vp::unsigned_request(&params, &policy(&w, None)).unwrap_err(),
        Oid4vpError::ClientId("unsigned requests are not allowed")
    );
    let allowed = WalletPolicy {
        allow_unsigned_test_rps: true,
        ..policy(&w, None)
    };
    let r = oid4vp::unsigned_request(&params, &allowed).unwrap();
    assert_eq!(r.response_uri, "https://rp.test.example/cb");
    assert!(r.certificate.is_none());
    // An x509 client id without a signature: refused even when test RPs are allowed.
    let mut forged = params;
    forged.insert("client_id".into(), BANK.into());
    forged.insert("response_uri".into(), BANK_RESPONSE.into());
    assert_eq!(
        oid4vp::unsigned_request(&forged, &allowed).unwrap_err(),
        Oid4vpError::ClientId("an x509 client must send a signed request object")
    );
}

// ---- Security: the response ----

fn bank_exchange(w: &World, nonce: &str) -> (PendingRequest, AuthorizationRequest) {
    let (jwt, pending) = Rp::bank(w).request(nonce);
    let request = oid4vp::verify_request_object(&jwt, BANK, &policy(w, None)).unwrap();
    (pending, request)
}

#[test]
fn a_replayed_response_and_a_wrong_state_are_refused() {
    let w = world();
    let (pending, request) = bank_exchange(&w, "n-replay");
    let key = device(7);
    let wallet = [WalletCredential::new("pid", pid(0, &key), &key).unwrap()];
    let body = answer(&request, &wallet);
    let mut ledger = MemoryNonceLedger::default();
    verify(&w, &pending, &body, &mut ledger, NOW + 20).unwrap();
    assert_eq!(
        verify(&w, &pending, &body, &mut ledger, NOW + 21).unwrap_err(),
        Oid4vpError::Replay
    );
    let other_state = PendingRequest {
        state: Some("st-other".into()),
        ..pending.clone()
    };
    assert_eq!(
        verify(
            &w,
            &other_state,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        )
        .unwrap_err(),
        Oid4vpError::State
    );
}

/// A vp_token made by hand with the given KB-JWT audience, nonce and time.
fn token_with(
    wallet: &WalletCredential<'_>,
    disclose: &[ClaimPath],
    aud: &str,
    nonce: &str,
    iat: u64,
) -> Value {
    let p = sdjwt::present(
        wallet.sd_jwt().unwrap(),
        disclose,
        &KeyBinding {
            audience: aud,
            nonce,
            issued_at: iat,
        },
        wallet.device_key,
    )
    .unwrap();
    json!({ "pid": [p] })
}

#[test]
fn kb_jwt_for_another_audience_or_too_old_is_refused() {
    let w = world();
    let (pending, request) = bank_exchange(&w, "n-kb");
    let key = device(7);
    let wallet = [WalletCredential::new("pid", pid(0, &key), &key).unwrap()];
    let asked = keys(&[&["family_name"], &["given_name"], &["birthdate"]]);
    let post = |token: &Value| {
        oid4vp::respond(&request, token, &mut CountingRng(3))
            .unwrap()
            .body
    };
    // Made for the city (or without the prefix), replayed to the bank.
    for aud in [CITY, BANK_DNS] {
        let body = post(&token_with(&wallet[0], &asked, aud, "n-kb", NOW + 10));
        assert_eq!(
            verify(
                &w,
                &pending,
                &body,
                &mut MemoryNonceLedger::default(),
                NOW + 20
            )
            .unwrap_err(),
            Oid4vpError::Presentation(SdJwtError::KeyBinding("aud")),
            "{aud}"
        );
    }
    // Another request's nonce.
    let body = post(&token_with(&wallet[0], &asked, BANK, "n-other", NOW + 10));
    assert_eq!(
        verify(
            &w,
            &pending,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        )
        .unwrap_err(),
        Oid4vpError::Presentation(SdJwtError::KeyBinding("nonce"))
    );
    // Right audience and nonce, checked ten minutes later (max_age 300 s).
    let body = post(&token_with(&wallet[0], &asked, BANK, "n-kb", NOW + 10));
    assert_eq!(
        verify(
            &w,
            &pending,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 610
        )
        .unwrap_err(),
        Oid4vpError::Presentation(SdJwtError::KeyBinding("iat not fresh"))
    );
    verify(
        &w,
        &pending,
        &body,
        &mut MemoryNonceLedger::default(),
        NOW + 20,
    )
    .unwrap();
}

#[test]
fn a_tampered_encrypted_response_is_refused() {
    let w = world();
    let (pending, request) = bank_exchange(&w, "n-jwe");
    let key = device(7);
    let wallet = [WalletCredential::new("pid", pid(0, &key), &key).unwrap()];
    let body = answer(&request, &wallet);
    let jwe = oid4vp::form_decode(&body).unwrap()["response"].clone();
    let dots: Vec<usize> = jwe.match_indices('.').map(|(i, _)| i).collect();
    // A byte of the header (AAD), the IV, the ciphertext and the tag.
    for at in [10, dots[1] + 3, dots[2] + 20, dots[3] + 4] {
        let tampered = oid4vp::form_encode(&[("response", &flip(&jwe, at))]);
        assert!(
            matches!(
                verify(
                    &w,
                    &pending,
                    &tampered,
                    &mut MemoryNonceLedger::default(),
                    NOW + 20
                ),
                Err(Oid4vpError::Encryption(_))
            ),
            "byte {at}"
        );
    }
    // The plain vp_token where an encrypted response is expected.
    let token = oid4vp::vp_token(
        &request,
        &oid4vp::select(&request.dcql, &wallet).unwrap(),
        &wallet,
        NOW + 10,
    )
    .unwrap();
    let plain = oid4vp::form_encode(&[("vp_token", &token.to_string()), ("state", STATE)]);
    assert!(matches!(
        verify(
            &w,
            &pending,
            &plain,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        ),
        Err(Oid4vpError::Encryption(_))
    ));
}

#[test]
fn a_disclosure_swapped_between_two_credentials_is_refused() {
    let w = world();
    let (pending, request) = bank_exchange(&w, "n-swap");
    let (ka, kb) = (device(7), device(8));
    let a = WalletCredential::new("a", pid(0, &ka), &ka).unwrap();
    let b = WalletCredential::new("b", pid(1, &kb), &kb).unwrap();
    // A's presentation with B's birthdate disclosure in place of A's.
    let asked = keys(&[&["family_name"], &["given_name"], &["birthdate"]]);
    let mut presented = sdjwt::select(a.sd_jwt().unwrap(), &asked).unwrap();
    let b_birth = b
        .sd_jwt()
        .unwrap()
        .disclosures
        .iter()
        .find(|d| d.name.as_deref() == Some("birthdate"))
        .unwrap()
        .clone();
    for d in &mut presented.disclosures {
        if d.name.as_deref() == Some("birthdate") {
            *d = b_birth.clone();
        }
    }
    let bound = sdjwt::bind(
        &presented,
        &KeyBinding {
            audience: BANK,
            nonce: "n-swap",
            issued_at: NOW + 10,
        },
        &ka,
    )
    .unwrap();
    let token = json!({ "pid": [bound.to_compact()] });
    let body = oid4vp::respond(&request, &token, &mut CountingRng(3))
        .unwrap()
        .body;
    assert_eq!(
        verify(
            &w,
            &pending,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        )
        .unwrap_err(),
        Oid4vpError::Presentation(SdJwtError::Disclosure("disclosure not referenced"))
    );
}

#[test]
fn a_revoked_credential_is_refused() {
    let mut w = world();
    w.status.set(STATUS_IDX, INVALID);
    let (pending, request) = bank_exchange(&w, "n-rev");
    let key = device(7);
    let wallet = [WalletCredential::new("pid", pid(0, &key), &key).unwrap()];
    let body = answer(&request, &wallet);
    assert_eq!(
        verify(
            &w,
            &pending,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        )
        .unwrap_err(),
        Oid4vpError::Status("revoked or suspended")
    );
}

#[test]
fn over_disclosure_and_unsatisfied_queries_are_refused_by_the_rp() {
    let w = world();
    let (pending, request) = bank_exchange(&w, "n-over");
    let key = device(7);
    let wallet = [WalletCredential::new("pid", pid(0, &key), &key).unwrap()];
    let post = |token: &Value| {
        oid4vp::respond(&request, token, &mut CountingRng(3))
            .unwrap()
            .body
    };
    // One claim more than asked (the ID number).
    let more = keys(&[
        &["family_name"],
        &["given_name"],
        &["birthdate"],
        &["personal_administrative_number"],
    ]);
    let body = post(&token_with(&wallet[0], &more, BANK, "n-over", NOW + 10));
    assert_eq!(
        verify(
            &w,
            &pending,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        )
        .unwrap_err(),
        Oid4vpError::OverDisclosure
    );
    // One claim less.
    let less = keys(&[&["family_name"], &["given_name"]]);
    let body = post(&token_with(&wallet[0], &less, BANK, "n-over", NOW + 10));
    assert_eq!(
        verify(
            &w,
            &pending,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        )
        .unwrap_err(),
        Oid4vpError::NotSatisfied("no claim set of the query is met")
    );
    // An answer under an id the query does not have.
    let asked = keys(&[&["family_name"], &["given_name"], &["birthdate"]]);
    let t = token_with(&wallet[0], &asked, BANK, "n-over", NOW + 10);
    let body = post(&json!({ "other": t["pid"] }));
    assert_eq!(
        verify(
            &w,
            &pending,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        )
        .unwrap_err(),
        Oid4vpError::NotSatisfied("presentation for an unknown query")
    );
    // Nothing at all.
    let body = post(&json!({}));
    assert_eq!(
        verify(
            &w,
            &pending,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        )
        .unwrap_err(),
        Oid4vpError::NotSatisfied("a requested credential is missing")
    );
    // A credential of another type than the query's.
    let other_type = PendingRequest {
        dcql: DcqlQuery::parse(&json!({"credentials": [{
            "id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:eudi:pid:1"]},
            "claims": [{"path": ["family_name"]}, {"path": ["given_name"]}, {"path": ["birthdate"]}]
        }]}))
        .unwrap(),
        ..pending.clone()
    };
    let body = post(&t);
    assert_eq!(
        verify(
            &w,
            &other_type,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        )
        .unwrap_err(),
        Oid4vpError::NotSatisfied("vct not requested")
    );
    verify(
        &w,
        &pending,
        &body,
        &mut MemoryNonceLedger::default(),
        NOW + 20,
    )
    .unwrap();
    // The citizen declined.
    let body = oid4vp::decline(&request).body;
    assert_eq!(
        verify(
            &w,
            &pending,
            &body,
            &mut MemoryNonceLedger::default(),
            NOW + 20
        )
        .unwrap_err(),
        Oid4vpError::Declined
    );
}

#[test]
fn hostile_request_objects_never_panic() {
    let w = world();
    let (jwt, _) = Rp::bank(&w).request("n-fuzz");
    let p = policy(&w, None);
    for cut in (0..jwt.len()).step_by(7) {
        let _ = oid4vp::verify_request_object(&jwt[..cut], BANK, &p);
    }
    for at in (0..jwt.len()).step_by(13) {
        assert!(
            oid4vp::verify_request_object(&flip(&jwt, at), BANK, &p).is_err(),
            "byte {at}"
        );
    }
    // The bank's check of hostile response bodies: cut anywhere or changed, refused, no panic.
    let (pending, request) = bank_exchange(&w, "n-fuzz2");
    let key = device(7);
    let wallet = [WalletCredential::new("pid", pid(0, &key), &key).unwrap()];
    let direct = PendingRequest {
        response_mode: ResponseMode::DirectPost,
        ..pending
    };
    let token = oid4vp::vp_token(
        &request,
        &oid4vp::select(&request.dcql, &wallet).unwrap(),
        &wallet,
        NOW + 10,
    )
    .unwrap();
    let body = oid4vp::form_encode(&[("vp_token", &token.to_string()), ("state", STATE)]);
    verify(
        &w,
        &direct,
        &body,
        &mut MemoryNonceLedger::default(),
        NOW + 20,
    )
    .unwrap();
    for cut in (0..body.len() - 1).step_by(11) {
        let r = verify(
            &w,
            &direct,
            &body[..cut],
            &mut MemoryNonceLedger::default(),
            NOW + 20,
        );
        assert!(r.is_err(), "cut {cut}");
    }
    for at in (0..body.len()).step_by(17) {
        let changed = flip(&body, at);
        let _ = verify(
            &w,
            &direct,
            &changed,
            &mut MemoryNonceLedger::default(),
            NOW + 20,
        );
    }
}

#[test]
fn trusted_authorities_aki_picks_credentials_by_their_issuers_ca() {
    let issuers = Issuers::new().unwrap();
    let police =
        eid_crypto::x509::SignerCertificate::from_der(issuers.police.certificate()).unwrap();
    let aki = eid_crypto::x509::authority_key_identifier(&police.certificate).unwrap();
    let aki = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, aki);
    let key = device(7);
    let wallet = [WalletCredential::new("pid", pid(0, &key), &key).unwrap()];
    let query = |authorities: Value| {
        DcqlQuery::parse(&json!({"credentials": [{"id": "pid", "format": "dc+sd-jwt",
            "meta": {"vct_values": [PID_VCT]}, "trusted_authorities": authorities,
            "claims": [{"path": ["given_name"]}]}]}))
        .unwrap()
    };
    let ours = query(json!([{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y", aki]}]));
    assert_eq!(
        oid4vp::select(&ours, &wallet).unwrap().presentations.len(),
        1
    );
    let other = query(json!([{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}]));
    assert_eq!(oid4vp::select(&other, &wallet), Err(Oid4vpError::NoMatch));
    // A type the wallet cannot evaluate does not filter.
    let mixed = query(
        json!([{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]},
        {"type": "etsi_tl", "values": ["https://lotl.example.com"]}]),
    );
    assert_eq!(
        oid4vp::select(&mixed, &wallet).unwrap().presentations.len(),
        1
    );
}

#[test]
fn resolve_request_fetches_by_get_or_post_or_reads_the_object_by_value() {
    let w = world();
    // By reference with POST: the wallet's nonce reaches the RP, which signs it in.
    let uri = oid4vp::authorization_uri("openid4vp://", BANK, BANK_REQUEST, RequestUriMethod::Post);
    let mut seen = Vec::new();
    let mut fetch = |at: &str, body: Option<&str>| {
        seen.push((at.to_owned(), body.map(str::to_owned)));
        let form = oid4vp::form_decode(body.unwrap_or_default())?;
        let rp = Rp {
            wallet_nonce: form.get("wallet_nonce").map(String::as_str),
            ..Rp::bank(&w)
        };
        Ok(rp.request("n-resolve").0)
    };
    let r = oid4vp::resolve_request(&uri, &policy(&w, Some("wn-1")), &mut fetch).unwrap();
    assert_eq!(r.nonce, "n-resolve");
    assert_eq!(
        seen,
        [(
            BANK_REQUEST.to_owned(),
            Some("wallet_nonce=wn-1".to_owned())
        )]
    );
    // By reference with GET (no body); the RP cannot know a wallet nonce then.
    let uri = oid4vp::authorization_uri("openid4vp://", BANK, BANK_REQUEST, RequestUriMethod::Get);
    let mut fetch = |_: &str, body: Option<&str>| {
        assert!(body.is_none());
        Ok(Rp::bank(&w).request("n-get").0)
    };
    assert_eq!(
        oid4vp::resolve_request(&uri, &policy(&w, Some("wn-2")), &mut fetch)
            .unwrap()
            .nonce,
        "n-get"
    );
    // By value.
    let (jwt, _) = Rp::bank(&w).request("n-value");
    let uri = format!(
        "openid4vp://?{}",
        oid4vp::form_encode(&[("client_id", BANK), ("request", &jwt)])
    );
    let mut never =
        |_: &str, _: Option<&str>| -> Result<String, Oid4vpError> { panic!("nothing to fetch") };
    assert_eq!(
        oid4vp::resolve_request(&uri, &policy(&w, None), &mut never)
            .unwrap()
            .nonce,
        "n-value"
    );
    // A fetch that fails is the answer.
    let mut failing = |_: &str, _: Option<&str>| Err(Oid4vpError::Malformed("HTTP 404"));
    assert_eq!(
        oid4vp::resolve_request(
            &oid4vp::authorization_uri("openid4vp://", BANK, BANK_REQUEST, RequestUriMethod::Get),
            &policy(&w, None),
            &mut failing
        )
        .unwrap_err(),
        Oid4vpError::Malformed("HTTP 404")
    );
}

/// The hub's "Log in with e-ID" (docs/adr/0050): an intermediary's request names the relying
/// party it asks for in `verifier_info`; the wallet takes it only from an intermediary of the
/// registry, only for a registered relying party, purpose and claims.
#[test]
fn an_intermediary_names_a_registered_rp_within_its_purpose_or_is_refused() {
    let mut w = world();
    // The bank plays the hub here: an intermediary of the registry.
    w.registrations[0].intermediary = true;
    let rp = Rp::bank(&w);
    let city_login = |claims: &[&[&str]]| oid4vp::on_behalf_of_info(CITY, "login", &keys(claims));
    // Within the city's `login` purpose (family_name, given_name), asked by the query.
    let (jwt, _) = rp.request_with("v1", &[city_login(&[&["given_name"]])]);
    let r = oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap();
    let behind = r.on_behalf_of.unwrap();
    assert_eq!(behind.registration.client_id, CITY);
    assert_eq!(behind.registration.name, "Hue-S");
    assert_eq!(behind.purpose, "login");
    assert_eq!(behind.claims, keys(&[&["given_name"]]));
    assert_eq!(
        r.purpose, "ekyc",
        "the intermediary's own purpose covers the query"
    );
    // Other attestation formats beside ours are ignored.
    let other = json!({"format": "jwt", "data": "eyJ..", "credential_ids": ["pid"]});
    let (jwt, _) = rp.request_with("v1b", &[other.clone(), city_login(&[])]);
    assert!(oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).is_ok());

    let refused = |info: &[serde_json::Value]| {
        let (jwt, _) = rp.request_with("v2", info);
        oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap_err()
    };
    // Naming nobody: an intermediary must say for whom it asks.
    assert_eq!(
        refused(&[]),
        Oid4vpError::OnBehalfOf("the intermediary does not name the relying party it asks for")
    );
    assert_eq!(
        refused(&[other]),
        Oid4vpError::OnBehalfOf("the intermediary does not name the relying party it asks for")
    );
    // Unknown (or suspended: out of the registry).
    assert_eq!(
        refused(&[oid4vp::on_behalf_of_info(
            "x509_san_dns:unknown.example.vn",
            "login",
            &[]
        )]),
        Oid4vpError::OnBehalfOf(
            "the relying party behind the intermediary is unknown or suspended"
        )
    );
    // A purpose the city did not register.
    assert_eq!(
        refused(&[oid4vp::on_behalf_of_info(CITY, "ekyc", &[])]),
        Oid4vpError::OnBehalfOf(
            "the relying party behind the intermediary did not register this purpose"
        )
    );
    // A claim passed on outside the city's purpose (birthdate is asked, but not the city's).
    assert_eq!(
        refused(&[city_login(&[&["birthdate"]])]),
        Oid4vpError::OnBehalfOf(
            "claims passed on outside the registered purpose of the relying party behind the intermediary"
        )
    );
    // A claim neither the city registered nor the query asks.
    assert!(matches!(
        refused(&[city_login(&[&["address"]])]),
        Oid4vpError::OnBehalfOf(_)
    ));
    let mut narrow = w.registrations.clone();
    narrow[1].purposes[0].claims = keys(&[&["family_name"], &["given_name"], &["sex"]]);
    let (jwt, _) = rp.request_with("v3", &[city_login(&[&["sex"]])]);
    let p = WalletPolicy {
        registrations: &narrow,
        ..policy(&w, None)
    };
    assert_eq!(
        oid4vp::verify_request_object(&jwt, BANK, &p).unwrap_err(),
        Oid4vpError::Malformed("verifier_info names a claim the query does not ask")
    );
    // Two relying parties, or a malformed entry.
    assert_eq!(
        refused(&[city_login(&[]), city_login(&[])]),
        Oid4vpError::Malformed("verifier_info names two relying parties")
    );
    assert_eq!(
        refused(&[json!({"format": oid4vp::ON_BEHALF_OF})]),
        Oid4vpError::Malformed("verifier_info data")
    );
    assert_eq!(
        refused(&[json!({"format": oid4vp::ON_BEHALF_OF, "data": {"client_id": CITY}})]),
        Oid4vpError::Malformed("verifier_info data")
    );
    // An intermediary behind an intermediary.
    let mut chained = w.registrations.clone();
    chained[1].intermediary = true;
    let (jwt, _) = rp.request_with("v4", &[city_login(&[])]);
    let p = WalletPolicy {
        registrations: &chained,
        ..policy(&w, None)
    };
    assert_eq!(
        oid4vp::verify_request_object(&jwt, BANK, &p).unwrap_err(),
        Oid4vpError::OnBehalfOf("an intermediary behind an intermediary")
    );

    // A relying party that is no intermediary may not claim to ask for another.
    w.registrations[0].intermediary = false;
    let rp = Rp::bank(&w);
    let (jwt, _) = rp.request_with("v5", &[oid4vp::on_behalf_of_info(CITY, "login", &[])]);
    assert_eq!(
        oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap_err(),
        Oid4vpError::OnBehalfOf("only an intermediary may ask on behalf of another relying party")
    );
    // Without one it is served as itself.
    let (jwt, _) = rp.request("v6");
    let r = oid4vp::verify_request_object(&jwt, BANK, &policy(&w, None)).unwrap();
    assert!(r.on_behalf_of.is_none());
}
