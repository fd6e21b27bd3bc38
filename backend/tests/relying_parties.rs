//! The relying-party hub (issue 16, docs/adr/0036), on SQLite and PostgreSQL: registration by
//! the admin (and every refusal), the access certificate the RP CA issues passing the wallet's
//! OpenID4VP checks (chain to the trust list's RP CA, `x509_san_dns` leaf, registered scope),
//! the signed registry (ETag, suspension), production's own RP CA, and metering across two
//! instances.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{ADMIN_TOKEN, Harness, Reply, harnesses};
use eid_backend::metering::{self, BillableKind};
use eid_backend::signing::rp_access::is_access_certificate;
use eid_backend::signing::seal::SealKey;
use eid_backend::{App, Config};
use eid_core::api::{
    self, ErrorCode, MeteringReport, RpList, RpPurpose, RpRecord, RpRegistrationRequest,
    RpRegistryResponse, paths,
};
use eid_core::credential::TrustList;
use eid_core::oid4vp::{
    self, DcqlQuery, Oid4vpError, RequestSpec, ResponseMode, RpSigner, WalletPolicy,
};
use eid_core::verify::{RpRegistry, RpRegistryError};
use eid_crypto::trust::TrustStore;
use p256::ecdsa::SigningKey;
use serde_json::json;

const BANK: &str = "bank.example.vn";

/// One change that makes a registration wrong.
type Change = Box<dyn Fn(&mut RpRegistrationRequest)>;

fn rp_key(n: u8) -> SigningKey {
    SigningKey::from_slice(&[n; 32]).unwrap()
}

fn pem_of(key: &SigningKey) -> String {
    use p256::pkcs8::EncodePublicKey;
    key.verifying_key()
        .to_public_key_pem(der::pem::LineEnding::LF)
        .unwrap()
}

fn registration(dns: &str, key: &SigningKey) -> RpRegistrationRequest {
    RpRegistrationRequest {
        legal_name: "Ngân hàng Example".into(),
        registration_number: "0101234567".into(),
        logo_url: Some("https://bank.example.vn/logo.png".into()),
        dns_name: dns.into(),
        response_uris: vec![format!(
            "https://{}/oid4vp/response",
            dns.to_ascii_lowercase()
        )],
        purposes: vec![
            RpPurpose {
                name: "login".into(),
                claims: vec![],
            },
            RpPurpose {
                name: "age_check".into(),
                claims: vec![],
            },
            RpPurpose {
                name: "sim_registration".into(),
                claims: vec![json!(["given_name"]), json!(["family_name"])],
            },
        ],
        public_key_pem: Some(pem_of(key)),
        public_key_jwk: None,
    }
}

async fn admin(
    h: &Harness,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
    token: Option<&str>,
) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    h.send(b.body(Body::from(body.unwrap_or_default())).unwrap())
        .await
}

async fn register(h: &Harness, req: &RpRegistrationRequest) -> Reply {
    admin(
        h,
        "POST",
        paths::ADMIN_RELYING_PARTIES,
        Some(serde_json::to_vec(req).unwrap()),
        Some(ADMIN_TOKEN),
    )
    .await
}

async fn trust(h: &Harness) -> (TrustList, TrustStore, Vec<u8>) {
    let t: api::TrustListResponse = h.get(paths::TRUST_LIST).await.json();
    let mut rp = TrustStore::new();
    for c in &t.rp_ca {
        rp.add_der(&c.0).unwrap();
    }
    assert_eq!(t.rp_ca.len(), 1);
    (
        TrustList::decode(&t.issuers.0).unwrap(),
        rp,
        t.rp_ca[0].0.clone(),
    )
}

/// The hub's own client id in a test backend (the default public URL's host).
const HUB_CLIENT_ID: &str = "x509_san_dns:backend.eid.invalid";

async fn registry(h: &Harness) -> (RpRegistry, Reply) {
    let r = h.get(paths::RELYING_PARTIES).await;
    assert_eq!(r.status, StatusCode::OK);
    let body: RpRegistryResponse = r.json();
    let (issuers, _, _) = trust(h).await;
    (
        RpRegistry::from_signed(&body.signed.0, &issuers, h.app.clock().now()).unwrap(),
        r,
    )
}

/// A request object of the registered bank, signed with its key and certificate.
fn request_object(
    client_id: &str,
    key: &SigningKey,
    cert: &[u8],
    dcql: &DcqlQuery,
    now: u64,
) -> String {
    oid4vp::request_object(
        &RpSigner {
            client_id,
            key,
            x5c: &[cert.to_vec()],
        },
        &RequestSpec {
            response_uri: &format!("https://{BANK}/oid4vp/response"),
            response_mode: ResponseMode::DirectPost,
            nonce: "n-0S6_WzA2Mj",
            state: Some("s-1"),
            dcql,
            encryption_key: None,
            enc_values: &[],
            wallet_nonce: None,
            issued_at: now,
            lifetime: 300,
        },
    )
    .unwrap()
    .0
}

fn query(paths: &[&[&str]]) -> DcqlQuery {
    let claims: Vec<_> = paths.iter().map(|p| json!({ "path": p })).collect();
    DcqlQuery::parse(&json!({
        "credentials": [{
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:eudi:pid:1"]},
            "claims": claims
        }]
    }))
    .unwrap()
}

#[tokio::test]
async fn the_access_certificate_passes_the_wallets_openid4vp_checks_within_the_registered_scope() {
    for h in harnesses().await {
        let db = h.db;
        let key = rp_key(7);
        let r = register(&h, &registration("Bank.Example.VN", &key)).await;
        r.assert_ok(&format!("{db}: "));
        let rec: RpRecord = r.json();
        assert_eq!(rec.client_id, format!("x509_san_dns:{BANK}"), "{db}");
        assert_eq!(rec.status, "active");
        assert!(rec.id.starts_with("RP-"));
        // The known purposes got their fixed sets, the custom one kept its paths.
        assert!(rec.purposes[0].claims.is_empty());
        assert_eq!(
            rec.purposes[1].claims[0],
            json!(["age_equal_or_over", "18"])
        );
        assert_eq!(rec.purposes[2].claims.len(), 2);
        let cert = rec.access_certificate.0.clone();
        assert!(is_access_certificate(&cert, BANK).unwrap(), "{db}");
        assert!(
            rec.access_certificate_pem
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        // Development: the RP CA is the fixtures', so their bank and city verify too.
        let (_, rp_trust, rp_ca) = trust(&h).await;
        let fixture = eid_fixtures::relying_parties::RpPki::new().unwrap();
        assert_eq!(rp_ca, fixture.ca.der, "{db}");
        // The certificate certifies the registered key and chains to the RP CA.
        let leaf = eid_crypto::x509::SignerCertificate::from_der(&cert).unwrap();
        assert_eq!(
            eid_crypto::x509::p256_point(&leaf.certificate).unwrap(),
            key.verifying_key().to_sec1_point(false).as_bytes()
        );
        assert!(rp_trust.issuer_of(&leaf).is_some(), "{db}");
        // ... and names the RP CA's key as the RP CA's certificate does (RFC 5280 §4.2.1.1:
        // OpenSSL and other verifiers find the issuer by it).
        let ca = eid_crypto::x509::SignerCertificate::from_der(&rp_ca).unwrap();
        assert_eq!(
            eid_crypto::x509::authority_key_identifier(&leaf.certificate),
            eid_crypto::x509::subject_key_identifier(&ca.certificate),
            "{db}"
        );
        let (reg, _) = registry(&h).await;
        let registrations = reg.registrations();
        // The bank and the hub itself (the verifier of "Log in with e-ID", docs/adr/0042).
        assert_eq!(registrations.len(), 2, "{db}");
        assert!(registrations.iter().any(|r| r.client_id == HUB_CLIENT_ID));
        let now = h.app.clock().now();
        let policy = WalletPolicy {
            rp_trust: &rp_trust,
            registrations: &registrations,
            now,
            allow_unsigned_test_rps: false,
            wallet_nonce: None,
        };
        let client_id = format!("x509_san_dns:{BANK}");
        // Within the age check: accepted, the purpose named.
        let jwt = request_object(
            &client_id,
            &key,
            &cert,
            &query(&[&["age_equal_or_over", "18"]]),
            now,
        );
        let ok = oid4vp::verify_request_object(&jwt, &client_id, &policy).unwrap();
        assert_eq!(ok.purpose, "age_check", "{db}");
        assert_eq!(ok.certificate.unwrap().dns_names, [BANK]);
        // The birth date is in none of its purposes.
        let jwt = request_object(&client_id, &key, &cert, &query(&[&["birthdate"]]), now);
        assert_eq!(
            oid4vp::verify_request_object(&jwt, &client_id, &policy).unwrap_err(),
            Oid4vpError::Scope,
            "{db}"
        );
        // The same certificate claimed for another name: its SAN does not match.
        let other = "x509_san_dns:hue-s.example.vn";
        let jwt = request_object(
            other,
            &key,
            &cert,
            &query(&[&["age_equal_or_over", "18"]]),
            now,
        );
        assert!(matches!(
            oid4vp::verify_request_object(&jwt, other, &policy).unwrap_err(),
            Oid4vpError::ClientId(_)
        ));
        // Signed by another key than the certified one.
        let jwt = request_object(
            &client_id,
            &rp_key(8),
            &cert,
            &query(&[&["age_equal_or_over", "18"]]),
            now,
        );
        assert_eq!(
            oid4vp::verify_request_object(&jwt, &client_id, &policy).unwrap_err(),
            Oid4vpError::RequestSignature
        );
        // A certificate for the bank's name from a CA the trust list does not hold.
        let jwt = request_object(
            &client_id,
            fixture.rogue_bank.signing_key(),
            &fixture.rogue_bank.der,
            &query(&[&["age_equal_or_over", "18"]]),
            now,
        );
        assert_eq!(
            oid4vp::verify_request_object(&jwt, &client_id, &policy).unwrap_err(),
            Oid4vpError::UntrustedRp
        );
        // A JWK registers too.
        let mut jwk_req = registration("city.example.vn", &rp_key(9));
        jwk_req.public_key_pem = None;
        jwk_req.public_key_jwk = Some(
            eid_core::sdjwt::jwk_from_point(
                rp_key(9).verifying_key().to_sec1_point(false).as_bytes(),
            )
            .unwrap(),
        );
        let r = register(&h, &jwk_req).await;
        r.assert_ok(&format!("{db}: "));
    }
}

#[tokio::test]
async fn registrations_are_refused_without_the_admin_token_or_with_a_bad_field() {
    for h in harnesses().await {
        let db = h.db;
        let good = registration(BANK, &rp_key(7));
        let body = serde_json::to_vec(&good).unwrap();
        for token in [None, Some("wrong-token")] {
            let r = admin(
                &h,
                "POST",
                paths::ADMIN_RELYING_PARTIES,
                Some(body.clone()),
                token,
            )
            .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{db}");
            assert_eq!(r.error(), ErrorCode::Unauthenticated);
            for (method, path) in [
                ("GET", paths::ADMIN_RELYING_PARTIES.to_owned()),
                ("GET", paths::ADMIN_METERING.to_owned()),
                ("DELETE", format!("{}/RP-X", paths::ADMIN_RELYING_PARTIES)),
            ] {
                let r = admin(&h, method, &path, None, token).await;
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{db} {method} {path}");
            }
        }
        let bad: Vec<(&str, Change)> = vec![
            (
                "bad DNS name",
                Box::new(|r| r.dns_name = "bank example".into()),
            ),
            (
                "one-label DNS name",
                Box::new(|r| r.dns_name = "bank".into()),
            ),
            (
                "non-https response URI",
                Box::new(|r| r.response_uris = vec![format!("http://{BANK}/cb")]),
            ),
            (
                "loopback http outside development",
                Box::new(|r| r.response_uris = vec!["ftp://127.0.0.1/cb".into()]),
            ),
            (
                "non-https logo",
                Box::new(|r| r.logo_url = Some("http://bank.example.vn/logo.png".into())),
            ),
            ("no response URI", Box::new(|r| r.response_uris.clear())),
            (
                "unknown purpose",
                Box::new(|r| {
                    r.purposes = vec![RpPurpose {
                        name: "marketing".into(),
                        claims: vec![],
                    }]
                }),
            ),
            ("no purpose", Box::new(|r| r.purposes.clear())),
            (
                "malformed claim path",
                Box::new(|r| {
                    r.purposes = vec![RpPurpose {
                        name: "x".into(),
                        claims: vec![json!([])],
                    }]
                }),
            ),
            (
                "claims on a known purpose",
                Box::new(|r| {
                    r.purposes = vec![RpPurpose {
                        name: "login".into(),
                        claims: vec![json!(["birthdate"])],
                    }]
                }),
            ),
            ("no key", Box::new(|r| r.public_key_pem = None)),
            (
                "two keys",
                Box::new(|r| r.public_key_jwk = Some(json!({"kty": "EC"}))),
            ),
            (
                "not a key",
                Box::new(|r| {
                    r.public_key_pem =
                        Some("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into())
                }),
            ),
            (
                "a private JWK",
                Box::new(|r| {
                    r.public_key_pem = None;
                    r.public_key_jwk =
                        Some(json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}));
                }),
            ),
            (
                "bidirectional name",
                Box::new(|r| r.legal_name = "Bank\u{202E}".into()),
            ),
            (
                "bad registration number",
                Box::new(|r| r.registration_number = "01 23;".into()),
            ),
            (
                "legal name over 64 characters",
                Box::new(|r| r.legal_name = "A".repeat(65)),
            ),
        ];
        for (what, change) in bad {
            let mut req = good.clone();
            change(&mut req);
            let r = register(&h, &req).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{db}: {what}");
            assert_eq!(r.error(), ErrorCode::InvalidRequest, "{db}: {what}");
        }
        let r = admin(
            &h,
            "POST",
            paths::ADMIN_RELYING_PARTIES,
            Some(b"{not json".to_vec()),
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        // Nothing was stored by any of them.
        let r = admin(
            &h,
            "GET",
            paths::ADMIN_RELYING_PARTIES,
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
        let listed = r.json::<RpList>().relying_parties;
        assert!(listed.iter().all(|rp| rp.id == "RP-HUB"), "{db}");
        // Loopback http is a development convenience (this backend is one).
        let mut dev = good.clone();
        dev.response_uris = vec!["http://127.0.0.1:8080/cb".into()];
        assert_eq!(register(&h, &dev).await.status, StatusCode::OK, "{db}");
        // The same DNS name twice.
        let r = register(&h, &good).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{db}");
    }
}

#[tokio::test]
async fn suspension_takes_the_relying_party_out_of_the_signed_registry() {
    for h in harnesses().await {
        let db = h.db;
        let a: RpRecord = register(&h, &registration(BANK, &rp_key(7))).await.json();
        let b: RpRecord = register(&h, &registration("hue-s.example.vn", &rp_key(8)))
            .await
            .json();
        let (reg, r) = registry(&h).await;
        // The two and the hub itself (docs/adr/0042), registered first.
        assert_eq!(reg.relying_parties.len(), 3, "{db}");
        let bank = reg.registration(&a.client_id).unwrap();
        assert_eq!(bank.name, "Ngân hàng Example");
        assert_eq!(
            bank.response_uris,
            [format!("https://{BANK}/oid4vp/response")]
        );
        assert_eq!(reg.relying_parties[1].registration_number, "0101234567");
        assert!(
            r.headers["cache-control"]
                .to_str()
                .unwrap()
                .starts_with("public")
        );
        let etag = r.headers["etag"].to_str().unwrap().to_owned();
        // Unchanged: 304 on the ETag.
        let again = h
            .send(
                Request::get(paths::RELYING_PARTIES)
                    .header("if-none-match", &etag)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{db}");
        // The admin sees both, one by one.
        let one = admin(
            &h,
            "GET",
            &format!("{}/{}", paths::ADMIN_RELYING_PARTIES, b.id),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(one.json::<RpRecord>(), b);
        let missing = admin(
            &h,
            "GET",
            &format!("{}/RP-NONE", paths::ADMIN_RELYING_PARTIES),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        // Suspended: out of the registry at once, a new ETag; kept for the admin.
        let s = admin(
            &h,
            "DELETE",
            &format!("{}/{}", paths::ADMIN_RELYING_PARTIES, a.id),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(s.status, StatusCode::OK, "{db}");
        assert_eq!(s.json::<RpRecord>().status, "suspended");
        let (reg, r) = registry(&h).await;
        assert!(reg.registration(&a.client_id).is_none(), "{db}");
        assert!(reg.registration(&b.client_id).is_some(), "{db}");
        assert_ne!(r.headers["etag"].to_str().unwrap(), etag);
        let all: RpList = admin(
            &h,
            "GET",
            paths::ADMIN_RELYING_PARTIES,
            None,
            Some(ADMIN_TOKEN),
        )
        .await
        .json();
        let status = |id: &str| {
            all.relying_parties
                .iter()
                .find(|r| r.id == id)
                .unwrap()
                .status
                .clone()
        };
        assert_eq!(
            (status(&a.id), status(&b.id)),
            ("suspended".into(), "active".into()),
            "{db}"
        );
        // Suspending again changes nothing; a suspended name is not registered anew.
        let s = admin(
            &h,
            "DELETE",
            &format!("{}/{}", paths::ADMIN_RELYING_PARTIES, a.id),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(s.json::<RpRecord>().status, "suspended");
        assert_eq!(
            register(&h, &registration(BANK, &rp_key(7))).await.status,
            StatusCode::BAD_REQUEST
        );
    }
}

#[tokio::test]
async fn a_tampered_or_expired_registry_is_refused() {
    for h in harnesses().await {
        register(&h, &registration(BANK, &rp_key(7))).await;
        let body: RpRegistryResponse = h.get(paths::RELYING_PARTIES).await.json();
        let (issuers, _, _) = trust(&h).await;
        let now = h.app.clock().now();
        let signed = body.signed.0;
        RpRegistry::from_signed(&signed, &issuers, now).unwrap();
        // One byte of the payload changed (the bank's name in the JSON).
        let at = signed.windows(4).position(|w| w == b"Ng\xc3\xa2").unwrap();
        let mut tampered = signed.clone();
        tampered[at] ^= 0x01;
        assert_eq!(
            RpRegistry::from_signed(&tampered, &issuers, now).unwrap_err(),
            RpRegistryError::BadSignature
        );
        assert_eq!(
            RpRegistry::from_signed(
                &signed,
                &issuers,
                now + eid_backend::rp_registry::REGISTRY_LIFETIME
            )
            .unwrap_err(),
            RpRegistryError::Expired
        );
        // Signed by a key the trust list does not authorise (the RP CA's own fixture bank).
        let untrusted = TrustList::new();
        assert_eq!(
            RpRegistry::from_signed(&signed, &untrusted, now).unwrap_err(),
            RpRegistryError::Untrusted
        );
        assert!(RpRegistry::from_signed(b"junk", &issuers, now).is_err());
        // Properly signed but not a registry a wallet may use: another list's name, or an entry
        // whose claim path does not read (the whole registry is refused, not just the entry).
        let key = h.app.state().keys.status_signer(now).unwrap();
        let doc = |registry: &str, claims: Vec<serde_json::Value>| api::RpRegistryDocument {
            registry: registry.into(),
            issued_at: now,
            expires_at: now + 60,
            relying_parties: vec![api::RpPublic {
                client_id: format!("x509_san_dns:{BANK}"),
                name: "B".into(),
                registration_number: "1".into(),
                logo_url: None,
                response_uris: vec![],
                purposes: vec![RpPurpose {
                    name: "x".into(),
                    claims,
                }],
                intermediary: false,
            }],
        };
        let uri = eid_core::verify::rp_registry::RP_REGISTRY_URI;
        let sign = |d| eid_backend::rp_registry::sign_registry(key, &d).unwrap();
        let good = sign(doc(uri, vec![json!(["given_name"])]));
        assert_eq!(
            RpRegistry::from_signed(&good, &issuers, now)
                .unwrap()
                .registration(&format!("x509_san_dns:{BANK}"))
                .unwrap()
                .purposes[0]
                .claims
                .len(),
            1
        );
        for bad in [
            sign(doc(
                "urn:vn-eid:backend:status-list:1",
                vec![json!(["given_name"])],
            )),
            sign(doc(uri, vec![json!([])])),
            sign(doc(uri, vec![json!({"path": "given_name"})])),
        ] {
            assert!(matches!(
                RpRegistry::from_signed(&bad, &issuers, now).unwrap_err(),
                RpRegistryError::Malformed(_)
            ));
        }
    }
}

async fn production(url: &str) -> Result<App, eid_backend::Error> {
    App::open(Config {
        population: 3,
        ..Config::production(
            url,
            SealKey::new(&[0x5a; 32]).unwrap(),
            Some(ADMIN_TOKEN.into()),
        )
    })
    .await
}

#[tokio::test]
async fn production_generates_its_own_rp_ca_and_refuses_the_development_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![(
        "sqlite",
        format!("sqlite://{}", dir.path().join("p.db").display()),
    )];
    if let Ok(server) = std::env::var("EID_TEST_POSTGRES_URL")
        && !server.is_empty()
    {
        let name = format!("eid_rpca_{}", std::process::id());
        urls.push((
            "postgres",
            eid_backend::db::create_postgres_database(&server, &name)
                .await
                .unwrap(),
        ));
    }
    let fixture = eid_fixtures::relying_parties::RpPki::new().unwrap();
    for (db, url) in urls {
        let app = production(&url).await.unwrap();
        let ca = app.state().rp_ca.certificate.clone();
        assert_ne!(ca, fixture.ca.der, "{db}");
        let subject = {
            use der::Decode;
            x509_cert::Certificate::from_der(&ca)
                .unwrap()
                .tbs_certificate()
                .subject()
                .to_string()
        };
        assert!(
            subject.contains("RP CA Viet Nam") && !subject.contains("TEST"),
            "{db}: {subject}"
        );
        let listed = eid_backend::rp_keys::list(&app.state().store)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].origin.as_str(), listed[0].holder.as_str()),
            ("generated", "sealed")
        );
        // Production: loopback http is refused too.
        let h = Harness::from_app(app.clone(), db);
        let mut dev = registration(BANK, &rp_key(7));
        dev.response_uris = vec!["http://127.0.0.1:8080/cb".into()];
        assert_eq!(
            register(&h, &dev).await.status,
            StatusCode::BAD_REQUEST,
            "{db}"
        );
        let rec: RpRecord = register(&h, &registration(BANK, &rp_key(7))).await.json();
        let mut anchors = TrustStore::new();
        anchors.add_der(&ca).unwrap();
        let leaf =
            eid_crypto::x509::SignerCertificate::from_der(&rec.access_certificate.0).unwrap();
        assert!(anchors.issuer_of(&leaf).is_some(), "{db}");
        app.state().store.close().await;
        drop((h, app));
        // A restart keeps it.
        let again = production(&url).await.unwrap();
        assert_eq!(again.state().rp_ca.certificate, ca, "{db}");
        sqlx::query("UPDATE backend_keys SET origin = 'fixture' WHERE purpose = 'rp:ca'")
            .execute(again.state().store.pool())
            .await
            .unwrap();
        let now = again.clock().now();
        again.state().store.close().await;
        drop(again);
        let refused = production(&url).await.unwrap_err().to_string();
        assert!(refused.contains("--dev"), "{db}: {refused}");
        // The RP CA's own check, whatever the other keys say.
        let store = eid_backend::db::Store::open(&url).await.unwrap();
        let vault = eid_backend::keys::Vault::sealed(SealKey::new(&[0x5a; 32]).unwrap());
        let refused = eid_backend::rp_keys::ensure(&store, &vault, false, now)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("RP CA") && refused.contains("--dev"),
            "{db}: {refused}"
        );
        eid_backend::rp_keys::ensure(&store, &vault, true, now)
            .await
            .unwrap();
        store.close().await;
    }
}

#[tokio::test]
async fn metering_counts_across_two_instances_and_reports_per_rp_purpose_kind_and_day() {
    for h in harnesses().await {
        let db = h.db;
        let bank: RpRecord = register(&h, &registration(BANK, &rp_key(7))).await.json();
        let city: RpRecord = register(&h, &registration("hue-s.example.vn", &rp_key(8)))
            .await
            .json();
        // A second instance on the same database.
        let second = App::open(common::config(h.app.state().config.database_url.clone()))
            .await
            .unwrap();
        let day0 = 20_454 * 86_400; // 2026-01-01
        let (a, b) = (h.app.state(), second.state());
        for (state, rp, purpose, kind, at) in [
            (a, &bank.id, "login", BillableKind::Login, day0 + 10),
            (b, &bank.id, "login", BillableKind::Login, day0 + 20),
            (a, &bank.id, "login", BillableKind::Login, day0 + 86_399),
            (b, &bank.id, "login", BillableKind::Login, day0 + 86_400),
            (
                b,
                &bank.id,
                "age_check",
                BillableKind::PresentationVerification,
                day0 + 30,
            ),
            (a, &city.id, "login", BillableKind::ChipCheck, day0 + 40),
        ] {
            metering::record(state, rp, purpose, kind, at)
                .await
                .unwrap();
        }
        // Concurrently from both instances: none lost.
        let mut tasks = Vec::new();
        for i in 0..20u64 {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let rp = city.id.clone();
            tasks.push(tokio::spawn(async move {
                metering::record(
                    &s,
                    &rp,
                    "age_check",
                    BillableKind::PresentationVerification,
                    day0 + i,
                )
                .await
                .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let h2 = Harness::from_app(second.clone(), db);
        let r = admin(
            &h2,
            "GET",
            &format!("{}?from=2026-01-01&to=2026-01-02", paths::ADMIN_METERING),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
        r.assert_ok(&format!("{db}: "));
        let report: MeteringReport = r.json();
        assert_eq!(
            (report.from.as_str(), report.to.as_str()),
            ("2026-01-01", "2026-01-02")
        );
        let rows: Vec<(String, String, String, String, u64)> = report
            .rows
            .into_iter()
            .map(|r| (r.client_id, r.purpose, r.kind, r.day, r.count))
            .collect();
        let row = |c: &str, p: &str, k: &str, d: &str, n: u64| {
            (
                format!("x509_san_dns:{c}"),
                p.to_owned(),
                k.to_owned(),
                d.to_owned(),
                n,
            )
        };
        assert_eq!(
            rows,
            [
                row(
                    BANK,
                    "age_check",
                    "presentation_verification",
                    "2026-01-01",
                    1
                ),
                row(BANK, "login", "login", "2026-01-01", 3),
                row(BANK, "login", "login", "2026-01-02", 1),
                row(
                    "hue-s.example.vn",
                    "age_check",
                    "presentation_verification",
                    "2026-01-01",
                    20
                ),
                row("hue-s.example.vn", "login", "chip_check", "2026-01-01", 1),
            ],
            "{db}"
        );
        // Only the days asked for.
        let r = admin(
            &h2,
            "GET",
            &format!("{}?from=2026-01-02&to=2026-01-02", paths::ADMIN_METERING),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.json::<MeteringReport>().rows.len(), 1, "{db}");
        let r = admin(
            &h2,
            "GET",
            &format!("{}?from=2026-01-03&to=2026-01-01", paths::ADMIN_METERING),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        // Counts and names only: no column could hold a claim value or a citizen.
        let columns: Vec<String> = match db {
            "sqlite" => sqlx::query("SELECT name FROM pragma_table_info('billable_events')")
                .fetch_all(a.store.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| sqlx::Row::try_get(r, 0).unwrap())
                .collect(),
            _ => sqlx::query("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'billable_events' ORDER BY ordinal_position")
                .fetch_all(a.store.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| sqlx::Row::try_get(r, 0).unwrap())
                .collect(),
        };
        assert_eq!(
            columns,
            ["rp_id", "purpose", "kind", "day", "count"],
            "{db}"
        );
        second.state().store.close().await;
    }
}

#[tokio::test]
async fn a_registration_on_one_instance_reaches_the_others_registry() {
    let Ok(server) = std::env::var("EID_TEST_POSTGRES_URL") else {
        return;
    };
    let name = format!("eid_rpx_{}", std::process::id());
    let url = eid_backend::db::create_postgres_database(&server, &name)
        .await
        .unwrap();
    let a = Harness::from_app(
        App::open(common::config(url.clone())).await.unwrap(),
        "postgres",
    );
    let b = Harness::from_app(App::open(common::config(url)).await.unwrap(), "postgres");
    // B signs (and caches) a registry of the hub alone first.
    assert_eq!(registry(&b).await.0.relying_parties.len(), 1);
    let rec: RpRecord = register(&a, &registration(BANK, &rp_key(7))).await.json();
    let start = std::time::Instant::now();
    loop {
        if registry(&b).await.0.registration(&rec.client_id).is_some() {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "B never heard of it"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The hub's own registration is written only when it changed (docs/adr/0050): a restart on the
/// same database keeps its access certificate, and the registry's bytes are kept in the
/// database, so every start (and every instance) answers with the same ETag and wallets'
/// conditional syncs stay 304. A real change (another public URL) writes a new row and ETag.
#[tokio::test]
async fn a_restart_keeps_the_hub_registration_and_the_registry_etag() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("backend.db").display());
    let start = async |public_url: &str| {
        let config = Config {
            public_url: public_url.into(),
            ..common::config(url.clone())
        };
        let h = Harness::from_app(App::open(config).await.unwrap(), "sqlite");
        let r = h.get(paths::RELYING_PARTIES).await;
        assert_eq!(r.status, StatusCode::OK);
        let etag = r.headers["etag"].to_str().unwrap().to_owned();
        let cert: Vec<u8> = sqlx::query_scalar(
            "SELECT access_certificate FROM relying_parties WHERE id = 'RP-HUB'",
        )
        .fetch_one(h.app.state().store.pool())
        .await
        .unwrap();
        (etag, cert, r.body)
    };
    let (etag, cert, body) = start("https://login.example.vn").await;
    // A second later, as a restart would be: the same certificate, the same bytes.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (etag2, cert2, body2) = start("https://login.example.vn").await;
    assert_eq!(cert2, cert, "the hub's access certificate is reused");
    assert_eq!(
        etag2, etag,
        "an unchanged registry keeps its ETag across starts"
    );
    assert_eq!(body2, body);
    // The hub moved: its row and the registry change.
    let (etag3, cert3, _) = start("https://login2.example.vn").await;
    assert_ne!(cert3, cert);
    assert_ne!(etag3, etag);
    let (etag4, cert4, _) = start("https://login2.example.vn").await;
    assert_eq!((etag4, cert4), (etag3, cert3));
}

/// UserInfo (OIDC Core §5.3, docs/adr/0050) is advertised and refuses what is no valid access
/// token with RFC 6750's challenge (a whole login with a wallet: `eid-cli`'s OIDC test and the
/// Authlib test).
#[tokio::test]
async fn userinfo_is_advertised_and_refuses_missing_or_unknown_bearer_tokens() {
    for h in harnesses().await {
        let meta: serde_json::Value = h.get("/.well-known/openid-configuration").await.json();
        let issuer = meta["issuer"].as_str().unwrap();
        assert_eq!(
            meta["userinfo_endpoint"],
            format!("{issuer}/v1/oidc/userinfo")
        );
        let ask = async |auth: Option<&str>| {
            let mut req = Request::get("/v1/oidc/userinfo");
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = h.send(req.body(Body::empty()).unwrap()).await;
            let challenge = r
                .headers
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (r.status, challenge)
        };
        assert_eq!(
            ask(None).await,
            (StatusCode::UNAUTHORIZED, "Bearer realm=\"eid\"".to_owned())
        );
        for bad in ["Bearer AAAA", "Bearer ", "Basic dXNlcjpwYXNz"] {
            let (status, challenge) = ask(Some(bad)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
            assert!(challenge.starts_with("Bearer realm=\"eid\""), "{bad}");
        }
        let (_, challenge) = ask(Some("Bearer AAAA")).await;
        assert_eq!(
            challenge, "Bearer realm=\"eid\", error=\"invalid_token\"",
            "{}",
            h.db
        );
    }
}

/// Two instances on one PostgreSQL, started one after the other: the second keeps the hub's
/// certificate and both answer the registry with the same bytes and ETag (docs/adr/0050).
/// Runs when EID_TEST_POSTGRES_URL is set.
#[tokio::test]
async fn two_instances_on_postgresql_answer_one_registry_etag() {
    let Ok(url) = std::env::var("EID_TEST_POSTGRES_URL") else {
        return;
    };
    if url.is_empty() {
        return;
    }
    let name = format!("eid_hub_etag_{}", std::process::id());
    let db = eid_backend::db::create_postgres_database(&url, &name)
        .await
        .unwrap();
    let open = async || {
        let h = Harness::from_app(
            App::open(common::config(db.clone())).await.unwrap(),
            "postgres",
        );
        let r = h.get(paths::RELYING_PARTIES).await;
        assert_eq!(r.status, StatusCode::OK);
        (h, r.headers["etag"].to_str().unwrap().to_owned(), r.body)
    };
    let (a, etag_a, body_a) = open().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (b, etag_b, body_b) = open().await;
    assert_eq!(etag_b, etag_a);
    assert_eq!(body_b, body_a);
    // A's cached answer is still the same bytes.
    let again = a.get(paths::RELYING_PARTIES).await;
    assert_eq!(again.headers["etag"].to_str().unwrap(), etag_a);
    drop((a, b));
}

/// The disclosure history (docs/adr/0050) is the signing device's account's only: another
/// citizen's device sees none of it, an unsigned request nothing at all. (Recording it during a
/// whole login with a wallet: `eid-cli`'s OIDC test.)
#[tokio::test]
async fn each_account_reads_only_its_own_disclosures() {
    for h in harnesses().await {
        let (a, b) = (common::citizen(3), common::citizen(4));
        let (da, db) = (h.activate(&a).await, h.activate(&b).await);
        for (i, (account, purpose)) in [
            (&da.account, "login"),
            (&da.account, "ekyc"),
            (&db.account, "age_check"),
        ]
        .into_iter()
        .enumerate()
        {
            sqlx::query(
                "INSERT INTO hub_disclosures (id, account_id, rp_id, rp_client_id, rp_name, \
                 purpose, claims, via, at) VALUES ($1, $2, 'RP-X', 'x509_san_dns:x.vn', 'X', $3, \
                 $4, 'oidc', $5)",
            )
            .bind(format!("d{i}"))
            .bind(account)
            .bind(purpose)
            .bind(if purpose == "ekyc" {
                r#"["given_name"]"#
            } else {
                "[]"
            })
            .bind(1_000 + i as i64)
            .execute(h.app.state().store.pool())
            .await
            .unwrap();
        }
        let h = &h;
        let list = async |d| {
            let r = h.signed(d, "GET", paths::DISCLOSURES, vec![], &[]).await;
            assert_eq!(r.status, StatusCode::OK, "{}", h.db);
            r.json::<api::DisclosureList>().disclosures
        };
        let mine = list(&da).await;
        assert_eq!(
            mine.iter().map(|d| d.purpose.as_str()).collect::<Vec<_>>(),
            ["login", "ekyc"],
            "{}",
            h.db
        );
        assert_eq!(mine[1].claims, ["given_name"]);
        let theirs = list(&db).await;
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].purpose, "age_check");
        let r = h.get(paths::DISCLOSURES).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", h.db);
    }
}
