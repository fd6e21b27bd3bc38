//! Test-only exports for the binding tests: the simulated CCCD chip of a synthetic citizen (so
//! a Kotlin, Swift or Python `ApduTransport` can carry its APDUs), the citizens' card data, and
//! the development backend's SMS outbox. A separate library, so the shipped `eid_ffi` (and its
//! generated bindings) never contain any of it.
#![allow(unsafe_code)] // the UniFFI scaffolding is generated unsafe FFI glue

use eid_fixtures::card::cccd::{self, CardOptions};
use eid_fixtures::card::{SimCard, SimTransport};
use eid_fixtures::citizens;
use eid_icao::{ApduTransport, TransportError, TransportLimits};
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SimError {
    /// The simulated card left the field (drop_every).
    #[error("link lost")]
    LinkLost,
    #[error("{reason}")]
    Failed { reason: String },
}

/// A synthetic citizen's card data (all synthetic, deterministic).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SimCitizen {
    pub id_number: String,
    pub phone: String,
    pub full_name: String,
    /// YYMMDD, as for the MRZ access key.
    pub date_of_birth: String,
    pub date_of_expiry: String,
    /// Card access number (last 6 digits of the ID).
    pub can: String,
}

/// The first `count` synthetic citizens.
#[uniffi::export]
pub fn sim_citizens(count: u32) -> Vec<SimCitizen> {
    citizens::citizens()
        .into_iter()
        .take(usize::try_from(count).unwrap_or(usize::MAX))
        .map(|c| SimCitizen {
            can: c.can().to_owned(),
            id_number: c.id_number,
            phone: c.phone,
            full_name: c.full_name,
            date_of_birth: c.date_of_birth.yymmdd(),
            date_of_expiry: c.expiry_date.yymmdd(),
        })
        .collect()
}

/// The simulated chip of a citizen, in the field of a reader that carries extended APDUs.
#[derive(uniffi::Object)]
pub struct SimulatedCard {
    link: Mutex<SimTransport<SimCard>>,
}

impl std::fmt::Debug for SimulatedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimulatedCard")
    }
}

fn failed(e: impl std::fmt::Display) -> SimError {
    SimError::Failed {
        reason: e.to_string(),
    }
}

#[uniffi::export]
impl SimulatedCard {
    /// The card of the synthetic citizen with this ID; with `drop_every`, the link drops after
    /// every n-th APDU (the card must be "put back": `reconnect`).
    #[uniffi::constructor]
    pub fn new(id_number: String, drop_every: Option<u64>) -> Result<Self, SimError> {
        let c = citizens::by_id(&id_number).ok_or_else(|| failed("no such synthetic citizen"))?;
        let card = cccd::card(&c, &CardOptions::default()).map_err(failed)?;
        let limits = TransportLimits {
            max_command: 65544,
            max_response: 65538,
            extended_length: true,
        };
        let mut link = SimTransport::new(card, limits);
        if let Some(n) = drop_every {
            link = link.drop_every(n);
        }
        Ok(SimulatedCard {
            link: Mutex::new(link),
        })
    }

    pub fn transceive(&self, command: Vec<u8>) -> Result<Vec<u8>, SimError> {
        let mut link = self.link.lock().map_err(failed)?;
        link.transmit(&command).map_err(|e| match e {
            TransportError::LinkLost => SimError::LinkLost,
            other => failed(other),
        })
    }

    pub fn reconnect(&self) -> Result<(), SimError> {
        let mut link = self.link.lock().map_err(failed)?;
        link.reconnect().map_err(failed)
    }

    /// How many times the card was put back on the reader.
    pub fn reconnects(&self) -> u64 {
        self.link.lock().map_or(0, |l| l.reconnects)
    }
}

/// The latest SMS code a development backend "sent" to `phone`.
#[uniffi::export]
pub fn dev_sms_code(backend_url: String, phone: String) -> Result<Option<String>, SimError> {
    let client =
        eid_core::client::BackendClient::new(&backend_url, Default::default()).map_err(failed)?;
    eid_core::runtime::block_on(client.dev_latest_code(&phone))
        .ok_or_else(|| failed("no runtime"))?
        .map_err(failed)
}

uniffi::setup_scaffolding!();
