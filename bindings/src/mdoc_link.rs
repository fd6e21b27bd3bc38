//! What the platform implements for ISO 18013-5 sessions: its BLE GATT link (bytes only; the
//! chunking, State protocol and Ident check stay in eid-core, docs/adr/0032 and 0037) and the
//! citizen's consent; and how the link's sends leave the lock of a session object.

use crate::error::{EidError, to_ble_error};
use eid_core::mdoc::transport::ble::{BleError, BleMode, Characteristic, GattLink};
use eid_core::mdoc::{
    Decision, NearestAge, PresentationRequest, ReaderAuthError, ReaderIdentity, RequestedDocument,
    RequestedElement,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub type MdocBleMode = BleMode;

/// Which side's GATT server carries the session (18013-5 §8.3.3.1.1).
#[uniffi::remote(Enum)]
pub enum MdocBleMode {
    /// The holder's phone is the GATT server (peripheral); the reader connects and writes.
    PeripheralServer,
    /// The reader is the GATT server; the holder's phone connects as client and checks Ident.
    CentralClient,
}

pub type MdocCharacteristic = Characteristic;

/// The characteristics of the mdoc service; their UUIDs depend on the mode
/// (`mdoc_characteristic_uuid`).
#[uniffi::remote(Enum)]
pub enum MdocCharacteristic {
    State,
    Client2Server,
    Server2Client,
    /// Central client mode only: the reader's server offers it, the holder reads it.
    Ident,
}

/// The 18013-5 UUID of `characteristic` in `mode` (e.g. `00000001-a123-48ce-896b-4c76973373e6`);
/// null for Ident in peripheral server mode.
#[uniffi::export]
pub fn mdoc_characteristic_uuid(
    mode: MdocBleMode,
    characteristic: MdocCharacteristic,
) -> Option<String> {
    characteristic.uuid(mode).map(|u| uuid_text(&u))
}

pub(crate) use eid_core::mdoc::transport::ble::uuid_text;

pub type MdocDecision = Decision;

#[uniffi::remote(Enum)]
pub enum MdocDecision {
    Accept,
    Decline,
}

pub type MdocRequestedElement = RequestedElement;

/// One element a reader asks for, with its intent to retain it.
#[uniffi::remote(Record)]
pub struct MdocRequestedElement {
    pub namespace: String,
    pub identifier: String,
    pub intent_to_retain: bool,
}

pub type MdocRequestedDocument = RequestedDocument;

#[uniffi::remote(Record)]
pub struct MdocRequestedDocument {
    pub doc_type: String,
    pub elements: Vec<MdocRequestedElement>,
    /// Whether the wallet holds an mdoc of this docType (otherwise nothing is sent for it).
    pub held: bool,
    /// Elements asked for that the held mdoc does not hold: nothing is sent for them (the
    /// reader is told "not returned"); show them so.
    pub not_held: Vec<MdocRequestedElement>,
    /// Requested `age_over_NN` not held, answered by the nearest threshold held (ISO 18013-5
    /// §7.2.5): show the citizen what is sent instead.
    pub nearest_age: Vec<MdocNearestAge>,
    /// Whether the mdoc to be sent was shown before (its batch is spent until the next sync):
    /// readers can link the two presentations; tell the citizen, and sync.
    pub shown_before: bool,
}

pub type MdocNearestAge = NearestAge;

/// An `age_over_NN` asked for, and the threshold sent instead.
#[uniffi::remote(Record)]
pub struct MdocNearestAge {
    pub namespace: String,
    pub requested: String,
    pub sent: String,
}

pub type MdocReaderIdentity = ReaderIdentity;

/// The reader as its certificate names it, once its signature verified.
#[uniffi::remote(Record)]
pub struct MdocReaderIdentity {
    pub subject: String,
    pub certificate: Vec<u8>,
}

pub type MdocReaderAuthError = ReaderAuthError;

/// Why the reader is not authenticated.
#[uniffi::remote(Enum)]
pub enum MdocReaderAuthError {
    Unsigned,
    Form,
    Untrusted,
    Expired,
    Signature,
    NotReaderCertificate,
    Revoked,
    RevocationUnknown,
}

pub type MdocPresentationRequest = PresentationRequest;

/// What the citizen is asked to approve.
#[uniffi::remote(Record)]
pub struct MdocPresentationRequest {
    /// The authenticated reader; null: unauthenticated (show it so).
    pub reader: Option<MdocReaderIdentity>,
    pub reader_auth_error: Option<MdocReaderAuthError>,
    pub documents: Vec<MdocRequestedDocument>,
}

/// The citizen's consent, asked when a reader's request arrives: show the reader (or
/// "unauthenticated"), every element and whether the reader will retain it, then the passcode
/// or biometric prompt. Called on the thread that delivered the request (a GATT callback thread,
/// the HCE worker): it may block on the UI, and must not call back into the presentation.
#[uniffi::export(with_foreign)]
pub trait MdocConsent: Send + Sync {
    fn decide(&self, request: MdocPresentationRequest) -> MdocDecision;
}

/// The platform's BLE link for one session: bytes only. As GATT client `send` is a write
/// without response, as GATT server a notification (Android `BluetoothGattServer`,
/// CoreBluetooth `CBPeripheralManager`). Values that arrive go to the session's `on_value`,
/// a dropped link to `on_disconnected`. Sends may deliver synchronously (an in-memory link):
/// the session never holds its lock while calling the link.
#[uniffi::export(with_foreign)]
pub trait MdocGattLink: Send + Sync {
    /// The negotiated ATT MTU (23..=515).
    fn mtu(&self) -> u32;
    /// Sends one characteristic value (at most MTU - 3 bytes).
    fn send(&self, characteristic: MdocCharacteristic, value: Vec<u8>) -> Result<(), EidError>;
    /// Reads a characteristic of the peer's server (the holder reads Ident in central client
    /// mode). May block until the platform's read completes; not called from `on_value`.
    fn read(&self, characteristic: MdocCharacteristic) -> Result<Vec<u8>, EidError>;
    /// Drops the connection.
    fn disconnect(&self);
}

enum Out {
    Send(Characteristic, Vec<u8>),
    Disconnect,
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Out>,
    busy: bool,
}

/// The sends of a session, delivered in order after its lock is released, by one thread at a
/// time; a send made while delivering (a synchronous peer answering) joins the queue.
#[derive(Default)]
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
}

impl Outbox {
    /// Delivers what is queued through `link`. A send that fails drops the rest (the link is
    /// gone; the platform reports the disconnect).
    pub(crate) fn flush(&self, link: &dyn MdocGattLink) {
        loop {
            let item = {
                let Ok(mut q) = self.queue.lock() else { return };
                if q.busy {
                    return;
                }
                let Some(item) = q.items.pop_front() else {
                    return;
                };
                q.busy = true;
                item
            };
            let failed = match item {
                Out::Send(c, v) => link.send(c, v).is_err(),
                Out::Disconnect => {
                    link.disconnect();
                    false
                }
            };
            let Ok(mut q) = self.queue.lock() else { return };
            q.busy = false;
            if failed {
                q.items.clear();
            }
        }
    }

    fn push(&self, items: Vec<Out>) {
        if let Ok(mut q) = self.queue.lock() {
            q.items.extend(items);
        }
    }
}

/// The foreign link as the core's `GattLink`: reads and the MTU go straight through, sends and
/// disconnects are collected for the outbox.
pub(crate) struct Deferred<'l> {
    link: &'l Arc<dyn MdocGattLink>,
    out: Vec<Out>,
}

impl<'l> Deferred<'l> {
    pub(crate) fn new(link: &'l Arc<dyn MdocGattLink>) -> Self {
        Deferred {
            link,
            out: Vec::new(),
        }
    }

    /// Hands the collected sends to `outbox` (call `flush` once the session's lock is gone).
    pub(crate) fn into_outbox(self, outbox: &Outbox) {
        outbox.push(self.out);
    }
}

impl GattLink for Deferred<'_> {
    fn mtu(&self) -> usize {
        usize::try_from(self.link.mtu()).unwrap_or(0)
    }
    fn send(&mut self, characteristic: Characteristic, value: &[u8]) -> Result<(), BleError> {
        self.out.push(Out::Send(characteristic, value.to_vec()));
        Ok(())
    }
    fn read(&mut self, characteristic: Characteristic) -> Result<Vec<u8>, BleError> {
        self.link.read(characteristic).map_err(to_ble_error)
    }
    fn disconnect(&mut self) {
        self.out.push(Out::Disconnect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eid_core::mdoc::transport::ble::PERIPHERAL_STATE;

    #[test]
    fn uuids_in_text() {
        assert_eq!(
            uuid_text(&PERIPHERAL_STATE),
            "00000001-a123-48ce-896b-4c76973373e6"
        );
        assert_eq!(
            mdoc_characteristic_uuid(MdocBleMode::CentralClient, MdocCharacteristic::Ident)
                .as_deref(),
            Some("00000008-a123-48ce-896b-4c76973373e6")
        );
        assert_eq!(
            mdoc_characteristic_uuid(MdocBleMode::PeripheralServer, MdocCharacteristic::Ident),
            None
        );
    }

    /// A link that answers every send by sending again through the same outbox (a synchronous
    /// peer): the nested sends queue behind, nothing deadlocks, order is kept.
    struct Echo {
        outbox: Arc<Outbox>,
        me: Mutex<Option<Arc<dyn MdocGattLink>>>,
        seen: Mutex<Vec<u8>>,
    }

    impl MdocGattLink for Echo {
        fn mtu(&self) -> u32 {
            23
        }
        fn send(&self, _: MdocCharacteristic, value: Vec<u8>) -> Result<(), EidError> {
            self.seen.lock().unwrap().push(value[0]);
            if value[0] < 3 {
                self.outbox
                    .push(vec![Out::Send(Characteristic::State, vec![value[0] + 10])]);
                let me = self.me.lock().unwrap().clone().unwrap();
                self.outbox.flush(&*me);
            }
            Ok(())
        }
        fn read(&self, _: MdocCharacteristic) -> Result<Vec<u8>, EidError> {
            Ok(Vec::new())
        }
        fn disconnect(&self) {}
    }

    #[test]
    fn nested_sends_queue_in_order() {
        let outbox = Arc::new(Outbox::default());
        let echo = Arc::new(Echo {
            outbox: outbox.clone(),
            me: Mutex::new(None),
            seen: Mutex::new(Vec::new()),
        });
        let link: Arc<dyn MdocGattLink> = echo.clone();
        *echo.me.lock().unwrap() = Some(link.clone());
        let mut d = Deferred::new(&link);
        for b in [1u8, 2] {
            d.send(Characteristic::State, &[b]).unwrap();
        }
        d.into_outbox(&outbox);
        outbox.flush(&*link);
        assert_eq!(*echo.seen.lock().unwrap(), [1, 2, 11, 12]);
    }
}
