//! ISO 18013-5 presentations from the wallet: engagement by QR (`mdoc:` URI, then BLE in either
//! mode over the app's `MdocGattLink`) or by NFC (the phone as a card: `process_apdu` from an
//! HCE service), whose handover may name BLE too (then `ble()` carries the session over GATT).
//! The sessions, the wallet's single-use MSOs and the transaction log are eid-core's
//! (`HolderSession`, `BleHolder`, `NfcHolder`, `WalletMdocs`); here only locks, callbacks and
//! types.

use crate::error::{EidError, ble_failure};
use crate::log::{LogLevel, log};
use crate::mdoc_link::{
    Deferred, MdocBleMode, MdocCharacteristic, MdocConsent, MdocGattLink, Outbox, uuid_text,
};
use crate::wallet::WalletHandle;
use eid_core::mdoc::transport::ble::{BleMode, Uuid, random_service_uuid, retrieval_method};
use eid_core::mdoc::transport::ble_session::{BleHolder, HolderOutcome, HolderParty};
use eid_core::mdoc::transport::carrier::{BleCarrier, Carrier};
use eid_core::mdoc::transport::nfc::{HOLDER_LIMITS, NfcHolder};
use eid_core::mdoc::{
    Decision, HolderPolicy, HolderSession, PresentationRequest, SessionEnd, ephemeral_key,
};
use eid_core::wallet::{Wallet, WalletMdocs};
use std::sync::{Arc, Mutex, MutexGuard};

type Mdocs = WalletMdocs<Arc<Wallet>>;

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Which BLE modes the QR engagement offers (at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct MdocBleOptions {
    pub peripheral_server: bool,
    pub central_client: bool,
}

/// Where a presentation stands.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum MdocPresentationState {
    /// Engaged; no request answered yet.
    Waiting,
    /// The citizen accepted: the response went to the reader.
    Shared,
    /// The citizen declined: the reader got a session termination, no data.
    Declined,
    /// The session ended before a request was answered (reader left, refused, or bad message).
    Ended { reason: String },
}

fn state_of(outcome: &HolderOutcome) -> MdocPresentationState {
    match (outcome.decision, outcome.end) {
        (Some(Decision::Accept), _) => MdocPresentationState::Shared,
        (Some(Decision::Decline), _) => MdocPresentationState::Declined,
        (None, Some(SessionEnd::ReaderRefused(why))) => MdocPresentationState::Ended {
            reason: format!("reader refused: {why}"),
        },
        (None, Some(end)) => MdocPresentationState::Ended {
            reason: format!("{end:?}"),
        },
        (None, None) => MdocPresentationState::Ended {
            reason: "the reader ended the session".into(),
        },
    }
}

/// Records an answered request in the transaction log, once.
fn record(
    mdocs: &Mdocs,
    recorded: &mut bool,
    request: Option<&PresentationRequest>,
    decision: Option<Decision>,
) {
    if *recorded {
        return;
    }
    if let (Some(r), Some(d)) = (request, decision) {
        *recorded = true;
        if let Err(e) = mdocs.record(r, d) {
            log(LogLevel::Warn, || {
                format!("mdoc presentation: not recorded: {e}")
            });
        }
    }
}

fn consent_fn(
    consent: Arc<dyn MdocConsent>,
) -> impl FnMut(&PresentationRequest) -> Decision + Send {
    move |r: &PresentationRequest| consent.decide(r.clone())
}

fn locked<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, EidError> {
    m.lock().map_err(|_| EidError::Internal {
        reason: "a previous call panicked".into(),
    })
}

#[uniffi::export]
impl WalletHandle {
    /// Starts a presentation engaged by QR: show `qr_uri()`, advertise (peripheral server mode)
    /// or scan for (central client mode) the service UUIDs it names, then hand the link to
    /// `connected`. The wallet must be unlocked (the passcode or biometric of the screen).
    pub fn mdoc_present_qr(
        &self,
        ble: MdocBleOptions,
        consent: Arc<dyn MdocConsent>,
    ) -> Result<Arc<MdocBlePresentation>, EidError> {
        if !self.wallet.is_unlocked() {
            return Err(EidError::NotUnlocked);
        }
        if !ble.peripheral_server && !ble.central_client {
            return Err(EidError::InvalidInput {
                reason: "offer at least one BLE mode".into(),
            });
        }
        let peripheral = ble.peripheral_server.then(random_service_uuid);
        let central = ble.central_client.then(random_service_uuid);
        let (key, _) = ephemeral_key(&mut eid_crypto::OsRng).map_err(|_| EidError::Crypto)?;
        let session = HolderSession::qr(key, vec![retrieval_method(peripheral, central)])
            .map_err(|_| EidError::Crypto)?;
        let mdocs = WalletMdocs::new(self.wallet.clone());
        // Readers authenticate under the reader CAs of the synced trust list (docs/adr/0040).
        let policy = mdocs.policy(now_s(), false, false)?;
        let uri = session.qr_uri();
        let engaged = Engaged::Qr(Box::new(QrEngaged {
            session,
            policy,
            source: mdocs,
            consent: Box::new(consent_fn(consent)),
            offered: (peripheral, central),
        }));
        Ok(Arc::new(MdocBlePresentation::new(
            uri,
            engaged,
            WalletMdocs::new(self.wallet.clone()),
        )))
    }

    /// Starts a presentation engaged by NFC: the phone is a Type 4 Tag with the handover and
    /// the mdoc application; feed every command APDU of the HCE service to `process_apdu`.
    /// `ble`: the handover names BLE in these modes (one fresh service UUID) before NFC, so a
    /// reader may retrieve over BLE instead: serve it through `ble()`. `negotiated`: the tag
    /// offers negotiated handover (the reader writes its Handover Request, and the handover
    /// names the first of BLE and NFC that the reader offers too) instead of the static one.
    #[uniffi::method(default(ble = None, negotiated = false))]
    pub fn mdoc_present_nfc(
        &self,
        consent: Arc<dyn MdocConsent>,
        ble: Option<MdocBleOptions>,
        negotiated: bool,
    ) -> Result<Arc<MdocNfcPresentation>, EidError> {
        if !self.wallet.is_unlocked() {
            return Err(EidError::NotUnlocked);
        }
        let mut carriers = Vec::new();
        if let Some(b) = ble {
            if !b.peripheral_server && !b.central_client {
                return Err(EidError::InvalidInput {
                    reason: "offer at least one BLE mode".into(),
                });
            }
            carriers.push(Carrier::Ble(BleCarrier {
                peripheral_server: b.peripheral_server,
                central_client: b.central_client,
                uuid: Some(random_service_uuid()),
            }));
        }
        carriers.push(Carrier::Nfc(HOLDER_LIMITS));
        let (key, _) = ephemeral_key(&mut eid_crypto::OsRng).map_err(|_| EidError::Crypto)?;
        let mdocs = WalletMdocs::new(self.wallet.clone());
        let policy = mdocs.policy(now_s(), false, false)?;
        let holder = NfcHolder::new(key, policy, mdocs, consent_fn(consent))
            .map_err(|_| EidError::Crypto)?;
        let holder = if negotiated {
            holder.negotiated()
        } else {
            holder
        };
        let holder = holder.offering(&carriers).map_err(|e| EidError::Internal {
            reason: e.to_string(),
        })?;
        Ok(Arc::new(MdocNfcPresentation {
            ble: Arc::new(MdocBlePresentation::new(
                String::new(),
                Engaged::Nfc(Box::new(holder)),
                WalletMdocs::new(self.wallet.clone()),
            )),
        }))
    }
}

/// Where the session lives: engaged by QR (here), or by NFC (in the HCE card, which may hand
/// the reader over to BLE).
enum Engaged {
    Qr(Box<QrEngaged>),
    Nfc(Box<NfcHolder<'static>>),
}

struct QrEngaged {
    session: HolderSession,
    policy: HolderPolicy<'static>,
    source: Mdocs,
    consent: Box<dyn FnMut(&PresentationRequest) -> Decision + Send>,
    /// (peripheral server UUID, central client UUID) the QR code names.
    offered: (Option<Uuid>, Option<Uuid>),
}

impl Engaged {
    fn party(&mut self) -> HolderParty<'_, 'static> {
        match self {
            Engaged::Qr(qr) => HolderParty {
                session: &mut qr.session,
                policy: &qr.policy,
                source: &mut qr.source,
                consent: qr.consent.as_mut(),
            },
            Engaged::Nfc(holder) => holder.party(),
        }
    }

    fn session(&mut self) -> &mut HolderSession {
        self.party().session
    }

    /// The BLE modes a reader may connect by and their UUIDs (after a negotiated handover, the
    /// one chosen; none before).
    fn offered(&self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            Engaged::Qr(qr) => qr.offered,
            Engaged::Nfc(holder) => holder
                .ble_carrier()
                .and_then(|b| b.options())
                .unwrap_or((None, None)),
        }
    }
}

struct BleState {
    engaged: Engaged,
    /// The same wallet, for the transaction log.
    log: Mdocs,
    ble: Option<BleHolder>,
    link: Option<Arc<dyn MdocGattLink>>,
    recorded: bool,
    state: MdocPresentationState,
}

impl BleState {
    fn finished(&mut self, outcome: &HolderOutcome) {
        self.state = state_of(outcome);
        record(
            &self.log,
            &mut self.recorded,
            outcome.request.as_ref(),
            outcome.decision,
        );
    }

    /// After an APDU: the state of an NFC-engaged session whose data went over NFC.
    fn nfc_state(&mut self) -> MdocPresentationState {
        if self.ble.is_some() {
            return self.state.clone();
        }
        let Engaged::Nfc(holder) = &self.engaged else {
            return self.state.clone();
        };
        let finished = holder.session().is_finished();
        if finished {
            record(
                &self.log,
                &mut self.recorded,
                holder.last_request.as_ref(),
                holder.last_decision,
            );
        }
        self.state = match (holder.last_decision, finished) {
            (Some(Decision::Accept), _) => MdocPresentationState::Shared,
            (Some(Decision::Decline), _) => MdocPresentationState::Declined,
            (None, false) => MdocPresentationState::Waiting,
            (None, true) => MdocPresentationState::Ended {
                reason: "the session ended before a request was answered".into(),
            },
        };
        self.state.clone()
    }
}

/// A presentation carried over BLE, engaged by QR (or by NFC: `MdocNfcPresentation.ble()`).
/// The app's GATT callbacks push what arrives into `on_value` / `on_disconnected`; what the
/// session sends goes out through the link.
#[derive(uniffi::Object)]
pub struct MdocBlePresentation {
    uri: String,
    outbox: Outbox,
    state: Mutex<BleState>,
}

impl std::fmt::Debug for MdocBlePresentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdocBlePresentation")
            .finish_non_exhaustive()
    }
}

impl MdocBlePresentation {
    fn new(uri: String, engaged: Engaged, log: Mdocs) -> MdocBlePresentation {
        MdocBlePresentation {
            uri,
            outbox: Outbox::default(),
            state: Mutex::new(BleState {
                engaged,
                log,
                ble: None,
                link: None,
                recorded: false,
                state: MdocPresentationState::Waiting,
            }),
        }
    }

    fn offered(&self) -> (Option<Uuid>, Option<Uuid>) {
        locked(&self.state).map_or((None, None), |s| s.engaged.offered())
    }

    /// Runs `f` on the session under the lock, then delivers its sends without the lock.
    fn with_link<T>(
        &self,
        f: impl FnOnce(&mut BleState, &mut Deferred<'_>) -> T,
    ) -> Result<T, EidError> {
        let mut s = locked(&self.state)?;
        let Some(link) = s.link.clone() else {
            return Err(EidError::InvalidInput {
                reason: "not connected".into(),
            });
        };
        let mut d = Deferred::new(&link);
        let r = f(&mut s, &mut d);
        d.into_outbox(&self.outbox);
        drop(s);
        self.outbox.flush(&*link);
        Ok(r)
    }
}

#[uniffi::export]
impl MdocBlePresentation {
    /// The QR code's text (`mdoc:` + base64url DeviceEngagement); empty when engaged by NFC.
    pub fn qr_uri(&self) -> String {
        self.uri.clone()
    }

    /// The service UUID to advertise in peripheral server mode (null if not offered; engaged
    /// by negotiated handover, null until the handover chose it).
    pub fn peripheral_server_uuid(&self) -> Option<String> {
        self.offered().0.as_ref().map(uuid_text)
    }

    /// The reader's service UUID to scan for in central client mode (null if not offered, or
    /// not yet chosen).
    pub fn central_client_uuid(&self) -> Option<String> {
        self.offered().1.as_ref().map(uuid_text)
    }

    /// A reader connected to our server (peripheral server mode), or we connected to the
    /// reader's server and discovered its characteristics (central client mode: the reader's
    /// Ident is read and checked, then State start is written). Call off the GATT callback
    /// thread in central client mode (`read` blocks).
    pub fn connected(
        &self,
        link: Arc<dyn MdocGattLink>,
        mode: MdocBleMode,
    ) -> Result<(), EidError> {
        {
            let mut s = locked(&self.state)?;
            let offered = match (mode, s.engaged.offered()) {
                (BleMode::PeripheralServer, (p, _)) => p.is_some(),
                (BleMode::CentralClient, (_, c)) => c.is_some(),
            };
            // A reader that came by BLE after its first message went over NFC is refused.
            if !offered || s.ble.is_some() || !s.engaged.session().awaiting_reader() {
                return Err(EidError::InvalidInput {
                    reason: "mode not offered, or already connected".into(),
                });
            }
            let ble = BleHolder::new(mode, s.engaged.session());
            s.ble = Some(ble);
            s.link = Some(link);
        }
        self.with_link(|s, d| match s.ble.as_mut().map(|b| b.connected(d)) {
            Some(Err(e)) => {
                s.state = MdocPresentationState::Ended {
                    reason: e.to_string(),
                };
                Err(ble_failure(e))
            }
            _ => Ok(()),
        })?
    }

    /// A value arrived on `characteristic` (a write by the reader to our server, or a
    /// notification from the reader's server). The consent is asked here when the request is
    /// complete.
    pub fn on_value(
        &self,
        characteristic: MdocCharacteristic,
        value: Vec<u8>,
    ) -> Result<MdocPresentationState, EidError> {
        self.with_link(|s, d| {
            let BleState { engaged, ble, .. } = s;
            let Some(ble) = ble.as_mut() else {
                return Err(EidError::InvalidInput {
                    reason: "not connected".into(),
                });
            };
            match ble.on_value(d, engaged.party(), characteristic, &value) {
                Ok(Some(outcome)) => {
                    s.finished(&outcome);
                    Ok(s.state.clone())
                }
                Ok(None) => Ok(s.state.clone()),
                Err(e) => {
                    let outcome = ble.outcome().clone();
                    s.finished(&outcome);
                    Err(ble_failure(e))
                }
            }
        })?
    }

    /// The link dropped.
    pub fn on_disconnected(&self) -> MdocPresentationState {
        let Ok(mut s) = locked(&self.state) else {
            return MdocPresentationState::Ended {
                reason: "internal".into(),
            };
        };
        let BleState { engaged, ble, .. } = &mut *s;
        if let Some(b) = ble.as_mut().filter(|b| !b.is_done()) {
            let r = b.on_disconnected(engaged.session());
            let outcome = b.outcome().clone();
            s.finished(&outcome);
            if let Err(e) = r {
                s.state = MdocPresentationState::Ended {
                    reason: e.to_string(),
                };
            }
        } else if s.ble.is_none() && matches!(s.engaged, Engaged::Qr(_)) {
            s.engaged.session().transport_ended();
            s.state = MdocPresentationState::Ended {
                reason: "no reader connected".into(),
            };
        }
        s.state.clone()
    }

    /// The citizen closed the screen: State end to the reader, link dropped.
    pub fn cancel(&self) {
        let connected = self.with_link(|s, d| {
            let BleState { engaged, ble, .. } = s;
            if let Some(b) = ble.as_mut().filter(|b| !b.is_done()) {
                b.cancel(d, engaged.session());
            }
        });
        if let Ok(mut s) = locked(&self.state) {
            if connected.is_err() {
                s.engaged.session().transport_ended();
            }
            if s.state == MdocPresentationState::Waiting {
                s.state = MdocPresentationState::Ended {
                    reason: "cancelled".into(),
                };
            }
        }
    }

    pub fn state(&self) -> MdocPresentationState {
        locked(&self.state).map_or(
            MdocPresentationState::Ended {
                reason: "internal".into(),
            },
            |s| s.state.clone(),
        )
    }
}

/// Why the HCE link went away (Android `HostApduService.onDeactivated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MdocNfcDeactivation {
    /// The reader's field was lost (`DEACTIVATION_LINK_LOSS`): a tap may resume.
    LinkLoss,
    /// The reader selected another application (`DEACTIVATION_DESELECTED`).
    Deselected,
}

/// A presentation engaged by NFC with the phone as the card (Android HCE). Register the NDEF
/// application D2760000850101 and the mdoc application A0000002480400 for the service. When
/// the handover names BLE, a reader may come by BLE instead: `ble()` serves it.
#[derive(uniffi::Object)]
pub struct MdocNfcPresentation {
    ble: Arc<MdocBlePresentation>,
}

impl std::fmt::Debug for MdocNfcPresentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdocNfcPresentation")
            .finish_non_exhaustive()
    }
}

impl MdocNfcPresentation {
    /// Runs `f` on the HCE card under the lock.
    fn with_holder<T>(&self, f: impl FnOnce(&mut NfcHolder<'static>) -> T) -> Option<T> {
        let mut s = self.ble.state.lock().ok()?;
        let Engaged::Nfc(holder) = &mut s.engaged else {
            return None;
        };
        let r = f(holder);
        s.nfc_state();
        Some(r)
    }
}

#[uniffi::export]
impl MdocNfcPresentation {
    /// One command APDU in, its response (data + SW1 SW2) out. Asks the consent when the
    /// request arrives, so call it off the main thread (and answer with `sendResponseApdu`).
    pub fn process_apdu(&self, apdu: Vec<u8>) -> Vec<u8> {
        // SW 6F00: no precise diagnosis.
        self.with_holder(|h| h.process_apdu(&apdu))
            .unwrap_or_else(|| vec![0x6F, 0x00])
    }

    /// The HCE link went away: the selection and any half-sent answer are dropped; the
    /// engagement stays, so the same reader can tap again (or come by BLE).
    pub fn on_deactivated(&self, reason: MdocNfcDeactivation) {
        let _ = reason;
        self.with_holder(|h| h.field_reset());
    }

    /// The same session for a reader that comes by BLE, when the handover names it: advertise
    /// `peripheral_server_uuid()` or scan for `central_client_uuid()` (after a negotiated
    /// handover, ask again after each APDU: they are set once the handover chose BLE).
    pub fn ble(&self) -> Arc<MdocBlePresentation> {
        self.ble.clone()
    }

    /// The citizen closed the screen: the session is over.
    pub fn cancel(&self) {
        let by_ble = locked(&self.ble.state).is_ok_and(|s| s.ble.is_some());
        if by_ble {
            self.ble.cancel();
        } else {
            self.with_holder(|h| h.deactivated());
        }
    }

    pub fn state(&self) -> MdocPresentationState {
        self.ble.state()
    }
}
