//! The backend's own keys (ADR 0018), on SQLite and PostgreSQL: a production backend generates
//! issuer keys of its own (nothing shared with the fixtures, different per database), keeps them
//! sealed under the KEK, signs its status list and registry records with them, refuses a wrong
//! KEK or a development database, and rotates an issuer key without breaking what the old one
//! signed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use eid_backend::keys::{self, Keys, RETIRE_AFTER, Vault};
use eid_backend::signing::seal::SealKey;
use eid_backend::{App, Config};
use eid_core::api::{StatusListResponse, TrustListResponse, paths};
use eid_core::credential::{self, DocumentKind, StatusRef, TrustList, Validity};

use eid_core::verify::StatusList;
use eid_fixtures::issuers::{Issuers, models_for};
use sqlx::Row;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn kek_bytes(seed: u8) -> [u8; 32] {
    let mut k = [seed; 32];
    k[0] = 0xA5;
    k
}

fn kek(seed: u8) -> SealKey {
    SealKey::new(&kek_bytes(seed)).unwrap()
}

fn vault(seed: u8) -> Vault {
    Vault::sealed(kek(seed))
}

/// A fresh database URL per call: SQLite in `dir`, and PostgreSQL when configured.
async fn fresh_urls(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut out = vec![(
        "sqlite",
        format!("sqlite://{}", dir.join(format!("keys-{n}.db")).display()),
    )];
    if let Ok(server) = std::env::var("EID_TEST_POSTGRES_URL")
        && !server.is_empty()
    {
        let name = format!("eid_k_{}_{n}", std::process::id());
        let url = eid_backend::db::create_postgres_database(&server, &name)
            .await
            .unwrap();
        out.push(("postgres", url));
    }
    out
}

/// A production backend on `url` (population 3: the keys are what matter here).
async fn production(url: &str, seed: u8) -> Result<App, eid_backend::Error> {
    App::open(Config {
        population: 3,
        ..Config::production(url, kek(seed), None)
    })
    .await
}

/// Every public key (SEC1 point) of a trust list: anchors and issuers.
fn points(trust: &TrustList) -> BTreeSet<Vec<u8>> {
    use der::Decode;
    let mut out: BTreeSet<Vec<u8>> = trust
        .prepared_issuers()
        .into_iter()
        .map(|i| i.point)
        .collect();
    for der in trust.anchors() {
        let cert = x509_cert::Certificate::from_der(der).unwrap();
        let spki = cert.tbs_certificate().subject_public_key_info();
        out.insert(spki.subject_public_key.as_bytes().unwrap().to_vec());
    }
    out
}

async fn published_trust(h: &Harness) -> TrustList {
    let r = h.get(paths::TRUST_LIST).await;
    assert_eq!(r.status, 200);
    let t: TrustListResponse = r.json();
    TrustList::decode(&t.issuers.0).unwrap()
}

#[tokio::test]
async fn production_keys_are_its_own_and_differ_per_database() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Issuers::new().unwrap().trust_list().unwrap();
    let holder = p256::ecdsa::SigningKey::from_slice(&[7u8; 32])
        .unwrap()
        .verifying_key()
        .to_sec1_point(false)
        .as_bytes()
        .to_vec();
    let fixture_points = points(&fixtures);
    assert_eq!(
        fixture_points.len(),
        1 + DocumentKind::ALL.len(),
        "root and one issuer per kind"
    );
    for ((db, a), (_, b)) in fresh_urls(dir.path())
        .await
        .into_iter()
        .zip(fresh_urls(dir.path()).await)
    {
        let ha = Harness::from_app(production(&a, 1).await.unwrap(), db);
        let hb = Harness::from_app(production(&b, 1).await.unwrap(), db);
        let ta = published_trust(&ha).await;
        let tb = published_trust(&hb).await;
        let (pa, pb) = (points(&ta), points(&tb));
        assert_eq!(
            pa.len(),
            1 + DocumentKind::ALL.len(),
            "{db}: root and one issuer per kind"
        );
        assert!(pa.is_disjoint(&fixture_points), "{db}: a fixture key");
        assert!(pa.is_disjoint(&pb), "{db}: two databases share a key");
        // No certificate in common with the fixtures either.
        for der in ta.anchors() {
            assert!(!fixtures.anchors().contains(der), "{db}");
        }
        // Each kind is authorised for exactly its issuer, chained to the generated root.
        let now = ha.app.clock().now();
        for kind in DocumentKind::ALL {
            let issuer = ha.app.state().keys.issuer(kind).unwrap();
            let prepared = ta.prepared_issuer(&issuer.kid()).unwrap();
            prepared.check(kind, now).unwrap();
            // A fixture-signed credential is refused by this backend's trust list.
            let c = eid_fixtures::citizens::citizens().remove(0);
            let doc = models_for(&c, now)
                .unwrap()
                .into_iter()
                .find(|d| d.kind() == kind)
                .unwrap();
            let forged =
                Issuers::issue_by(Issuers::new().unwrap().issuer_for(kind), &doc, &holder, now)
                    .unwrap();
            credential::verify(&forged, &fixtures, now).unwrap();
            assert!(credential::verify(&forged, &ta, now).is_err(), "{db}");
        }
        // The status list is signed by a generated key and verifies with the published list.
        let r = ha.get(paths::STATUS_LIST).await;
        let s: StatusListResponse = r.json();
        StatusList::from_signed(&s.signed.0, &ta, now).unwrap();
        assert!(StatusList::from_signed(&s.signed.0, &fixtures, now).is_err());
        // Registry records are signed by the generated keys and open.
        let record: Vec<u8> = sqlx::query("SELECT record FROM registry_records LIMIT 1")
            .fetch_one(ha.app.state().store.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        ha.app.state().keys.open_record(&record, now).unwrap();
        assert!(credential::verify(&record, &fixtures, now).is_err());
        // Every stored key is generated, none from the fixtures.
        let listed = keys::list(&ha.app.state().store).await.unwrap();
        assert_eq!(listed.len(), 1 + DocumentKind::ALL.len(), "{db}");
        assert!(listed.iter().all(|k| k.origin == "generated"), "{db}");
        assert!(listed.iter().all(|k| k.holder == "sealed"), "{db}");
    }
}

#[tokio::test]
async fn a_restart_keeps_the_keys_and_a_wrong_kek_or_a_dev_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (db, url) in fresh_urls(dir.path()).await {
        let first = Harness::from_app(production(&url, 1).await.unwrap(), db);
        let before = published_trust(&first).await.encode().unwrap();
        first.app.state().store.close().await;
        drop(first);
        let again = Harness::from_app(production(&url, 1).await.unwrap(), db);
        assert_eq!(
            published_trust(&again).await.encode().unwrap(),
            before,
            "{db}"
        );
        again.app.state().store.close().await;
        drop(again);
        let wrong = production(&url, 2).await.unwrap_err().to_string();
        assert!(wrong.contains("does not open"), "{db}: {wrong}");
    }
    for (db, url) in fresh_urls(dir.path()).await {
        let dev = App::open(Config {
            population: 3,
            ..Config::development(url.clone())
        })
        .await
        .unwrap();
        dev.state().store.close().await;
        let refused = production(&url, 1).await.unwrap_err().to_string();
        assert!(refused.contains("--dev"), "{db}: {refused}");
        assert!(!refused.contains('\n'), "{db}: one line");
    }
}

fn identity_credential(keys: &Keys, now: u64, holder: &[u8]) -> Vec<u8> {
    let c = eid_fixtures::citizens::citizens().remove(0);
    let doc = models_for(&c, now)
        .unwrap()
        .into_iter()
        .find(|d| d.kind() == DocumentKind::Identity)
        .unwrap();
    credential::issue(
        DocumentKind::Identity,
        &doc,
        holder,
        Validity::starting(now, eid_backend::keys::MAX_SIGNED_LIFETIME),
        &StatusRef {
            list: "urn:test".into(),
            index: 1,
        },
        keys.issuer_at(DocumentKind::Identity, now).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_rotated_key_signs_from_its_date_and_the_old_one_stays_until_its_credentials_expire() {
    let dir = tempfile::tempdir().unwrap();
    let device = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let holder_key = device
        .verifying_key()
        .to_sec1_point(false)
        .as_bytes()
        .to_vec();
    for (db, url) in fresh_urls(dir.path()).await {
        let app = production(&url, 1).await.unwrap();
        let store = app.state().store.clone();
        let t0 = app.clock().now();
        let before = Keys::load(&store, &vault(1), t0).await.unwrap();
        let old_kid = before.issuer_at(DocumentKind::Identity, t0).unwrap().kid();
        // A credential signed just before the rotation, valid one year.
        let old_credential = identity_credential(&before, t0, &holder_key);

        let from = t0 + 3600;
        let rotated = keys::rotate(&store, &vault(1), DocumentKind::Identity, from, t0)
            .await
            .unwrap();
        assert_eq!(rotated.predecessor_retires_at, from + RETIRE_AFTER);
        let new_kid = credential::key_id(&rotated.certificate);
        assert_ne!(new_kid, old_kid);
        // Not before its date, and never out of order.
        assert!(
            keys::rotate(&store, &vault(1), DocumentKind::Identity, from, t0)
                .await
                .is_err()
        );

        // Restarted before `from`: both keys published, the old one still signs.
        let k = Keys::load(&store, &vault(1), t0 + 60).await.unwrap();
        let kids: BTreeSet<[u8; 8]> = k
            .trust_list
            .prepared_issuers()
            .iter()
            .map(|i| i.kid)
            .collect();
        assert!(kids.contains(&old_kid) && kids.contains(&new_kid), "{db}");
        assert_eq!(
            k.issuer_at(DocumentKind::Identity, t0 + 60).unwrap().kid(),
            old_kid
        );
        // From `from` on the new key signs; the old credential still verifies.
        let t1 = from + 60;
        let k = Keys::load(&store, &vault(1), t1).await.unwrap();
        assert_eq!(
            k.issuer_at(DocumentKind::Identity, t1).unwrap().kid(),
            new_kid
        );
        credential::verify(&old_credential, &k.trust_list, t1).unwrap();
        let new_credential = identity_credential(&k, t1, &holder_key);
        let v = credential::verify(&new_credential, &k.trust_list, t1).unwrap();
        assert_eq!(credential::key_id(&v.issuer_certificate), new_kid);
        // The status list moves to the new key too, and verifies with the published list.
        let signer = k.status_signer(t1).unwrap();
        assert_eq!(signer.kid(), new_kid);
        let signed = eid_backend::lists::sign_status_list(signer, t1, &[0; 16], &[0; 16]).unwrap();
        StatusList::from_signed(&signed, &k.trust_list, t1).unwrap();
        // Other kinds are untouched.
        assert_eq!(
            k.issuer_at(DocumentKind::DrivingLicence, t1).unwrap().kid(),
            before
                .issuer_at(DocumentKind::DrivingLicence, t0)
                .unwrap()
                .kid()
        );

        // Still there just before everything the old key signed (and a week) has expired...
        let t2 = rotated.predecessor_retires_at;
        let k = Keys::load(&store, &vault(1), t2 - 1).await.unwrap();
        assert!(
            k.trust_list
                .prepared_issuers()
                .iter()
                .any(|i| i.kid == old_kid),
            "{db}"
        );
        // ... then it leaves the trust list.
        let k = Keys::load(&store, &vault(1), t2).await.unwrap();
        let kids: BTreeSet<[u8; 8]> = k
            .trust_list
            .prepared_issuers()
            .iter()
            .map(|i| i.kid)
            .collect();
        assert!(!kids.contains(&old_kid), "{db}");
        assert!(kids.contains(&new_kid), "{db}");
        assert_eq!(k.trust_list.anchors().len(), 1);
        let later = identity_credential(&k, t2, &holder_key);
        credential::verify(&later, &k.trust_list, t2).unwrap();
        // What the old key signed has expired by now anyway.
        assert!(credential::verify(&old_credential, &k.trust_list, t2).is_err());
        // Registry records signed by the old key still open (records are checked against
        // every key the database ever had).
        let record: Vec<u8> =
            sqlx::query("SELECT record FROM registry_records WHERE kind = 'identity' LIMIT 1")
                .fetch_one(store.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
        k.open_record(&record, t2).unwrap();
    }
}

/// `--issuer-keys pkcs11:MODULE`: the root and issuer keys are generated on the token (SoftHSM2 in
/// the tests) and never leave it; the database keeps their CKA_ID. Runs when `EID_PKCS11_TEST` is
/// set (scripts/signing-check.sh makes the token, as for tests/tests/signing.rs).
#[tokio::test]
async fn issuer_keys_on_a_pkcs11_token() {
    if std::env::var("EID_PKCS11_TEST").is_err() {
        eprintln!("EID_PKCS11_TEST not set: PKCS#11 issuer key test not run");
        return;
    }
    let module = std::env::var("EID_PKCS11_MODULE")
        .expect("EID_PKCS11_TEST is set, so EID_PKCS11_MODULE must name the module");
    let choice = eid_backend::signing::SignerChoice::Pkcs11 {
        module: module.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("token.db").display());
    let config = || Config {
        population: 3,
        issuer_keys: choice.clone(),
        ..Config::production(url.clone(), kek(3), None)
    };
    let app = App::open(config()).await.unwrap();
    let h = Harness::from_app(app, "sqlite");
    let trust = published_trust(&h).await;
    let fixtures = Issuers::new().unwrap().trust_list().unwrap();
    assert_eq!(points(&trust).len(), 1 + DocumentKind::ALL.len());
    assert!(points(&trust).is_disjoint(&points(&fixtures)));
    let store = h.app.state().store.clone();
    for row in sqlx::query("SELECT holder, key_ref FROM backend_keys")
        .fetch_all(store.pool())
        .await
        .unwrap()
    {
        assert_eq!(row.try_get::<String, _>(0).unwrap(), "pkcs11");
        // A CKA_ID, not a key.
        assert_eq!(row.try_get::<Vec<u8>, _>(1).unwrap().len(), 16);
    }
    // The token signs credentials, registry records and the status list.
    let now = h.app.clock().now();
    let device = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let holder = device
        .verifying_key()
        .to_sec1_point(false)
        .as_bytes()
        .to_vec();
    let c = identity_credential(&h.app.state().keys, now, &holder);
    credential::verify(&c, &trust, now).unwrap();
    let s: StatusListResponse = h.get(paths::STATUS_LIST).await.json();
    StatusList::from_signed(&s.signed.0, &trust, now).unwrap();
    let record: Vec<u8> = sqlx::query("SELECT record FROM registry_records LIMIT 1")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    h.app.state().keys.open_record(&record, now).unwrap();
    drop(h);

    // Rotation makes the new key on the token too, certified by the root on the token.
    let token: std::sync::Arc<dyn eid_backend::signing::KeySigner> =
        std::sync::Arc::new(eid_backend::signing::pkcs11::Pkcs11Signer::from_env(&module).unwrap());
    let v = Vault {
        kek: std::sync::Arc::new(kek(3)),
        token: Some(token),
    };
    let r = keys::rotate(&store, &v, DocumentKind::Identity, now + 60, now)
        .await
        .unwrap();
    let k = Keys::load(&store, &v, now + 120).await.unwrap();
    let signer = k.issuer_at(DocumentKind::Identity, now + 120).unwrap();
    assert_eq!(signer.kid(), credential::key_id(&r.certificate));
    let c2 = identity_credential(&k, now + 120, &holder);
    credential::verify(&c2, &k.trust_list, now + 120).unwrap();
    credential::verify(&c, &k.trust_list, now + 120).unwrap();
    store.close().await;

    // Without the token the keys cannot be used: the start is refused.
    let err = App::open(Config {
        issuer_keys: eid_backend::signing::SignerChoice::Software,
        ..config()
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("PKCS#11"), "{err}");
}

/// A database made before the vehicle registration, vaccination and judicial record kinds
/// (ADR 0043), the civil kinds (ADR 0047) and the e-health book (ADR 0051): on the next start it
/// gets an issuer of each, certified by its own root (a development database: the fixtures'
/// issuers), and registry records of those kinds for its citizens (a marriage certificate for
/// the married); the old keys stay.
#[tokio::test]
async fn a_database_from_before_the_new_kinds_gets_their_issuers_and_records() {
    const NEW: [DocumentKind; 9] = [
        DocumentKind::VehicleRegistration,
        DocumentKind::Vaccination,
        DocumentKind::JudicialRecord,
        DocumentKind::BirthCertificate,
        DocumentKind::MarriageCertificate,
        DocumentKind::SocialInsuranceBook,
        DocumentKind::Residence,
        DocumentKind::TaxInfo,
        DocumentKind::EHealthBook,
    ];
    let married = eid_fixtures::citizens::population(3)
        .iter()
        .filter(|c| c.spouse_name.is_some())
        .count() as i64;
    assert!(married > 0);
    let dir = tempfile::tempdir().unwrap();
    for dev in [false, true] {
        for (db, url) in fresh_urls(dir.path()).await {
            let open = || async {
                if dev {
                    App::open(Config {
                        population: 3,
                        ..Config::development(url.clone())
                    })
                    .await
                    .unwrap()
                } else {
                    production(&url, 1).await.unwrap()
                }
            };
            let first = open().await;
            let store = first.state().store.clone();
            let identity_before = first
                .state()
                .keys
                .issuer(DocumentKind::Identity)
                .unwrap()
                .certificate()
                .to_vec();
            // As the database was before: no keys or records of the new kinds.
            for kind in NEW {
                for sql in [
                    "DELETE FROM backend_keys WHERE purpose = $1",
                    "DELETE FROM registry_records WHERE kind = $1",
                ] {
                    let value = if sql.contains("backend_keys") {
                        keys::issuer_purpose(kind)
                    } else {
                        kind.as_str().to_owned()
                    };
                    sqlx::query(sql)
                        .bind(value)
                        .execute(store.pool())
                        .await
                        .unwrap();
                }
            }
            store.close().await;
            drop(first);

            let again = Harness::from_app(open().await, db);
            let trust = published_trust(&again).await;
            let now = again.app.clock().now();
            let state = again.app.state();
            assert_eq!(
                state
                    .keys
                    .issuer(DocumentKind::Identity)
                    .unwrap()
                    .certificate(),
                identity_before,
                "{db} dev={dev}: the old keys stay"
            );
            for kind in NEW {
                let issuer = state.keys.issuer(kind).unwrap();
                trust
                    .prepared_issuer(&issuer.kid())
                    .unwrap()
                    .check(kind, now)
                    .unwrap();
                // Its authority key identifier is the root's subject key identifier, however
                // the root computed it (the development root is the fixtures').
                let cert = |der: &[u8]| {
                    eid_crypto::x509::SignerCertificate::from_der(der)
                        .unwrap()
                        .certificate
                };
                assert_eq!(
                    eid_crypto::x509::authority_key_identifier(&cert(issuer.certificate())),
                    eid_crypto::x509::subject_key_identifier(&cert(&trust.anchors()[0])),
                    "{db} dev={dev} {kind}"
                );
                let records: i64 =
                    sqlx::query("SELECT COUNT(*) FROM registry_records WHERE kind = $1")
                        .bind(kind.as_str())
                        .fetch_one(state.store.pool())
                        .await
                        .unwrap()
                        .try_get(0)
                        .unwrap();
                let held = if kind == DocumentKind::MarriageCertificate {
                    married
                } else {
                    3
                };
                assert_eq!(records, held, "{db} dev={dev} {kind}");
                let record: Vec<u8> =
                    sqlx::query("SELECT record FROM registry_records WHERE kind = $1 LIMIT 1")
                        .bind(kind.as_str())
                        .fetch_one(state.store.pool())
                        .await
                        .unwrap()
                        .try_get(0)
                        .unwrap();
                assert_eq!(state.keys.open_record(&record, now).unwrap().kind(), kind);
            }
            let listed = keys::list(&state.store).await.unwrap();
            assert_eq!(listed.len(), 1 + DocumentKind::ALL.len(), "{db} dev={dev}");
            state.store.close().await;
        }
    }
}
