//! The cards the commands read: a synthetic citizen's simulated CCCD, or a card on a PC/SC desk
//! reader (with `--features pcsc`).

use anyhow::{Context as _, Result};
use eid_crypto::OsRng;
use eid_crypto::trust::TrustStore;
use eid_fixtures::card::SimTransport;
use eid_fixtures::card::cccd::{self, CardOptions};
use eid_fixtures::citizens;
use eid_icao::ApduTransport;
use eid_icao::TransportLimits;
use eid_icao::document::{ChipDocument, read_document};
use eid_icao::pace::PacePassword;
use eid_icao::reader::{AccessKey, ProgressListener, ReadRequest};

/// Extended-length limits of a modern reader (and the simulated one).
pub const EXTENDED: TransportLimits = TransportLimits {
    max_command: 65544,
    max_response: 65538,
    extended_length: true,
};

/// Reads and checks a document over `link`.
pub fn read_with<T: ApduTransport>(
    link: T,
    key: AccessKey,
    request: &ReadRequest,
    trust: Option<&TrustStore>,
    listener: Option<&dyn ProgressListener>,
) -> Result<ChipDocument> {
    Ok(read_document(
        link, key, request, trust, &mut OsRng, listener,
    )?)
}

/// The simulated CCCD of the synthetic citizen with this ID, read with the backend's challenge
/// for active authentication, with progress to `listener`.
pub fn read_sim_card(
    id: &str,
    challenge: &[u8],
    listener: Option<&dyn ProgressListener>,
) -> Result<ChipDocument> {
    let citizen = citizens::by_id(id)
        .context("no synthetic citizen has that ID number (only --sim cards exist here)")?;
    let card = cccd::card(&citizen, &CardOptions::default())?;
    let link = SimTransport::new(card, EXTENDED);
    let key = PacePassword::Mrz(cccd::mrz_key(&citizen)?);
    let mut request = ReadRequest::cccd(true);
    request.aa_challenge = Some(challenge.to_vec());
    let trust = cccd::trust_store()?;
    read_with(link, key, &request, Some(&trust), listener)
}

/// The chip evidence for an activation from a card on a PC/SC reader: PACE with the CAN, every
/// file the backend checks, active authentication over the backend's `challenge`. Passive
/// authentication is left to the backend (it holds the CSCA list).
pub fn read_pcsc_for_activation(
    reader: Option<&str>,
    can: &str,
    challenge: &[u8],
) -> Result<ChipDocument> {
    let key = PacePassword::can(can)?;
    let mut request = ReadRequest::cccd(true);
    request.aa_challenge = Some(challenge.to_vec());
    read_with(open_pcsc(reader)?, key, &request, None, None)
}

/// The PC/SC reader with this name, or the first with a card.
#[cfg(feature = "pcsc")]
pub fn open_pcsc(reader: Option<&str>) -> Result<eid_icao::pcsc::PcscTransport> {
    Ok(eid_icao::pcsc::PcscTransport::open(reader, true)?)
}

/// Without the `pcsc` feature there is no reader to open.
#[cfg(not(feature = "pcsc"))]
pub fn open_pcsc(_reader: Option<&str>) -> Result<SimTransport<eid_fixtures::card::SimCard>> {
    anyhow::bail!(
        "this eid was built without PC/SC support: rebuild with `--features pcsc` (needs libpcsclite-dev)"
    )
}
