//! A transport plus the current secure-messaging session: sends plain commands, protects and
//! checks them once access control has run, and counts what crossed the link.

use super::apdu::{CommandApdu, ResponseApdu};
use super::error::ChipError;
use super::sm::SecureMessaging;
use super::transport::{ApduTransport, TransportLimits};
use serde::Serialize;

/// What crossed the link during a read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub apdu_count: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// How many times the reader reconnected after the link dropped.
    pub resumes: u64,
}

pub struct Channel<T> {
    transport: T,
    sm: Option<SecureMessaging>,
    pub stats: Stats,
}

impl<T: ApduTransport> Channel<T> {
    pub fn new(transport: T) -> Self {
        Channel {
            transport,
            sm: None,
            stats: Stats::default(),
        }
    }

    pub fn limits(&self) -> TransportLimits {
        self.transport.limits()
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    pub fn into_transport(self) -> T {
        self.transport
    }

    /// Starts (or, with `None`, ends) secure messaging.
    pub fn set_secure_messaging(&mut self, sm: Option<SecureMessaging>) {
        self.sm = sm;
    }

    pub fn secure_messaging(&self) -> Option<&SecureMessaging> {
        self.sm.as_ref()
    }

    /// Sends a command without secure messaging, whatever the session state.
    pub fn send_plain(&mut self, cmd: &CommandApdu) -> Result<ResponseApdu, ChipError> {
        let raw = cmd.to_bytes();
        self.stats.apdu_count += 1;
        self.stats.bytes_sent += raw.len() as u64;
        let resp = self.transport.transmit(&raw)?;
        self.stats.bytes_received += resp.len() as u64;
        ResponseApdu::parse(&resp).map_err(|_| ChipError::Malformed {
            what: "response APDU",
        })
    }

    /// Sends a command, protected when a secure-messaging session is active.
    pub fn send(&mut self, cmd: &CommandApdu) -> Result<ResponseApdu, ChipError> {
        let Some(sm) = self.sm.as_mut() else {
            return self.send_plain(cmd);
        };
        let protected = sm.protect(cmd)?;
        let resp = self.send_plain(&protected)?;
        let sm = self.sm.as_mut().ok_or(ChipError::Cancelled)?;
        match sm.unprotect(&resp) {
            Ok(r) => Ok(r),
            Err(e) => {
                // A failed check ends the session on both sides (ICAO 9303-11 §9.8.6.2).
                self.sm = None;
                Err(e.into())
            }
        }
    }

    /// Waits for the card to come back after the link dropped; the session is gone.
    pub fn reconnect(&mut self) -> Result<(), ChipError> {
        self.sm = None;
        self.stats.resumes += 1;
        self.transport.reconnect()?;
        Ok(())
    }
}
