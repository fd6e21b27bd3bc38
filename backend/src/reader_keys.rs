//! The reader CA (issue 15, docs/adr/0040): the root that certifies verifier desks and readers
//! for ISO/IEC 18013-5 reader authentication, one row `reader:ca` in `backend_keys`, sealed
//! under the KEK or on the PKCS#11 token like the issuer keys. Production generates it (Annex
//! B's root shape, `signing::iaca::MdocProfile::ReaderCa`); development mode takes the public
//! fixture reader CA (`eid_fixtures::mdoc`, so the fixture reader `eid mdoc read` signs with by
//! default is authenticated by a development wallet), and a production start refuses a
//! database holding that one. Published in the trust list as `reader_ca`, a role of its own:
//! the wallet never takes it as an IACA, nor an IACA as a reader CA.

use crate::ca_row;
use crate::db::Store;
use crate::error::Error;
use crate::keys::{RowKey, Vault, keys_err};
use crate::signing::ca::{self, C, CN, O};
use crate::signing::iaca::{Issuer, MdocProfile};

/// Every purpose of this module's rows starts so (`keys::Keys::load` leaves them alone).
pub const PURPOSE_PREFIX: &str = "reader:";
pub const READER_CA_PURPOSE: &str = "reader:ca";
/// The generated reader CA's lifetime.
const READER_CA_LIFETIME: u64 = 10 * 365 * 86_400;
/// A reader certificate's lifetime: one year (Annex B allows up to 1187 days); a desk asks for
/// a new one with the same or a new key.
pub const READER_CERT_LIFETIME: u64 = 365 * 86_400;
/// Where the reader PKI's issuer alternative name and CRL distribution point point.
const ISSUER_URI: &str = "https://eid.gov.vn/reader-ca";

/// The reader CA of the running backend.
pub struct ReaderCa {
    /// DER of its certificate.
    pub certificate: Vec<u8>,
    issuer: Issuer,
    key: RowKey,
}

impl std::fmt::Debug for ReaderCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderCa").finish_non_exhaustive()
    }
}

/// Makes the reader CA on the first start that has none; refuses a production start on the
/// development one.
pub async fn ensure(store: &Store, vault: &Vault, dev_mode: bool, now: u64) -> Result<(), Error> {
    let fixture = || {
        let f =
            eid_fixtures::mdoc::MdocFixtures::new().map_err(|_| keys_err("fixture reader CA"))?;
        Ok((
            RowKey::Sealed(f.reader.ca_signing_key().clone()),
            f.reader.ca.clone(),
        ))
    };
    let generate = |key: &RowKey| {
        ca::build(
            MdocProfile::ReaderCa {
                subject: ca::name(&[(C, "VN"), (O, "Bo Cong an"), (CN, "Reader CA Viet Nam")])?,
                issuer_uri: ISSUER_URI.into(),
            },
            &ca::serial()?,
            ca::validity(now, READER_CA_LIFETIME)?,
            ca::spki(&key.public())?,
            key,
        )
    };
    let id = (READER_CA_PURPOSE, "reader CA");
    ca_row::ensure(store, vault, dev_mode, now, id, fixture, generate).await
}

/// Opens the reader CA.
pub async fn load(store: &Store, vault: &Vault) -> Result<ReaderCa, Error> {
    let r = ca_row::load(store, vault, READER_CA_PURPOSE, "reader CA").await?;
    Ok(ReaderCa {
        certificate: r.certificate,
        issuer: r.issuer,
        key: r.key,
    })
}

impl ReaderCa {
    /// A reader authentication certificate (Annex B, EKU mdlReaderAuth) for `public_key`
    /// (SEC1 P-256) named `name` (C=VN, CN=name), valid from `now` for
    /// [`READER_CERT_LIFETIME`]; with its serial number and end of validity (for revocation).
    pub fn issue(&self, name: &str, public_key: &[u8], now: u64) -> Result<Issued, Error> {
        let serial = ca::serial()?;
        let certificate = ca::build(
            MdocProfile::ReaderAuth {
                subject: ca::name(&[(C, "VN"), (CN, name)])?,
                issuer: self.issuer.clone(),
                issuer_uri: ISSUER_URI.into(),
            },
            &serial,
            ca::validity(now, READER_CERT_LIFETIME)?,
            ca::spki(public_key)?,
            &self.key,
        )?;
        Ok(Issued {
            certificate,
            serial,
            not_after: now + READER_CERT_LIFETIME,
        })
    }

    /// The CA's key, for its CRL (`reader_crl`).
    pub(crate) fn key(&self) -> &RowKey {
        &self.key
    }
}

/// A reader certificate just issued.
pub struct Issued {
    /// DER.
    pub certificate: Vec<u8>,
    /// Its serial number's content bytes.
    pub serial: Vec<u8>,
    /// Unix seconds.
    pub not_after: u64,
}

/// The reader CA's row, without opening it: what `eid keys list --mdoc` shows beside the IACA.
pub async fn list(store: &Store) -> Result<Vec<crate::keys::KeyInfo>, Error> {
    Ok(crate::keys::list_all(store)
        .await?
        .into_iter()
        .filter(|k| k.purpose.starts_with(PURPOSE_PREFIX))
        .collect())
}
