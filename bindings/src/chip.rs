//! Reading the CCCD chip through the app's NFC link (Android `IsoDep`, iOS `NFCISO7816Tag`),
//! with progress and cancellation.

use crate::error::{EidError, to_transport_error};
use crate::run::on_runtime_blocking;
use eid_icao::cccd::{CccdKey, CccdReadOptions, read_cccd};
use eid_icao::document::ChipDocument;
use eid_icao::reader;
use eid_icao::{TransportError, TransportLimits};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The NFC link to the card, implemented by the app. Throw `EidError.ChipLinkLost` when the card
/// left the field (Android `TagLostException`); the reader then calls `reconnect` and resumes.
#[uniffi::export(with_foreign)]
pub trait ApduTransport: Send + Sync {
    /// Sends one command APDU and returns the response (data + SW1 SW2).
    fn transceive(&self, command: Vec<u8>) -> Result<Vec<u8>, EidError>;
    /// Largest APDU the link carries (`IsoDep.maxTransceiveLength`).
    fn max_transceive_length(&self) -> u32;
    /// Whether extended-length APDUs reach the card (`IsoDep.isExtendedLengthApduSupported`).
    fn extended_length_supported(&self) -> bool;
    /// Waits for the card to come back and reconnects (throw `ChipLinkLost` to give up).
    fn reconnect(&self) -> Result<(), EidError>;
}

pub type ChipStage = reader::Stage;

/// Stages of a chip read, for the "hold the card still" screen.
#[uniffi::remote(Enum)]
pub enum ChipStage {
    AccessControl,
    Reading,
    ChipAuthentication,
    ActiveAuthentication,
    /// The link dropped; waiting for the card and re-establishing access control.
    Resuming,
    Done,
}

pub use eid_icao::reader::AccessControl;

/// The access control protocol that opened the chip.
#[uniffi::remote(Enum)]
pub enum AccessControl {
    Bac,
    Pace,
}

pub type PassiveAuthStatus = eid_icao::pa::PaStatus;

/// Passive authentication: whether the data is the one the issuer signed.
#[uniffi::remote(Enum)]
pub enum PassiveAuthStatus {
    /// Hashes, SOD signature and certificate chain are all good.
    Valid,
    /// Something does not verify: the data may have been altered or the SOD is not genuine.
    Invalid,
    /// Nothing failed, but not everything could be checked (no CSCA to anchor the signature).
    NotChecked,
}

pub type ChipAuthStatus = eid_icao::document::AuthStatus;

/// Chip or active authentication: whether the chip holds the key its data names.
#[uniffi::remote(Enum)]
pub enum ChipAuthStatus {
    Valid,
    Invalid,
    /// The chip offers neither chip nor active authentication.
    NotSupported,
}

// Mapped by hand (`ForeignListener` below), not `uniffi::remote`: the reader's
// `eid_icao::reader::Progress` counts in `usize` (no UniFFI type) and names the file as an
// `LdsFile`, where the apps see `u64`/`u32` counts and the file's name.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChipProgress {
    pub stage: ChipStage,
    /// `DG1`, `EF.SOD`, ... while reading a file.
    pub file: Option<String>,
    pub bytes_read: u64,
    pub bytes_total: Option<u64>,
    pub files_done: u32,
    pub files_total: u32,
}

/// Receives progress during a read (called on the reading thread).
#[uniffi::export(with_foreign)]
pub trait ChipReadListener: Send + Sync {
    fn on_progress(&self, progress: ChipProgress);
}

/// Cancels a chip read from another thread (a "Cancel" button). Cancelling the coroutine or Task
/// that awaits `read_chip` cancels the read too.
#[derive(Debug, Default, uniffi::Object)]
pub struct ChipReadCancel {
    flag: Arc<AtomicBool>,
}

#[uniffi::export]
impl ChipReadCancel {
    #[uniffi::constructor]
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// What opens the chip: the MRZ data (dates YYMMDD) or the 6-digit CAN (last 6 digits of the ID).
#[derive(Clone, uniffi::Enum)]
pub enum ChipAccessKey {
    Mrz {
        id_number: String,
        date_of_birth: String,
        date_of_expiry: String,
    },
    Can {
        can: String,
    },
}

impl std::fmt::Debug for ChipAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChipAccessKey(redacted)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChipReadOptions {
    /// Also read the portrait (DG2, about 15 KB: slower).
    pub photo: bool,
    /// The backend's challenge from `start_activation`, for the chip to sign.
    pub aa_challenge: Option<Vec<u8>>,
}

/// The checked contents of a chip read, for display. Personal data: never log it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChipSummary {
    pub access_control: AccessControl,
    pub document_number: String,
    /// DG13 field 1 (the 12-digit ID), when DG13 was read.
    pub id_number: Option<String>,
    /// DG13 field 2, with diacritics.
    pub full_name: Option<String>,
    /// YYMMDD, from the MRZ.
    pub date_of_birth: String,
    pub date_of_expiry: String,
    pub passive_authentication: PassiveAuthStatus,
    /// Method `CA` or `AA` when one was run.
    pub chip_authentication: ChipAuthStatus,
    pub chip_authentication_method: Option<String>,
    pub has_photo: bool,
    pub apdu_count: u64,
    pub resumes: u64,
}

impl std::fmt::Debug for ChipSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipSummary")
            .field("passive_authentication", &self.passive_authentication)
            .finish_non_exhaustive()
    }
}

/// A finished chip read: the evidence `complete_activation` sends, and what to show.
#[derive(uniffi::Object)]
pub struct ChipRead {
    pub(crate) document: ChipDocument,
}

impl std::fmt::Debug for ChipRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.document.fmt(f)
    }
}

#[uniffi::export]
impl ChipRead {
    pub fn summary(&self) -> ChipSummary {
        let d = &self.document;
        let dg13 = |n: u32| {
            d.dg13
                .as_ref()
                .and_then(|g| g.fields.get(&n))
                .and_then(|v| v.first().cloned())
        };
        ChipSummary {
            access_control: d.access_control,
            document_number: d.mrz.document_number.clone(),
            id_number: dg13(1),
            full_name: dg13(2),
            date_of_birth: d.mrz.date_of_birth.clone(),
            date_of_expiry: d.mrz.date_of_expiry.clone(),
            passive_authentication: d.passive_authentication.status,
            chip_authentication: d.chip_authentication.status,
            chip_authentication_method: d.chip_authentication.method.map(str::to_owned),
            has_photo: d.face.is_some(),
            apdu_count: d.stats.apdu_count,
            resumes: d.stats.resumes,
        }
    }

    /// The portrait as encoded on the chip (JPEG or JPEG 2000), when it was read.
    pub fn photo(&self) -> Option<Vec<u8>> {
        self.document.face.as_ref().map(|f| f.image.clone())
    }
}

/// The app's link as the core's transport.
pub(crate) struct ForeignLink(pub(crate) Arc<dyn ApduTransport>);

impl eid_core::platform::ApduTransport for ForeignLink {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0
            .transceive(command.to_vec())
            .map_err(to_transport_error)
    }
    fn limits(&self) -> TransportLimits {
        let max = usize::try_from(self.0.max_transceive_length()).unwrap_or(usize::MAX);
        TransportLimits {
            max_command: max,
            max_response: max,
            extended_length: self.0.extended_length_supported(),
        }
    }
    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.0.reconnect().map_err(to_transport_error)
    }
}

struct ForeignListener(Arc<dyn ChipReadListener>);

impl reader::ProgressListener for ForeignListener {
    fn on_progress(&self, p: &reader::Progress) {
        let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
        self.0.on_progress(ChipProgress {
            stage: p.stage,
            file: p.file.map(|f| f.name()),
            bytes_read: n(p.bytes_read),
            bytes_total: p.bytes_total.map(n),
            files_done: u32::try_from(p.files_done).unwrap_or(u32::MAX),
            files_total: u32::try_from(p.files_total).unwrap_or(u32::MAX),
        });
    }
}

/// Sets the cancel flag when the awaiting future is dropped before the read ended.
struct CancelOnDrop(Option<Arc<AtomicBool>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f.store(true, Ordering::SeqCst);
        }
    }
}

/// Reads and checks a CCCD over the app's link. Blocking APDUs run on a worker thread of the
/// core runtime. A chip whose data or key does not verify fails with `ChipNotGenuine`.
#[uniffi::export]
pub async fn read_chip(
    transport: Arc<dyn ApduTransport>,
    key: ChipAccessKey,
    options: ChipReadOptions,
    listener: Option<Arc<dyn ChipReadListener>>,
    cancel: Option<Arc<ChipReadCancel>>,
) -> Result<Arc<ChipRead>, EidError> {
    let cancelled = cancel.map(|c| c.flag.clone()).unwrap_or_default();
    let mut guard = CancelOnDrop(Some(cancelled.clone()));
    let result = on_runtime_blocking("read_chip", move || {
        read_blocking(transport, key, options, listener, cancelled)
    })
    .await;
    guard.0 = None;
    result
}

fn read_blocking(
    transport: Arc<dyn ApduTransport>,
    key: ChipAccessKey,
    options: ChipReadOptions,
    listener: Option<Arc<dyn ChipReadListener>>,
    cancelled: Arc<AtomicBool>,
) -> Result<Arc<ChipRead>, EidError> {
    let key = match key {
        ChipAccessKey::Mrz {
            id_number,
            date_of_birth,
            date_of_expiry,
        } => CccdKey::Mrz {
            id_number,
            date_of_birth,
            date_of_expiry,
        },
        ChipAccessKey::Can { can } => CccdKey::Can(can),
    };
    let options = CccdReadOptions {
        photo: options.photo,
        aa_challenge: options.aa_challenge,
    };
    let listener = listener.map(ForeignListener);
    let document = read_cccd(
        ForeignLink(transport),
        &key,
        &options,
        listener
            .as_ref()
            .map(|l| l as &dyn reader::ProgressListener),
        &cancelled,
    )?;
    Ok(Arc::new(ChipRead { document }))
}
