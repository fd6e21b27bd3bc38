//! One side of a BLE presentation driven by the values the platform pushes (a phone's GATT
//! callbacks: Android `BluetoothGattServerCallback`/`BluetoothGattCallback`, CoreBluetooth
//! delegates): [`BleHolder`] and [`BleReader`] hold the [`BleEndpoint`] and the progress of the
//! session, and answer each value with what the state machines say. The blocking loops of
//! `gatt_session` (the TCP stand-in) run on them too, so phones and the CLI share one protocol.

use super::ble::{BleEndpoint, BleError, BleEvent, BleMode, BleRole, Characteristic, GattLink};
use crate::mdoc::holder_session::{
    Decision, HolderPolicy, HolderSession, HolderStep, MdocSource, PresentationRequest, SessionEnd,
};
use crate::mdoc::reader_session::{ReaderOutcome, ReaderSession};
use eid_crypto::trust::TrustStore;

/// How the holder's side ended.
#[derive(Debug, Clone, PartialEq)]
pub struct HolderOutcome {
    /// The request the citizen saw, if one arrived.
    pub request: Option<PresentationRequest>,
    pub decision: Option<Decision>,
    /// Why the session ended, when the state machine ended it (refused reader, bad message).
    pub end: Option<SessionEnd>,
}

/// What the holder brings to each value: its session, policy, mdocs and the citizen's consent
/// (asked on the thread that delivered the request's last chunk; it may block on the UI).
pub struct HolderParty<'p, 'a> {
    pub session: &'p mut HolderSession,
    pub policy: &'p HolderPolicy<'a>,
    pub source: &'p mut dyn MdocSource,
    pub consent: &'p mut dyn FnMut(&PresentationRequest) -> Decision,
}

/// The holder's side of one BLE session.
#[derive(Debug)]
pub struct BleHolder {
    endpoint: BleEndpoint,
    outcome: HolderOutcome,
    done: bool,
}

impl BleHolder {
    /// The holder of `session` in `mode` (the engagement must have offered it).
    pub fn new(mode: BleMode, session: &HolderSession) -> BleHolder {
        BleHolder::with_endpoint(BleEndpoint::new(
            mode,
            BleRole::Holder,
            session.e_device_key_bytes(),
        ))
    }

    fn with_endpoint(endpoint: BleEndpoint) -> BleHolder {
        BleHolder {
            endpoint,
            outcome: HolderOutcome {
                request: None,
                decision: None,
                end: None,
            },
            done: false,
        }
    }

    /// The link is up. As GATT client (central client mode) the holder reads the reader's
    /// Ident (a wrong reader is refused and disconnected) and writes State start; as server it
    /// waits for the reader's start.
    pub fn connected(&mut self, link: &mut dyn GattLink) -> Result<(), BleError> {
        if self.endpoint.is_client() {
            self.endpoint
                .start(link)
                .inspect_err(|_| self.done = true)?;
        }
        Ok(())
    }

    /// Whether the session is over.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// What happened so far.
    pub fn outcome(&self) -> &HolderOutcome {
        &self.outcome
    }

    /// Handles one value from the reader; `Some` once the session is over.
    pub fn on_value(
        &mut self,
        link: &mut dyn GattLink,
        party: HolderParty<'_, '_>,
        characteristic: Characteristic,
        value: &[u8],
    ) -> Result<Option<HolderOutcome>, BleError> {
        let event = self
            .endpoint
            .on_value(characteristic, value)
            .inspect_err(|_| self.done = true)?;
        match event {
            Some(BleEvent::Message(m)) => {
                let step = party
                    .session
                    .receive(&m, party.policy, &*party.source)
                    .map_err(|_| BleError::State)?;
                match step {
                    HolderStep::Request(shown) => {
                        let decision = (party.consent)(&shown);
                        self.outcome.request = Some(shown);
                        self.outcome.decision = Some(decision);
                        let reply = party
                            .session
                            .decide(decision, party.source)
                            .map_err(|_| BleError::State)?;
                        self.endpoint.send(link, &reply)?;
                        Ok(None)
                    }
                    HolderStep::Ended { reason, reply } => {
                        if let Some(r) = reply {
                            let _ = self.endpoint.send(link, &r);
                        }
                        if reason != SessionEnd::ByReader {
                            self.outcome.end = Some(reason);
                        }
                        self.endpoint.end(link);
                        Ok(Some(self.finish()))
                    }
                }
            }
            Some(BleEvent::Ended) => {
                party.session.transport_ended();
                Ok(Some(self.finish()))
            }
            Some(BleEvent::Started) | None => Ok(None),
        }
    }

    /// The platform reports the link gone: after the answer (or the end of the session) that
    /// is how a reader may leave; before it, an error saying whether a message was cut.
    pub fn on_disconnected(
        &mut self,
        session: &mut HolderSession,
    ) -> Result<HolderOutcome, BleError> {
        let answered = session.is_finished() || self.outcome.decision.is_some();
        let err = self.endpoint.on_disconnected();
        session.transport_ended();
        let outcome = self.finish();
        if answered { Ok(outcome) } else { Err(err) }
    }

    /// The holder gives up (the citizen closed the screen): State end, link dropped.
    pub fn cancel(&mut self, link: &mut dyn GattLink, session: &mut HolderSession) {
        self.endpoint.end(link);
        session.transport_ended();
        self.done = true;
    }

    fn finish(&mut self) -> HolderOutcome {
        self.done = true;
        self.outcome.clone()
    }
}

/// The reader's side of one BLE session: the SessionEstablishment goes out when the transfer
/// starts, the holder's answer is checked, the session ends with State end.
#[derive(Debug)]
pub struct BleReader {
    endpoint: BleEndpoint,
    /// Sent once, when the transfer starts.
    establishment: Option<Vec<u8>>,
    done: bool,
}

impl BleReader {
    /// A reader in `mode` for the engagement's EDeviceKeyBytes, to send `establishment`.
    pub fn new(endpoint: BleEndpoint, establishment: Vec<u8>) -> BleReader {
        BleReader {
            endpoint,
            establishment: Some(establishment),
            done: false,
        }
    }

    /// The Ident the reader's GATT server offers in central client mode.
    pub fn ident(&self) -> Option<[u8; 16]> {
        self.endpoint.ident()
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The link is up: as GATT client (peripheral server mode) the reader writes State start
    /// and the request; as server it waits for the holder's start.
    pub fn connected(&mut self, link: &mut dyn GattLink) -> Result<(), BleError> {
        if self.endpoint.is_client() {
            self.endpoint.start(link)?;
            self.send_establishment(link)?;
        }
        Ok(())
    }

    fn send_establishment(&mut self, link: &mut dyn GattLink) -> Result<(), BleError> {
        match self.establishment.take() {
            Some(e) => self.endpoint.send(link, &e),
            // A second State start: the request went out already.
            None => Ok(()),
        }
    }

    /// Handles one value from the holder; `Some` with the checked answer once it arrived.
    pub fn on_value(
        &mut self,
        link: &mut dyn GattLink,
        reader: &mut ReaderSession,
        iacas: &TrustStore,
        now: u64,
        characteristic: Characteristic,
        value: &[u8],
    ) -> Result<Option<ReaderOutcome>, BleError> {
        let event = self
            .endpoint
            .on_value(characteristic, value)
            .inspect_err(|_| self.done = true)?;
        match event {
            Some(BleEvent::Started) => {
                self.send_establishment(link)?;
                Ok(None)
            }
            Some(BleEvent::Message(m)) => {
                self.done = true;
                let outcome = reader
                    .receive(&m, iacas, now)
                    .map_err(|e| BleError::Platform(e.to_string()))?;
                self.endpoint.end(link);
                Ok(Some(outcome))
            }
            Some(BleEvent::Ended) => {
                self.done = true;
                Err(BleError::Disconnected { mid_message: false })
            }
            None => Ok(None),
        }
    }

    /// The platform reports the link gone before the answer.
    pub fn on_disconnected(&mut self) -> BleError {
        self.done = true;
        self.endpoint.on_disconnected()
    }
}

impl From<BleEndpoint> for BleHolder {
    fn from(endpoint: BleEndpoint) -> BleHolder {
        BleHolder::with_endpoint(endpoint)
    }
}
