//! The RP CA (issue 16, docs/adr/0036): the root that issues the relying parties' access
//! certificates (`signing::rp_access`), one row `rp:ca` in `backend_keys`, sealed under the KEK
//! or on the PKCS#11 token like the issuer keys. Production generates it; development mode
//! takes the public fixture RP CA (`eid_fixtures::relying_parties`, so the fixtures' bank and
//! city app verify against a development backend), and a production start refuses a database
//! holding that one. Published in the trust list (`rp_ca`).

use crate::ca_row;
use crate::db::Store;
use crate::error::Error;
use crate::keys::{RowKey, Vault, keys_err};
use crate::signing::ca::{self, C, CN, O, Profile};
use crate::signing::rp_access::{ACCESS_CERT_LIFETIME, AccessProfile};
use eid_crypto::x509_build::Issuer;

/// Every purpose of this module's rows starts so (`keys::Keys::load` leaves them alone).
pub const PURPOSE_PREFIX: &str = "rp:";
pub const RP_CA_PURPOSE: &str = "rp:ca";
/// The generated RP CA's lifetime.
const RP_CA_LIFETIME: u64 = 10 * 365 * 86_400;

/// The RP CA of the running backend.
pub struct RpCa {
    /// DER of its certificate.
    pub certificate: Vec<u8>,
    issuer: Issuer,
    key: RowKey,
}

impl std::fmt::Debug for RpCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpCa").finish_non_exhaustive()
    }
}

/// Makes the RP CA on the first start that has none; refuses a production start on the
/// development one.
pub async fn ensure(store: &Store, vault: &Vault, dev_mode: bool, now: u64) -> Result<(), Error> {
    let fixture = || {
        let pki =
            eid_fixtures::relying_parties::RpPki::new().map_err(|_| keys_err("fixture RP CA"))?;
        Ok((
            RowKey::Sealed(pki.ca.signing_key().clone()),
            pki.ca.der.clone(),
        ))
    };
    let generate = |key: &RowKey| {
        ca::build(
            Profile {
                subject: ca::name(&[(C, "VN"), (O, "Bo Cong an"), (CN, "RP CA Viet Nam")])?,
                issuer: None,
            },
            &ca::serial()?,
            ca::validity(now, RP_CA_LIFETIME)?,
            ca::spki(&key.public())?,
            key,
        )
    };
    let id = (RP_CA_PURPOSE, "RP CA");
    ca_row::ensure(store, vault, dev_mode, now, id, fixture, generate).await
}

/// Opens the RP CA.
pub async fn load(store: &Store, vault: &Vault) -> Result<RpCa, Error> {
    let r = ca_row::load(store, vault, RP_CA_PURPOSE, "RP CA").await?;
    Ok(RpCa {
        certificate: r.certificate,
        issuer: r.issuer,
        key: r.key,
    })
}

impl RpCa {
    /// An access certificate (`signing::rp_access`) for `public_key` (SEC1), valid from `now`.
    pub fn issue(
        &self,
        legal_name: &str,
        registration_number: &str,
        dns_name: &str,
        public_key: &[u8],
        now: u64,
    ) -> Result<Vec<u8>, Error> {
        ca::build(
            AccessProfile {
                subject: ca::name(&[
                    (C, "VN"),
                    (O, legal_name),
                    (SERIAL_NUMBER, registration_number),
                    (CN, legal_name),
                ])?,
                issuer: self.issuer.clone(),
                dns_name: dns_name.to_owned(),
            },
            &ca::serial()?,
            ca::validity(now, ACCESS_CERT_LIFETIME)?,
            ca::spki(public_key)?,
            &self.key,
        )
    }
}

/// X.520 serialNumber (2.5.4.5): the registration number in the subject.
const SERIAL_NUMBER: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.4.5");

/// The RP CA's row, without opening it: what `eid keys list` could show.
pub async fn list(store: &Store) -> Result<Vec<crate::keys::KeyInfo>, Error> {
    Ok(crate::keys::list_all(store)
        .await?
        .into_iter()
        .filter(|k| k.purpose.starts_with(PURPOSE_PREFIX))
        .collect())
}
