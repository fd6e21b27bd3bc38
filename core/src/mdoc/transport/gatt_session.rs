//! A whole presentation over a [`GattLink`] for links that can block on the next value (the TCP
//! stand-in, a desktop BLE stack): loops around [`BleHolder`] and [`BleReader`], the sides that
//! phones drive from their callbacks instead.

use super::ble::{BleEndpoint, BleError, Characteristic, GattLink};
use super::ble_session::{BleHolder, BleReader, HolderParty};
use crate::mdoc::holder_session::{
    Decision, HolderPolicy, HolderSession, MdocSource, PresentationRequest,
};
use crate::mdoc::reader_session::{ReaderOutcome, ReaderSession};
use eid_crypto::trust::TrustStore;

pub use super::ble_session::HolderOutcome;

/// A [`GattLink`] whose incoming values can be awaited.
pub trait GattReceive: GattLink {
    /// The next value from the peer; [`BleError::Disconnected`] when the link closed.
    fn receive(&mut self) -> Result<(Characteristic, Vec<u8>), BleError>;
}

/// Serves one reader: waits for State start (we are the GATT server) or starts (client), answers
/// the request with the citizen's decision from `consent`, ends at State end or disconnect.
pub fn serve_holder(
    link: &mut dyn GattReceive,
    endpoint: BleEndpoint,
    session: &mut HolderSession,
    policy: &HolderPolicy<'_>,
    source: &mut dyn MdocSource,
    consent: &mut dyn FnMut(&PresentationRequest) -> Decision,
) -> Result<HolderOutcome, BleError> {
    let mut holder = BleHolder::from(endpoint);
    holder.connected(link)?;
    loop {
        let (c, v) = match link.receive() {
            Ok(x) => x,
            Err(_) => return holder.on_disconnected(session),
        };
        let party = HolderParty {
            session,
            policy,
            source,
            consent,
        };
        if let Some(outcome) = holder.on_value(link, party, c, &v)? {
            return Ok(outcome);
        }
    }
}

/// Reads one holder: starts (client) or waits for State start (server), sends
/// `establishment`, checks the answer, ends the session with State end.
pub fn run_reader(
    link: &mut dyn GattReceive,
    endpoint: BleEndpoint,
    reader: &mut ReaderSession,
    establishment: &[u8],
    iacas: &TrustStore,
    now: u64,
) -> Result<ReaderOutcome, BleError> {
    let mut side = BleReader::new(endpoint, establishment.to_vec());
    side.connected(link)?;
    loop {
        let (c, v) = link.receive().map_err(|_| side.on_disconnected())?;
        if let Some(outcome) = side.on_value(link, reader, iacas, now, c, &v)? {
            return Ok(outcome);
        }
    }
}
