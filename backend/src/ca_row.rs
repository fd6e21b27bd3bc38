//! A root CA the backend keeps as one row of `backend_keys` (the RP CA, docs/adr/0036; the
//! reader CA, docs/adr/0040): made on the first start that has none — the public fixture CA in
//! development mode, a generated one in production, whose start refuses a database holding the
//! fixture one — and opened with its key checked against its certificate.

use crate::db::Store;
use crate::error::Error;
use crate::keys::{
    FIXTURE, GENERATED, NewRow, RowKey, Vault, certificate_point, insert, keys_err, open_all,
};
use eid_crypto::x509_build::Issuer;

/// An opened CA row: its certificate (DER), the issuer it names in what it certifies, and its key.
pub struct CaRow {
    pub certificate: Vec<u8>,
    pub issuer: Issuer,
    pub key: RowKey,
}

/// Makes the CA of `purpose` (named `what` in logs and errors) unless present: `fixture` gives
/// development mode's key and certificate; `generate` certifies a freshly generated key.
pub async fn ensure(
    store: &Store,
    vault: &Vault,
    dev_mode: bool,
    now: u64,
    (purpose, what): (&str, &str),
    fixture: impl FnOnce() -> Result<(RowKey, Vec<u8>), Error>,
    generate: impl FnOnce(&RowKey) -> Result<Vec<u8>, Error>,
) -> Result<(), Error> {
    if crate::keys::purpose_present(store, purpose, dev_mode, what).await? {
        return Ok(());
    }
    let (key, certificate, origin) = if dev_mode {
        let (key, certificate) = fixture()?;
        (key, certificate, FIXTURE)
    } else {
        let key = RowKey::generate(vault)?;
        let certificate = generate(&key)?;
        (key, certificate, GENERATED)
    };
    let row = NewRow {
        id: format!("initial:{purpose}"),
        purpose: purpose.into(),
        origin,
        certificate,
        key,
        signs_from: 0,
    };
    insert(store, &vault.kek, std::slice::from_ref(&row), now).await?;
    tracing::info!(development = dev_mode, ca = what, "CA made");
    Ok(())
}

/// Opens the newest row of `purpose` (named `what` in errors).
pub async fn load(store: &Store, vault: &Vault, purpose: &str, what: &str) -> Result<CaRow, Error> {
    let k = open_all(store, vault)
        .await?
        .into_iter()
        .rfind(|k| k.purpose == purpose)
        .ok_or_else(|| keys_err(&format!("no {what}")))?;
    if certificate_point(&k.certificate).as_deref() != Some(&k.key.public()) {
        return Err(keys_err(&format!(
            "the {what} key does not match its certificate"
        )));
    }
    let issuer =
        Issuer::of(&k.certificate).map_err(|_| keys_err(&format!("the {what} certificate")))?;
    Ok(CaRow {
        certificate: k.certificate,
        issuer,
        key: k.key,
    })
}
