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
use crate::signing::KeySigner;
use crate::signing::ca::{self, C, CN, O, Profile};
use crate::signing::seal::SealKey;
use crate::signing::signer::{public_of, random_key};
use der::Decode;
use eid_core::credential::{self, Document, DocumentKind, Es256Signer, IssuerKey, TrustList};
use eid_crypto::trust::TrustStore;
use eid_crypto::x509_build::Issuer;
use p256::ecdsa::signature::{Keypair, Signer};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::sync::Arc;
use x509_cert::Certificate;
use x509_cert::name::Name;
use x509_cert::spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, ObjectIdentifier,
};
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
pub(crate) const GENERATED: &str = "generated";
pub(crate) const FIXTURE: &str = "fixture";

/// Subjects of the generated PKI (C, O, CN).
const ROOT_NAME: (&str, &str) = ("Bo Cong an", "Viet Nam eID Trust Root");

fn issuer_name(kind: DocumentKind) -> (&'static str, &'static str) {
    match kind {
        DocumentKind::Identity => ("Bo Cong an", "Bo Cong an"),
        DocumentKind::DrivingLicence => ("Bo Giao thong Van tai", "Bo Giao thong Van tai"),
        DocumentKind::HealthInsurance => ("Bao hiem Xa hoi Viet Nam", "Bao hiem Xa hoi"),
        DocumentKind::HealthRecord => ("Bo Y te", "Bo Y te"),
        // An authority with a second kind gets a second certificate, authorised for that kind
        // only (ADR 0043).
        DocumentKind::VehicleRegistration => ("Bo Cong an", "Cuc Canh sat giao thong"),
        DocumentKind::Vaccination => ("Bo Y te", "Bo Y te Tiem chung"),
        DocumentKind::JudicialRecord => ("Bo Tu phap", "Trung tam Ly lich tu phap quoc gia"),
        // The civil kinds (ADR 0047), each by its own certificate as well.
        DocumentKind::BirthCertificate => ("Bo Tu phap", "Ho tich Khai sinh"),
        DocumentKind::MarriageCertificate => ("Bo Tu phap", "Ho tich Ket hon"),
        DocumentKind::SocialInsuranceBook => {
            ("Bao hiem Xa hoi Viet Nam", "Bao hiem Xa hoi So BHXH")
        }
        DocumentKind::Residence => ("Bo Cong an", "Cuc Canh sat QLHC ve TTXH"),
        DocumentKind::TaxInfo => ("Bo Tai chinh", "Cuc Thue"),
        DocumentKind::EHealthBook => ("Bo Y te", "Bo Y te So suc khoe dien tu"),
    }
}

pub(crate) fn keys_err(what: &str) -> Error {
    Error::Config(format!("backend keys: {what}"))
}

/// Where the backend's keys are kept: sealed under the KEK in the database, or generated and
/// held on a PKCS#11 token (`--issuer-keys pkcs11:MODULE`; the database keeps their CKA_ID).
#[derive(Clone, Debug)]
pub struct Vault {
    pub kek: Arc<SealKey>,
    /// New keys go on this token; keys already on a token need it.
    pub token: Option<Arc<dyn KeySigner>>,
}

impl Vault {
    /// Keys sealed under `kek`.
    pub fn sealed(kek: SealKey) -> Vault {
        Vault {
            kek: Arc::new(kek),
            token: None,
        }
    }
}

/// ecdsa-with-SHA256 (RFC 5758 §3.2).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

const SEALED: &str = "sealed";
const PKCS11: &str = "pkcs11";

/// ES256 by a key on the token: CKM_ECDSA over the SHA-256 the caller computes.
pub(crate) struct TokenEs256 {
    signer: Arc<dyn KeySigner>,
    handle: Vec<u8>,
}

impl Es256Signer for TokenEs256 {
    fn sign_es256(&self, message: &[u8]) -> Option<Vec<u8>> {
        let der = self
            .signer
            .sign_hash(&self.handle, &Sha256::digest(message))
            .ok()?;
        // Low-S, as software keys sign: one encoding per signature, whatever the token gives.
        Signature::from_der(&der)
            .ok()
            .map(|s| s.normalize_s().to_bytes().to_vec())
    }
}

/// A private key of a row: in memory (opened from its seal) or on the token.
pub(crate) enum RowKey {
    Sealed(SigningKey),
    Token {
        token: Arc<TokenEs256>,
        public: VerifyingKey,
    },
}

impl RowKey {
    /// A new key where the vault puts new keys.
    pub(crate) fn generate(vault: &Vault) -> Result<RowKey, Error> {
        match &vault.token {
            None => random_key().map(RowKey::Sealed),
            Some(signer) => {
                let new = signer.generate()?;
                let public = VerifyingKey::from_sec1_bytes(&new.public_key)
                    .map_err(|_| keys_err("token public key"))?;
                Ok(RowKey::Token {
                    token: Arc::new(TokenEs256 {
                        signer: signer.clone(),
                        handle: new.handle,
                    }),
                    public,
                })
            }
        }
    }

    pub(crate) fn public(&self) -> Vec<u8> {
        match self {
            RowKey::Sealed(k) => public_of(k),
            RowKey::Token { public, .. } => public.to_sec1_point(false).as_bytes().to_vec(),
        }
    }

    pub(crate) fn issuer_key(&self, certificate: Vec<u8>) -> Result<IssuerKey, Error> {
        match self {
            RowKey::Sealed(k) => IssuerKey::new(certificate, k.clone()),
            RowKey::Token { token, .. } => IssuerKey::external(certificate, token.clone()),
        }
        .map_err(|_| keys_err("an issuer key does not match its certificate"))
    }
}

// What the certificate builder needs of the key that signs a certificate.
impl Keypair for RowKey {
    type VerifyingKey = VerifyingKey;
    fn verifying_key(&self) -> VerifyingKey {
        match self {
            RowKey::Sealed(k) => *k.verifying_key(),
            RowKey::Token { public, .. } => *public,
        }
    }
}

impl DynSignatureAlgorithmIdentifier for RowKey {
    fn signature_algorithm_identifier(&self) -> x509_cert::spki::Result<AlgorithmIdentifierOwned> {
        // No parameters (RFC 5758 §3.2).
        Ok(AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        })
    }
}

impl Signer<DerSignature> for RowKey {
    fn try_sign(&self, msg: &[u8]) -> Result<DerSignature, p256::ecdsa::signature::Error> {
        match self {
            RowKey::Sealed(k) => k.try_sign(msg),
            RowKey::Token { token, .. } => token
                .sign_es256(msg)
                .and_then(|raw| Signature::from_slice(&raw).ok())
                .map(|s| s.to_der())
                .ok_or_else(p256::ecdsa::signature::Error::new),
        }
    }
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
pub(crate) struct NewRow {
    pub(crate) id: String,
    pub(crate) purpose: String,
    pub(crate) origin: &'static str,
    pub(crate) certificate: Vec<u8>,
    pub(crate) key: RowKey,
    pub(crate) signs_from: u64,
}

pub(crate) async fn insert(
    store: &Store,
    kek: &SealKey,
    rows: &[NewRow],
    now: u64,
) -> Result<(), Error> {
    let mut w = store.write().await?;
    for r in rows {
        let (holder, key_ref) = match &r.key {
            RowKey::Sealed(k) => {
                let secret = Zeroizing::new(k.to_bytes().to_vec());
                (SEALED, kek.seal(&aad(&r.id, &r.purpose), &secret)?)
            }
            RowKey::Token { token, .. } => (PKCS11, token.handle.clone()),
        };
        // Two backends starting on one database at once insert the same ids: the first wins
        // whole (one transaction), the other inserts nothing.
        sqlx::query(
            "INSERT INTO backend_keys (id, purpose, origin, certificate, holder, key_ref, \
             signs_from, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&r.id)
        .bind(&r.purpose)
        .bind(r.origin)
        .bind(&r.certificate)
        .bind(holder)
        .bind(&key_ref)
        .bind(i64::try_from(r.signs_from).unwrap_or(i64::MAX))
        .bind(i64::try_from(now).unwrap_or(i64::MAX))
        .execute(&mut *w.tx)
        .await?;
    }
    w.commit().await
}

pub(crate) fn name_of(o: &str, cn: &str) -> Result<Name, Error> {
    ca::name(&[(C, "VN"), (O, o), (CN, cn)])
}

/// A certificate for `key` by the root (`None`: self-signed root), valid from `from` for
/// `lifetime` seconds.
fn certify(
    subject: Name,
    key: &RowKey,
    root: Option<(&Issuer, &RowKey)>,
    from: u64,
    lifetime: u64,
) -> Result<Vec<u8>, Error> {
    let signer = root.map_or(key, |(_, k)| k);
    ca::build(
        Profile {
            subject,
            issuer: root.map(|(i, _)| i.clone()),
        },
        &ca::serial()?,
        ca::validity(from, lifetime)?,
        ca::spki(&key.public())?,
        signer,
    )
}

/// The initial keys of a production database: a new root and one issuer per kind under it.
fn generate(vault: &Vault, now: u64) -> Result<Vec<NewRow>, Error> {
    let root_key = RowKey::generate(vault)?;
    let root_name = name_of(ROOT_NAME.0, ROOT_NAME.1)?;
    let root_cert = certify(root_name, &root_key, None, now, ROOT_LIFETIME)?;
    let root_issuer = Issuer::of(&root_cert).map_err(|_| keys_err("root certificate"))?;
    let mut rows = Vec::new();
    for kind in DocumentKind::ALL {
        let key = RowKey::generate(vault)?;
        let (o, cn) = issuer_name(kind);
        let certificate = certify(
            name_of(o, cn)?,
            &key,
            Some((&root_issuer, &root_key)),
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
            key: RowKey::Sealed(secrets.issuer_for(kind).clone()),
            signs_from: 0,
        })
        .collect();
    rows.push(NewRow {
        id: format!("initial:{ISSUER_ROOT}"),
        purpose: ISSUER_ROOT.into(),
        origin: FIXTURE,
        certificate: issuers.root,
        key: RowKey::Sealed(secrets.root),
        signs_from: 0,
    });
    Ok(rows)
}

/// Whether rows of `purpose` exist already; refuses a production start on a database whose
/// rows of `purpose` are the public development ones (`what` names them in the error).
pub(crate) async fn purpose_present(
    store: &Store,
    purpose: &str,
    dev_mode: bool,
    what: &str,
) -> Result<bool, Error> {
    let origin: Option<String> =
        sqlx::query("SELECT origin FROM backend_keys WHERE purpose = $1 LIMIT 1")
            .bind(purpose)
            .fetch_optional(store.pool())
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    match origin {
        Some(o) if !dev_mode && o == FIXTURE => Err(Error::Config(format!(
            "this database holds the public development {what}: start it with --dev, or use a \
             fresh database"
        ))),
        Some(_) => Ok(true),
        None => Ok(false),
    }
}

/// Makes the keys on a database's first start: generated ones in production, the fixtures' in
/// development. Refuses a production start on a database holding development keys.
pub async fn ensure(store: &Store, vault: &Vault, dev_mode: bool, now: u64) -> Result<(), Error> {
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
        let fixture_db = origins.iter().all(|o| o == FIXTURE);
        return add_missing_issuers(store, vault, fixture_db, now).await;
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
    let v = vault.clone();
    let rows = tokio::task::spawn_blocking(move || {
        if dev_mode {
            fixtures()
        } else {
            generate(&v, now)
        }
    })
    .await
    .map_err(|_| keys_err("generation"))??;
    insert(store, &vault.kek, &rows, now).await?;
    if dev_mode {
        tracing::warn!("development mode: the issuer keys are the public fixture keys");
    } else {
        tracing::info!("issuer keys generated for this database");
    }
    Ok(())
}

/// Issuers of kinds added after a database's first start (ADR 0043): a development database
/// gets the fixtures' issuers of those kinds, a production one new keys certified by its root.
async fn add_missing_issuers(
    store: &Store,
    vault: &Vault,
    fixture_db: bool,
    now: u64,
) -> Result<(), Error> {
    let purposes: Vec<String> = sqlx::query("SELECT DISTINCT purpose FROM backend_keys")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let missing: Vec<String> = DocumentKind::ALL
        .into_iter()
        .map(issuer_purpose)
        .filter(|p| !purposes.contains(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let rows: Vec<NewRow> = if fixture_db {
        fixtures()?
            .into_iter()
            .filter(|r| missing.contains(&r.purpose))
            .collect()
    } else {
        let root = open_all(store, vault)
            .await?
            .into_iter()
            .rfind(|o| o.purpose == ISSUER_ROOT)
            .ok_or_else(|| keys_err("no issuer root"))?;
        let root_issuer =
            Issuer::of(&root.certificate).map_err(|_| keys_err("root certificate"))?;
        let mut rows = Vec::new();
        for kind in DocumentKind::ALL {
            let purpose = issuer_purpose(kind);
            if !missing.contains(&purpose) {
                continue;
            }
            let key = RowKey::generate(vault)?;
            let (o, cn) = issuer_name(kind);
            let certificate = certify(
                name_of(o, cn)?,
                &key,
                Some((&root_issuer, &root.key)),
                now,
                ISSUER_CERT_LIFETIME,
            )?;
            rows.push(NewRow {
                id: format!("added:{purpose}"),
                purpose,
                origin: GENERATED,
                certificate,
                key,
                signs_from: 0,
            });
        }
        rows
    };
    insert(store, &vault.kek, &rows, now).await?;
    tracing::info!(
        added = rows.len(),
        "issuer keys added for new document kinds"
    );
    Ok(())
}

/// An issuer key for each kind declared as data (docs/adr/0060) that has none: generated and
/// certified by the issuer root, as a production backend's new kinds' (development databases
/// too: no fixture key exists for a kind no release knows). Its subject names the kind.
pub async fn ensure_declared_issuers(
    store: &Store,
    vault: &Vault,
    names: &[&str],
    now: u64,
) -> Result<(), Error> {
    let purposes: Vec<String> = sqlx::query("SELECT DISTINCT purpose FROM backend_keys")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !purposes.contains(&format!("issuer:{n}")))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root = open_all(store, vault)
        .await?
        .into_iter()
        .rfind(|o| o.purpose == ISSUER_ROOT)
        .ok_or_else(|| keys_err("no issuer root"))?;
    // The root's own subject and key identifier: a development database's root is the
    // fixtures'.
    let root_issuer = Issuer::of(&root.certificate).map_err(|_| keys_err("root certificate"))?;
    let mut rows = Vec::new();
    for name in missing {
        let purpose = format!("issuer:{name}");
        let key = RowKey::generate(vault)?;
        let certificate = certify(
            name_of("Declared kind issuer", name)?,
            &key,
            Some((&root_issuer, &root.key)),
            now,
            ISSUER_CERT_LIFETIME,
        )?;
        rows.push(NewRow {
            id: format!("added:{purpose}"),
            purpose,
            origin: GENERATED,
            certificate,
            key,
            signs_from: 0,
        });
    }
    insert(store, &vault.kek, &rows, now).await?;
    tracing::info!(added = rows.len(), "issuer keys added for declared kinds");
    Ok(())
}

/// A stored key, opened.
pub(crate) struct Opened {
    pub(crate) id: String,
    pub(crate) purpose: String,
    pub(crate) certificate: Vec<u8>,
    pub(crate) key: RowKey,
    pub(crate) signs_from: u64,
}

pub(crate) async fn open_all(store: &Store, vault: &Vault) -> Result<Vec<Opened>, Error> {
    let rows = sqlx::query(
        "SELECT id, purpose, certificate, holder, key_ref, signs_from FROM backend_keys \
         ORDER BY purpose, signs_from, id",
    )
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let id: String = row.try_get(0)?;
        let purpose: String = row.try_get(1)?;
        let certificate: Vec<u8> = row.try_get(2)?;
        let holder: String = row.try_get(3)?;
        let key_ref: Vec<u8> = row.try_get(4)?;
        let signs_from: i64 = row.try_get(5)?;
        let key = match holder.as_str() {
            SEALED => {
                let secret = vault.kek.open(&aad(&id, &purpose), &key_ref).map_err(|_| {
                    keys_err(
                        "a sealed key does not open: is this the key-encryption key it was made with?",
                    )
                })?;
                RowKey::Sealed(SigningKey::from_slice(&secret).map_err(|_| keys_err("stored key"))?)
            }
            PKCS11 => {
                let signer = vault.token.clone().ok_or_else(|| {
                    keys_err(
                        "the keys are on a PKCS#11 token: start with --issuer-keys pkcs11:MODULE",
                    )
                })?;
                let point =
                    certificate_point(&certificate).ok_or_else(|| keys_err("certificate"))?;
                RowKey::Token {
                    token: Arc::new(TokenEs256 {
                        signer,
                        handle: key_ref,
                    }),
                    public: VerifyingKey::from_sec1_bytes(&point)
                        .map_err(|_| keys_err("certificate key"))?,
                }
            }
            _ => return Err(keys_err("unknown key holder")),
        };
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
    /// The issuers of kinds declared as data, by kind name (docs/adr/0060).
    declared: Vec<(String, Arc<IssuerKey>)>,
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

pub(crate) fn certificate_point(der: &[u8]) -> Option<Vec<u8>> {
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
    pub async fn load(store: &Store, vault: &Vault, now: u64) -> Result<Keys, Error> {
        let mut root = None;
        let mut issuers: Vec<IssuerEntry> = Vec::new();
        let mut declared: Vec<(String, Arc<IssuerKey>)> = Vec::new();
        for k in open_all(store, vault).await? {
            // The mdoc PKI's keys are `mdoc_keys`'.
            if k.purpose.starts_with(crate::mdoc_keys::PURPOSE_PREFIX)
                || k.purpose.starts_with(crate::rp_keys::PURPOSE_PREFIX)
                || k.purpose.starts_with(crate::reader_keys::PURPOSE_PREFIX)
            {
                continue;
            }
            if k.purpose == ISSUER_ROOT {
                if certificate_point(&k.certificate).as_deref() != Some(&k.key.public()) {
                    return Err(keys_err("the root key does not match its certificate"));
                }
                root = Some(k.certificate);
                continue;
            }
            let name = k
                .purpose
                .strip_prefix("issuer:")
                .ok_or_else(|| keys_err("unknown key purpose"))?;
            let Some(kind) = DocumentKind::parse(name) else {
                // A kind declared as data (docs/adr/0060): one key, authorised by name.
                if eid_core::credential::KindName::new(name).is_none() {
                    return Err(keys_err("unknown key purpose"));
                }
                let key = k.key.issuer_key(k.certificate)?;
                declared.retain(|(n, _)| n != name);
                declared.push((name.to_owned(), Arc::new(key)));
                continue;
            };
            let key = k.key.issuer_key(k.certificate)?;
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
        for (name, key) in &declared {
            for list in [&mut trust_list, &mut record_trust] {
                list.authorise_certificate_named(key.certificate(), &[name.as_str()])
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
            declared,
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

    /// The issuer of a kind declared as data (docs/adr/0060).
    pub fn declared_issuer(&self, name: &str) -> Result<&IssuerKey, Error> {
        self.declared
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| k.as_ref())
            .ok_or_else(|| keys_err("no issuer for this declared kind"))
    }

    /// The status list's signer at `now`: the identity issuer.
    pub fn status_signer(&self, now: u64) -> Result<&IssuerKey, Error> {
        self.issuer_at(DocumentKind::Identity, now)
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
    vault: &Vault,
    kind: DocumentKind,
    from: u64,
    now: u64,
) -> Result<Rotated, Error> {
    // Never backdated: the old key may have signed until now.
    let from = from.max(now);
    let all = open_all(store, vault).await?;
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
    let root_issuer = Issuer::of(&root.certificate).map_err(|_| keys_err("root"))?;
    let subject = Certificate::from_der(&newest.certificate)
        .map_err(|_| keys_err("issuer certificate"))?
        .tbs_certificate()
        .subject()
        .clone();
    // Valid from now (it is published before it signs) until ISSUER_CERT_LIFETIME after `from`.
    let start = now.min(from);
    let key = RowKey::generate(vault)?;
    let certificate = certify(
        subject,
        &key,
        Some((&root_issuer, &root.key)),
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
    insert(store, &vault.kek, std::slice::from_ref(&row), now).await?;
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
    /// `sealed` (in the database under the KEK) or `pkcs11` (on the token).
    pub holder: String,
    /// Hex of the first 8 bytes of SHA-256 over the certificate (the credentials' `kid`).
    pub kid: String,
    pub signs_from: u64,
}

/// Every credential issuer key of the database (root and issuers), without opening any; the
/// mdoc PKI's keys are listed by `mdoc_keys::list`, the RP CA by `rp_keys::list`, the reader
/// CA by `reader_keys::list`.
pub async fn list(store: &Store) -> Result<Vec<KeyInfo>, Error> {
    Ok(list_all(store)
        .await?
        .into_iter()
        .filter(|k| {
            !k.purpose.starts_with(crate::mdoc_keys::PURPOSE_PREFIX)
                && !k.purpose.starts_with(crate::rp_keys::PURPOSE_PREFIX)
                && !k.purpose.starts_with(crate::reader_keys::PURPOSE_PREFIX)
        })
        .collect())
}

/// Every row of `backend_keys`, without opening any.
pub(crate) async fn list_all(store: &Store) -> Result<Vec<KeyInfo>, Error> {
    let rows = sqlx::query(
        "SELECT id, purpose, origin, certificate, signs_from, holder FROM backend_keys \
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
            holder: row.try_get(5)?,
            kid: hex::encode(credential::key_id(&certificate)),
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
        let vault = Vault::sealed(SealKey::new(&[0x42; 32]).unwrap());
        for url in urls {
            let store = Store::open(&url).await.unwrap();
            ensure(&store, &vault, false, 1_800_000_000).await.unwrap();
            let opened = open_all(&store, &vault).await.unwrap();
            assert_eq!(opened.len(), 1 + DocumentKind::ALL.len());
            let scalars: Vec<Vec<u8>> = opened
                .iter()
                .map(|k| match &k.key {
                    RowKey::Sealed(k) => k.to_bytes().to_vec(),
                    RowKey::Token { .. } => panic!("not on a token"),
                })
                .collect();
            let mut stored = Vec::new();
            for row in sqlx::query("SELECT id, purpose, certificate, key_ref FROM backend_keys")
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
        let vault = Vault::sealed(SealKey::new(&[0x43; 32]).unwrap());
        let store = Store::open(&url).await.unwrap();
        ensure(&store, &vault, false, 1_800_000_000).await.unwrap();
        sqlx::query(
            "UPDATE backend_keys SET key_ref = (SELECT key_ref FROM backend_keys \
             WHERE purpose = 'issuer_root') WHERE purpose = 'issuer:identity'",
        )
        .execute(store.pool())
        .await
        .unwrap();
        assert!(open_all(&store, &vault).await.is_err());
    }
}
