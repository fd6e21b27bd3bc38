//! The chip reader: access control, then the requested files in the largest blocks the link
//! allows, resuming from the bytes already read when the link drops.
//!
//! Why it is fast on a flaky NFC link: a file is read with one READ BINARY of the largest size
//! secure messaging fits into (extended length where available, with implicit selection by short
//! EF identifier), and after a drop only access control is redone: reading continues at the
//! offset reached.

use super::aa::{self, AaOutcome, AaPublicKey};
use super::apdu::{CommandApdu, EXTENDED_MAX_LE, ResponseApdu, SHORT_MAX_LE, ins, sw};
use super::bac;
use super::ca;
use super::channel::{Channel, Stats};
use super::ec::Curve;
use super::error::ChipError;
use super::lds::{EMRTD_AID, LdsFile};
use super::pace::{self, PacePassword};
use super::security_info::{
    ActiveAuthenticationInfo, ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo, PaceInfo,
    SecurityInfos,
};
use super::sm::{SecureMessaging, SmError};
use super::symmetric::Cipher;
use super::transport::ApduTransport;
use eid_crypto::Rng;
use eid_crypto::tlv;
use serde::Serialize;
use std::collections::BTreeMap;

/// What unlocks the chip: the MRZ data (BAC or PACE) or the card access number (PACE only).
/// For a CCCD the CAN is the last 6 digits of the ID number.
pub type AccessKey = PacePassword;

/// The access control protocol that opened the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AccessControl {
    #[serde(rename = "BAC")]
    Bac,
    #[serde(rename = "PACE")]
    Pace,
}

/// Steps of a read, reported to a [`ProgressListener`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    AccessControl,
    Reading,
    ChipAuthentication,
    ActiveAuthentication,
    /// The link dropped; waiting for the card and re-establishing access control.
    Resuming,
    Done,
}

/// One progress report. Byte counts are of the file being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub stage: Stage,
    pub file: Option<LdsFile>,
    pub bytes_read: usize,
    /// Known once the first block of the file has arrived.
    pub bytes_total: Option<usize>,
    /// Files finished so far, and how many were asked for.
    pub files_done: usize,
    pub files_total: usize,
}

/// Receives progress during a read (the UI shows it while the card is held still).
pub trait ProgressListener {
    fn on_progress(&self, progress: &Progress);
}

/// What to read. DG1 and EF.SOD are always worth reading; the photo (DG2) is large and optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    pub files: Vec<LdsFile>,
    /// How many times to reconnect after the link drops before giving up.
    pub max_resumes: u32,
    /// A challenge from a verifier (the backend at activation) for the chip to sign with its
    /// active-authentication key; the signature is returned with the document.
    pub aa_challenge: Option<Vec<u8>>,
}

impl ReadRequest {
    /// EF.SOD, DG1, DG13, DG14, DG15, and DG2 when `photo` is set.
    pub fn cccd(photo: bool) -> Self {
        let mut files = vec![
            LdsFile::DG14,
            LdsFile::DG1,
            LdsFile::DG13,
            LdsFile::DG15,
            LdsFile::Sod,
        ];
        if photo {
            files.push(LdsFile::DG2);
        }
        ReadRequest {
            files,
            max_resumes: 20,
            aa_challenge: None,
        }
    }
}

/// A file being read: the bytes so far and, once the header arrived, the total length.
#[derive(Debug, Default, Clone)]
struct PartialFile {
    bytes: Vec<u8>,
    total: Option<usize>,
    absent: bool,
}

impl PartialFile {
    fn complete(&self) -> bool {
        self.absent || self.total.is_some_and(|t| self.bytes.len() >= t)
    }
}

/// Reads a chip over a transport.
pub struct Reader<'a, T> {
    channel: Channel<T>,
    key: AccessKey,
    rng: &'a mut dyn Rng,
    listener: Option<&'a dyn ProgressListener>,
    method: Option<AccessControl>,
    card_access: Option<Option<Vec<u8>>>,
    selected: Option<LdsFile>,
    /// Largest READ BINARY Le to ask for, without and with secure messaging; shrinks when a
    /// card refuses a size or answers with less than asked.
    le_caps: [usize; 2],
    /// The chip refused READ BINARY with a short EF identifier: files are selected by FID.
    no_sfi: bool,
    /// EF.CardAccess answered 6982 before access control: PACE parameters unknown.
    card_access_refused: bool,
    /// Sessions the chip ended (6987/6988, or 6982 to a read) that the reader re-established.
    reestablished: u32,
    /// Where a READ BINARY under secure messaging was last refused with 6982: a chip that lost
    /// its session's security state says so; refused again at the same place after a new
    /// session, the file really is closed to us.
    refused_at: Option<(LdsFile, usize)>,
    /// PACE failed once: BAC from then on, also after a drop before BAC finished.
    pace_failed: bool,
    files: BTreeMap<LdsFile, PartialFile>,
    max_resumes: u32,
    progress: Progress,
    /// Chip authentication to redo after a resume, so that later reads stay bound to the chip
    /// that proved it holds the DG14 key.
    binding: Option<(ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo)>,
}

/// `6A86`: incorrect P1-P2 (how chips without short EF identifiers refuse them).
const SW_INCORRECT_P1P2: u16 = 0x6A86;

/// Outcome of chip authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaOutcome {
    Valid,
    /// The chip could not continue secure messaging with the keys agreed on its DG14 key.
    Invalid {
        reason: String,
    },
}

/// Everything read from the chip, raw, with how it was read.
#[derive(Debug, Clone)]
pub struct RawRead {
    pub access_control: AccessControl,
    pub card_access: Option<Vec<u8>>,
    pub files: BTreeMap<LdsFile, Vec<u8>>,
    /// Files asked for that the chip says it does not have (6A82).
    pub absent: Vec<LdsFile>,
    pub stats: Stats,
}

/// How many times one read re-establishes a session the chip ended (6987/6988/6982) before
/// the read fails: enough for chips that end the session on every error answer, not a loop.
const MAX_REESTABLISH: u32 = 8;

/// The smallest READ BINARY Le the reader shrinks to for a card that refuses lengths.
const MIN_LE: usize = 32;

/// PACE parameters to try when EF.CardAccess is refused and only a CAN opens the card: the
/// CCCD's (ECDH generic mapping, AES-128, brainpoolP256r1).
fn default_pace_info() -> PaceInfo {
    PaceInfo::ecdh_gm(Cipher::Aes128, Curve::BrainpoolP256r1)
}

impl<'a, T: ApduTransport> Reader<'a, T> {
    pub fn new(transport: T, key: AccessKey, rng: &'a mut dyn Rng) -> Self {
        Reader {
            channel: Channel::new(transport),
            key,
            rng,
            listener: None,
            method: None,
            card_access: None,
            selected: None,
            le_caps: [EXTENDED_MAX_LE; 2],
            no_sfi: false,
            card_access_refused: false,
            reestablished: 0,
            refused_at: None,
            pace_failed: false,
            files: BTreeMap::new(),
            max_resumes: 20,
            progress: Progress {
                stage: Stage::AccessControl,
                file: None,
                bytes_read: 0,
                bytes_total: None,
                files_done: 0,
                files_total: 0,
            },
            binding: None,
        }
    }

    /// How many times to reconnect after the link drops before giving up.
    pub fn with_max_resumes(mut self, max_resumes: u32) -> Self {
        self.max_resumes = max_resumes;
        self
    }

    pub fn with_listener(mut self, listener: &'a dyn ProgressListener) -> Self {
        self.listener = Some(listener);
        self
    }

    pub fn stats(&self) -> Stats {
        self.channel.stats
    }

    pub fn into_transport(self) -> T {
        self.channel.into_transport()
    }

    fn report(&mut self, stage: Stage) {
        self.progress.stage = stage;
        if let Some(l) = self.listener {
            l.on_progress(&self.progress);
        }
    }

    /// Runs `op`, and when the link drops, reconnects, re-establishes access control and runs
    /// it again. `op` must be resumable: it continues from state kept in `self`.
    pub(crate) fn resuming<R>(
        &mut self,
        mut op: impl FnMut(&mut Self) -> Result<R, ChipError>,
    ) -> Result<R, ChipError> {
        loop {
            match op(self) {
                Err(ChipError::LinkLost) => self.resume()?,
                Err(e)
                    if e.session_ended()
                        && self.method.is_some()
                        && self.reestablished < MAX_REESTABLISH =>
                {
                    // The chip ended secure messaging (often after an error it answered
                    // plain): a new session, as after a drop, but without waiting for the card.
                    self.reestablished += 1;
                    match self.reestablish() {
                        Ok(()) => {}
                        Err(ChipError::LinkLost) => self.resume()?,
                        Err(e) => return Err(e),
                    }
                }
                other => return other,
            }
        }
    }

    /// Access control again on the same link, and chip authentication when it bound the read.
    fn reestablish(&mut self) -> Result<(), ChipError> {
        self.selected = None;
        self.establish()?;
        match self.binding.clone() {
            Some((info, key)) => ca::authenticate(&mut self.channel, &info, &key, &mut *self.rng),
            None => Ok(()),
        }
    }

    fn resume(&mut self) -> Result<(), ChipError> {
        loop {
            if self.channel.stats.resumes >= u64::from(self.max_resumes) {
                return Err(ChipError::LinkLost);
            }
            let stage = self.progress.stage;
            self.report(Stage::Resuming);
            self.selected = None;
            let attempt = self.channel.reconnect().and_then(|()| self.reestablish());
            match attempt {
                Ok(()) => {
                    self.progress.stage = stage;
                    return Ok(());
                }
                Err(ChipError::LinkLost) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Opens the chip: PACE when EF.CardAccess offers it, BAC otherwise; selects the eMRTD
    /// application. On a resume the protocol chosen the first time is used again.
    pub fn open(&mut self) -> Result<AccessControl, ChipError> {
        self.report(Stage::AccessControl);
        self.resuming(|r| r.establish())?;
        self.method.ok_or(ChipError::Cancelled)
    }

    fn establish(&mut self) -> Result<(), ChipError> {
        self.channel.set_secure_messaging(None);
        self.selected = None;
        if self.card_access.is_none() {
            self.card_access = Some(self.read_card_access()?);
        }
        if self.method != Some(AccessControl::Bac) && !self.pace_failed {
            let infos = self
                .card_access
                .as_ref()
                .and_then(|c| c.as_deref())
                .and_then(|b| SecurityInfos::parse(b).ok());
            let offered = infos.as_ref().and_then(SecurityInfos::best_pace).cloned();
            // EF.CardAccess refused (6982): with MRZ data BAC opens the card; with only a CAN,
            // PACE with the CCCD's parameters is the one attempt that can work.
            let guessed = (offered.is_none()
                && self.card_access_refused
                && matches!(self.key, AccessKey::Can(_)))
            .then(default_pace_info);
            if let Some(info) = offered.or(guessed) {
                let several = infos.as_ref().is_some_and(|i| i.pace().count() > 1);
                match pace::authenticate_with_parameter_ref(
                    &mut self.channel,
                    &self.key,
                    &info,
                    several,
                    &mut *self.rng,
                ) {
                    Ok(()) => {
                        self.method = Some(AccessControl::Pace);
                        return self.select_application();
                    }
                    // A lost link is resumed by the caller (PACE again, it worked before or
                    // did not get to run).
                    Err(ChipError::LinkLost) => return Err(ChipError::LinkLost),
                    Err(e) => self.pace_failed(e)?,
                }
            }
        }
        let AccessKey::Mrz(mrz) = &self.key else {
            return Err(ChipError::Unsupported("the card does not offer PACE, so the CAN cannot open it; use the ID number and dates".into()));
        };
        let mrz = mrz.clone();
        self.select_application()?;
        bac::authenticate(&mut self.channel, &mrz, &mut *self.rng)?;
        self.method = Some(AccessControl::Bac);
        Ok(())
    }

    /// PACE did not open the chip. Never a second PACE attempt (no blind retries that could
    /// block the card): with MRZ data, BAC once on the re-selected application with a fresh
    /// session (ICAO 9303-11 §4.2; a wrong MRZ is then refused by BAC too); with only a CAN, an
    /// error that says what to do.
    fn pace_failed(&mut self, error: ChipError) -> Result<(), ChipError> {
        self.channel.set_secure_messaging(None);
        if self.method.is_some() {
            // PACE opened this chip before (a resume): the failure is the failure.
            return Err(error);
        }
        match (&self.key, error) {
            (AccessKey::Mrz(_), _) => {
                self.pace_failed = true;
                Ok(())
            }
            // The CAN does not match: say so, and let the citizen type it again.
            (AccessKey::Can(_), ChipError::AccessDenied) => Err(ChipError::WrongCan),
            (AccessKey::Can(_), e @ ChipError::Transport(_)) => Err(e),
            (AccessKey::Can(_), ChipError::Cancelled) => Err(ChipError::Cancelled),
            (AccessKey::Can(_), _) => Err(ChipError::Unsupported(
                "the card refused PACE, so the CAN cannot open it: enter the ID number, date of birth and expiry instead".into(),
            )),
        }
    }

    /// EF.CardAccess lives under the master file and is read without secure messaging.
    fn read_card_access(&mut self) -> Result<Option<Vec<u8>>, ChipError> {
        // Before secure messaging the channel is plain, so the ordinary file read applies, with
        // its block, 6282 and 6Cxx handling. Chips without PACE refuse in many ways: none of
        // those refusals is an error, the chip simply offers BAC only.
        self.progress.file = Some(LdsFile::CardAccess);
        let found = self.read_card_access_here()?;
        if found.is_some() || !matches!(self.key, AccessKey::Can(_)) || self.card_access_refused {
            return Ok(found);
        }
        // Only a CAN, so only PACE can open the card: some chips keep EF.CardAccess inside the
        // eMRTD application (reachable by SFI or SELECT P1=02 there). With MRZ data BAC opens
        // such a chip, and BAC-only cards are not charged this extra round trip.
        self.files.remove(&LdsFile::CardAccess);
        match self.select_application() {
            Ok(()) => self.read_card_access_here(),
            Err(ChipError::Status { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_card_access_here(&mut self) -> Result<Option<Vec<u8>>, ChipError> {
        match self.read_file(LdsFile::CardAccess) {
            Ok(()) => Ok(self.file(LdsFile::CardAccess).map(<[u8]>::to_vec)),
            Err(ChipError::Status {
                sw: sw::SECURITY_NOT_SATISFIED,
                ..
            }) => {
                self.card_access_refused = true;
                Ok(None)
            }
            Err(ChipError::Status { .. } | ChipError::Malformed { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn select_application(&mut self) -> Result<(), ChipError> {
        let cmd = CommandApdu::new(0, ins::SELECT, 0x04, 0x0C).with_data(EMRTD_AID.to_vec());
        let resp = self.channel.send(&cmd)?;
        // Selecting the application deselects whatever file was current.
        self.selected = None;
        match resp.sw {
            sw::OK => Ok(()),
            sw::FILE_NOT_FOUND | sw::WRONG_P1P2 | sw::WRONG_DATA => Err(ChipError::NotEmrtd),
            other => Err(ChipError::Status {
                command: "SELECT eMRTD application",
                sw: other,
            }),
        }
    }

    /// Largest Le worth asking for: what the link carries minus the secure-messaging overhead.
    fn max_le(&self) -> usize {
        let limits = self.channel.limits();
        let cap = self.le_caps[self.phase()];
        if limits.extended_length
            && limits.max_response >= EXTENDED_MAX_LE + 2
            && cap >= EXTENDED_MAX_LE
        {
            // Le=0000: as much as the chip sends at once (ISO 7816-4 §5.1). A chip with a
            // smaller buffer answers less, and the reader keeps to that size from then on.
            return EXTENDED_MAX_LE;
        }
        let max_response = if limits.extended_length {
            limits.max_response.min(EXTENDED_MAX_LE + 2)
        } else {
            limits.max_response.min(SHORT_MAX_LE + 2)
        };
        let plain = match self.channel.secure_messaging() {
            Some(sm) => SecureMessaging::max_plain_response(sm.cipher(), max_response),
            None => max_response.saturating_sub(2),
        };
        plain.min(cap).max(1)
    }

    /// 0 before secure messaging, 1 under it: chips limit lengths differently in each.
    fn phase(&self) -> usize {
        usize::from(self.channel.secure_messaging().is_some())
    }

    /// Reads the requested files, resuming after link loss. Files the chip does not have are
    /// left out of the result.
    pub fn read_files(&mut self, files: &[LdsFile]) -> Result<(), ChipError> {
        self.progress.files_total += files.len();
        for &file in files {
            self.progress.file = Some(file);
            self.progress.bytes_read = 0;
            self.progress.bytes_total = None;
            self.report(Stage::Reading);
            self.resuming(|r| r.read_file(file))?;
            self.progress.files_done += 1;
        }
        Ok(())
    }

    /// The bytes of a file read so far, if complete.
    pub fn file(&self, file: LdsFile) -> Option<&[u8]> {
        self.files
            .get(&file)
            .filter(|p| p.complete() && !p.absent)
            .map(|p| p.bytes.as_slice())
    }

    fn read_file(&mut self, file: LdsFile) -> Result<(), ChipError> {
        let (mut retry_le, mut wrong_le_answers): (Option<usize>, u8) = (None, 0);
        loop {
            let state = self.files.entry(file).or_default();
            if state.complete() {
                return Ok(());
            }
            let offset = state.bytes.len();
            let remaining = state.total.map(|t| t - offset);
            let le = match retry_le.take() {
                Some(exact) => exact,
                None => remaining.map_or(self.max_le(), |r| r.min(self.max_le())),
            };
            let resp = self.read_binary(file, offset, le)?;
            match resp.sw {
                sw::OK | sw::END_OF_FILE => {
                    let got = resp.data.len();
                    if resp.sw == sw::OK && got > 0 && got < le {
                        // Less than asked and not the end: the most this chip sends at once.
                        let phase = self.phase();
                        self.le_caps[phase] = self.le_caps[phase].min(got);
                    }
                    let state = self.files.entry(file).or_default();
                    state.bytes.extend_from_slice(&resp.data);
                    if state.total.is_none() {
                        if let Ok(h) = tlv::read_header(&state.bytes) {
                            state.total = h.total_len();
                        } else if state.bytes.len() >= 8 {
                            return Err(ChipError::Malformed {
                                what: "file header",
                            });
                        }
                    }
                    if got == 0 || resp.sw == sw::END_OF_FILE {
                        // The file ends here whatever its header said.
                        state.total = Some(state.bytes.len());
                    }
                    if let Some(t) = state.total {
                        state.bytes.truncate(t.max(offset));
                    }
                    self.progress.bytes_read = state.bytes.len();
                    self.progress.bytes_total = state.total;
                    self.report(Stage::Reading);
                }
                sw::FILE_NOT_FOUND => {
                    self.files.entry(file).or_default().absent = true;
                    return Ok(());
                }
                s if s >> 8 == u16::from(sw::WRONG_LE_PREFIX) && wrong_le_answers < 2 => {
                    // 6Cxx: the card tells the right Le for this read; ask again with it (twice
                    // at most, so a card that keeps answering 6Cxx cannot hold the reader).
                    wrong_le_answers += 1;
                    let exact = usize::from(s as u8);
                    retry_le = Some(if exact == 0 { SHORT_MAX_LE } else { exact });
                }
                sw::WRONG_LENGTH if le > MIN_LE => {
                    // The card refuses this Le: first the size every short APDU carries (also
                    // for cards that refuse extended length or Le=00), then smaller steps for
                    // chips with small buffers.
                    let phase = self.phase();
                    let next = if le > 0xDF {
                        0xDF
                    } else {
                        (le * 7 / 8).max(MIN_LE)
                    };
                    self.le_caps[phase] = self.le_caps[phase].min(next);
                    if le > SHORT_MAX_LE {
                        // Extended length refused: not worth trying in the other phase either.
                        self.le_caps[1 - phase] = self.le_caps[1 - phase].min(0xDF);
                    }
                }
                sw::WRONG_P1P2 if offset > 0 => {
                    // Offset beyond the end: the header overstated the length.
                    let state = self.files.entry(file).or_default();
                    state.total = Some(state.bytes.len());
                }
                sw::SECURITY_NOT_SATISFIED
                    if self.channel.secure_messaging().is_some()
                        && self.refused_at != Some((file, offset)) =>
                {
                    // Some chips forget the session (a timeout, a reset) and answer 6982
                    // without secure messaging: a new session, then the same read once more.
                    self.refused_at = Some((file, offset));
                    self.channel.set_secure_messaging(None);
                    return Err(SmError::Unprotected(sw::SECURITY_NOT_SATISFIED).into());
                }
                sw::SECURITY_NOT_SATISFIED => {
                    return Err(ChipError::Status {
                        command: "READ BINARY (access to the file refused)",
                        sw: resp.sw,
                    });
                }
                other => {
                    return Err(ChipError::Status {
                        command: "READ BINARY",
                        sw: other,
                    });
                }
            }
        }
    }

    /// One READ BINARY: by short EF identifier for the first block (selects the file as a side
    /// effect, saving a SELECT), by offset after an explicit SELECT otherwise, and with the odd
    /// instruction B1 beyond offset 32767.
    fn read_binary(
        &mut self,
        file: LdsFile,
        offset: usize,
        le: usize,
    ) -> Result<ResponseApdu, ChipError> {
        if offset == 0 && self.selected != Some(file) && !self.no_sfi {
            let resp = self
                .channel
                .send(&CommandApdu::new(0, ins::READ_BINARY, 0x80 | file.sfi(), 0).with_le(le))?;
            match resp.sw {
                // No short EF identifiers on this chip (6A86 or 6B00, ISO 7816-4 §11.1.1):
                // SELECT by file identifier from now on.
                SW_INCORRECT_P1P2 | sw::WRONG_P1P2 => self.no_sfi = true,
                // Only data says the chip selected the file; after a refusal (6700, 6Cxx) the
                // next try is by SFI again.
                sw::OK | sw::END_OF_FILE => {
                    self.selected = Some(file);
                    return Ok(resp);
                }
                _ => return Ok(resp),
            }
        }
        if self.selected != Some(file) {
            let fid = file.fid().to_be_bytes();
            let resp = self
                .channel
                .send(&CommandApdu::new(0, ins::SELECT, 0x02, 0x0C).with_data(fid.to_vec()))?;
            if resp.sw != sw::OK {
                return Ok(resp);
            }
            self.selected = Some(file);
        }
        if offset <= 0x7FFF {
            let cmd = CommandApdu::new(0, ins::READ_BINARY, (offset >> 8) as u8, offset as u8)
                .with_le(le);
            return self.channel.send(&cmd);
        }
        // ISO 7816-4 §11.3.3: offset in DO'54', data returned in DO'53'.
        let off = (offset as u32).to_be_bytes();
        let start = off.iter().position(|b| *b != 0).unwrap_or(3);
        let data = tlv::encode(0x54, off.get(start..).unwrap_or_default());
        // DO'53' header takes up to 4 bytes of the response.
        let cmd = CommandApdu::new(0, ins::READ_BINARY_ODD, 0, 0)
            .with_data(data)
            .with_le(le + 4);
        let mut resp = self.channel.send(&cmd)?;
        if !resp.data.is_empty() {
            let (t, _) =
                tlv::read(&resp.data).map_err(ChipError::malformed("READ BINARY response"))?;
            resp.data = t
                .expect_tag(0x53)
                .map_err(ChipError::malformed("READ BINARY response"))?
                .value
                .to_vec();
        }
        Ok(resp)
    }

    /// Chip authentication with the DG14 key (ICAO 9303-11 §6.2), confirmed by one protected
    /// command under the new keys. On failure access control is re-established so reading can
    /// go on, and the verdict says the chip is not genuine.
    pub fn chip_authenticate(
        &mut self,
        info: &ChipAuthenticationInfo,
        key: &ChipAuthenticationPublicKeyInfo,
    ) -> Result<CaOutcome, ChipError> {
        self.report(Stage::ChipAuthentication);
        let outcome = self.resuming(|r| {
            r.selected = None;
            ca::authenticate(&mut r.channel, info, key, &mut *r.rng)?;
            let probe = CommandApdu::new(0, ins::SELECT, 0x04, 0x0C).with_data(EMRTD_AID.to_vec());
            match r.channel.send(&probe) {
                Ok(resp) if resp.is_ok() => Ok(CaOutcome::Valid),
                Ok(resp) => Ok(CaOutcome::Invalid {
                    reason: format!("the chip refused to continue after chip authentication (status {:04X})", resp.sw),
                }),
                Err(ChipError::SecureMessaging(_)) => Ok(CaOutcome::Invalid {
                    reason: "the chip could not continue secure messaging with keys agreed on its DG14 key: it does not hold that private key (a clone)".into(),
                }),
                Err(e) => Err(e),
            }
        })?;
        match outcome {
            CaOutcome::Valid => self.binding = Some((info.clone(), key.clone())),
            CaOutcome::Invalid { .. } => self.resuming(|r| r.establish())?,
        }
        Ok(outcome)
    }

    /// Active authentication with the DG15 key (ICAO 9303-11 §6.1).
    pub fn active_authenticate(
        &mut self,
        key: &AaPublicKey,
        info: Option<&ActiveAuthenticationInfo>,
    ) -> Result<AaOutcome, ChipError> {
        self.report(Stage::ActiveAuthentication);
        self.resuming(|r| aa::authenticate(&mut r.channel, key, info, &mut *r.rng))
    }

    /// INTERNAL AUTHENTICATE over a verifier's challenge; the signature is for that verifier.
    pub fn sign_challenge(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ChipError> {
        self.report(Stage::ActiveAuthentication);
        self.resuming(|r| aa::internal_authenticate(&mut r.channel, challenge))
    }

    /// The result: every complete file, how the chip was opened, and the link statistics.
    pub fn finish(mut self) -> Result<RawRead, ChipError> {
        self.progress.file = None;
        self.report(Stage::Done);
        let files = self
            .files
            .iter()
            .filter(|(_, p)| p.complete() && !p.absent)
            .map(|(f, p)| (*f, p.bytes.clone()))
            .collect();
        let absent = self
            .files
            .iter()
            .filter(|(f, p)| p.absent && **f != LdsFile::CardAccess)
            .map(|(f, _)| *f)
            .collect();
        Ok(RawRead {
            access_control: self.method.ok_or(ChipError::Cancelled)?,
            card_access: self.card_access.clone().flatten(),
            files,
            absent,
            stats: self.channel.stats,
        })
    }
}
