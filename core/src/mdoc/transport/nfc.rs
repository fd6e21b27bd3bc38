//! NFC engagement and data retrieval (ISO/IEC 18013-5 §8.2.2.1, §8.3.3.2) with the holder's phone
//! as the card (Android HCE-like: [`NfcHolder::process_apdu`] takes a command APDU and gives the
//! response) and the reader on any [`ApduTransport`] (PC/SC desk reader, phone NFC).
//!
//! Engagement: an NFC Forum Type 4 Tag (NDEF application D2 76 00 00 85 01 01, capability
//! container E103, NDEF file E104) holding the static Handover Select message ([`super::ndef`]),
//! or offering negotiated handover ([`super::tnep`]); the reader takes either. The handover
//! names NFC data retrieval, BLE ([`super::carrier`]; the session then runs over
//! [`super::ble_session`] with this transcript), or both.
//! Data retrieval: SELECT the mdoc application A0 00 00 02 48 04 00; every reader message goes
//! in ENVELOPE (INS C3) wrapped as BER-TLV `53`, extended length when the link allows it, command
//! chaining (CLA bit 0x10) otherwise; the holder's message comes back in the response, also in
//! `53`; what does not fit Le is announced with SW 61xx and fetched with GET RESPONSE (INS C0).

use super::ble_session::HolderParty;
use super::carrier::{BleCarrier, Carrier, NfcLimits};
use super::ndef::{
    HandoverService, NfcHandover, first_ble, handover_request, handover_select, handover_service,
    ndef_file, nfc_handover, parse_handover_select, parse_message, parse_negotiated_select,
    service_select, tnep_status,
};
use super::tnep::{NegotiatedHandover, Written};
use crate::mdoc::engagement::DeviceEngagement;
use crate::mdoc::error::MdocError;
use crate::mdoc::holder_session::{
    Decision, HolderPolicy, HolderSession, HolderStep, MdocSource, PresentationRequest, SessionEnd,
};
use eid_icao::apdu::{CommandApdu, ResponseApdu, SHORT_MAX_LE, sw};
use eid_icao::{ApduTransport, TransportError};
use thiserror::Error;

/// AID of the mdoc data retrieval application.
pub const MDOC_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x48, 0x04, 0x00];
/// AID of the NFC Forum Type 4 Tag NDEF application.
pub const NDEF_AID: [u8; 7] = [0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01];
const CC_FILE: [u8; 2] = [0xE1, 0x03];
const NDEF_FILE: [u8; 2] = [0xE1, 0x04];
/// ENVELOPE.
pub const INS_ENVELOPE: u8 = 0xC3;
/// GET RESPONSE.
pub const INS_GET_RESPONSE: u8 = 0xC0;
const INS_SELECT: u8 = 0xA4;
const INS_READ_BINARY: u8 = 0xB0;
const INS_UPDATE_BINARY: u8 = 0xD6;
/// BER-TLV tag wrapping session messages in ENVELOPE and its responses.
const TAG_DATA: u8 = 0x53;
const CLA_CHAINING: u8 = 0x10;
/// Largest message accepted in chained ENVELOPEs (a DeviceRequest is a few KB).
const MAX_COMMAND_MESSAGE: usize = 1024 * 1024;
/// The Type 4 Tag's largest READ BINARY (MLe).
const T4T_MLE: u16 = 0xFF;
/// ATR of the holder as a contactless card in a PC/SC reader: card capabilities announce
/// extended Lc/Le (ISO 7816-4 §8.1.1.2.7), so desk readers use extended ENVELOPEs.
pub const HOLDER_ATR: [u8; 10] = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x80, 0x21, 0xC0, 0x96];

/// BER-TLV `53` with a definite length.
fn wrap(data: &[u8]) -> Vec<u8> {
    let n = data.len();
    let mut out = vec![TAG_DATA];
    if n < 0x80 {
        out.push(n as u8);
    } else if n <= 0xFF {
        out.extend_from_slice(&[0x81, n as u8]);
    } else if n <= 0xFFFF {
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    } else {
        out.extend_from_slice(&[0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(data);
    out
}

/// The value of a BER-TLV `53`, which must fill `bytes` exactly.
fn unwrap(bytes: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = bytes.split_first()?;
    if tag != TAG_DATA {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81 => (usize::from(*rest.first()?), rest.get(1..)?),
        0x82 => (
            usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?])),
            rest.get(2..)?,
        ),
        0x83 => (
            usize::from(*rest.first()?) << 16
                | usize::from(*rest.get(1)?) << 8
                | usize::from(*rest.get(2)?),
            rest.get(3..)?,
        ),
        _ => return None,
    };
    (rest.len() == len).then_some(rest)
}

fn status_only(code: u16) -> Vec<u8> {
    ResponseApdu::status(code).to_bytes()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selected {
    None,
    NdefApp,
    CapabilityContainer,
    NdefFile,
    Mdoc,
}

/// The citizen's consent, asked when a request arrives.
pub type ConsentFn<'a> = dyn FnMut(&PresentationRequest) -> Decision + Send + 'a;

/// The holder as an NFC card: the Type 4 Tag with the handover, and the mdoc application that
/// runs the [`HolderSession`]. `consent` is asked when a request arrives. The source and the
/// consent are owned or borrowed (`&mut`) alike, so an HCE service can keep the holder.
pub struct NfcHolder<'a> {
    session: HolderSession,
    policy: HolderPolicy<'a>,
    source: Box<dyn MdocSource + Send + 'a>,
    consent: Box<ConsentFn<'a>>,
    ndef_file: Vec<u8>,
    /// The carriers of data retrieval the holder takes, its preference first.
    offered: Vec<Carrier>,
    /// Negotiated handover, when the holder offers it instead of a static one.
    negotiation: Option<NegotiatedHandover>,
    /// The carrier a negotiated handover chose.
    chosen: Option<Carrier>,
    selected: Selected,
    /// Chained ENVELOPE data gathered so far.
    command: Vec<u8>,
    /// Response bytes not yet fetched by GET RESPONSE.
    pending: Vec<u8>,
    /// APDUs processed (for the size table).
    pub apdus: usize,
    /// The last request shown (tests and the CLI print it).
    pub last_request: Option<PresentationRequest>,
    /// The citizen's answer to it.
    pub last_decision: Option<Decision>,
    /// Why the session ended without an answer (e.g. a reader refused by the policy).
    pub last_end: Option<SessionEnd>,
}

impl std::fmt::Debug for NfcHolder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NfcHolder")
            .field("selected", &self.selected)
            .field("apdus", &self.apdus)
            .finish_non_exhaustive()
    }
}

/// The limits the holder announces in its NFC carrier record.
pub const HOLDER_LIMITS: NfcLimits = NfcLimits {
    max_command_data: 0xFFFF,
    max_response_data: 0xFFFF,
};

impl<'a> NfcHolder<'a> {
    /// A holder engaged by NFC: a fresh DeviceEngagement for `e_device_private` (no retrieval
    /// methods: they are in the handover), its Handover Select offering NFC data retrieval in the
    /// NDEF file, and the session whose transcript carries `[HandoverSelect, null]`.
    pub fn new(
        e_device_private: eid_crypto::SecretKey,
        policy: HolderPolicy<'a>,
        source: impl MdocSource + Send + 'a,
        consent: impl FnMut(&PresentationRequest) -> Decision + Send + 'a,
    ) -> Result<NfcHolder<'a>, MdocError> {
        let engagement = DeviceEngagement::new(
            crate::mdoc::ephemeral::public_key(crate::mdoc::CoseCurve::P256, &e_device_private)?,
            vec![],
        );
        let offered = vec![Carrier::Nfc(HOLDER_LIMITS)];
        let hs = handover_select(&engagement, &offered);
        let session = HolderSession::new(e_device_private, engagement, nfc_handover(&hs, None))?;
        Ok(NfcHolder {
            session,
            policy,
            source: Box::new(source),
            consent: Box::new(consent),
            ndef_file: ndef_file(&hs),
            offered,
            negotiation: None,
            chosen: None,
            selected: Selected::None,
            command: Vec::new(),
            pending: Vec::new(),
            apdus: 0,
            last_request: None,
            last_decision: None,
            last_end: None,
        })
    }

    /// The same holder offering negotiated handover instead of the static one: its NDEF file
    /// offers the Connection Handover service, the reader writes its Handover Request, and the
    /// transcript's handover becomes `[HandoverSelect, HandoverRequest]` ([`super::tnep`]).
    pub fn negotiated(mut self) -> NfcHolder<'a> {
        self.negotiation = Some(NegotiatedHandover::new(
            self.session.engagement().clone(),
            self.offered.clone(),
        ));
        self.ndef_file = NegotiatedHandover::initial_file();
        self
    }

    /// The same holder taking `carriers` of data retrieval, its preference first: NFC
    /// (with the holder's limits, whatever `carriers` gives) and/or BLE (with its service UUID).
    /// A static handover names them all; a negotiated one the first the reader offers too. The
    /// app serves the BLE carrier ([`NfcHolder::ble_carrier`]) while the phone is engaged.
    pub fn offering(mut self, carriers: &[Carrier]) -> Result<NfcHolder<'a>, MdocError> {
        const WHAT: MdocError = MdocError::Structure("NFC handover carriers");
        if carriers.is_empty() {
            return Err(WHAT);
        }
        self.offered = carriers
            .iter()
            .map(|c| match c {
                Carrier::Nfc(_) => Ok(Carrier::Nfc(HOLDER_LIMITS)),
                Carrier::Ble(b) => b.options().map(|_| *c).ok_or(WHAT),
            })
            .collect::<Result<_, _>>()?;
        if self.negotiation.is_some() {
            return Ok(self.negotiated());
        }
        let hs = handover_select(self.session.engagement(), &self.offered);
        self.session.set_handover(nfc_handover(&hs, None))?;
        self.ndef_file = ndef_file(&hs);
        Ok(self)
    }

    /// The BLE carrier the reader may connect by: the one offered by a static handover, the one
    /// a negotiated handover chose (none before the reader's Handover Request).
    pub fn ble_carrier(&self) -> Option<BleCarrier> {
        match &self.negotiation {
            None => first_ble(&self.offered),
            Some(_) => first_ble(self.chosen.as_slice()),
        }
    }

    pub fn session(&self) -> &HolderSession {
        &self.session
    }

    /// The session, policy, mdocs and consent, for a reader that came by BLE
    /// ([`super::ble_session::BleHolder`]).
    pub fn party(&mut self) -> HolderParty<'_, 'a> {
        HolderParty {
            session: &mut self.session,
            policy: &self.policy,
            source: &mut *self.source,
            consent: &mut *self.consent,
        }
    }

    /// A field reset (power cycle): the selection and any half-sent answer are lost; the
    /// engagement and the session stay, as on a phone whose wallet screen is still open. A
    /// negotiated handover starts again while the reader has sent nothing: a reader that comes
    /// back engages from the start, and its new Handover Request goes into the transcript.
    pub fn field_reset(&mut self) {
        self.selected = Selected::None;
        self.command.clear();
        self.pending.clear();
        if let Some(n) = self.negotiation.as_mut()
            && self.session.awaiting_reader()
        {
            // The carrier chosen stays until another Handover Request replaces it: a reader
            // that chose BLE connects after the phone has left the field.
            n.restart();
            self.ndef_file = NegotiatedHandover::initial_file();
        }
    }

    /// The holder gave up (wallet screen closed): the session is over.
    pub fn deactivated(&mut self) {
        self.session.transport_ended();
        self.selected = Selected::None;
        self.command.clear();
        self.pending.clear();
    }

    /// One command APDU in, its response out (data + SW1 SW2). Never panics.
    pub fn process_apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.apdus += 1;
        let Ok(cmd) = CommandApdu::parse(apdu) else {
            return status_only(sw::WRONG_LENGTH);
        };
        if cmd.cla & !CLA_CHAINING != 0 {
            return status_only(sw::CLA_NOT_SUPPORTED);
        }
        match cmd.ins {
            INS_SELECT => self.select(&cmd),
            INS_READ_BINARY => self.read_binary(&cmd),
            INS_UPDATE_BINARY => self.update_binary(&cmd),
            INS_ENVELOPE => self.envelope(&cmd),
            INS_GET_RESPONSE => self.get_response(&cmd),
            _ => status_only(sw::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, cmd: &CommandApdu) -> Vec<u8> {
        self.command.clear();
        self.pending.clear();
        match (cmd.p1, cmd.data.as_slice()) {
            (0x04, aid) if aid == NDEF_AID => {
                self.selected = Selected::NdefApp;
                status_only(sw::OK)
            }
            (0x04, aid) if aid == MDOC_AID => {
                self.selected = Selected::Mdoc;
                status_only(sw::OK)
            }
            (0x00, f) if f == CC_FILE && self.selected != Selected::None => {
                self.selected = Selected::CapabilityContainer;
                status_only(sw::OK)
            }
            (0x00, f) if f == NDEF_FILE && self.selected != Selected::None => {
                self.selected = Selected::NdefFile;
                status_only(sw::OK)
            }
            _ => status_only(sw::FILE_NOT_FOUND),
        }
    }

    fn capability_container(&self) -> Vec<u8> {
        // Negotiated handover: room for the reader's messages, and the file may be written.
        let (size, write) = match self.negotiation {
            Some(_) => (NegotiatedHandover::MAX_FILE, 0x00),
            None => (self.ndef_file.len(), 0xFF),
        };
        let max = (size as u16).to_be_bytes();
        let mle = T4T_MLE.to_be_bytes();
        vec![
            0x00,
            0x0F,
            0x20,
            mle[0],
            mle[1],
            0x00,
            0xFF,
            0x04,
            0x06,
            NDEF_FILE[0],
            NDEF_FILE[1],
            max[0],
            max[1],
            0x00,
            write,
        ]
    }

    /// A write of the reader's TNEP message into the NDEF file (negotiated handover only).
    fn update_binary(&mut self, cmd: &CommandApdu) -> Vec<u8> {
        let Some(negotiation) = self.negotiation.as_mut() else {
            return status_only(sw::INS_NOT_SUPPORTED);
        };
        if self.selected != Selected::NdefFile {
            return status_only(sw::FILE_NOT_FOUND);
        }
        let offset = usize::from(u16::from_be_bytes([cmd.p1 & 0x7F, cmd.p2]));
        match negotiation.write(offset, &cmd.data) {
            Written::Partial => status_only(sw::OK),
            Written::Answer { file, handover } => {
                if let Some((h, chosen)) = handover {
                    if self.session.set_handover(h).is_err() {
                        return status_only(sw::WRONG_DATA);
                    }
                    self.chosen = Some(chosen);
                }
                self.ndef_file = file;
                status_only(sw::OK)
            }
            Written::Refused => status_only(sw::WRONG_DATA),
        }
    }

    fn read_binary(&mut self, cmd: &CommandApdu) -> Vec<u8> {
        let file = match self.selected {
            Selected::CapabilityContainer => self.capability_container(),
            Selected::NdefFile => self.ndef_file.clone(),
            _ => return status_only(sw::FILE_NOT_FOUND),
        };
        let offset = usize::from(u16::from_be_bytes([cmd.p1 & 0x7F, cmd.p2]));
        let le = cmd.le.unwrap_or(SHORT_MAX_LE).min(usize::from(T4T_MLE));
        let Some(rest) = file.get(offset..) else {
            return status_only(sw::WRONG_P1P2);
        };
        ResponseApdu::new(rest[..rest.len().min(le)].to_vec(), sw::OK).to_bytes()
    }

    fn envelope(&mut self, cmd: &CommandApdu) -> Vec<u8> {
        if self.selected != Selected::Mdoc {
            return status_only(sw::SECURITY_NOT_SATISFIED);
        }
        if self.command.len() + cmd.data.len() > MAX_COMMAND_MESSAGE {
            self.command.clear();
            return status_only(sw::WRONG_LENGTH);
        }
        self.command.extend_from_slice(&cmd.data);
        if cmd.cla & CLA_CHAINING != 0 {
            return status_only(sw::OK);
        }
        let whole = std::mem::take(&mut self.command);
        let Some(message) = unwrap(&whole) else {
            return status_only(sw::WRONG_DATA);
        };
        let reply = match self.session.receive(message, &self.policy, &*self.source) {
            Ok(HolderStep::Request(shown)) => {
                let decision = (self.consent)(&shown);
                self.last_request = Some(shown);
                self.last_decision = Some(decision);
                match self.session.decide(decision, &mut *self.source) {
                    Ok(r) => Some(r),
                    Err(_) => Some(self.session.terminate()),
                }
            }
            Ok(HolderStep::Ended { reason, reply }) => {
                self.last_end = Some(reason);
                reply
            }
            Err(_) => return status_only(sw::WRONG_DATA),
        };
        // No message back (the reader's termination): an empty DO'53', as every ENVELOPE
        // response carries one; readers that unwrap each response refuse a bare 9000.
        self.pending = wrap(&reply.unwrap_or_default());
        self.answer(cmd.le.unwrap_or(SHORT_MAX_LE))
    }

    fn get_response(&mut self, cmd: &CommandApdu) -> Vec<u8> {
        if self.pending.is_empty() {
            return status_only(sw::WRONG_DATA);
        }
        self.answer(cmd.le.unwrap_or(SHORT_MAX_LE))
    }

    /// Up to `le` pending bytes; 61xx announces what remains (xx = 00: 256 or more).
    fn answer(&mut self, le: usize) -> Vec<u8> {
        let le = le.min(usize::from(HOLDER_LIMITS.max_response_data));
        let n = self.pending.len().min(le);
        let data: Vec<u8> = self.pending.drain(..n).collect();
        let remaining = self.pending.len();
        let code = match remaining {
            0 => sw::OK,
            n => sw::more_data(n),
        };
        ResponseApdu::new(data, code).to_bytes()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NfcError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The card answered with an unexpected status word (the word is not secret).
    #[error("card status {0:04X}")]
    Status(u16),
    #[error("malformed response from the card")]
    Malformed,
    /// The phone's NFC engagement (handover) could not be completed.
    #[error("NFC handover: {0}")]
    Handover(&'static str),
    #[error(transparent)]
    Mdoc(#[from] MdocError),
}

/// Counts the APDUs a reader sent (for the size table).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApduCount(pub usize);

fn transmit(
    t: &mut dyn ApduTransport,
    cmd: &CommandApdu,
    count: &mut ApduCount,
) -> Result<ResponseApdu, NfcError> {
    count.0 += 1;
    let raw = t.transmit(&cmd.to_bytes())?;
    ResponseApdu::parse(&raw).map_err(|_| NfcError::Malformed)
}

fn expect_ok(r: ResponseApdu) -> Result<Vec<u8>, NfcError> {
    if r.is_ok() {
        Ok(r.data)
    } else {
        Err(NfcError::Status(r.sw))
    }
}

/// The Type 4 Tag as the reader found it: the largest READ BINARY and UPDATE BINARY data it
/// takes, and whether its NDEF file may be written (negotiated handover writes it).
struct Tag {
    mle: usize,
    mlc: usize,
    writable: bool,
}

/// Reads the NDEF file (NLEN, then the message in READ BINARY pieces of at most MLe bytes).
/// An empty message (NLEN 0) comes back empty: a TNEP tag asking for more time.
fn read_ndef(
    t: &mut dyn ApduTransport,
    tag: &Tag,
    count: &mut ApduCount,
) -> Result<Vec<u8>, NfcError> {
    let nlen = expect_ok(transmit(
        t,
        &CommandApdu::new(0, INS_READ_BINARY, 0, 0).with_le(2),
        count,
    )?)?;
    let [h, l] = nlen.as_slice() else {
        return Err(NfcError::Malformed);
    };
    let total = usize::from(u16::from_be_bytes([*h, *l]));
    let mut message = Vec::with_capacity(total);
    while message.len() < total {
        let offset = message.len() + 2;
        let want = (total - message.len()).min(tag.mle);
        let cmd = CommandApdu::new(0, INS_READ_BINARY, (offset >> 8) as u8 & 0x7F, offset as u8)
            .with_le(want);
        let part = expect_ok(transmit(t, &cmd, count)?)?;
        if part.is_empty() || part.len() > want {
            return Err(NfcError::Malformed);
        }
        message.extend_from_slice(&part);
    }
    Ok(message)
}

/// Writes `message` to the NDEF file (NFC Forum Type 4 Tag 1.2 §7.5.5): in one UPDATE BINARY
/// with its NLEN when it fits MLc, else NLEN 0, the message in pieces, then NLEN.
fn write_ndef(
    t: &mut dyn ApduTransport,
    tag: &Tag,
    message: &[u8],
    count: &mut ApduCount,
) -> Result<(), NfcError> {
    let update = |offset: usize, data: Vec<u8>| {
        CommandApdu::new(0, INS_UPDATE_BINARY, (offset >> 8) as u8, offset as u8).with_data(data)
    };
    let nlen = u16::try_from(message.len()).map_err(|_| NfcError::Malformed)?;
    if message.len() + 2 <= tag.mlc {
        expect_ok(transmit(t, &update(0, ndef_file(message)), count)?)?;
        return Ok(());
    }
    expect_ok(transmit(t, &update(0, vec![0, 0]), count)?)?;
    for (i, piece) in message.chunks(tag.mlc).enumerate() {
        let offset = 2 + i * tag.mlc;
        if offset > 0x7FFF {
            return Err(NfcError::Malformed);
        }
        expect_ok(transmit(t, &update(offset, piece.to_vec()), count)?)?;
    }
    expect_ok(transmit(t, &update(0, nlen.to_be_bytes().to_vec()), count)?)?;
    Ok(())
}

/// The longest a reader waits for a TNEP answer, whatever the tag's WT and N_wait say.
const TNEP_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// One TNEP exchange (TNEP 1.0 §5, single response): writes `message`, waits T_wait, and reads
/// the answer, waiting again (at most N_wait times) while the tag leaves the NDEF file empty.
fn ndef_transact(
    t: &mut dyn ApduTransport,
    tag: &Tag,
    service: &HandoverService,
    message: &[u8],
    count: &mut ApduCount,
) -> Result<Vec<u8>, NfcError> {
    if message.len() > usize::from(service.max_ndef_size) {
        return Err(NfcError::Handover(
            "the phone takes no Handover Request this long",
        ));
    }
    write_ndef(t, tag, message, count)?;
    let wait = std::time::Duration::from_micros(service.wait_micros()).min(TNEP_PATIENCE);
    let mut waited = std::time::Duration::ZERO;
    for _ in 0..=service.n_wait {
        t.pause(wait);
        waited += wait;
        let answer = read_ndef(t, tag, count)?;
        if !answer.is_empty() {
            return Ok(answer);
        }
        if waited >= TNEP_PATIENCE {
            break;
        }
    }
    Err(NfcError::Handover(
        "the phone did not answer the handover in time",
    ))
}

/// The reader's side: reads the engagement from the Type 4 Tag, by static handover (the
/// Handover Select is on the tag) or negotiated handover (the tag offers the Connection
/// Handover service: the reader selects it and writes a Handover Request offering NFC data
/// retrieval with the link's limits, then `ble` when given, and the mdoc answers with its
/// Handover Select). `rng` gives the Handover Request's collision resolution number. What the
/// phone offers is in [`NfcHandover::nfc`] and [`NfcHandover::ble`].
pub fn read_engagement(
    t: &mut dyn ApduTransport,
    rng: &mut dyn eid_crypto::Rng,
    ble: Option<BleCarrier>,
    count: &mut ApduCount,
) -> Result<NfcHandover, NfcError> {
    let select_aid = |aid: &[u8]| {
        CommandApdu::new(0x00, INS_SELECT, 0x04, 0x00)
            .with_data(aid.to_vec())
            .with_le(256)
    };
    let select_file =
        |f: &[u8]| CommandApdu::new(0x00, INS_SELECT, 0x00, 0x0C).with_data(f.to_vec());
    expect_ok(transmit(t, &select_aid(&NDEF_AID), count)?)?;
    expect_ok(transmit(t, &select_file(&CC_FILE), count)?)?;
    let cc = expect_ok(transmit(
        t,
        &CommandApdu::new(0, INS_READ_BINARY, 0, 0).with_le(15),
        count,
    )?)?;
    // CCLEN, version, MLe, MLc, then the NDEF File Control TLV (04 06 id size read write).
    let tag = match cc.get(3..15) {
        Some([le_h, le_l, lc_h, lc_l, 0x04, 0x06, _, _, _, _, _, write]) => Tag {
            mle: usize::from(u16::from_be_bytes([*le_h, *le_l])).clamp(1, 255),
            mlc: usize::from(u16::from_be_bytes([*lc_h, *lc_l])).clamp(1, 255),
            writable: *write == 0x00,
        },
        _ => return Err(NfcError::Malformed),
    };
    expect_ok(transmit(t, &select_file(&NDEF_FILE), count)?)?;
    let message = read_ndef(t, &tag, count)?;
    let Some(service) = handover_service(&parse_message(&message)?) else {
        return Ok(parse_handover_select(&message)?);
    };
    if !tag.writable {
        return Err(NfcError::Handover(
            "the phone offers negotiated handover on a tag the reader may not write",
        ));
    }
    let status = tnep_status(&ndef_transact(t, &tag, &service, &service_select(), count)?)?;
    if status != 0 {
        return Err(NfcError::Handover(
            "the phone refused the Connection Handover service",
        ));
    }
    let limits = if t.limits().extended_length {
        NfcLimits {
            max_command_data: 0xFFFF,
            max_response_data: 0xFFFF,
        }
    } else {
        NfcLimits {
            max_command_data: 0xFF,
            max_response_data: 0x100,
        }
    };
    let mut random = [0u8; 2];
    rng.fill(&mut random);
    let offered: Vec<Carrier> = std::iter::once(Carrier::Nfc(limits))
        .chain(ble.map(Carrier::Ble))
        .collect();
    let request = handover_request(&offered, u16::from_be_bytes(random));
    let select = ndef_transact(t, &tag, &service, &request, count)?;
    let handover = parse_negotiated_select(&select, &request)?;
    if handover.nfc.is_none() && (ble.is_none() || handover.ble.is_none()) {
        return Err(NfcError::Handover(
            "the phone chose no carrier the reader offered in its Handover Select",
        ));
    }
    Ok(handover)
}

/// Selects the mdoc application.
pub fn select_mdoc(t: &mut dyn ApduTransport, count: &mut ApduCount) -> Result<(), NfcError> {
    let cmd = CommandApdu::new(0x00, INS_SELECT, 0x04, 0x0C).with_data(MDOC_AID.to_vec());
    expect_ok(transmit(t, &cmd, count)?)?;
    Ok(())
}

/// Sends one session message in ENVELOPE and returns the holder's message (empty when the
/// holder answered with an empty DO'53' or with no data, e.g. to a termination).
pub fn exchange(
    t: &mut dyn ApduTransport,
    message: &[u8],
    count: &mut ApduCount,
) -> Result<Vec<u8>, NfcError> {
    let data = wrap(message);
    let extended = t.limits().extended_length;
    let (piece, le) = if extended {
        (0xFFFF, 65536)
    } else {
        (255, SHORT_MAX_LE)
    };
    let parts: Vec<&[u8]> = data.chunks(piece).collect();
    let mut response = None;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let cla = if last { 0x00 } else { CLA_CHAINING };
        let mut cmd = CommandApdu::new(cla, INS_ENVELOPE, 0x00, 0x00).with_data(part.to_vec());
        if last {
            cmd = cmd.with_le(le);
        }
        let r = transmit(t, &cmd, count)?;
        if !last {
            expect_ok(r)?;
        } else {
            response = Some(r);
        }
    }
    let mut r = response.ok_or(NfcError::Malformed)?;
    let mut out = Vec::new();
    loop {
        out.extend_from_slice(&r.data);
        match r.sw {
            sw::OK => break,
            // "More data" must come with data, or a card could keep the reader asking forever.
            _ if r.has_more_data() && r.data.is_empty() => return Err(NfcError::Malformed),
            _ if r.has_more_data() => {
                let next = if extended { 65536 } else { SHORT_MAX_LE };
                r = transmit(
                    t,
                    &CommandApdu::new(0, INS_GET_RESPONSE, 0, 0).with_le(next),
                    count,
                )?;
            }
            s => return Err(NfcError::Status(s)),
        }
        if out.len() > MAX_COMMAND_MESSAGE * 16 {
            return Err(NfcError::Malformed);
        }
    }
    if out.is_empty() {
        return Ok(out);
    }
    unwrap(&out).map(<[u8]>::to_vec).ok_or(NfcError::Malformed)
}

/// What a reader got over NFC.
#[derive(Debug)]
pub struct NfcRead {
    pub outcome: crate::mdoc::reader_session::ReaderOutcome,
    /// Whether the request was signed (reader authentication offered).
    pub reader_authenticated: bool,
    pub apdus: ApduCount,
    pub request_bytes: usize,
    pub response_bytes: usize,
    /// The handover the engagement went by.
    pub handover: NfcHandover,
}

/// A whole reading: engagement from the Type 4 Tag (static or negotiated handover), then
/// [`read_engaged`].
pub fn read_mdoc(
    t: &mut dyn ApduTransport,
    rng: &mut dyn eid_crypto::Rng,
    items: &[crate::mdoc::request::ItemsRequest],
    signer: Option<crate::mdoc::reader_session::ReaderSigner<'_>>,
    iacas: &eid_crypto::trust::TrustStore,
    now: u64,
) -> Result<NfcRead, NfcError> {
    let mut count = ApduCount::default();
    let handover = read_engagement(t, rng, None, &mut count)?;
    let mut read = read_engaged(t, rng, handover, items, signer, iacas, now)?;
    read.apdus.0 += count.0;
    Ok(read)
}

/// NFC data retrieval after the engagement (`handover`, from [`read_engagement`]): a session
/// with an EReaderKey from `rng` on the holder's curve, the request for `items` (signed when
/// `signer` is given), the response checked against `iacas` at `now`, then the session
/// terminated (status 20). A phone whose handover offers no NFC data retrieval is told apart.
pub fn read_engaged(
    t: &mut dyn ApduTransport,
    rng: &mut dyn eid_crypto::Rng,
    handover: NfcHandover,
    items: &[crate::mdoc::request::ItemsRequest],
    signer: Option<crate::mdoc::reader_session::ReaderSigner<'_>>,
    iacas: &eid_crypto::trust::TrustStore,
    now: u64,
) -> Result<NfcRead, NfcError> {
    use crate::mdoc::reader_session::{ReaderError, ReaderSession};
    if handover.nfc.is_none() {
        return Err(NfcError::Handover(match handover.ble {
            Some(_) => "the phone offers data retrieval by BLE only, not by NFC",
            None => "the phone offers no NFC data retrieval",
        }));
    }
    let mut count = ApduCount::default();
    let mut reader =
        ReaderSession::generate(rng, handover.engagement.clone(), handover.handover.clone())?;
    let reader_authenticated = signer.is_some();
    let establishment = reader.establish(items, signer).map_err(|e| match e {
        ReaderError::Mdoc(m) => NfcError::Mdoc(m),
        _ => NfcError::Malformed,
    })?;
    select_mdoc(t, &mut count)?;
    let response = exchange(t, &establishment, &mut count)?;
    let outcome = reader.receive(&response, iacas, now).map_err(|e| match e {
        ReaderError::Mdoc(m) => NfcError::Mdoc(m),
        _ => NfcError::Malformed,
    })?;
    if !matches!(
        outcome,
        crate::mdoc::reader_session::ReaderOutcome::Ended { .. }
    ) {
        let end = reader.terminate();
        exchange(t, &end, &mut count)?;
    }
    Ok(NfcRead {
        outcome,
        reader_authenticated,
        apdus: count,
        request_bytes: establishment.len(),
        response_bytes: response.len(),
        handover,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ber_tlv_53_lengths() {
        for n in [0, 1, 127, 128, 255, 256, 65535, 65536] {
            let d = vec![7u8; n];
            let w = wrap(&d);
            assert_eq!(unwrap(&w), Some(d.as_slice()), "{n}");
            assert!(unwrap(&w[..w.len() - 1]).is_none() || n == 0);
        }
        assert_eq!(wrap(&[1, 2]), [0x53, 2, 1, 2]);
        assert_eq!(&wrap(&[0; 200])[..3], [0x53, 0x81, 200]);
        assert_eq!(&wrap(&[0; 300])[..4], [0x53, 0x82, 0x01, 0x2c]);
        assert!(unwrap(&[0x54, 0]).is_none());
        assert!(unwrap(&[0x53, 0x84, 0, 0, 0, 0]).is_none());
    }
}
