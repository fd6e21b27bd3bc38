//! The synthetic population registry, seeded from the fixtures on first start: citizens with
//! their phones and chip files, their document models, the four issuer keys, the issuers' trust
//! root and the chips' CSCA. Then [`Keys`]: what the running backend signs and verifies with,
//! loaded from the database (the database, not the fixtures, is the running system's truth).

use crate::db::Store;
use crate::error::Error;
use eid_core::chip::lds::LdsFile;
use eid_core::chip::pa::TrustStore;
use eid_core::credential::{
    self, Document, DocumentKind, IssuerKey, StatusRef, TrustList, Validity,
};
use eid_fixtures::card::cccd;
use eid_fixtures::citizens::{self, Citizen};
use eid_fixtures::drbg::Drbg;
use eid_fixtures::issuers::{self, ISSUER_SEED, Issuers};
use eid_fixtures::pki::TestPki;
use p256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::BTreeMap;

/// Registry records stay verifiable this long (the documents they hold carry their own dates).
const RECORD_LIFETIME: u64 = 20 * 365 * 86_400;
/// Status list of registry records: they never reach a wallet, so nothing is published there.
const RECORD_STATUS_LIST: &str = "urn:vn-eid:registry-records";

fn reg(e: impl std::fmt::Display) -> Error {
    Error::Registry(e.to_string())
}

/// The holder key of registry records: the registry itself (a fixed key, only its public point
/// matters). Records are credentials so that each model in the database carries its
/// authority's signature: a row altered in the database no longer verifies.
fn registry_holder() -> Vec<u8> {
    let secret = Sha256::digest(b"eid-backend registry record holder v1");
    SigningKey::from_slice(&secret)
        .map(|k| k.verifying_key().to_sec1_point(false).as_bytes().to_vec())
        .unwrap_or_default()
}

/// The issuers' private keys as `eid_fixtures::issuers::Issuers::generate` derives them (root,
/// untrusted root, police, transport, social insurance, health, rogue). The fixtures keep them
/// inside `IssuerKey`; `IssuerKey::new` below proves each one matches its certificate, so a
/// change of the fixtures' derivation fails the seeding instead of signing with a wrong key.
fn fixture_issuer_keys() -> Vec<SigningKey> {
    let mut d = Drbg::new(ISSUER_SEED, "issuers");
    (0..7)
        .map(|_| {
            loop {
                if let Ok(k) = SigningKey::from_slice(&d.bytes(32)) {
                    break k;
                }
            }
        })
        .collect()
}

fn kind_index(kind: DocumentKind) -> usize {
    match kind {
        DocumentKind::Identity => 2,
        DocumentKind::DrivingLicence => 3,
        DocumentKind::HealthInsurance => 4,
        DocumentKind::HealthRecord => 5,
    }
}

struct SeedCitizen {
    id_number: String,
    phone: String,
    full_name: String,
    dg1: Vec<u8>,
    dg13: Vec<u8>,
    dg15: Vec<u8>,
    sod: Vec<u8>,
    records: Vec<(DocumentKind, Vec<u8>)>,
}

/// The citizen with every name and address in Unicode NFC, as the registry keeps text (one
/// encoding per name, so equal names are equal bytes; issue 12).
fn nfc_citizen(mut c: Citizen) -> Citizen {
    use eid_core::text::nfc;
    for s in [
        &mut c.full_name,
        &mut c.ethnicity,
        &mut c.religion,
        &mut c.place_of_origin,
        &mut c.place_of_residence,
        &mut c.identifying_marks,
        &mut c.father_name,
        &mut c.mother_name,
    ] {
        *s = nfc(s);
    }
    c.spouse_name = c.spouse_name.as_deref().map(nfc);
    c
}

struct Seed {
    issuer_keys: Vec<(DocumentKind, Vec<u8>, Vec<u8>)>,
    anchors: Vec<(&'static str, Vec<u8>)>,
    citizens: Vec<SeedCitizen>,
}

fn build_seed(now: u64, population: usize) -> Result<Seed, Error> {
    let fixtures = Issuers::new().map_err(reg)?;
    let derived = fixture_issuer_keys();
    let mut issuer_keys = Vec::new();
    for kind in DocumentKind::ALL {
        let key = derived
            .get(kind_index(kind))
            .cloned()
            .ok_or_else(|| reg("issuer key"))?;
        let cert = fixtures.issuer_for(kind).certificate().to_vec();
        let secret = key.to_bytes().to_vec();
        IssuerKey::new(cert.clone(), key).map_err(reg)?;
        issuer_keys.push((kind, cert, secret));
    }
    let pki = TestPki::new().map_err(reg)?;
    let anchors = vec![
        ("issuer_root", fixtures.root.clone()),
        ("csca", pki.csca.der),
    ];
    let holder = registry_holder();
    let mut out = Vec::new();
    for c in citizens::population(population)
        .into_iter()
        .map(nfc_citizen)
    {
        let files = cccd::personalise(&c, &cccd::CardOptions::default()).map_err(reg)?;
        let file = |f: LdsFile| files.get(&f).cloned().ok_or_else(|| reg("chip file"));
        let mut records = Vec::new();
        for doc in issuers::models_for(&c, now).map_err(reg)? {
            let kind = doc.kind();
            let record = credential::issue(
                kind,
                &doc,
                &holder,
                Validity::starting(now, RECORD_LIFETIME),
                &StatusRef {
                    list: RECORD_STATUS_LIST.into(),
                    index: 0,
                },
                fixtures.issuer_for(kind),
            )?;
            records.push((kind, record));
        }
        out.push(SeedCitizen {
            dg1: file(LdsFile::Dg(1))?,
            dg13: file(LdsFile::Dg(13))?,
            dg15: file(LdsFile::Dg(15))?,
            sod: file(LdsFile::Sod)?,
            id_number: c.id_number,
            phone: c.phone,
            full_name: c.full_name,
            records,
        });
    }
    Ok(Seed {
        issuer_keys,
        anchors,
        citizens: out,
    })
}

/// Fills an empty registry from the fixtures. Returns whether it seeded. Safe when several
/// processes start on one database at once (every insert ignores existing rows).
pub async fn seed_if_empty(store: &Store, now: u64, population: usize) -> Result<bool, Error> {
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM issuer_keys")
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    if count > 0 {
        return Ok(false);
    }
    // Signing the fixtures is CPU work: off the async workers.
    let seed = tokio::task::spawn_blocking(move || build_seed(now, population))
        .await
        .map_err(reg)??;
    let mut w = store.write().await?;
    for c in &seed.citizens {
        sqlx::query(
            "INSERT INTO citizens (id_number, phone, full_name, dg1, dg13, dg15, sod) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&c.id_number)
        .bind(&c.phone)
        .bind(&c.full_name)
        .bind(&c.dg1)
        .bind(&c.dg13)
        .bind(&c.dg15)
        .bind(&c.sod)
        .execute(&mut *w.tx)
        .await?;
        for (kind, record) in &c.records {
            sqlx::query(
                "INSERT INTO registry_records (id_number, kind, record) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&c.id_number)
            .bind(kind.as_str())
            .bind(record)
            .execute(&mut *w.tx)
            .await?;
        }
    }
    for (purpose, der) in &seed.anchors {
        sqlx::query(
            "INSERT INTO trust_anchors (purpose, certificate) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(*purpose)
        .bind(der)
        .execute(&mut *w.tx)
        .await?;
    }
    // Issuer keys last: their presence marks a complete seed.
    for (kind, cert, key) in &seed.issuer_keys {
        sqlx::query(
            "INSERT INTO issuer_keys (kind, certificate, private_key) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(kind.as_str())
        .bind(cert)
        .bind(key)
        .execute(&mut *w.tx)
        .await?;
    }
    w.commit().await?;
    tracing::info!(
        citizens = seed.citizens.len(),
        "registry seeded from fixtures"
    );
    Ok(true)
}

/// The keys and trust material of the running backend.
pub struct Keys {
    issuers: BTreeMap<DocumentKind, IssuerKey>,
    /// The police issuer's key also signs the status list.
    pub police_key: SigningKey,
    pub police_certificate: Vec<u8>,
    /// Issuer trust root and authorisations (what wallets and verifiers get).
    pub trust_list: TrustList,
    pub trust_list_cbor: Vec<u8>,
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

impl Keys {
    pub async fn load(store: &Store) -> Result<Keys, Error> {
        let mut issuers = BTreeMap::new();
        let mut police = None;
        for row in sqlx::query("SELECT kind, certificate, private_key FROM issuer_keys")
            .fetch_all(store.pool())
            .await?
        {
            let kind: String = row.try_get(0)?;
            let kind = DocumentKind::parse(&kind).ok_or_else(|| reg("unknown issuer kind"))?;
            let cert: Vec<u8> = row.try_get(1)?;
            let secret: Vec<u8> = row.try_get(2)?;
            let key = SigningKey::from_slice(&secret).map_err(|_| reg("issuer key"))?;
            if kind == DocumentKind::Identity {
                police = Some((key.clone(), cert.clone()));
            }
            issuers.insert(kind, IssuerKey::new(cert, key)?);
        }
        let (police_key, police_certificate) = police.ok_or_else(|| reg("no police issuer key"))?;
        if issuers.len() != DocumentKind::ALL.len() {
            return Err(reg("an issuer key is missing"));
        }
        let mut trust_list = TrustList::new();
        let mut chip_trust = TrustStore::new();
        let mut csca = Vec::new();
        for row in sqlx::query("SELECT purpose, certificate FROM trust_anchors ORDER BY purpose")
            .fetch_all(store.pool())
            .await?
        {
            let purpose: String = row.try_get(0)?;
            let der: Vec<u8> = row.try_get(1)?;
            match purpose.as_str() {
                "issuer_root" => trust_list.add_ca_der(&der).map_err(reg)?,
                "csca" => {
                    chip_trust.add_der(&der).map_err(reg)?;
                    csca.push(der);
                }
                _ => return Err(reg("unknown trust anchor purpose")),
            }
        }
        for (kind, key) in &issuers {
            trust_list
                .authorise_certificate(key.certificate(), &[*kind])
                .map_err(reg)?;
        }
        let trust_list_cbor = trust_list.encode().map_err(reg)?;
        Ok(Keys {
            issuers,
            police_key,
            police_certificate,
            trust_list,
            trust_list_cbor,
            csca,
            chip_trust,
        })
    }

    pub fn issuer(&self, kind: DocumentKind) -> Result<&IssuerKey, Error> {
        self.issuers
            .get(&kind)
            .ok_or_else(|| reg("no issuer for this kind"))
    }

    /// The model inside a registry record, checked against the issuer trust list.
    pub fn open_record(&self, record: &[u8], now: u64) -> Result<Document, Error> {
        let v = credential::verify(record, &self.trust_list, now).map_err(reg)?;
        Ok(v.document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12: what enters the registry is NFC, whatever encoding the source used.
    #[test]
    fn seeded_text_is_nfc() {
        let mut c = citizens::citizens().remove(0);
        c.full_name = "Nguye\u{302}\u{303}n Va\u{306}n An".into();
        c.place_of_residence = "Ha\u{300} No\u{302}\u{323}i".into();
        c.spouse_name = Some("Tra\u{302}\u{300}n Thi\u{323} Lan".into());
        let n = nfc_citizen(c);
        assert_eq!(n.full_name, "Nguyễn Văn An");
        assert_eq!(n.place_of_residence, "Hà Nội");
        assert_eq!(n.spouse_name.as_deref(), Some("Trần Thị Lan"));
    }
}
