//! The synthetic population registry, seeded from the fixtures on first start: citizens with
//! their phones and chip files, their document models (registry records signed by the
//! database's own issuer keys, `crate::keys`) and the chips' CSCA.

use crate::db::Store;
use crate::error::Error;
use crate::keys::Keys;
use eid_core::credential::{self, DocumentKind, IssuerKey, StatusRef, Validity};
use eid_fixtures::card::cccd;
use eid_fixtures::citizens::{self, Citizen};
use eid_fixtures::dependants;
use eid_fixtures::issuers;
use eid_fixtures::pki::TestPki;
use eid_icao::lds::LdsFile;
use p256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::BTreeMap;
use std::sync::Arc;

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

struct Seed {
    anchors: Vec<(&'static str, Vec<u8>)>,
    citizens: Vec<SeedCitizen>,
}

/// The population's chip files and registry records, each record signed by the issuer key of
/// its kind (the database's own keys, see `crate::keys`).
fn build_seed(
    issuers: &BTreeMap<DocumentKind, Arc<IssuerKey>>,
    now: u64,
    population: usize,
) -> Result<Seed, Error> {
    let pki = TestPki::new().map_err(reg)?;
    // The chips' CSCA stays the fixtures' one: the synthetic cards are signed by it.
    let anchors = vec![("csca", pki.csca.der)];
    let holder = registry_holder();
    let mut out = Vec::new();
    for c in citizens::population(population)
        .into_iter()
        .map(Citizen::in_nfc)
    {
        let files = cccd::personalise(&c, &cccd::CardOptions::default()).map_err(reg)?;
        let file = |f: LdsFile| files.get(&f).cloned().ok_or_else(|| reg("chip file"));
        let mut records = Vec::new();
        for doc in issuers::models_for(&c, now).map_err(reg)? {
            let kind = doc.kind();
            let issuer = issuers.get(&kind).ok_or_else(|| reg("issuer key"))?;
            records.push((kind, record(&doc, &holder, issuer, now)?));
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
        anchors,
        citizens: out,
    })
}

/// A registry record: the document signed by its kind's issuer, held by the registry.
fn record(
    doc: &credential::Document,
    holder: &[u8],
    issuer: &IssuerKey,
    now: u64,
) -> Result<Vec<u8>, Error> {
    Ok(credential::issue(
        doc.kind(),
        doc,
        holder,
        Validity::starting(now, RECORD_LIFETIME),
        &StatusRef {
            list: RECORD_STATUS_LIST.into(),
            index: 0,
        },
        issuer,
    )?)
}

/// A changed registry record (ADR 0056): `doc` signed afresh by its kind's issuer at `now`.
pub(crate) fn sign_record(
    doc: &credential::Document,
    issuer: &IssuerKey,
    now: u64,
) -> Result<Vec<u8>, Error> {
    record(doc, &registry_holder(), issuer, now)
}

/// Records of the kinds added after the registry was seeded (ADR 0043), for the fixture citizens
/// it holds, signed by the issuers of those kinds. Returns how many were added.
async fn add_missing_kinds(
    store: &Store,
    keys: &Keys,
    now: u64,
    population: usize,
) -> Result<usize, Error> {
    // One row per kind is enough to know it is seeded: a start never scans the whole registry.
    let mut signers = BTreeMap::new();
    for kind in DocumentKind::ALL {
        let seeded = sqlx::query("SELECT 1 FROM registry_records WHERE kind = $1 LIMIT 1")
            .bind(kind.as_str())
            .fetch_optional(store.pool())
            .await?
            .is_some();
        if !seeded {
            signers.insert(kind, keys.issuer_arc(kind, now)?);
        }
    }
    if signers.is_empty() {
        return Ok(0);
    }
    let ids: std::collections::HashSet<String> = sqlx::query("SELECT id_number FROM citizens")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let records = tokio::task::spawn_blocking(move || {
        let holder = registry_holder();
        let mut out = Vec::new();
        for c in citizens::population(population)
            .into_iter()
            .map(Citizen::in_nfc)
            .filter(|c| ids.contains(&c.id_number))
        {
            for doc in issuers::models_for(&c, now).map_err(reg)? {
                if let Some(issuer) = signers.get(&doc.kind()) {
                    out.push((
                        c.id_number.clone(),
                        doc.kind(),
                        record(&doc, &holder, issuer, now)?,
                    ));
                }
            }
        }
        Ok::<_, Error>(out)
    })
    .await
    .map_err(reg)??;
    let mut w = store.write().await?;
    for (id_number, kind, record) in &records {
        sqlx::query(
            "INSERT INTO registry_records (id_number, kind, record) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id_number)
        .bind(kind.as_str())
        .bind(record)
        .execute(&mut *w.tx)
        .await?;
    }
    w.commit().await?;
    tracing::info!(
        records = records.len(),
        "registry records added for new document kinds"
    );
    Ok(records.len())
}

/// Fills an empty registry from the fixtures, the records signed by `keys`. Returns whether
/// it seeded. Safe when several processes start on one database at once (every insert ignores
/// existing rows, all in one transaction).
pub async fn seed_if_empty(
    store: &Store,
    keys: &Keys,
    now: u64,
    population: usize,
) -> Result<bool, Error> {
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM citizens")
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    if count > 0 {
        add_missing_kinds(store, keys, now, population).await?;
        seed_dependants(store, keys, now, population).await?;
        return Ok(false);
    }
    let issuers = DocumentKind::ALL
        .into_iter()
        .map(|kind| keys.issuer_arc(kind, now).map(|k| (kind, k)))
        .collect::<Result<BTreeMap<_, _>, Error>>()?;
    // Signing the fixtures is CPU work: off the async workers.
    let seed = tokio::task::spawn_blocking(move || build_seed(&issuers, now, population))
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
    w.commit().await?;
    tracing::info!(
        citizens = seed.citizens.len(),
        "registry seeded from fixtures"
    );
    seed_dependants(store, keys, now, population).await?;
    Ok(true)
}

/// The fixture guardian's children and their records (docs/adr/0055), once, when the guardian
/// is in the population. Each child gets a random handle: what the guardian's wallet sees.
/// Returns how many children were added.
async fn seed_dependants(
    store: &Store,
    keys: &Keys,
    now: u64,
    population: usize,
) -> Result<usize, Error> {
    if population <= dependants::GUARDIAN_INDEX
        || sqlx::query("SELECT 1 FROM dependants LIMIT 1")
            .fetch_optional(store.pool())
            .await?
            .is_some()
    {
        return Ok(0);
    }
    let guardian = dependants::guardian();
    let holder = registry_holder();
    let mut children = Vec::new();
    for c in dependants::children(now).into_iter().map(Citizen::in_nfc) {
        let mut records = Vec::new();
        for doc in dependants::documents_for(&c, now).map_err(reg)? {
            let issuer = keys.issuer_arc(doc.kind(), now)?;
            records.push((doc.kind(), record(&doc, &holder, &issuer, now)?));
        }
        children.push((c, records));
    }
    let mut w = store.write().await?;
    for (c, records) in &children {
        let d = c.date_of_birth;
        sqlx::query(
            "INSERT INTO dependants (ref, guardian_id_number, id_number, full_name, birth_date) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(hex::encode(crate::http::random_bytes(16)?))
        .bind(&guardian.id_number)
        .bind(&c.id_number)
        .bind(&c.full_name)
        .bind(format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .execute(&mut *w.tx)
        .await?;
        for (kind, record) in records {
            sqlx::query(
                "INSERT INTO dependant_records (id_number, kind, record) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&c.id_number)
            .bind(kind.as_str())
            .bind(record)
            .execute(&mut *w.tx)
            .await?;
        }
    }
    w.commit().await?;
    tracing::info!(children = children.len(), "dependants seeded from fixtures");
    Ok(children.len())
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
        let n = c.in_nfc();
        assert_eq!(n.full_name, "Nguyễn Văn An");
        assert_eq!(n.place_of_residence, "Hà Nội");
        assert_eq!(n.spouse_name.as_deref(), Some("Trần Thị Lan"));
    }
}
