//! PC/SC desk readers (pcsc-lite on Linux and macOS, WinSCard on Windows) as an
//! [`ApduTransport`].
//!
//! Extended-length APDUs are used only when the caller allows them and the card announces them in
//! its ATR (card capabilities in the historical bytes, ISO 7816-4 §8.1.1.2.7). Contactless readers
//! build that ATR from the card's ATS (PC/SC part 3), so a chip that lists extended Lc/Le in its
//! historical bytes is read in large blocks; anything else gets short APDUs.
//!
//! Errors never carry APDU or ATR bytes: only PC/SC status names and reader names.

use super::apdu::EXTENDED_MAX_LE;
use super::transport::{ApduTransport, TransportError, TransportLimits};
use pcsc::{Card, Context, Disposition, Error as PcscError, Protocols, ReaderState, Scope, State};
use std::ffi::CString;
use std::time::{Duration, Instant};

/// How long [`ApduTransport::reconnect`] waits for the card to come back by default.
pub const DEFAULT_RECONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest extended command: header, 3-byte Lc, 65535 data bytes, 2-byte Le.
const EXTENDED_MAX_COMMAND: usize = 4 + 3 + 65535 + 2;
/// Largest extended response: 65536 data bytes and the status word.
const EXTENDED_MAX_RESPONSE: usize = EXTENDED_MAX_LE + 2;
/// How long a failed transmission waits for the reader to report whether the card is gone.
const LINK_CHECK: Duration = Duration::from_millis(1500);
/// Step of the reconnect loop: how often a card that is present but not yet usable is retried.
const RECONNECT_POLL: Duration = Duration::from_millis(250);

/// A card in a PC/SC reader.
pub struct PcscTransport {
    ctx: Context,
    reader: CString,
    card: Option<Card>,
    atr: Vec<u8>,
    allow_extended: bool,
    limits: TransportLimits,
    reconnect_timeout: Duration,
    /// Receive buffer, large enough for the largest extended response.
    buf: Vec<u8>,
}

impl std::fmt::Debug for PcscTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscTransport")
            .field("reader", &self.reader)
            .field("connected", &self.card.is_some())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The names of the PC/SC readers attached now (empty when there are none).
pub fn list_readers() -> Result<Vec<String>, TransportError> {
    let ctx = establish()?;
    Ok(reader_names(&ctx)?
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect())
}

impl PcscTransport {
    /// Connects to the card in `reader`, or with `None` to the first reader that holds a card.
    /// `allow_extended`: use extended-length APDUs if the card's ATR announces them.
    pub fn open(reader: Option<&str>, allow_extended: bool) -> Result<Self, TransportError> {
        let ctx = establish()?;
        let names = reader_names(&ctx)?;
        if names.is_empty() {
            return Err(TransportError::NoCard("no PC/SC reader attached".into()));
        }
        let reader = match reader {
            Some(wanted) => names
                .into_iter()
                .find(|n| n.to_bytes() == wanted.as_bytes())
                .ok_or_else(|| {
                    TransportError::NoCard(format!("no PC/SC reader named {wanted:?}"))
                })?,
            None => first_reader_with_card(&ctx, names)?,
        };
        let mut t = PcscTransport::unconnected(ctx, reader, allow_extended);
        t.connect().map_err(|e| match map_error("connect", e) {
            TransportError::LinkLost => TransportError::NoCard(format!(
                "no card in reader {} ({e:?})",
                t.reader.to_string_lossy()
            )),
            other => other,
        })?;
        Ok(t)
    }

    /// [`open`](Self::open), but when no card is there yet it waits up to `wait` for one: in
    /// `reader`, or with `None` in the first reader listed (a desk has one), as a desk waits for
    /// the phone to be held to it. A reader name that is not attached fails at once.
    pub fn open_waiting(
        reader: Option<&str>,
        allow_extended: bool,
        wait: Duration,
    ) -> Result<Self, TransportError> {
        match Self::open(reader, allow_extended) {
            Err(TransportError::NoCard(_)) if !wait.is_zero() => {}
            done => return done,
        }
        let ctx = establish()?;
        let names = reader_names(&ctx)?;
        let name = match reader {
            Some(wanted) => names
                .into_iter()
                .find(|n| n.to_bytes() == wanted.as_bytes()),
            None => names.into_iter().next(),
        }
        .ok_or_else(|| {
            TransportError::NoCard(match reader {
                Some(wanted) => format!("no PC/SC reader named {wanted:?}"),
                None => "no PC/SC reader attached".into(),
            })
        })?;
        let mut t =
            PcscTransport::unconnected(ctx, name, allow_extended).with_reconnect_timeout(wait);
        t.reconnect()?;
        Ok(t.with_reconnect_timeout(DEFAULT_RECONNECT_TIMEOUT))
    }

    fn unconnected(ctx: Context, reader: CString, allow_extended: bool) -> Self {
        PcscTransport {
            ctx,
            reader,
            card: None,
            atr: Vec::new(),
            allow_extended,
            limits: TransportLimits::SHORT,
            reconnect_timeout: DEFAULT_RECONNECT_TIMEOUT,
            buf: vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        }
    }

    /// How long [`ApduTransport::reconnect`] waits for the card (default 10 s).
    pub fn with_reconnect_timeout(mut self, timeout: Duration) -> Self {
        self.reconnect_timeout = timeout;
        self
    }

    /// The ATR of the connected card (empty while disconnected).
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Connects to the card now in the reader and derives the limits from its ATR.
    fn connect(&mut self) -> Result<(), PcscError> {
        let card = self
            .ctx
            .connect(&self.reader, pcsc::ShareMode::Shared, Protocols::ANY)?;
        // SCardStatus rather than the ATR attribute: every reader driver reports it there.
        let atr = card.status2_owned()?.atr().to_vec();
        self.limits = if self.allow_extended && atr_allows_extended_length(&atr) {
            TransportLimits {
                max_command: EXTENDED_MAX_COMMAND,
                max_response: EXTENDED_MAX_RESPONSE,
                extended_length: true,
            }
        } else {
            TransportLimits::SHORT
        };
        self.atr = atr;
        self.card = Some(card);
        Ok(())
    }

    /// Whether the connected card has left the reader (or was reset), waiting up to
    /// [`LINK_CHECK`] for the reader to notice.
    fn card_gone(&self) -> bool {
        let Some(card) = self.card.as_ref() else {
            return true;
        };
        let mut state = ReaderState::new(self.reader.clone(), State::UNAWARE);
        let states = std::slice::from_mut(&mut state);
        if self.ctx.get_status_change(Duration::ZERO, states).is_ok() {
            let present = |s: State| s.contains(State::PRESENT) && !s.contains(State::MUTE);
            if !present(state.event_state()) {
                return true;
            }
            state.sync_current_state();
            // Any change to the reader's state within the window means our card is gone.
            let changed = self
                .ctx
                .get_status_change(LINK_CHECK, std::slice::from_mut(&mut state));
            if changed.is_ok() {
                return true;
            }
        }
        // Still no news: the handle itself knows when pcscd has seen a removal or reset.
        matches!(
            card.status2_len(),
            Err(PcscError::RemovedCard | PcscError::ResetCard | PcscError::NoSmartcard)
        )
    }

    fn drop_card(&mut self) {
        if let Some(card) = self.card.take() {
            // The card may be gone already; there is nothing to do about a failed disconnect.
            let _ = card.disconnect(Disposition::ResetCard);
        }
        self.atr.clear();
    }
}

impl ApduTransport for PcscTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if command.len() > self.limits.max_command {
            return Err(TransportError::Other(format!(
                "command of {} bytes exceeds the {}-byte limit",
                command.len(),
                self.limits.max_command
            )));
        }
        let card = self.card.as_ref().ok_or(TransportError::LinkLost)?;
        let sent = card.transmit(command, &mut self.buf).map(<[u8]>::to_vec);
        let result = match sent {
            Ok(resp) => Ok(resp),
            // A card torn away mid-APDU often shows as a communication failure first, the
            // removal only at the reader's next poll: look before calling it a plain error.
            Err(e) if is_transient(e) && self.card_gone() => Err(TransportError::LinkLost),
            Err(e) => Err(map_error("transmit", e)),
        };
        if result == Err(TransportError::LinkLost) {
            self.drop_card();
        }
        result
    }

    fn limits(&self) -> TransportLimits {
        self.limits
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.drop_card();
        let deadline = Instant::now() + self.reconnect_timeout;
        let mut state = ReaderState::new(self.reader.clone(), State::UNAWARE);
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let step = remaining.min(RECONNECT_POLL);
            let reader_there = match self
                .ctx
                .get_status_change(step, std::slice::from_mut(&mut state))
            {
                Ok(()) | Err(PcscError::Timeout) => !state
                    .event_state()
                    .intersects(State::UNKNOWN | State::IGNORE | State::UNAVAILABLE),
                // The reader itself is away (unplugged): it may come back under the same name.
                Err(PcscError::UnknownReader | PcscError::ReaderUnavailable) => false,
                Err(e) => return Err(map_error("waiting for the card", e)),
            };
            if !reader_there {
                std::thread::sleep(step);
                state = ReaderState::new(self.reader.clone(), State::UNAWARE);
                if remaining.is_zero() {
                    return Err(TransportError::NoCard(format!(
                        "reader {} did not come back within {} s",
                        self.reader.to_string_lossy(),
                        self.reconnect_timeout.as_secs()
                    )));
                }
                continue;
            }
            let ev = state.event_state();
            if ev.contains(State::PRESENT) && !ev.contains(State::MUTE) {
                match self.connect() {
                    Ok(()) => return Ok(()),
                    // Still settling (removed again, not powered yet, another application
                    // finishing): keep waiting.
                    Err(e) if is_transient(e) => {}
                    Err(e) => return Err(map_error("connect", e)),
                }
            }
            state.sync_current_state();
            if remaining.is_zero() {
                return Err(TransportError::NoCard(format!(
                    "no card in reader {} within {} s",
                    self.reader.to_string_lossy(),
                    self.reconnect_timeout.as_secs()
                )));
            }
        }
    }
}

/// Waits up to `timeout` until `reader` (None: every attached reader) holds no card: a desk
/// waiting for the phone it has read to be taken away before it waits for the next one (a
/// phone left on the reader would otherwise be engaged again). True when the reader is empty
/// (or gone), or when PC/SC counted a removal and insertion since the wait began (a phone
/// swapped for the next between two of pcscd's polls); false when the time ran out first.
pub fn wait_until_empty(reader: Option<&str>, timeout: Duration) -> Result<bool, TransportError> {
    let ctx = establish()?;
    let names = match reader {
        Some(name) => vec![
            CString::new(name)
                .map_err(|_| TransportError::NoCard(format!("no PC/SC reader named {name:?}")))?,
        ],
        None => reader_names(&ctx)?,
    };
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|n| ReaderState::new(n, State::UNAWARE))
        .collect();
    if states.is_empty() {
        return Ok(true);
    }
    let deadline = Instant::now() + timeout;
    let mut counts: Option<Vec<u32>> = None;
    loop {
        let step = deadline
            .saturating_duration_since(Instant::now())
            .min(RECONNECT_POLL);
        match ctx.get_status_change(step, &mut states) {
            Ok(()) | Err(PcscError::Timeout) => {}
            // The reader itself went away: no phone is on it.
            Err(PcscError::UnknownReader | PcscError::ReaderUnavailable) => return Ok(true),
            Err(e) => return Err(map_error("waiting for the card to be taken away", e)),
        }
        let now: Vec<u32> = states.iter().map(ReaderState::event_count).collect();
        let swapped = counts.as_ref().is_some_and(|before| *before != now);
        counts.get_or_insert(now);
        if swapped
            || states
                .iter()
                .all(|s| !s.event_state().contains(State::PRESENT))
        {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        for s in &mut states {
            s.sync_current_state();
        }
    }
}

fn establish() -> Result<Context, TransportError> {
    Context::establish(Scope::User).map_err(|e| map_error("connecting to the PC/SC service", e))
}

fn reader_names(ctx: &Context) -> Result<Vec<CString>, TransportError> {
    match ctx.list_readers_owned() {
        Ok(names) => Ok(names),
        Err(PcscError::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(map_error("listing readers", e)),
    }
}

/// The first reader (in PC/SC order) whose slot holds a card that answered to reset.
fn first_reader_with_card(ctx: &Context, names: Vec<CString>) -> Result<CString, TransportError> {
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|n| ReaderState::new(n, State::UNAWARE))
        .collect();
    ctx.get_status_change(Duration::ZERO, &mut states)
        .or_else(|e| match e {
            // Zero timeout with nothing new to report: the event states are still filled in.
            PcscError::Timeout => Ok(()),
            e => Err(e),
        })
        .map_err(|e| map_error("reading reader states", e))?;
    states
        .iter()
        .find(|s| {
            s.event_state().contains(State::PRESENT) && !s.event_state().contains(State::MUTE)
        })
        .map(|s| s.name().to_owned())
        .ok_or_else(|| TransportError::NoCard("no card in any PC/SC reader".into()))
}

/// Errors after which waiting a little and connecting again may succeed.
fn is_transient(e: PcscError) -> bool {
    matches!(
        e,
        PcscError::RemovedCard
            | PcscError::ResetCard
            | PcscError::NoSmartcard
            | PcscError::UnpoweredCard
            | PcscError::ReaderUnavailable
            | PcscError::UnresponsiveCard
            | PcscError::CommError
            | PcscError::NotTransacted
            | PcscError::SharingViolation
    )
}

/// Maps a PC/SC error. The message names the operation and the PC/SC status, never data.
fn map_error(op: &str, e: PcscError) -> TransportError {
    match e {
        PcscError::RemovedCard
        | PcscError::ResetCard
        | PcscError::NoSmartcard
        | PcscError::UnpoweredCard
        // The reader went away under an open connection (unplugged): it may come back.
        | PcscError::ReaderUnavailable => TransportError::LinkLost,
        PcscError::NoReadersAvailable | PcscError::UnknownReader => {
            TransportError::NoCard(format!("{op}: reader not available ({e:?})"))
        }
        _ => TransportError::Other(format!("{op}: PC/SC error {e:?}")),
    }
}

/// Whether the ATR announces extended Lc/Le: bit 7 of the third software function byte of the
/// card capabilities (compact-TLV tag 7) in the historical bytes (ISO 7816-4 §8.1.1.2.7).
/// Malformed ATRs simply say no.
pub fn atr_allows_extended_length(atr: &[u8]) -> bool {
    card_capabilities(atr)
        .and_then(|caps| caps.get(2).copied())
        .is_some_and(|third| third & 0x40 != 0)
}

/// The value of the card capabilities data object (tag 7, 1 to 3 bytes) of an ATR, if any.
fn card_capabilities(atr: &[u8]) -> Option<&[u8]> {
    let hist = historical_bytes(atr)?;
    let (&category, rest) = hist.split_first()?;
    let objects = match category {
        // Compact-TLV objects, the status indicator (if any) among them.
        0x80 => rest,
        // Compact-TLV objects followed by a 3-byte status indicator outside TLV.
        0x00 => rest.get(..rest.len().checked_sub(3)?)?,
        _ => return None,
    };
    let mut rest = objects;
    while let Some((&tl, tail)) = rest.split_first() {
        let len = usize::from(tl & 0x0F);
        let value = tail.get(..len)?;
        if tl >> 4 == 0x7 {
            return Some(value);
        }
        rest = tail.get(len..)?;
    }
    None
}

/// The historical bytes of an ATR (ISO 7816-3 §8.2): skips TS, T0 and the interface bytes.
pub fn historical_bytes(atr: &[u8]) -> Option<&[u8]> {
    let t0 = *atr.get(1)?;
    let k = usize::from(t0 & 0x0F);
    let mut y = t0 >> 4;
    let mut pos = 2usize;
    loop {
        // TA, TB, TC present per bits 1..3 of Y; TD per bit 4 and then gives the next Y.
        pos += usize::from((y & 0x7).count_ones() as u8);
        if y & 0x8 == 0 {
            break;
        }
        let td = *atr.get(pos)?;
        pos += 1;
        y = td >> 4;
    }
    atr.get(pos..pos.checked_add(k)?)
}

impl Drop for PcscTransport {
    fn drop(&mut self) {
        self.drop_card();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PC/SC part 3 contactless ATR around `hist`: 3B 8n 80 01 <hist> TCK.
    fn contactless_atr(hist: &[u8]) -> Vec<u8> {
        let mut atr = vec![0x3B, 0x80 | hist.len() as u8, 0x80, 0x01];
        atr.extend_from_slice(hist);
        let tck = atr[1..].iter().fold(0u8, |a, b| a ^ b);
        atr.push(tck);
        atr
    }

    #[test]
    fn historical_bytes_skip_interface_bytes() {
        let atr = contactless_atr(&[0x80, 0x73, 0x80, 0x21, 0xC0]);
        assert_eq!(
            historical_bytes(&atr),
            Some(&[0x80, 0x73, 0x80, 0x21, 0xC0][..])
        );
        // T0 = D5: Y1 = 1101, so TA1, TC1 and TD1 follow; TD1 = 00 ends the chain.
        let atr = [0x3B, 0xD5, 0x11, 0xFF, 0x00, 1, 2, 3, 4, 5];
        assert_eq!(historical_bytes(&atr), Some(&[1, 2, 3, 4, 5][..]));
        assert_eq!(historical_bytes(&[0x3B]), None);
        assert_eq!(historical_bytes(&[0x3B, 0x85, 0x80]), None);
    }

    #[test]
    fn extended_length_comes_from_the_third_capability_byte() {
        assert!(atr_allows_extended_length(&contactless_atr(&[
            0x80, 0x73, 0x80, 0x21, 0xC0
        ])));
        // Status indicator after the capabilities, category 00 form.
        assert!(atr_allows_extended_length(&contactless_atr(&[
            0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x90, 0x00
        ])));
        // Capabilities without the extended bit, or too short to have a third byte.
        assert!(!atr_allows_extended_length(&contactless_atr(&[
            0x80, 0x73, 0x80, 0x21, 0x80
        ])));
        assert!(!atr_allows_extended_length(&contactless_atr(&[
            0x80, 0x72, 0x80, 0x21
        ])));
        // Other objects first, then the capabilities.
        assert!(atr_allows_extended_length(&contactless_atr(&[
            0x80, 0x31, 0xB8, 0x73, 0x84, 0x01, 0xE0, 0x82, 0x90, 0x00
        ])));
        // Not compact-TLV historical bytes (e.g. an ISO 14443 type B ATQB), or truncated ones.
        assert!(!atr_allows_extended_length(&contactless_atr(&[
            0x12, 0x73, 0x80, 0x21, 0xC0
        ])));
        assert!(!atr_allows_extended_length(&contactless_atr(&[
            0x80, 0x73, 0x80
        ])));
        assert!(!atr_allows_extended_length(&[]));
    }

    #[test]
    fn pcsc_errors_map_to_transport_errors() {
        assert_eq!(
            map_error("transmit", PcscError::RemovedCard),
            TransportError::LinkLost
        );
        assert_eq!(
            map_error("transmit", PcscError::ResetCard),
            TransportError::LinkLost
        );
        assert_eq!(
            map_error("connect", PcscError::NoSmartcard),
            TransportError::LinkLost
        );
        assert_eq!(
            map_error("transmit", PcscError::ReaderUnavailable),
            TransportError::LinkLost
        );
        assert!(matches!(
            map_error("listing readers", PcscError::NoReadersAvailable),
            TransportError::NoCard(_)
        ));
        assert!(matches!(
            map_error("transmit", PcscError::CommError),
            TransportError::Other(_)
        ));
    }
}
