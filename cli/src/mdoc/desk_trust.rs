//! What an mdoc desk (`eid mdoc read`) trusts: the IACAs its answers must chain to and the
//! CSCAs for disclosed DTC data. From a file (`--trust`, `--csca`), from the backend's trust
//! list (`--backend`), or, in a development desk only (`--dev`), the public fixture ones. A desk
//! never trusts the fixture keys unless told: anyone can sign with them (docs/adr/0077).

use crate::context::{block_on, client};
use crate::mdoc::desk_cache::MdocDeskCache;
use anyhow::{Context as _, Result, bail};
use eid_crypto::trust::TrustStore;
use eid_fixtures::mdoc::MdocFixtures;
use std::path::Path;

/// Where the desk's anchors may come from (`eid mdoc read`'s options).
pub struct Sources<'a> {
    pub trust: Option<&'a Path>,
    pub backend: Option<&'a str>,
    /// What the desk kept from an earlier fetch (`--cache`): the backend's trust list is stored
    /// there, and used when the backend does not answer.
    pub cache: Option<&'a MdocDeskCache>,
    pub csca: Option<&'a Path>,
    pub dev: bool,
}

/// The desk's anchors.
pub struct DeskTrust {
    pub iacas: TrustStore,
    /// None: disclosed DTC data is hashed and its SOD signature checked, its chain not.
    pub cscas: Option<TrustStore>,
    /// The public fixture IACA (a development desk given neither `--trust` nor `--backend`):
    /// the fixture MSOs' own status list stands in for the fetched one.
    pub fixture: bool,
}

impl DeskTrust {
    pub fn load(s: &Sources<'_>, f: &MdocFixtures) -> Result<DeskTrust> {
        let cscas = s.csca.map(|p| pem_file(p, "CSCA")).transpose()?;
        if let Some(path) = s.trust {
            return Ok(DeskTrust {
                iacas: pem_file(path, "IACA")?,
                cscas,
                fixture: false,
            });
        }
        if let Some(url) = s.backend {
            let list = match (block_on(client(url)?.trust_list())?, s.cache) {
                (Ok(list), cache) => {
                    if let Some(c) = cache {
                        c.store_trust(&list)?;
                    }
                    list
                }
                (Err(e), Some(c)) => match c.load_trust()? {
                    Some((list, age)) => {
                        eprintln!(
                            "the backend did not answer ({e}): the trust list this desk kept, \
                             fetched {age} s ago"
                        );
                        list
                    }
                    None => {
                        return Err(e).with_context(|| {
                            format!("the trust list of {url} (and none kept in --cache)")
                        });
                    }
                },
                (Err(e), None) => {
                    return Err(e).with_context(|| format!("the trust list of {url}"));
                }
            };
            let anchors = |ders: &[eid_core::api::B64], what: &str| -> Result<TrustStore> {
                let mut t = TrustStore::new();
                for der in ders {
                    t.add_der(&der.0)
                        .with_context(|| format!("a {what} in the trust list of {url}"))?;
                }
                Ok(t)
            };
            let iacas = anchors(&list.iaca, "IACA")?;
            if iacas.is_empty() {
                bail!("the trust list of {url} names no IACA");
            }
            let cscas = match cscas {
                Some(given) => Some(given),
                None => Some(anchors(&list.csca, "CSCA")?),
            };
            return Ok(DeskTrust {
                iacas,
                cscas,
                fixture: false,
            });
        }
        if !s.dev {
            bail!(
                "no IACA to trust: give --trust FILE (the issuers' IACA certificates, PEM) or \
                 --backend URL (its trust list); --dev trusts the public fixture IACA, for tests \
                 only"
            );
        }
        let cscas = match cscas {
            Some(given) => given,
            None => {
                let mut t = TrustStore::new();
                t.add_pem(&eid_fixtures::pki::TestPki::new()?.csca.pem()?)?;
                t
            }
        };
        Ok(DeskTrust {
            iacas: f.iacas()?,
            cscas: Some(cscas),
            fixture: true,
        })
    }
}

/// The certificates of a PEM file; none is an error naming `what` was expected.
fn pem_file(path: &Path, what: &str) -> Result<TrustStore> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut t = TrustStore::new();
    if t.add_pem(&pem)? == 0 {
        bail!("no {what} certificate in {}", path.display());
    }
    Ok(t)
}
