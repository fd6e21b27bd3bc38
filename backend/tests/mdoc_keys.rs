//! The mdoc PKI's keys (docs/adr/0031), on SQLite and PostgreSQL: production generates its own
//! IACA and document signer (Annex B profiles, sealed, not the fixtures'), keeps them across a
//! restart, and refuses to start on a database whose IACA is the public development one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eid_backend::signing::iaca::is_annex_b_document_signer;
use eid_backend::signing::seal::SealKey;
use eid_backend::{App, Config, mdoc_keys};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

async fn fresh_urls(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut out = vec![(
        "sqlite",
        format!("sqlite://{}", dir.join(format!("mdoc-{n}.db")).display()),
    )];
    if let Ok(server) = std::env::var("EID_TEST_POSTGRES_URL")
        && !server.is_empty()
    {
        let name = format!("eid_mk_{}_{n}", std::process::id());
        out.push((
            "postgres",
            eid_backend::db::create_postgres_database(&server, &name)
                .await
                .unwrap(),
        ));
    }
    out
}

async fn production(url: &str) -> Result<App, eid_backend::Error> {
    App::open(Config {
        population: 3,
        ..Config::production(url, SealKey::new(&[0x5a; 32]).unwrap(), None)
    })
    .await
}

fn subject(der: &[u8]) -> String {
    use der::Decode;
    x509_cert::Certificate::from_der(der)
        .unwrap()
        .tbs_certificate()
        .subject()
        .to_string()
}

#[tokio::test]
async fn production_generates_its_own_iaca_and_refuses_the_development_one() {
    let dir = tempfile::tempdir().unwrap();
    let dev_iaca = eid_fixtures::iaca::IacaSecrets::new();
    let dev_point = dev_iaca.iaca.verifying_key().to_sec1_point(false);
    for (db, url) in fresh_urls(dir.path()).await {
        let app = production(&url).await.unwrap();
        let mdoc = &app.state().mdoc;
        assert!(subject(&mdoc.iaca).contains("IACA Viet Nam"), "{db}");
        assert!(!subject(&mdoc.iaca).contains("TEST"), "{db}");
        assert!(is_annex_b_document_signer(
            mdoc.signer.certificate(),
            &mdoc.iaca
        ));
        let point = {
            use der::Decode;
            x509_cert::Certificate::from_der(&mdoc.iaca)
                .unwrap()
                .tbs_certificate()
                .subject_public_key_info()
                .subject_public_key
                .raw_bytes()
                .to_vec()
        };
        assert_ne!(point, dev_point.as_bytes(), "{db}: not the fixture key");
        let listed = mdoc_keys::list(&app.state().store).await.unwrap();
        let purposes: Vec<&str> = listed.iter().map(|k| k.purpose.as_str()).collect();
        assert_eq!(purposes, ["mdoc:document_signer", "mdoc:iaca"], "{db}");
        assert!(
            listed
                .iter()
                .all(|k| k.origin == "generated" && k.holder == "sealed")
        );
        let iaca = mdoc.iaca.clone();
        app.state().store.close().await;
        drop(app);
        // A restart keeps them.
        let again = production(&url).await.unwrap();
        assert_eq!(again.state().mdoc.iaca, iaca, "{db}");
        // A database whose IACA is the development one does not start in production.
        sqlx::query("UPDATE backend_keys SET origin = 'fixture' WHERE purpose LIKE 'mdoc:%'")
            .execute(again.state().store.pool())
            .await
            .unwrap();
        again.state().store.close().await;
        drop(again);
        let refused = production(&url).await.unwrap_err().to_string();
        assert!(refused.contains("--dev"), "{db}: {refused}");
    }
}

#[tokio::test]
async fn the_document_signer_is_renewed_before_its_certificate_ends() {
    use eid_backend::db::Store;
    use eid_backend::keys::Vault;
    let dir = tempfile::tempdir().unwrap();
    for (db, url) in fresh_urls(dir.path()).await {
        let app = production(&url).await.unwrap();
        let first = app.state().mdoc.signer.certificate().to_vec();
        let iaca = app.state().mdoc.iaca.clone();
        let now = app.clock().now();
        app.state().store.close().await;
        drop(app);
        let store = Store::open(&url).await.unwrap();
        let vault = Vault::sealed(SealKey::new(&[0x5a; 32]).unwrap());
        // Well before the end: nothing changes.
        mdoc_keys::ensure(&store, &vault, false, now + 86_400)
            .await
            .unwrap();
        let keys = mdoc_keys::load(&store, &vault).await.unwrap();
        assert_eq!(keys.signer.certificate(), first.as_slice(), "{db}");
        // 400 days on, under 90 days before the 457-day certificate ends: a new signer.
        let later = now + 400 * 86_400;
        mdoc_keys::ensure(&store, &vault, false, later)
            .await
            .unwrap();
        let keys = mdoc_keys::load(&store, &vault).await.unwrap();
        let renewed = keys.signer.certificate().to_vec();
        assert_ne!(renewed, first, "{db}");
        assert_eq!(keys.iaca, iaca, "{db}: the IACA stays");
        assert!(is_annex_b_document_signer(&renewed, &iaca), "{db}");
        let ends = |der: &[u8]| {
            use der::Decode;
            x509_cert::Certificate::from_der(der)
                .unwrap()
                .tbs_certificate()
                .validity()
                .not_after
                .to_unix_duration()
                .as_secs()
        };
        assert!(ends(&renewed) > later + 300 * 86_400, "{db}");
        // Once renewed, a second start does not renew again.
        mdoc_keys::ensure(&store, &vault, false, later)
            .await
            .unwrap();
        assert_eq!(mdoc_keys::list(&store).await.unwrap().len(), 3, "{db}");
        store.close().await;
    }
}
