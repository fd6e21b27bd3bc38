//! Reading a CCCD for the wallet in one call: from the access key to a checked document whose
//! data and chip are not refused ([`ChipDocument::require_genuine`]), with progress and
//! cancellation.

use super::bac::MrzKey;
use super::document::{ChipDocument, read_document};
use super::pace::PacePassword;
use super::reader::{ProgressListener, ReadRequest};
use super::{ApduTransport, ChipError, TransportError, TransportLimits};
use eid_crypto::OsRng;
use std::sync::atomic::{AtomicBool, Ordering};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What opens a CCCD: the MRZ data (the 12-digit ID number, dates YYMMDD) or the CAN printed on
/// its front. Zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub enum CccdKey {
    Mrz {
        id_number: String,
        date_of_birth: String,
        date_of_expiry: String,
    },
    Can(String),
}

impl std::fmt::Debug for CccdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CccdKey(redacted)")
    }
}

impl CccdKey {
    fn access_key(&self) -> Result<PacePassword, ChipError> {
        Ok(match self {
            CccdKey::Mrz {
                id_number,
                date_of_birth,
                date_of_expiry,
            } => PacePassword::Mrz(MrzKey::for_cccd(id_number, date_of_birth, date_of_expiry)?),
            CccdKey::Can(can) => PacePassword::Can(can.clone()),
        })
    }
}

/// What a wallet's read asks for besides the CCCD's files (DG1, DG13, DG14, DG15, EF.SOD).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CccdReadOptions {
    /// Also read the portrait (DG2, about 15 KB: slower).
    pub photo: bool,
    /// The backend's activation challenge, for the chip to sign.
    pub aa_challenge: Option<Vec<u8>>,
}

/// The link, stopped at the next APDU once `cancel` is set.
struct Cancellable<'a, T> {
    link: T,
    cancel: &'a AtomicBool,
}

impl<T> Cancellable<'_, T> {
    fn check(&self) -> Result<(), TransportError> {
        if self.cancel.load(Ordering::SeqCst) {
            Err(TransportError::Other("cancelled".into()))
        } else {
            Ok(())
        }
    }
}

impl<T: ApduTransport> ApduTransport for Cancellable<'_, T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.check()?;
        self.link.transmit(command)
    }
    fn limits(&self) -> TransportLimits {
        self.link.limits()
    }
    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.check()?;
        self.link.reconnect()
    }
}

/// Reads and checks a CCCD over `link` (blocking: run it off the UI thread). Passive
/// authentication runs without a CSCA (the phone has none; the backend anchors it). Fails with
/// [`ChipError::Cancelled`] once `cancel` was set during the read, and with
/// [`ChipError::NotGenuine`] for altered data or a chip that fails chip/active authentication.
pub fn read_cccd<T: ApduTransport>(
    link: T,
    key: &CccdKey,
    options: &CccdReadOptions,
    listener: Option<&dyn ProgressListener>,
    cancel: &AtomicBool,
) -> Result<ChipDocument, ChipError> {
    let key = key.access_key()?;
    let mut request = ReadRequest::cccd(options.photo);
    request.aa_challenge = options.aa_challenge.clone();
    let read = read_document(
        Cancellable { link, cancel },
        key,
        &request,
        None,
        &mut OsRng,
        listener,
    );
    if cancel.load(Ordering::SeqCst) {
        return Err(ChipError::Cancelled);
    }
    let document = read?;
    document.require_genuine().map_err(ChipError::NotGenuine)?;
    Ok(document)
}
