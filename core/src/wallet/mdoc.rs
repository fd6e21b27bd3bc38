//! The mdocs the wallet holds (docs/adr/0031): per docType, a stock of single-use MSOs, each
//! bound to its own device key, refilled at sync when it runs low (with the citizen's consent,
//! like presentation credentials), kept sealed in the presentation slots under the profile
//! `mso_mdoc:<docType>`, one marked used per presentation or export.

use super::batch::{self, BatchFormat};
use super::{Result, Wallet, WalletError};
use crate::api::{B64, credential_format};
use crate::credential::DocumentKind;
use crate::mdoc::{self, CheckError, IssuerSigned, IssuerVerified, check_issuer_signed};
use crate::present::PresentError;
use eid_crypto::crl::RevocationList;
use eid_crypto::trust::TrustStore;

/// A docType is refilled at sync when fewer unused MSOs than this are left.
pub const MDOC_LOW_WATER: u64 = 3;
/// MSOs asked for per refill.
pub const MDOC_BATCH: usize = 8;
/// Where the IACA certificates of the last trust list are kept (JSON list of base64url DER).
pub(crate) const META_IACA: &str = "wallet.iaca";
/// Where the reader CA certificates of the last trust list are kept (same form).
pub(crate) const META_READER_CA: &str = "wallet.reader_ca";
/// The reader CA's CRL (DER) as last pulled (docs/adr/0053).
pub(crate) const META_READER_CRL: &str = "wallet.reader_crl";

/// A stored certificate list (JSON list of base64url DER) as a trust store.
pub(crate) fn anchors_of(bytes: &[u8], what: &'static str) -> Result<TrustStore> {
    let list: Vec<B64> = serde_json::from_slice(bytes).map_err(|_| WalletError::Corrupt(what))?;
    let mut store = TrustStore::new();
    for der in list {
        store
            .add_der(&der.0)
            .map_err(|_| WalletError::Corrupt(what))?;
    }
    Ok(store)
}

/// The docType of the mdoc each document kind is held as.
pub fn doc_type_of(kind: DocumentKind) -> Option<&'static str> {
    match kind {
        DocumentKind::Identity => Some(mdoc::PHOTO_ID_DOCTYPE),
        DocumentKind::DrivingLicence => Some(mdoc::MDL_DOCTYPE),
        DocumentKind::HealthInsurance => Some(mdoc::BHYT_DOCTYPE),
        DocumentKind::HealthRecord
        | DocumentKind::VehicleRegistration
        | DocumentKind::Vaccination
        | DocumentKind::JudicialRecord
        | DocumentKind::BirthCertificate
        | DocumentKind::MarriageCertificate
        | DocumentKind::SocialInsuranceBook
        | DocumentKind::Residence
        | DocumentKind::TaxInfo
        | DocumentKind::EHealthBook => None,
    }
}

fn slot_profile(doc_type: &str) -> String {
    batch::slot_profile(credential_format::MSO_MDOC, doc_type)
}

/// The mdoc stock's part in the refill at sync.
pub(super) struct Mdocs;

impl BatchFormat for Mdocs {
    const FORMAT: &'static str = credential_format::MSO_MDOC;
    const WHAT: &'static str = "mdoc credentials";
    const LOW_WATER: u64 = MDOC_LOW_WATER;
    const BATCH: usize = MDOC_BATCH;
    fn type_of(kind: DocumentKind) -> Option<&'static str> {
        doc_type_of(kind)
    }
    fn drop_stale(w: &Wallet, ty: &str) -> Result<()> {
        w.drop_stale_mdocs(ty)
    }
    fn unused(w: &Wallet, ty: &str) -> Result<u64> {
        w.mdoc_unused(ty)
    }
    fn alias(ty: &str) -> Result<String> {
        alias_for(ty)
    }
    fn import(w: &Wallet, ty: &str, aliases: &[String], credentials: &[Vec<u8>]) -> Result<usize> {
        w.import_mdocs(ty, aliases, credentials)
    }
}

/// What `mdoc list` shows of one docType.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdocStock {
    pub doc_type: String,
    /// Unused MSOs that verify now.
    pub unused: u64,
    /// The validity of the newest of them (Unix seconds), if any.
    pub valid_from: Option<u64>,
    pub valid_until: Option<u64>,
}

/// An MSO chosen to present: its device key's alias and the IssuerSigned. `Debug` shows neither
/// element values nor the encoded bytes (which hold them).
#[derive(Clone)]
pub struct HeldMdoc {
    pub alias: String,
    pub issuer_signed: IssuerSigned,
    /// The encoded IssuerSigned as the issuer sent it.
    pub bytes: Vec<u8>,
    /// Shown before (the batch was spent): presentations with it can be linked.
    pub reused: bool,
}

impl std::fmt::Debug for HeldMdoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldMdoc")
            .field("alias", &self.alias)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

fn refused(_: impl std::fmt::Display) -> WalletError {
    WalletError::Present(PresentError::Malformed("mdoc does not verify"))
}

fn alias_for(doc_type: &str) -> Result<String> {
    batch::random_alias(&format!("eid.mdoc.{doc_type}"))
}

impl Wallet {
    /// The IACAs of the last trust list: the only anchors of mdoc issuers.
    pub fn iacas(&self) -> Result<TrustStore> {
        self.anchors(META_IACA, "IACA list")
    }

    /// The reader CAs of the last trust list (docs/adr/0040): the only anchors of mdoc readers,
    /// kept apart from the IACAs so neither role can stand in for the other.
    pub fn reader_cas(&self) -> Result<TrustStore> {
        self.anchors(META_READER_CA, "reader CA list")
    }

    /// The revocations of the reader CAs (docs/adr/0053): the CRL pulled at the last sync,
    /// verified against the reader CA that issued it. `None` without reader CAs. With reader
    /// CAs but no CRL that verifies (never pulled, or the list changed), an empty list that is
    /// not current: every reader's revocation is then unknown, so none counts as authenticated.
    pub fn reader_crl(&self) -> Result<Option<RevocationList>> {
        let cas = self.reader_cas()?;
        if cas.is_empty() {
            return Ok(None);
        }
        let Some(der) = self.store.meta_get(META_READER_CRL)? else {
            return Ok(Some(RevocationList::default()));
        };
        Ok(Some(
            cas.certificates()
                .find_map(|ca| eid_crypto::crl::verify_crl(&der, ca).ok())
                .unwrap_or_default(),
        ))
    }

    /// The certificates stored under `meta` (JSON list of base64url DER) as a trust store.
    pub(crate) fn anchors(&self, meta: &str, what: &'static str) -> Result<TrustStore> {
        match self.store.meta_get(meta)? {
            Some(bytes) => anchors_of(&bytes, what),
            None => Ok(TrustStore::new()),
        }
    }

    /// Checks an IssuerSigned of `doc_type` against the IACAs now.
    fn check_mdoc(
        &self,
        bytes: &[u8],
        doc_type: &str,
        iacas: &TrustStore,
    ) -> Result<(IssuerSigned, IssuerVerified)> {
        self.mdoc_verdict(bytes, doc_type, iacas).map_err(refused)
    }

    fn mdoc_verdict(
        &self,
        bytes: &[u8],
        doc_type: &str,
        iacas: &TrustStore,
    ) -> std::result::Result<(IssuerSigned, IssuerVerified), CheckError> {
        let signed = IssuerSigned::parse(bytes)?;
        let verified = check_issuer_signed(&signed, doc_type, iacas, self.now())?;
        Ok((signed, verified))
    }

    /// The status list index of an issued MSO of `doc_type` that verifies now.
    pub(super) fn mdoc_status_index(&self, bytes: &[u8], doc_type: &str) -> Option<u32> {
        let (_, v) = self
            .mdoc_verdict(bytes, doc_type, &self.iacas().ok()?)
            .ok()?;
        u32::try_from(v.mso.status?.idx).ok()
    }

    /// Drops the slots of `doc_type` that are empty (an earlier failed request) or whose MSO
    /// has expired (or its document signer): they will never be shown.
    fn drop_stale_mdocs(&self, doc_type: &str) -> Result<()> {
        let iacas = self.iacas()?;
        let stale: Vec<String> = self
            .store
            .presentation_slots(&slot_profile(doc_type))
            .map_err(WalletError::from_store)?
            .into_iter()
            .filter(|s| match &s.credential {
                None => true,
                Some(bytes) => matches!(
                    self.mdoc_verdict(bytes, doc_type, &iacas),
                    Err(CheckError::Validity | CheckError::CertificateExpired)
                ),
            })
            .map(|s| s.alias)
            .collect();
        self.drop_slots(&stale)
    }

    /// Stores the issuer's MSOs for the keys of `aliases`, in order: each must verify against
    /// the IACAs, be of `doc_type` and bound to its slot's key; otherwise nothing is stored.
    fn import_mdocs(
        &self,
        doc_type: &str,
        aliases: &[String],
        credentials: &[Vec<u8>],
    ) -> Result<usize> {
        if aliases.len() != credentials.len() {
            return Err(WalletError::InvalidInput(
                "one credential per key expected".into(),
            ));
        }
        let iacas = self.iacas()?;
        let mut items = Vec::with_capacity(aliases.len());
        for (alias, bytes) in aliases.iter().zip(credentials) {
            let (_, v) = self.check_mdoc(bytes, doc_type, &iacas)?;
            let key = self
                .keys
                .public_key(alias)?
                .ok_or(WalletError::InvalidInput("unknown mdoc key".into()))?;
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key)
                .map_err(|_| WalletError::Corrupt("mdoc key"))?
                .to_sec1_point(false);
            if key.as_bytes() != v.mso.device_key.public_bytes() {
                return Err(PresentError::Malformed("mdoc for another key").into());
            }
            items.push((alias.clone(), bytes.clone()));
        }
        self.store
            .fill_presentation_slots(&items)
            .map_err(WalletError::from_store)?;
        Ok(items.len())
    }

    /// Unused MSOs of `doc_type` that verify now.
    fn mdoc_unused(&self, doc_type: &str) -> Result<u64> {
        Ok(self.mdoc_stock_of(doc_type)?.unused)
    }

    fn mdoc_stock_of(&self, doc_type: &str) -> Result<MdocStock> {
        let iacas = self.iacas()?;
        let mut stock = MdocStock {
            doc_type: doc_type.to_owned(),
            unused: 0,
            valid_from: None,
            valid_until: None,
        };
        for s in self
            .store
            .presentation_slots(&slot_profile(doc_type))
            .map_err(WalletError::from_store)?
        {
            let (Some(bytes), None) = (s.credential, s.used_at_ms) else {
                continue;
            };
            if let Ok((_, v)) = self.check_mdoc(&bytes, doc_type, &iacas) {
                stock.unused += 1;
                let validity = v.mso.validity;
                if stock.valid_until.is_none_or(|u| validity.valid_until > u) {
                    stock.valid_from = Some(validity.valid_from);
                    stock.valid_until = Some(validity.valid_until);
                }
            }
        }
        Ok(stock)
    }

    /// The mdocs held: one entry per docType with any slot, in [`mdoc::DOCTYPES`] order.
    pub fn mdoc_stock(&self) -> Result<Vec<MdocStock>> {
        let mut out = Vec::new();
        for doc_type in mdoc::DOCTYPES {
            let has_slots = !self
                .store
                .presentation_slots(&slot_profile(doc_type))
                .map_err(WalletError::from_store)?
                .is_empty();
            if has_slots {
                out.push(self.mdoc_stock_of(doc_type)?);
            }
        }
        Ok(out)
    }

    /// The oldest unused MSO of `doc_type` that verifies now, marked used: for one presentation
    /// (or one export: an MSO shown outside is as linkable as a presented one). `None` when no
    /// unused one is left (sync to refill).
    pub fn take_mdoc(&self, doc_type: &str) -> Result<Option<HeldMdoc>> {
        let Some(held) = self.peek_mdoc(doc_type)? else {
            return Ok(None);
        };
        let at = i64::try_from(self.now().saturating_mul(1000)).unwrap_or(i64::MAX);
        self.store
            .mark_presentation_used(&held.alias, at)
            .map_err(WalletError::from_store)?;
        Ok(Some(held))
    }

    /// For an offline presentation: the oldest unused MSO (marked used), else, when the batch is
    /// spent, the one shown last, again and marked `reused`, so the citizen is never stuck
    /// offline, as with QR credentials (docs/adr/0013). `None` when no MSO of `doc_type` that
    /// verifies now is held at all.
    pub fn take_mdoc_or_reuse(&self, doc_type: &str) -> Result<Option<HeldMdoc>> {
        if let Some(held) = self.take_mdoc(doc_type)? {
            return Ok(Some(held));
        }
        let iacas = self.iacas()?;
        let mut last: Option<(i64, HeldMdoc)> = None;
        for s in self
            .store
            .presentation_slots(&slot_profile(doc_type))
            .map_err(WalletError::from_store)?
        {
            let (Some(bytes), Some(used_at)) = (s.credential, s.used_at_ms) else {
                continue;
            };
            if last.as_ref().is_some_and(|(at, _)| *at >= used_at) {
                continue;
            }
            let Ok((issuer_signed, _)) = self.check_mdoc(&bytes, doc_type, &iacas) else {
                continue;
            };
            let held = HeldMdoc {
                alias: s.alias,
                issuer_signed,
                bytes,
                reused: true,
            };
            last = Some((used_at, held));
        }
        Ok(last.map(|(_, held)| held))
    }

    /// The MSO [`Wallet::take_mdoc`] would take next, left unused (to show the citizen what a
    /// request would disclose before consent).
    pub(crate) fn peek_mdoc(&self, doc_type: &str) -> Result<Option<HeldMdoc>> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        let iacas = self.iacas()?;
        for s in self
            .store
            .presentation_slots(&slot_profile(doc_type))
            .map_err(WalletError::from_store)?
        {
            let (Some(bytes), None) = (s.credential, s.used_at_ms) else {
                continue;
            };
            let Ok((issuer_signed, _)) = self.check_mdoc(&bytes, doc_type, &iacas) else {
                continue;
            };
            return Ok(Some(HeldMdoc {
                alias: s.alias,
                issuer_signed,
                bytes,
                reused: false,
            }));
        }
        Ok(None)
    }

    /// Signs `message` with the device key of a held MSO (ES256 r || s, low-S): the device
    /// signature of an mdoc presentation. Only while unlocked.
    pub fn sign_with_mdoc_key(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        Ok(crate::keys::sign_es256_raw(&*self.keys, alias, message)?)
    }

    /// ECDH between the mdoc device key under `alias` and `peer` (SEC1), for a device MAC;
    /// `None` when the key store cannot agree keys with it (hardware signing keys).
    pub fn mdoc_key_agreement(
        &self,
        alias: &str,
        peer: &[u8],
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        Ok(self.keys.key_agreement(alias, peer)?)
    }
}
