//! The reader CA (issue 15, docs/adr/0040), on SQLite and PostgreSQL: published in the trust
//! list as `reader_ca`, apart from the IACA; `POST /v1/admin/reader-certificates` certifies a
//! reader's P-256 key (admin token; every refusal) with the Annex B reader authentication
//! profile; the certificate chains to the published reader CA and never to the IACA;
//! production generates its own reader CA and refuses the development one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{ADMIN_TOKEN, Harness, Reply, harnesses};
use eid_backend::signing::iaca::{READER_CERT_MAX_LIFETIME, is_annex_b_reader_certificate};
use eid_backend::signing::seal::SealKey;
use eid_backend::{App, Config};
use eid_core::api::{self, ReaderCertificateIssued, ReaderCertificateRequest, paths};
use eid_core::mdoc::is_reader_certificate;
use eid_crypto::trust::TrustStore;
use eid_crypto::x509::SignerCertificate;
use p256::ecdsa::SigningKey;

fn reader_key(n: u8) -> SigningKey {
    SigningKey::from_slice(&[n; 32]).unwrap()
}

fn request(name: &str, key: &SigningKey) -> ReaderCertificateRequest {
    ReaderCertificateRequest {
        name: name.into(),
        public_key: api::B64(key.verifying_key().to_sec1_point(false).as_bytes().to_vec()),
    }
}

async fn issue(h: &Harness, body: &[u8], token: Option<&str>) -> Reply {
    let mut b = Request::builder()
        .method("POST")
        .uri(paths::ADMIN_READER_CERTIFICATES)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    h.send(b.body(Body::from(body.to_vec())).unwrap()).await
}

fn store_of(ders: &[api::B64]) -> TrustStore {
    let mut s = TrustStore::new();
    for d in ders {
        s.add_der(&d.0).unwrap();
    }
    s
}

#[tokio::test]
async fn reader_certificates_chain_to_the_published_reader_ca_only() {
    for h in harnesses().await {
        let db = h.db;
        let t: api::TrustListResponse = h.get(paths::TRUST_LIST).await.json();
        assert_eq!(t.reader_ca.len(), 1, "{db}");
        // A role of its own: the reader CA is no IACA, no RP CA, no issuer anchor.
        assert!(!t.iaca.contains(&t.reader_ca[0]), "{db}");
        assert!(!t.rp_ca.contains(&t.reader_ca[0]), "{db}");
        let trust = eid_core::credential::TrustList::decode(&t.issuers.0).unwrap();
        assert!(!trust.anchors().contains(&t.reader_ca[0].0), "{db}");
        // Development: the fixture reader CA (so the fixture reader authenticates).
        let fixture = eid_fixtures::mdoc::MdocFixtures::new().unwrap();
        assert_eq!(t.reader_ca[0].0, fixture.reader.ca, "{db}");

        let key = reader_key(9);
        let body = serde_json::to_vec(&request("Quầy an ninh T1", &key)).unwrap();
        let r = issue(&h, &body, Some(ADMIN_TOKEN)).await;
        assert_eq!(r.status, StatusCode::OK, "{db}");
        let issued: ReaderCertificateIssued = r.json();
        assert_eq!(issued.reader_ca, t.reader_ca[0], "{db}");
        let cert = &issued.certificate.0;
        assert!(
            is_annex_b_reader_certificate(cert, &issued.reader_ca.0),
            "{db}"
        );
        let leaf = SignerCertificate::from_der(cert).unwrap();
        assert!(is_reader_certificate(&leaf.certificate), "{db}");
        assert_eq!(
            eid_crypto::x509::p256_point(&leaf.certificate).unwrap(),
            key.verifying_key().to_sec1_point(false).as_bytes(),
            "{db}"
        );
        let subject = leaf.certificate.tbs_certificate().subject().to_string();
        assert_eq!(subject, "CN=Quầy an ninh T1,C=VN", "{db}");
        let v = leaf.certificate.tbs_certificate().validity();
        let lifetime =
            v.not_after.to_unix_duration().as_secs() - v.not_before.to_unix_duration().as_secs();
        assert!(lifetime <= READER_CERT_MAX_LIFETIME, "{db}");
        assert!(store_of(&t.reader_ca).issuer_of(&leaf).is_some(), "{db}");
        assert!(store_of(&t.iaca).issuer_of(&leaf).is_none(), "{db}");

        // Refusals: no or a wrong token, a key that is no P-256 point, an empty or
        // bidirectional name, a body that is not the request.
        assert_eq!(
            issue(&h, &body, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{db}"
        );
        assert_eq!(
            issue(&h, &body, Some("wrong")).await.status,
            StatusCode::UNAUTHORIZED,
            "{db}"
        );
        let mut bad_key = request("Desk", &key);
        bad_key.public_key.0[10] ^= 0xff;
        let mut bad = vec![bad_key, request("", &key), request("Desk\u{202e}", &key)];
        bad.push(ReaderCertificateRequest {
            name: "x".repeat(65),
            public_key: request("Desk", &key).public_key,
        });
        for req in bad {
            let r = issue(&h, &serde_json::to_vec(&req).unwrap(), Some(ADMIN_TOKEN)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{db}: {}", req.name);
        }
        let r = issue(&h, b"{\"name\":\"x\"}", Some(ADMIN_TOKEN)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{db}");
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
async fn production_generates_its_own_reader_ca_and_refuses_the_development_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let fixture = eid_fixtures::mdoc::MdocFixtures::new().unwrap();
    let app = production(&url).await.unwrap();
    let ca = app.state().reader_ca.certificate.clone();
    assert_ne!(ca, fixture.reader.ca);
    let h = Harness::from_app(app.clone(), "sqlite");
    let key = reader_key(3);
    let r = issue(
        &h,
        &serde_json::to_vec(&request("Desk", &key)).unwrap(),
        Some(ADMIN_TOKEN),
    )
    .await;
    let issued: ReaderCertificateIssued = r.json();
    assert!(is_annex_b_reader_certificate(&issued.certificate.0, &ca));
    let listed = eid_backend::reader_keys::list(&app.state().store)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].origin, "generated");
    app.state().store.close().await;
    drop((h, app));
    let again = production(&url).await.unwrap();
    assert_eq!(again.state().reader_ca.certificate, ca);
    let now = again.clock().now();
    again.state().store.close().await;
    drop(again);
    // The reader CA's own check: a production start on the development reader CA is refused.
    let store = eid_backend::db::Store::open(&url).await.unwrap();
    sqlx::query("UPDATE backend_keys SET origin = 'fixture' WHERE purpose = 'reader:ca'")
        .execute(store.pool())
        .await
        .unwrap();
    let vault = eid_backend::keys::Vault::sealed(SealKey::new(&[0x5a; 32]).unwrap());
    let refused = eid_backend::reader_keys::ensure(&store, &vault, false, now)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("reader CA") && refused.contains("--dev"),
        "{refused}"
    );
    eid_backend::reader_keys::ensure(&store, &vault, true, now)
        .await
        .unwrap();
    store.close().await;
}

async fn revoke(h: &Harness, certificate: &[u8], token: Option<&str>) -> Reply {
    let body = serde_json::to_vec(&api::ReaderCertificateRevoke {
        certificate: api::B64(certificate.to_vec()),
    })
    .unwrap();
    let mut b = Request::builder()
        .method("POST")
        .uri(paths::ADMIN_READER_CERTIFICATES_REVOKE)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    h.send(b.body(Body::from(body)).unwrap()).await
}

async fn crl(h: &Harness, etag: Option<&str>) -> Reply {
    let mut b = Request::builder().uri(paths::READER_CA_CRL);
    if let Some(t) = etag {
        b = b.header("if-none-match", t);
    }
    h.send(b.body(Body::empty()).unwrap()).await
}

/// OpenSSL's own check of a CRL against its CA (an independent X.509 implementation).
fn openssl_verifies(crl_der: &[u8], ca_der: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let crl_path = dir.path().join("reader.crl");
    let ca_path = dir.path().join("ca.der");
    std::fs::write(&crl_path, crl_der).unwrap();
    std::fs::write(&ca_path, ca_der).unwrap();
    let pem = std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&ca_path)
        .args(["-out"])
        .arg(dir.path().join("ca.pem"))
        .status()
        .expect("openssl (scripts/test.sh installs it)");
    assert!(pem.success());
    let out = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-verify", "-in"])
        .arg(&crl_path)
        .arg("-CAfile")
        .arg(dir.path().join("ca.pem"))
        .output()
        .unwrap();
    out.status.success() && String::from_utf8_lossy(&out.stderr).contains("verify OK")
}

/// Fails before docs/adr/0053: there was no way to withdraw a reader certificate before it
/// expired (a year), and no CRL at the distribution point the certificates name.
#[tokio::test]
async fn a_revoked_reader_certificate_is_listed_in_the_reader_ca_crl() {
    for h in harnesses().await {
        let db = h.db;
        let t: api::TrustListResponse = h.get(paths::TRUST_LIST).await.json();
        let ca = SignerCertificate::from_der(&t.reader_ca[0].0).unwrap();
        let mut certs = Vec::new();
        for n in [21, 22] {
            let body = serde_json::to_vec(&request("Quầy khám bệnh", &reader_key(n))).unwrap();
            let issued: ReaderCertificateIssued = issue(&h, &body, Some(ADMIN_TOKEN)).await.json();
            certs.push(SignerCertificate::from_der(&issued.certificate.0).unwrap());
        }
        // Nothing revoked yet: an empty CRL, verified by us and by OpenSSL, cacheable.
        let r = crl(&h, None).await;
        assert_eq!(r.status, StatusCode::OK, "{db}");
        assert_eq!(r.headers["content-type"], "application/pkix-crl");
        let list = eid_crypto::crl::verify_crl(&r.body, &ca.certificate).unwrap();
        assert!(list.serials.is_empty(), "{db}");
        assert!(list.is_current(h.app.clock().now()), "{db}");
        assert!(openssl_verifies(&r.body, &t.reader_ca[0].0), "{db}");
        let etag = r.headers["etag"].to_str().unwrap().to_owned();
        assert_eq!(crl(&h, Some(&etag)).await.status, StatusCode::NOT_MODIFIED);

        // Refusals: no admin token, not a certificate, a certificate of another CA.
        let first = &certs[0].der;
        assert_eq!(
            revoke(&h, first, None).await.status,
            StatusCode::UNAUTHORIZED
        );
        let r = revoke(&h, b"not a certificate", Some(ADMIN_TOKEN)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{db}");
        let iaca = &t.iaca[0].0;
        let r = revoke(&h, iaca, Some(ADMIN_TOKEN)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{db}");

        // Revoked: listed at once on this instance (the ETag changes), the other one not.
        let r = revoke(&h, first, Some(ADMIN_TOKEN)).await;
        assert_eq!(r.status, StatusCode::OK, "{db}");
        let revoked: api::ReaderCertificateRevoked = r.json();
        let again: api::ReaderCertificateRevoked =
            revoke(&h, first, Some(ADMIN_TOKEN)).await.json();
        assert_eq!(again, revoked, "{db}: revoking twice keeps the first time");
        let r = crl(&h, Some(&etag)).await;
        assert_eq!(r.status, StatusCode::OK, "{db}");
        let list = eid_crypto::crl::verify_crl(&r.body, &ca.certificate).unwrap();
        assert!(list.revokes(&certs[0].certificate), "{db}");
        assert!(!list.revokes(&certs[1].certificate), "{db}");
        assert!(openssl_verifies(&r.body, &t.reader_ca[0].0), "{db}");

        // A CRL with one byte changed, or checked against another CA, is not taken.
        let mut tampered = r.body.to_vec();
        let at = tampered.len() / 2;
        tampered[at] ^= 1;
        assert!(eid_crypto::crl::verify_crl(&tampered, &ca.certificate).is_err());
        let other = SignerCertificate::from_der(iaca).unwrap();
        assert_eq!(
            eid_crypto::crl::verify_crl(&r.body, &other.certificate),
            Err(eid_crypto::crl::CrlError::Issuer)
        );
    }
}
