//! The backend's own keys (docs/adr/0018-backend-key-management.md): the issuer trust root and
//! one issuer key per document kind, made on the first start and kept in `backend_keys`, each
//! private key sealed under the key-encryption key ([`SealKey`]) and bound to its row. Production
//! generates them; development mode (`eid serve --dev`) takes the public fixture keys, so the
//! fixtures' wallets and QR codes verify against a development backend.
//!
//! Rotation: [`rotate`] adds a key for a kind that signs from a given time on; the key before it
//! stays in the trust list until everything it signed has expired ([`RETIRE_AFTER`] after its
//! successor took over). Registry records are checked against every issuer key ever made.
//!
//! The current identity (police) key also signs the status list: verifiers already trust it for
//! that (`eid_core::verify::StatusList`), and it rotates with it.

use crate::db::Store;
use crate::error::Error;
use crate::signing::ca::{self, C, CN, O, Profile};
use crate::signing::seal::SealKey;
use crate::signing::signer::{public_of, random_key};
use der::Decode;
use eid_core::chip::pa::TrustStore;
use eid_core::credential::{self, Document, DocumentKind, IssuerKey, TrustList};
use p256::ecdsa::SigningKey;
use sqlx::Row;
use std::sync::Arc;
use x509_cert::Certificate;
use x509_cert::name::Name;
use zeroize::Zeroizing;

/// Purpose of the issuer trust root's row.
pub const ISSUER_ROOT: &str = "issuer_root";
/// The longest validity of anything an issuer key signs: wallet credentials (one year);
/// presentation credentials and status lists are shorter.
pub const MAX_SIGNED_LIFETIME: u64 = crate::issue::CREDENTIAL_LIFETIME;
/// How long a replaced key stays in the trust list after its successor starts signing: what it
/// signed lives at most [`MAX_SIGNED_LIFETIME`]; a week more for a backend restarted late (keys are
/// read at start, so until then it still signs with the old key).
pub const RETIRE_AFTER: u64 = MAX_SIGNED_LIFETIME + 7 * 86_400;
/// Generated issuer certificates are valid this long from when their key starts signing: rotate
/// well before (the trust list needs them [`MAX_SIGNED_LIFETIME`] past the successor's start).
pub const ISSUER_CERT_LIFETIME: u64 = 10 * 365 * 86_400;
/// The generated trust root's lifetime.
const ROOT_LIFETIME: u64 = 25 * 365 * 86_400;

/// Where a key came from: generated for this database, or the public fixtures (development).
const GENERATED: &str = "generated";
const FIXTURE: &str = "fixture";

/// Subjects of the generated PKI (C, O, CN).
const ROOT_NAME: (&str, &str) = ("Bo Cong an", "Viet Nam eID Trust Root");

fn issuer_name(kind: DocumentKind) -> (&'static str, &'static str) {
    match kind {
        DocumentKind::Identity => ("Bo Cong an", "Bo Cong an"),
        DocumentKind::DrivingLicence => ("Bo Giao thong Van tai", "Bo Giao thong Van tai"),
        DocumentKind::HealthInsurance => ("Bao hiem Xa hoi Viet Nam", "Bao hiem Xa hoi"),
        DocumentKind::HealthRecord => ("Bo Y te", "Bo Y te"),
    }
}

fn keys_err(what: &str) -> Error {
    Error::Config(format!("backend keys: {what}"))
}

/// The purpose of an issuer key's row.
pub fn issuer_purpose(kind: DocumentKind) -> String {
    format!("issuer:{}", kind.as_str())
}

/// The associated data a key is sealed with: its row and purpose, so a sealed key cannot be
/// moved to another row.
fn aad(id: &str, purpose: &str) -> String {
    format!("eid backend key v1|{id}|{purpose}")
}

/// A key to insert.
struct NewRow {
    id: String,
    purpose: String,
    origin: &'static str,
    certificate: Vec<u8>,
    key: SigningKey,
    signs_from: u64,
}

async fn insert(store: &Store, kek: &SealKey, rows: &[NewRow], now: u64) -> Result<(), Error> {
    let mut w = store.write().await?;
    for r in rows {
        let secret = Zeroizing::new(r.key.to_bytes().to_vec());
        let sealed = kek.seal(&aad(&r.id, &r.purpose), &secret)?;
        // Two backends starting on one database at once insert the same ids: the first wins
        // whole (one transaction), the other inserts nothing.
        sqlx::query(
            "INSERT INTO backend_keys (id, purpose, origin, certificate, sealed_key, signs_from, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&r.id)
        .bind(&r.purpose)
        .bind(r.origin)
        .bind(&r.certificate)
        .bind(&sealed)
        .bind(i64::try_from(r.signs_from).unwrap_or(i64::MAX))
        .bind(i64::try_from(now).unwrap_or(i64::MAX))
        .execute(&mut *w.tx)
        .await?;
    }
    w.commit().await
}

fn name_of(o: &str, cn: &str) -> Result<Name, Error> {
    ca::name(&[(C, "VN"), (O, o), (CN, cn)])
}

/// A certificate for `key` by the root (`None`: self-signed root), valid from `from` for
/// `lifetime` seconds.
fn certify(
    subject: Name,
    key: &SigningKey,
    root: Option<(&Name, &SigningKey)>,
    from: u64,
    lifetime: u64,
) -> Result<Vec<u8>, Error> {
    let signer = root.map_or(key, |(_, k)| k);
    ca::build(
        Profile {
            subject,
            issuer: root.map(|(n, _)| n.clone()),
        },
        &ca::serial()?,
        ca::validity(from, lifetime)?,
        ca::spki(&public_of(key))?,
        signer,
    )
}

/// The initial keys of a production database: a new root and four issuers under it.
fn generate(now: u64) -> Result<Vec<NewRow>, Error> {
    let root_key = random_key()?;
    let root_name = name_of(ROOT_NAME.0, ROOT_NAME.1)?;
    let root_cert = certify(root_name.clone(), &root_key, None, now, ROOT_LIFETIME)?;
    let mut rows = Vec::new();
    for kind in DocumentKind::ALL {
        let key = random_key()?;
        let (o, cn) = issuer_name(kind);
        let certificate = certify(
            name_of(o, cn)?,
            &key,
            Some((&root_name, &root_key)),
            now,
            ISSUER_CERT_LIFETIME,
        )?;
        rows.push(NewRow {
            id: format!("initial:{}", issuer_purpose(kind)),
            purpose: issuer_purpose(kind),
            origin: GENERATED,
            certificate,
            key,
            signs_from: 0,
        });
    }
    rows.push(NewRow {
        id: format!("initial:{ISSUER_ROOT}"),
        purpose: ISSUER_ROOT.into(),
        origin: GENERATED,
        certificate: root_cert,
        key: root_key,
        signs_from: 0,
    });
    Ok(rows)
}

/// The initial keys of a development database: the fixtures' root and issuers.
fn fixtures() -> Result<Vec<NewRow>, Error> {
    let issuers = eid_fixtures::issuers::Issuers::new().map_err(|_| keys_err("fixture issuers"))?;
    let secrets = eid_fixtures::issuers::IssuerSecrets::new();
    let mut rows: Vec<NewRow> = DocumentKind::ALL
        .into_iter()
        .map(|kind| NewRow {
            id: format!("initial:{}", issuer_purpose(kind)),
            purpose: issuer_purpose(kind),
            origin: FIXTURE,
            certificate: issuers.issuer_for(kind).certificate().to_vec(),
            key: secrets.issuer_for(kind).clone(),
            signs_from: 0,
        })
        .collect();
    rows.push(NewRow {
        id: format!("initial:{ISSUER_ROOT}"),
        purpose: ISSUER_ROOT.into(),
        origin: FIXTURE,
        certificate: issuers.root,
        key: secrets.root,
        signs_from: 0,
    });
    Ok(rows)
}

/// Makes the keys on a database's first start: generated ones in production, the fixtures' in
/// development. Refuses a production start on a database holding development keys.
pub async fn ensure(store: &Store, kek: &SealKey, dev_mode: bool, now: u64) -> Result<(), Error> {
    let origins: Vec<String> = sqlx::query("SELECT DISTINCT origin FROM backend_keys")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if !origins.is_empty() {
        if !dev_mode && origins.iter().any(|o| o == FIXTURE) {
            return Err(Error::Config(
                "this database holds the public development keys: start it with --dev, or use a \
                 fresh database"
                    .into(),
            ));
        }
        return Ok(());
    }
    if !dev_mode {
        let citizens: i64 = sqlx::query("SELECT COUNT(*) FROM citizens")
            .fetch_one(store.pool())
            .await?
            .try_get(0)?;
        if citizens > 0 {
            return Err(Error::Config(
                "this database was seeded with the public fixture keys (before key management): \
                 start it with --dev, or use a fresh database"
                    .into(),
            ));
        }
    }
    let rows =
        tokio::task::spawn_blocking(move || if dev_mode { fixtures() } else { generate(now) })
            .await
            .map_err(|_| keys_err("generation"))??;
    insert(store, kek, &rows, now).await?;
    if dev_mode {
        tracing::warn!("development mode: the issuer keys are the public fixture keys");
    } else {
        tracing::info!("issuer keys generated for this database");
    }
    Ok(())
}

/// A stored key, opened.
struct Opened {
    id: String,
    purpose: String,
    certificate: Vec<u8>,
    key: SigningKey,
    signs_from: u64,
}

async fn open_all(store: &Store, kek: &SealKey) -> Result<Vec<Opened>, Error> {
    let rows = sqlx::query(
        "SELECT id, purpose, certificate, sealed_key, signs_from FROM backend_keys \
         ORDER BY purpose, signs_from, id",
    )
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let id: String = row.try_get(0)?;
        let purpose: String = row.try_get(1)?;
        let certificate: Vec<u8> = row.try_get(2)?;
        let sealed: Vec<u8> = row.try_get(3)?;
        let signs_from: i64 = row.try_get(4)?;
        let secret = kek.open(&aad(&id, &purpose), &sealed).map_err(|_| {
            keys_err("a sealed key does not open: is this the key-encryption key it was made with?")
        })?;
        let key = SigningKey::from_slice(&secret).map_err(|_| keys_err("stored key"))?;
        out.push(Opened {
            id,
            purpose,
            certificate,
            key,
            signs_from: u64::try_from(signs_from).unwrap_or(0),
        });
    }
    Ok(out)
}

/// One issuer key and the time span it signs and is trusted in.
#[derive(Debug)]
struct IssuerEntry {
    kind: DocumentKind,
    signs_from: u64,
    /// When its successor starts signing; `None`: it is the newest.
    signs_until: Option<u64>,
    key: Arc<IssuerKey>,
    /// The same key, for the status list (the identity issuer's).
    signing: SigningKey,
}

impl IssuerEntry {
    /// Whether verifiers still need it at `now`: until everything it signed has expired.
    fn trusted_at(&self, now: u64) -> bool {
        self.signs_until
            .is_none_or(|until| now < until.saturating_add(RETIRE_AFTER))
    }
}

/// The keys and trust material of the running backend.
pub struct Keys {
    issuers: Vec<IssuerEntry>,
    /// Issuer trust root and the issuers still trusted at load time (what wallets and
    /// verifiers get).
    pub trust_list: TrustList,
    pub trust_list_cbor: Vec<u8>,
    /// Root and every issuer key ever made: registry records stay readable across rotations.
    record_trust: TrustList,
    /// CSCA certificates (DER) of the chips.
    pub csca: Vec<Vec<u8>>,
    /// The same CSCAs, for passive authentication.
    pub chip_trust: TrustStore,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

fn certificate_point(der: &[u8]) -> Option<Vec<u8>> {
    let cert = Certificate::from_der(der).ok()?;
    cert.tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
        .map(<[u8]>::to_vec)
}

impl Keys {
    /// Opens every key of the database (they must open under `kek` and match their
    /// certificates) and builds the trust list as it stands at `now`.
    pub async fn load(store: &Store, kek: &SealKey, now: u64) -> Result<Keys, Error> {
        let mut root = None;
        let mut issuers: Vec<IssuerEntry> = Vec::new();
        for k in open_all(store, kek).await? {
            if k.purpose == ISSUER_ROOT {
                if certificate_point(&k.certificate).as_deref() != Some(&public_of(&k.key)) {
                    return Err(keys_err("the root key does not match its certificate"));
                }
                root = Some(k.certificate);
                continue;
            }
            let kind = k
                .purpose
                .strip_prefix("issuer:")
                .and_then(DocumentKind::parse)
                .ok_or_else(|| keys_err("unknown key purpose"))?;
            let signing = k.key.clone();
            let key = IssuerKey::new(k.certificate, k.key)
                .map_err(|_| keys_err("an issuer key does not match its certificate"))?;
            // Rows come ordered by purpose and start: the previous entry of the same kind is
            // this one's predecessor.
            if let Some(prev) = issuers.last_mut().filter(|p| p.kind == kind) {
                prev.signs_until = Some(k.signs_from);
            }
            issuers.push(IssuerEntry {
                kind,
                signs_from: k.signs_from,
                signs_until: None,
                key: Arc::new(key),
                signing,
            });
        }
        let root = root.ok_or_else(|| keys_err("no issuer root"))?;
        if DocumentKind::ALL
            .iter()
            .any(|kind| !issuers.iter().any(|e| e.kind == *kind))
        {
            return Err(keys_err("an issuer key is missing"));
        }
        let mut trust_list = TrustList::new();
        let mut record_trust = TrustList::new();
        trust_list.add_ca_der(&root).map_err(|_| keys_err("root"))?;
        record_trust
            .add_ca_der(&root)
            .map_err(|_| keys_err("root"))?;
        for e in &issuers {
            let cert = e.key.certificate();
            record_trust
                .authorise_certificate(cert, &[e.kind])
                .map_err(|_| keys_err("issuer certificate"))?;
            if e.trusted_at(now) {
                trust_list
                    .authorise_certificate(cert, &[e.kind])
                    .map_err(|_| keys_err("issuer certificate"))?;
            }
        }
        let mut chip_trust = TrustStore::new();
        let mut csca = Vec::new();
        for row in sqlx::query("SELECT certificate FROM trust_anchors WHERE purpose = 'csca'")
            .fetch_all(store.pool())
            .await?
        {
            let der: Vec<u8> = row.try_get(0)?;
            chip_trust
                .add_der(&der)
                .map_err(|_| keys_err("CSCA certificate"))?;
            csca.push(der);
        }
        let trust_list_cbor = trust_list
            .encode()
            .map_err(|_| keys_err("trust list encoding"))?;
        Ok(Keys {
            issuers,
            trust_list,
            trust_list_cbor,
            record_trust,
            csca,
            chip_trust,
        })
    }

    fn entry_at(&self, kind: DocumentKind, now: u64) -> Result<&IssuerEntry, Error> {
        let mut of_kind = self.issuers.iter().filter(|e| e.kind == kind);
        let first = of_kind.clone().next();
        // The newest key that has started; before any has, the first.
        of_kind
            .rfind(|e| e.signs_from <= now)
            .or(first)
            .ok_or_else(|| keys_err("no issuer for this kind"))
    }

    /// The key that signs `kind` at `now`.
    pub fn issuer_at(&self, kind: DocumentKind, now: u64) -> Result<&IssuerKey, Error> {
        self.entry_at(kind, now).map(|e| e.key.as_ref())
    }

    /// The key that signs `kind` now (wall clock).
    pub fn issuer(&self, kind: DocumentKind) -> Result<&IssuerKey, Error> {
        self.issuer_at(kind, wall_clock())
    }

    /// [`Keys::issuer_at`], shareable with a blocking task.
    pub(crate) fn issuer_arc(&self, kind: DocumentKind, now: u64) -> Result<Arc<IssuerKey>, Error> {
        self.entry_at(kind, now).map(|e| e.key.clone())
    }

    /// The status list's signer at `now` (the identity issuer): key and certificate.
    pub fn status_signer(&self, now: u64) -> Result<(&SigningKey, &[u8]), Error> {
        let e = self.entry_at(DocumentKind::Identity, now)?;
        Ok((&e.signing, e.key.certificate()))
    }

    /// The model inside a registry record, checked against every issuer key of this database.
    pub fn open_record(&self, record: &[u8], now: u64) -> Result<Document, Error> {
        let v = credential::verify(record, &self.record_trust, now)
            .map_err(|e| Error::Registry(e.to_string()))?;
        Ok(v.document)
    }
}

fn wall_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What [`rotate`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub id: String,
    /// DER of the new issuer certificate.
    pub certificate: Vec<u8>,
    pub signs_from: u64,
    /// When the key it replaces leaves the trust list.
    pub predecessor_retires_at: u64,
}

/// Adds a new key for `kind` that signs from `from` (Unix seconds; a past time means `now`; after
/// the newest key of the kind), certified by the database's issuer root under the same subject (so it keeps the
/// kind's authorisation). Running backends take it on their next start; publish the new trust
/// list before `from`.
pub async fn rotate(
    store: &Store,
    kek: &SealKey,
    kind: DocumentKind,
    from: u64,
    now: u64,
) -> Result<Rotated, Error> {
    // Never backdated: the old key may have signed until now.
    let from = from.max(now);
    let all = open_all(store, kek).await?;
    let purpose = issuer_purpose(kind);
    let root = all
        .iter()
        .rfind(|k| k.purpose == ISSUER_ROOT)
        .ok_or_else(|| keys_err("no issuer root"))?;
    let newest = all
        .iter()
        .rfind(|k| k.purpose == purpose)
        .ok_or_else(|| keys_err("no issuer for this kind"))?;
    if from <= newest.signs_from {
        return Err(keys_err(
            "the new key must start signing after the newest key of its kind",
        ));
    }
    let origin: String = sqlx::query("SELECT origin FROM backend_keys WHERE id = $1")
        .bind(&root.id)
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    let root_cert = Certificate::from_der(&root.certificate).map_err(|_| keys_err("root"))?;
    let root_name = root_cert.tbs_certificate().subject().clone();
    let subject = Certificate::from_der(&newest.certificate)
        .map_err(|_| keys_err("issuer certificate"))?
        .tbs_certificate()
        .subject()
        .clone();
    // Valid from now (it is published before it signs) until ISSUER_CERT_LIFETIME after `from`.
    let start = now.min(from);
    let key = random_key()?;
    let certificate = certify(
        subject,
        &key,
        Some((&root_name, &root.key)),
        start,
        (from - start).saturating_add(ISSUER_CERT_LIFETIME),
    )?;
    let id = hex::encode(crate::http::random_bytes(16)?);
    let row = NewRow {
        id: id.clone(),
        purpose,
        origin: if origin == FIXTURE {
            FIXTURE
        } else {
            GENERATED
        },
        certificate: certificate.clone(),
        key,
        signs_from: from,
    };
    insert(store, kek, std::slice::from_ref(&row), now).await?;
    Ok(Rotated {
        id,
        certificate,
        signs_from: from,
        predecessor_retires_at: from.saturating_add(RETIRE_AFTER),
    })
}

/// One row of [`list`]: what `eid keys list` shows (never key material).
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub purpose: String,
    pub origin: String,
    /// Hex of the first 8 bytes of SHA-256 over the certificate (the credentials' `kid`).
    pub kid: String,
    pub signs_from: u64,
}

/// Every key of the database, without opening any.
pub async fn list(store: &Store) -> Result<Vec<KeyInfo>, Error> {
    let rows = sqlx::query(
        "SELECT id, purpose, origin, certificate, signs_from FROM backend_keys \
         ORDER BY purpose, signs_from, id",
    )
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let certificate: Vec<u8> = row.try_get(3)?;
        out.push(KeyInfo {
            id: row.try_get(0)?,
            purpose: row.try_get(1)?,
            origin: row.try_get(2)?,
            kid: hex::encode(credential::trust::key_id(&certificate)),
            signs_from: u64::try_from(row.try_get::<i64, _>(4)?).unwrap_or(0),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The raw private scalars appear nowhere in the keys table nor anywhere in the SQLite
    /// file: only sealed. (PostgreSQL too when `EID_TEST_POSTGRES_URL` is set: the table.)
    #[tokio::test]
    async fn private_keys_are_not_stored_in_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let mut urls = vec![format!("sqlite://{}", path.display())];
        if let Ok(server) = std::env::var("EID_TEST_POSTGRES_URL")
            && !server.is_empty()
        {
            let name = format!("eid_kp_{}", std::process::id());
            urls.push(
                crate::db::create_postgres_database(&server, &name)
                    .await
                    .unwrap(),
            );
        }
        let kek = SealKey::new(&[0x42; 32]).unwrap();
        for url in urls {
            let store = Store::open(&url).await.unwrap();
            ensure(&store, &kek, false, 1_800_000_000).await.unwrap();
            let opened = open_all(&store, &kek).await.unwrap();
            assert_eq!(opened.len(), 5);
            let scalars: Vec<Vec<u8>> = opened.iter().map(|k| k.key.to_bytes().to_vec()).collect();
            let mut stored = Vec::new();
            for row in sqlx::query("SELECT id, purpose, certificate, sealed_key FROM backend_keys")
                .fetch_all(store.pool())
                .await
                .unwrap()
            {
                for i in 0..2 {
                    stored.extend_from_slice(row.try_get::<String, _>(i).unwrap().as_bytes());
                }
                for i in 2..4 {
                    stored.extend(row.try_get::<Vec<u8>, _>(i).unwrap());
                }
            }
            for s in &scalars {
                assert!(!stored.windows(16).any(|w| w == &s[..16]), "{url}");
            }
            store.close().await;
            if url.starts_with("sqlite:") {
                let mut bytes = std::fs::read(&path).unwrap();
                if let Ok(wal) = std::fs::read(format!("{}-wal", path.display())) {
                    bytes.extend(wal);
                }
                assert!(bytes.len() > 1000);
                for s in &scalars {
                    assert!(!bytes.windows(16).any(|w| w == &s[..16]));
                }
            }
        }
    }

    /// The sealed keys are bound to their row: a sealed key copied to another row is refused.
    #[tokio::test]
    async fn a_sealed_key_moved_to_another_row_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let kek = SealKey::new(&[0x43; 32]).unwrap();
        let store = Store::open(&url).await.unwrap();
        ensure(&store, &kek, false, 1_800_000_000).await.unwrap();
        sqlx::query(
            "UPDATE backend_keys SET sealed_key = (SELECT sealed_key FROM backend_keys \
             WHERE purpose = 'issuer_root') WHERE purpose = 'issuer:identity'",
        )
        .execute(store.pool())
        .await
        .unwrap();
        assert!(open_all(&store, &kek).await.is_err());
    }
}
