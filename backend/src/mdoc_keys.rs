//! The mdoc issuing keys (ISO/IEC 18013-5 Annex B; docs/adr/0031): an IACA root and a document
//! signer it certified, kept in `backend_keys` like the issuer keys (sealed under the KEK or
//! on the PKCS#11 token). Production generates them; development mode takes the public fixture
//! keys (`eid_fixtures::iaca`), and a production start refuses a database holding those.
//!
//! They are made by [`ensure`] apart from the credential issuer keys, so a database made before
//! mdocs gains them on its next start.

use crate::db::Store;
use crate::error::Error;
use crate::keys::{
    FIXTURE, GENERATED, NewRow, RowKey, Vault, certificate_point, insert, keys_err, open_all,
};
use crate::signing::ca::{self, C, CN, O};
use crate::signing::iaca::{DOCUMENT_SIGNER_LIFETIME, IACA_LIFETIME, Issuer, MdocProfile};
use eid_core::credential::IssuerKey;
use std::sync::Arc;

/// Every purpose of this module's rows starts so (`keys::Keys::load` leaves them alone).
pub const PURPOSE_PREFIX: &str = "mdoc:";
pub const IACA_PURPOSE: &str = "mdoc:iaca";
pub const DOCUMENT_SIGNER_PURPOSE: &str = "mdoc:document_signer";
/// Where the PKI's issuer alternative name and CRL distribution point point.
const ISSUER_URI: &str = "https://eid.gov.vn/iaca";
/// `ca::validity` starts five minutes back: the lifetimes given to it stay inside Annex B's.
const MARGIN: u64 = 86_400;

/// The IACA certificate and the key that signs MSOs (and the CWT status list).
pub struct MdocKeys {
    /// DER of the IACA root.
    pub iaca: Vec<u8>,
    /// The document signer, its certificate the x5chain of every MSO.
    pub signer: Arc<IssuerKey>,
}

impl std::fmt::Debug for MdocKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdocKeys").finish_non_exhaustive()
    }
}

/// Makes the IACA and document signer on the first start that has none: generated in
/// production, the fixtures' in development. Refuses a production start on development keys.
pub async fn ensure(store: &Store, vault: &Vault, dev_mode: bool, now: u64) -> Result<(), Error> {
    if crate::keys::purpose_present(store, IACA_PURPOSE, dev_mode, "IACA").await? {
        return renew_if_due(store, vault, dev_mode, now).await;
    }
    let (iaca_key, ds_key, origin, suffix) = if dev_mode {
        let s = eid_fixtures::iaca::IacaSecrets::new();
        (
            RowKey::Sealed(s.iaca),
            RowKey::Sealed(s.document_signer),
            FIXTURE,
            " TEST",
        )
    } else {
        (
            RowKey::generate(vault)?,
            RowKey::generate(vault)?,
            GENERATED,
            "",
        )
    };
    let iaca_name = ca::name(&[
        (C, "VN"),
        (O, "Bo Cong an"),
        (CN, &format!("IACA Viet Nam{suffix}")),
    ])?;
    let iaca = ca::build(
        MdocProfile::Iaca {
            subject: iaca_name,
            issuer_uri: ISSUER_URI.into(),
        },
        &ca::serial()?,
        ca::validity(now, IACA_LIFETIME - MARGIN)?,
        ca::spki(&iaca_key.public())?,
        &iaca_key,
    )?;
    let ds = ca::build(
        MdocProfile::DocumentSigner {
            subject: ca::name(&[
                (C, "VN"),
                (O, "Bo Cong an"),
                (CN, &format!("mDoc Document Signer Viet Nam{suffix}")),
            ])?,
            issuer: Issuer::of(&iaca).map_err(|_| keys_err("IACA"))?,
            issuer_uri: ISSUER_URI.into(),
        },
        &ca::serial()?,
        document_signer_validity(now)?,
        ca::spki(&ds_key.public())?,
        &iaca_key,
    )?;
    let rows = [
        NewRow {
            id: format!("initial:{IACA_PURPOSE}"),
            purpose: IACA_PURPOSE.into(),
            origin,
            certificate: iaca,
            key: iaca_key,
            signs_from: 0,
        },
        NewRow {
            id: format!("initial:{DOCUMENT_SIGNER_PURPOSE}"),
            purpose: DOCUMENT_SIGNER_PURPOSE.into(),
            origin,
            certificate: ds,
            key: ds_key,
            signs_from: 0,
        },
    ];
    insert(store, &vault.kek, &rows, now).await?;
    tracing::info!(development = dev_mode, "mdoc IACA and document signer made");
    Ok(())
}

/// A document signer's certificate starts at the beginning of the UTC day it is made: every
/// MSO signed that day says it was signed then (`validityInfo.signed`, one time for the whole
/// day's MSOs so they do not tell their holders apart, docs/adr/0020), and ISO/IEC 18013-5
/// verifiers check that this time is within the certificate's validity. The lifetime keeps
/// [`MARGIN`] (a day) inside Annex B's, so the day taken back stays within it.
fn document_signer_validity(now: u64) -> Result<x509_cert::time::Validity, Error> {
    let day_start = now - now % crate::presentation::VALIDITY_GRANULARITY;
    ca::validity_between(day_start, now + DOCUMENT_SIGNER_LIFETIME - MARGIN)
}

/// A document signer is replaced this long before its certificate ends, so every MSO (30 days)
/// and CWT status list it signs stays within its validity.
pub const RENEW_BEFORE: u64 = 90 * 86_400;

fn not_after(der: &[u8]) -> Result<u64, Error> {
    use der::Decode;
    Ok(x509_cert::Certificate::from_der(der)
        .map_err(|_| keys_err("mdoc certificate"))?
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration()
        .as_secs())
}

/// On a start less than [`RENEW_BEFORE`] before the newest document signer's certificate ends,
/// a new document signer (a new key; in development the fixture key again) certified by the
/// IACA signs from now on. Readers trust the IACA, so nothing else changes.
async fn renew_if_due(store: &Store, vault: &Vault, dev_mode: bool, now: u64) -> Result<(), Error> {
    let opened = open_all(store, vault).await?;
    let newest = opened
        .iter()
        .rfind(|k| k.purpose == DOCUMENT_SIGNER_PURPOSE)
        .ok_or_else(|| keys_err("no mdoc document signer"))?;
    if not_after(&newest.certificate)? > now.saturating_add(RENEW_BEFORE) {
        return Ok(());
    }
    let iaca = opened
        .iter()
        .rfind(|k| k.purpose == IACA_PURPOSE)
        .ok_or_else(|| keys_err("no mdoc IACA"))?;
    let subject = {
        use der::Decode;
        x509_cert::Certificate::from_der(&newest.certificate)
            .map_err(|_| keys_err("document signer"))?
            .tbs_certificate()
            .subject()
            .clone()
    };
    let (key, origin) = if dev_mode {
        let s = eid_fixtures::iaca::IacaSecrets::new();
        (RowKey::Sealed(s.document_signer), FIXTURE)
    } else {
        (RowKey::generate(vault)?, GENERATED)
    };
    let certificate = ca::build(
        MdocProfile::DocumentSigner {
            subject,
            issuer: Issuer::of(&iaca.certificate).map_err(|_| keys_err("IACA"))?,
            issuer_uri: ISSUER_URI.into(),
        },
        &ca::serial()?,
        document_signer_validity(now)?,
        ca::spki(&key.public())?,
        &iaca.key,
    )?;
    let row = NewRow {
        id: hex::encode(crate::http::random_bytes(16)?),
        purpose: DOCUMENT_SIGNER_PURPOSE.into(),
        origin,
        certificate,
        key,
        signs_from: now,
    };
    insert(store, &vault.kek, std::slice::from_ref(&row), now).await?;
    tracing::info!("mdoc document signer renewed");
    Ok(())
}

/// Opens the IACA certificate and the newest document signer.
pub async fn load(store: &Store, vault: &Vault) -> Result<MdocKeys, Error> {
    let mut iaca = None;
    let mut signer = None;
    for k in open_all(store, vault).await? {
        if certificate_point(&k.certificate).as_deref() != Some(&k.key.public()) {
            if k.purpose.starts_with(PURPOSE_PREFIX) {
                return Err(keys_err("an mdoc key does not match its certificate"));
            }
            continue;
        }
        if k.purpose == IACA_PURPOSE {
            iaca = Some(k.certificate);
        } else if k.purpose == DOCUMENT_SIGNER_PURPOSE {
            // Ordered by start: the last one is the newest.
            signer = Some(Arc::new(k.key.issuer_key(k.certificate)?));
        }
    }
    Ok(MdocKeys {
        iaca: iaca.ok_or_else(|| keys_err("no mdoc IACA"))?,
        signer: signer.ok_or_else(|| keys_err("no mdoc document signer"))?,
    })
}

/// The mdoc PKI's keys (IACA, document signers), without opening any: what
/// `eid keys list --mdoc` shows.
pub async fn list(store: &Store) -> Result<Vec<crate::keys::KeyInfo>, Error> {
    Ok(crate::keys::list_all(store)
        .await?
        .into_iter()
        .filter(|k| k.purpose.starts_with(PURPOSE_PREFIX))
        .collect())
}
