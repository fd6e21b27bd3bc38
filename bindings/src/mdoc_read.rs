//! The verifier's side of ISO 18013-5: reads a holder over the app's NFC link (`mdoc_read_nfc`,
//! the phone or desk reader as PCD) or over BLE after scanning its QR (`MdocBleReader`), and
//! checks the answer against the IACAs given: a verdict {valid, doctype, elements, reasons,
//! reader_authenticated}, as `eid mdoc read --json` prints it. The sessions and checks are
//! eid-core's (`ReaderSession`, `BleReader`, `read_mdoc`, `MdocVerdict`).

use crate::chip::{ApduTransport, ForeignLink, PassiveAuthStatus};
use crate::error::{EidError, ble_failure};
use crate::keys::{ForeignKeyStore, KeyStore};
use crate::mdoc_link::{
    Deferred, MdocBleMode, MdocCharacteristic, MdocGattLink, MdocRequestedElement, Outbox,
    uuid_text,
};
use crate::mdoc_status::{MdocStatusLists, checked};
use crate::run::on_runtime_blocking;
use eid_core::mdoc::transport::ble::{BleEndpoint, BleMode, BleRole, ble_ident, ble_options};
use eid_core::mdoc::transport::ble_session::BleReader;
use eid_core::mdoc::transport::nfc::read_mdoc;
use eid_core::mdoc::{
    self as core, DeviceEngagement, ItemsRequest, ReaderError, ReaderOutcome, ReaderSession,
    ReaderSigner, Tagged24,
};
use eid_crypto::trust::TrustStore;
use std::sync::{Arc, Mutex};

pub(crate) fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What to ask the holder for: one docType and its elements.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MdocReadRequest {
    pub doc_type: String,
    pub elements: Vec<MdocRequestedElement>,
}

/// One disclosed element; `value_json` is its CBOR value as JSON (byte strings base64, dates
/// as text). Personal data: never log it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct MdocElement {
    pub namespace: String,
    pub identifier: String,
    pub value_json: String,
}

/// The reader's verdict. `elements` is empty unless `valid`; `reasons` lists every failure.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct MdocVerdict {
    pub valid: bool,
    pub doc_type: String,
    pub elements: Vec<MdocElement>,
    pub reasons: Vec<String>,
    /// The request was signed with the desk's reader certificate (`MdocReaderAuth`).
    pub reader_authenticated: bool,
    /// ICAO passive authentication of disclosed DTC data (`org.iso.23220.dtc.1` SOD and data
    /// groups); null when none was disclosed. `Invalid` also makes the verdict not valid.
    pub dtc_passive_authentication: Option<PassiveAuthStatus>,
    /// Elements asked for that the holder did not return (its mdoc does not hold them): a
    /// valid verdict can be a shorter answer than the request. Empty unless `valid`.
    pub not_returned: Vec<MdocElementName>,
}

/// An element named without its value.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MdocElementName {
    pub namespace: String,
    pub identifier: String,
}

impl std::fmt::Debug for MdocVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdocVerdict")
            .field("valid", &self.valid)
            .field("reasons", &self.reasons)
            .finish_non_exhaustive()
    }
}

impl From<core::MdocVerdict> for MdocVerdict {
    fn from(v: core::MdocVerdict) -> Self {
        MdocVerdict {
            valid: v.valid,
            doc_type: v.doc_type,
            elements: v
                .elements
                .into_iter()
                .map(|e| MdocElement {
                    namespace: e.namespace,
                    identifier: e.identifier,
                    value_json: e.value.to_string(),
                })
                .collect(),
            reasons: v.reasons,
            reader_authenticated: v.reader_authenticated,
            dtc_passive_authentication: None,
            not_returned: v
                .not_returned
                .into_iter()
                .map(|e| MdocElementName {
                    namespace: e.namespace,
                    identifier: e.identifier,
                })
                .collect(),
        }
    }
}

/// The CSCAs (DER) a desk checks DTC data against.
fn cscas(der: Option<&[Vec<u8>]>) -> Result<Option<TrustStore>, EidError> {
    let Some(der) = der else {
        return Ok(None);
    };
    let mut t = TrustStore::new();
    for c in der {
        t.add_der(c).map_err(|e| EidError::InvalidInput {
            reason: format!("CSCA certificate: {e}"),
        })?;
    }
    Ok(Some(t))
}

/// The verdict on `outcome` after the status lists and the DTC's passive authentication.
pub(crate) fn checked_verdict(
    outcome: ReaderOutcome,
    checks: &ReaderChecks,
    asked: &ItemsRequest,
    signed: bool,
    now: u64,
) -> MdocVerdict {
    let outcome = checked(checks.status.as_deref(), outcome, &checks.iacas, now);
    let dtc = core::dtc_of(&outcome, checks.cscas.as_ref()).map(|pa| pa.status);
    let outcome = core::check_dtc(outcome, checks.cscas.as_ref());
    let mut v: MdocVerdict =
        core::MdocVerdict::from_outcome(outcome, std::slice::from_ref(asked), signed).into();
    v.dtc_passive_authentication = dtc;
    v
}

/// What a reading checks the holder's answer against.
pub(crate) struct ReaderChecks {
    pub(crate) iacas: TrustStore,
    status: Option<Arc<MdocStatusLists>>,
    cscas: Option<TrustStore>,
}

impl ReaderChecks {
    /// The IACAs (DER, at least one), the status lists and the CSCAs (DER) a reading is given.
    pub(crate) fn new(
        iacas: &[Vec<u8>],
        status: Option<Arc<MdocStatusLists>>,
        cscas: Option<&[Vec<u8>]>,
    ) -> Result<ReaderChecks, EidError> {
        Ok(ReaderChecks {
            iacas: trust(iacas)?,
            status,
            cscas: self::cscas(cscas)?,
        })
    }
}

/// Runs `f` with the signer of `auth`'s requests (none: unsigned requests).
pub(crate) fn with_signer<T>(
    auth: Option<&MdocReaderAuth>,
    f: impl FnOnce(Option<ReaderSigner<'_>>) -> T,
) -> T {
    let Some(a) = auth else {
        return f(None);
    };
    let mut sign = |tbs: &[u8]| a.sign(tbs);
    f(Some(ReaderSigner {
        certificate: &a.certificate,
        sign: &mut sign,
    }))
}

fn trust(iacas: &[Vec<u8>]) -> Result<TrustStore, EidError> {
    let mut t = TrustStore::new();
    for der in iacas {
        t.add_der(der).map_err(|e| EidError::InvalidInput {
            reason: format!("IACA certificate: {e}"),
        })?;
    }
    if t.is_empty() {
        return Err(EidError::InvalidInput {
            reason: "no IACA certificate given".into(),
        });
    }
    Ok(t)
}

/// The desk's reader certificate (DER, issued under a reader CA the wallets trust) and its key in
/// the desk's key store: requests are then signed (readerAuth, 18013-5 §9.1.4) and holders can
/// show who asks.
#[derive(uniffi::Object)]
pub struct MdocReaderAuth {
    certificate: Vec<u8>,
    keys: ForeignKeyStore,
    alias: String,
}

impl std::fmt::Debug for MdocReaderAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdocReaderAuth").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl MdocReaderAuth {
    #[uniffi::constructor]
    pub fn new(certificate: Vec<u8>, key_store: Arc<dyn KeyStore>, alias: String) -> Arc<Self> {
        Arc::new(MdocReaderAuth {
            certificate,
            keys: ForeignKeyStore(key_store),
            alias,
        })
    }
}

impl MdocReaderAuth {
    /// ES256 r || s with the desk's reader key.
    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, ReaderError> {
        eid_core::keys::sign_es256_raw(&self.keys, &self.alias, tbs)
            .map_err(|_| ReaderError::Signing)
    }
}

pub(crate) fn items(r: &MdocReadRequest) -> ItemsRequest {
    ItemsRequest::new(&r.doc_type, r.elements.clone())
}

/// Reads an mdoc holder over NFC (static handover, ENVELOPE/GET RESPONSE) and checks its
/// answer against `iacas` (DER), each MSO's status against `status` when given, and disclosed
/// DTC data against `cscas` (DER; none: all but the chain). A holder that declines gives a
/// verdict that is not valid; a link that fails mid-way fails with `Mdoc`.
#[uniffi::export(default(status = None, cscas = None))]
pub async fn mdoc_read_nfc(
    transport: Arc<dyn ApduTransport>,
    request: MdocReadRequest,
    iacas: Vec<Vec<u8>>,
    reader_auth: Option<Arc<MdocReaderAuth>>,
    status: Option<Arc<MdocStatusLists>>,
    cscas: Option<Vec<Vec<u8>>>,
) -> Result<MdocVerdict, EidError> {
    on_runtime_blocking("mdoc_read_nfc", move || {
        let checks = ReaderChecks::new(&iacas, status, cscas.as_deref())?;
        let mut link = ForeignLink(transport);
        let signed = reader_auth.is_some();
        let now = now_s();
        let read = with_signer(reader_auth.as_deref(), |signer| {
            read_mdoc(
                &mut link,
                &mut eid_crypto::OsRng,
                &[items(&request)],
                signer,
                &checks.iacas,
                now,
            )
        })
        .map_err(|e| EidError::Mdoc {
            reason: e.to_string(),
        })?;
        Ok(checked_verdict(
            read.outcome,
            &checks,
            &items(&request),
            signed,
            now,
        ))
    })
    .await
}

struct ReaderState {
    session: ReaderSession,
    establishment: Vec<u8>,
    ble: Option<BleReader>,
    link: Option<Arc<dyn MdocGattLink>>,
    verdict: Option<MdocVerdict>,
}

/// A reading over BLE of a holder whose QR was scanned. Connect in a mode the engagement
/// offers (`peripheral_server_uuid`: scan and connect to the holder's server;
/// `central_client_uuid`: run a server with that service and the `ident()` value on Ident),
/// then push what arrives into `on_value` / `on_disconnected`.
#[derive(uniffi::Object)]
pub struct MdocBleReader {
    signed: bool,
    asked: ItemsRequest,
    key_bytes: Tagged24,
    peripheral: Option<[u8; 16]>,
    central: Option<[u8; 16]>,
    checks: ReaderChecks,
    outbox: Outbox,
    state: Mutex<ReaderState>,
}

impl std::fmt::Debug for MdocBleReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdocBleReader").finish_non_exhaustive()
    }
}

fn locked(m: &Mutex<ReaderState>) -> Result<std::sync::MutexGuard<'_, ReaderState>, EidError> {
    m.lock().map_err(|_| EidError::Internal {
        reason: "a previous call panicked".into(),
    })
}

impl MdocBleReader {
    /// A reading by `session` (engaged, with the transcript's handover) over BLE in the modes
    /// `offered` (peripheral server UUID, central client UUID).
    pub(crate) fn engaged(
        mut session: ReaderSession,
        offered: (Option<[u8; 16]>, Option<[u8; 16]>),
        request: MdocReadRequest,
        checks: ReaderChecks,
        reader_auth: Option<Arc<MdocReaderAuth>>,
    ) -> Result<Arc<Self>, EidError> {
        let (peripheral, central) = offered;
        let key_bytes = session.engagement().e_device_key_bytes.clone();
        let signed = reader_auth.is_some();
        let asked = items(&request);
        let establishment = with_signer(reader_auth.as_deref(), |signer| {
            session.establish(std::slice::from_ref(&asked), signer)
        })
        .map_err(|e| EidError::Mdoc {
            reason: e.to_string(),
        })?;
        Ok(Arc::new(MdocBleReader {
            signed,
            asked,
            key_bytes,
            peripheral,
            central,
            checks,
            outbox: Outbox::default(),
            state: Mutex::new(ReaderState {
                session,
                establishment,
                ble: None,
                link: None,
                verdict: None,
            }),
        }))
    }
}

#[uniffi::export]
impl MdocBleReader {
    /// From the scanned `mdoc:` URI, the request, the IACAs (DER) to check against, the
    /// status lists to check each MSO's status with (none: revocation is not checked) and the
    /// CSCAs (DER) for disclosed DTC data (none: all but the chain).
    #[uniffi::constructor(default(status = None, cscas = None))]
    pub fn new(
        engagement_uri: String,
        request: MdocReadRequest,
        iacas: Vec<Vec<u8>>,
        reader_auth: Option<Arc<MdocReaderAuth>>,
        status: Option<Arc<MdocStatusLists>>,
        cscas: Option<Vec<Vec<u8>>>,
    ) -> Result<Arc<Self>, EidError> {
        let checks = ReaderChecks::new(&iacas, status, cscas.as_deref())?;
        let engagement = DeviceEngagement::from_uri(engagement_uri.trim()).map_err(|e| {
            EidError::InvalidInput {
                reason: format!("engagement: {e}"),
            }
        })?;
        let Some(offered) = ble_options(&engagement.retrieval_methods) else {
            return Err(EidError::InvalidInput {
                reason: "the engagement offers no BLE".into(),
            });
        };
        // QR handover: null (§9.1.5.1).
        let session =
            ReaderSession::qr(&mut eid_crypto::OsRng, engagement).map_err(|_| EidError::Crypto)?;
        MdocBleReader::engaged(session, offered, request, checks, reader_auth)
    }

    /// The holder's service UUID in peripheral server mode (null: not offered).
    pub fn peripheral_server_uuid(&self) -> Option<String> {
        self.peripheral.as_ref().map(uuid_text)
    }

    /// The service UUID our server offers in central client mode (null: not offered).
    pub fn central_client_uuid(&self) -> Option<String> {
        self.central.as_ref().map(uuid_text)
    }

    /// The value of our Ident characteristic in central client mode (16 bytes).
    pub fn ident(&self) -> Vec<u8> {
        ble_ident(&self.key_bytes).to_vec()
    }

    /// We connected to the holder's server (peripheral server mode: State start and the
    /// request go out), or the holder connected to ours (central client mode: we wait for its
    /// State start).
    pub fn connected(
        &self,
        link: Arc<dyn MdocGattLink>,
        mode: MdocBleMode,
    ) -> Result<(), EidError> {
        let offered = match mode {
            BleMode::PeripheralServer => self.peripheral.is_some(),
            BleMode::CentralClient => self.central.is_some(),
        };
        let mut s = locked(&self.state)?;
        if !offered || s.ble.is_some() {
            return Err(EidError::InvalidInput {
                reason: "mode not offered, or already connected".into(),
            });
        }
        let endpoint = BleEndpoint::new(mode, BleRole::Reader, &self.key_bytes);
        let mut ble = BleReader::new(endpoint, std::mem::take(&mut s.establishment));
        let mut d = Deferred::new(&link);
        let r = ble.connected(&mut d);
        d.into_outbox(&self.outbox);
        s.ble = Some(ble);
        s.link = Some(link.clone());
        drop(s);
        self.outbox.flush(&*link);
        r.map_err(ble_failure)
    }

    /// A value arrived from the holder; the verdict once its answer is checked.
    pub fn on_value(
        &self,
        characteristic: MdocCharacteristic,
        value: Vec<u8>,
    ) -> Result<Option<MdocVerdict>, EidError> {
        let mut s = locked(&self.state)?;
        let ReaderState {
            session,
            ble,
            link,
            verdict,
            ..
        } = &mut *s;
        let (Some(ble), Some(link)) = (ble.as_mut(), link.clone()) else {
            return Err(EidError::InvalidInput {
                reason: "not connected".into(),
            });
        };
        let mut d = Deferred::new(&link);
        let now = now_s();
        let r = ble.on_value(
            &mut d,
            session,
            &self.checks.iacas,
            now,
            characteristic,
            &value,
        );
        d.into_outbox(&self.outbox);
        let out = match r {
            Ok(Some(outcome)) => {
                let v = checked_verdict(outcome, &self.checks, &self.asked, self.signed, now);
                *verdict = Some(v.clone());
                Ok(Some(v))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(ble_failure(e)),
        };
        drop(s);
        self.outbox.flush(&*link);
        out
    }

    /// The link dropped: before the answer, a verdict that is not valid.
    pub fn on_disconnected(&self) -> Option<MdocVerdict> {
        let mut s = locked(&self.state).ok()?;
        if s.verdict.is_none() {
            let why = match s.ble.as_mut() {
                Some(b) if !b.is_done() => b.on_disconnected().to_string(),
                _ => "the link dropped before the holder answered".to_owned(),
            };
            s.verdict = Some(
                core::MdocVerdict::failed(std::slice::from_ref(&self.asked), self.signed, why)
                    .into(),
            );
        }
        s.verdict.clone()
    }

    /// The verdict, once there is one.
    pub fn verdict(&self) -> Option<MdocVerdict> {
        locked(&self.state).ok()?.verdict.clone()
    }
}
