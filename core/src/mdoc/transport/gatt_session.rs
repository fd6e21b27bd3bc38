//! A whole presentation over a [`GattLink`] for links that can block on the next value (the TCP
//! stand-in, a desktop BLE stack): the holder's and the reader's loops around
//! [`BleEndpoint`] and the session state machines. Phones push values into [`BleEndpoint`]
//! from their callbacks instead.

use super::ble::{BleEndpoint, BleError, BleEvent, Characteristic, GattLink};
use crate::mdoc::holder_session::{
    Decision, HolderPolicy, HolderSession, HolderStep, MdocSource, PresentationRequest, SessionEnd,
};
use crate::mdoc::reader_session::{ReaderOutcome, ReaderSession};
use eid_crypto::trust::TrustStore;

/// A [`GattLink`] whose incoming values can be awaited.
pub trait GattReceive: GattLink {
    /// The next value from the peer; [`BleError::Disconnected`] when the link closed.
    fn receive(&mut self) -> Result<(Characteristic, Vec<u8>), BleError>;
}

/// How the holder's side ended.
#[derive(Debug, Clone, PartialEq)]
pub struct HolderOutcome {
    /// The request the citizen saw, if one arrived.
    pub request: Option<PresentationRequest>,
    pub decision: Option<Decision>,
    /// Why the session ended, when the state machine ended it (refused reader, bad message).
    pub end: Option<SessionEnd>,
}

/// Serves one reader: waits for State start (we are the GATT server) or starts (client), answers
/// the request with the citizen's decision from `consent`, ends at State end or disconnect.
pub fn serve_holder(
    link: &mut dyn GattReceive,
    endpoint: &mut BleEndpoint,
    session: &mut HolderSession,
    policy: &HolderPolicy<'_>,
    source: &mut dyn MdocSource,
    consent: &mut dyn FnMut(&PresentationRequest) -> Decision,
) -> Result<HolderOutcome, BleError> {
    let mut outcome = HolderOutcome {
        request: None,
        decision: None,
        end: None,
    };
    if endpoint.is_client() {
        endpoint.start(link)?;
    }
    loop {
        let (c, v) = match link.receive() {
            Ok(x) => x,
            Err(BleError::Disconnected { .. })
                if session.is_finished() || outcome.decision.is_some() =>
            {
                session.transport_ended();
                return Ok(outcome);
            }
            Err(_) => return Err(endpoint.on_disconnected()),
        };
        match endpoint.on_value(c, &v)? {
            Some(BleEvent::Message(m)) => match session
                .receive(&m, policy, source)
                .map_err(|_| BleError::State)?
            {
                HolderStep::Request(shown) => {
                    let decision = consent(&shown);
                    outcome.request = Some(shown);
                    outcome.decision = Some(decision);
                    let reply = session
                        .decide(decision, source)
                        .map_err(|_| BleError::State)?;
                    endpoint.send(link, &reply)?;
                }
                HolderStep::Ended { reason, reply } => {
                    if let Some(r) = reply {
                        let _ = endpoint.send(link, &r);
                    }
                    if reason != SessionEnd::ByReader {
                        outcome.end = Some(reason);
                    }
                    endpoint.end(link);
                    return Ok(outcome);
                }
            },
            Some(BleEvent::Ended) => {
                session.transport_ended();
                return Ok(outcome);
            }
            Some(BleEvent::Started) | None => {}
        }
    }
}

/// Reads one holder: starts (client) or waits for State start (server), sends
/// `establishment`, checks the answer, ends the session with State end.
pub fn run_reader(
    link: &mut dyn GattReceive,
    endpoint: &mut BleEndpoint,
    reader: &mut ReaderSession,
    establishment: &[u8],
    iacas: &TrustStore,
    now: u64,
) -> Result<ReaderOutcome, BleError> {
    if endpoint.is_client() {
        endpoint.start(link)?;
        endpoint.send(link, establishment)?;
    }
    loop {
        let (c, v) = link.receive().map_err(|_| endpoint.on_disconnected())?;
        match endpoint.on_value(c, &v)? {
            Some(BleEvent::Started) => endpoint.send(link, establishment)?,
            Some(BleEvent::Message(m)) => {
                let outcome = reader
                    .receive(&m, iacas, now)
                    .map_err(|e| BleError::Platform(e.to_string()))?;
                endpoint.end(link);
                return Ok(outcome);
            }
            Some(BleEvent::Ended) => return Err(BleError::Disconnected { mid_message: false }),
            None => {}
        }
    }
}
