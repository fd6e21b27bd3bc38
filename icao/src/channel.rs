//! A transport plus the current secure-messaging session: sends plain commands, protects and
//! checks them once access control has run, and counts what crossed the link.

use super::apdu::{CommandApdu, ResponseApdu, sw};
use super::error::ChipError;
use super::sm::{SecureMessaging, SmError};
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
        if resp.data.is_empty() && is_plain_status(resp.sw) {
            if resp.sw == sw::SM_MISSING || resp.sw == sw::SM_INCORRECT {
                // The chip ended the session (ICAO 9303-11 §9.8.6.2): access control is redone.
                self.sm = None;
                return Err(SmError::Unprotected(resp.sw).into());
            }
            // A chip may answer an error without secure messaging (ICAO 9303-11 §9.8,
            // ISO 7816-4 §10.2): it is that status. Nothing was MACed, so the SSC stays where
            // the command left it and the session goes on; a chip that counted the answer
            // anyway answers the next command 6988, which ends the session as above.
            return Ok(resp);
        }
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

/// A status word a chip may send without secure messaging inside a session: warnings and errors
/// (ISO 7816-4 §5.6, SW1 62 to 6F), never 9000 or data.
fn is_plain_status(sw: u16) -> bool {
    (0x62..=0x6F).contains(&(sw >> 8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symmetric::Cipher;
    use crate::transport::{TransportError, TransportLimits};
    use eid_crypto::SecretKey;

    fn session() -> SecureMessaging {
        SecureMessaging::new(
            Cipher::Aes128,
            SecretKey::new(vec![0x11; 16]),
            SecretKey::new(vec![0x22; 16]),
            &[],
        )
    }

    /// A chip that answers the next command with `plain` unprotected (if set), everything else
    /// protected; `count_ssc`: it moves its SSC for the plain answer too.
    struct Chip {
        sm: Option<SecureMessaging>,
        plain: Option<u16>,
        count_ssc: bool,
    }

    impl ApduTransport for Chip {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            let cmd = CommandApdu::parse(command).map_err(|_| TransportError::LinkLost)?;
            let Some(sm) = self.sm.as_mut() else {
                return Ok(ResponseApdu::status(sw::SM_MISSING).to_bytes());
            };
            if sm.unprotect_command(&cmd).is_err() {
                self.sm = None;
                return Ok(ResponseApdu::status(sw::SM_INCORRECT).to_bytes());
            }
            if let Some(status) = self.plain.take() {
                if self.count_ssc {
                    let _ = sm.protect_response(cmd.ins, &ResponseApdu::status(status));
                }
                return Ok(ResponseApdu::status(status).to_bytes());
            }
            let resp = sm
                .protect_response(cmd.ins, &ResponseApdu::new(vec![0x5A; 4], sw::OK))
                .map_err(|_| TransportError::LinkLost)?;
            Ok(resp.to_bytes())
        }
        fn limits(&self) -> TransportLimits {
            TransportLimits::SHORT
        }
        fn reconnect(&mut self) -> Result<(), TransportError> {
            Ok(())
        }
    }

    fn read() -> CommandApdu {
        CommandApdu::new(0, 0xB0, 0x81, 0).with_le(4)
    }

    /// Issue 14 item 1: the independent emulator's answer. An error answered without secure
    /// messaging is that status, the session goes on, and the SSC stays in step (item 8).
    #[test]
    fn errors_answered_without_secure_messaging_are_that_status() {
        for status in [0x6A82, 0x6982, 0x6A86, 0x6700, 0x6D00, 0x6B00] {
            let mut channel = Channel::new(Chip {
                sm: Some(session()),
                plain: Some(status),
                count_ssc: false,
            });
            channel.set_secure_messaging(Some(session()));
            assert_eq!(
                channel.send(&read()),
                Ok(ResponseApdu::status(status)),
                "{status:04X}"
            );
            // The same session goes on: the next answer verifies.
            assert_eq!(
                channel.send(&read()),
                Ok(ResponseApdu::new(vec![0x5A; 4], sw::OK)),
                "{status:04X}"
            );
            assert!(channel.secure_messaging().is_some());
        }
    }

    #[test]
    fn a_chip_that_ended_or_desynchronised_the_session_is_reported_as_such() {
        // The chip counted its plain answer: our next command no longer verifies there, it
        // answers 6988 and drops the session; the reader learns the session ended (not an
        // SM failure) and will re-establish it.
        let mut channel = Channel::new(Chip {
            sm: Some(session()),
            plain: Some(0x6A82),
            count_ssc: true,
        });
        channel.set_secure_messaging(Some(session()));
        assert_eq!(channel.send(&read()), Ok(ResponseApdu::status(0x6A82)));
        let ended = channel.send(&read());
        assert_eq!(
            ended,
            Err(ChipError::SecureMessaging(SmError::Unprotected(
                sw::SM_INCORRECT
            )))
        );
        assert!(ended.is_err_and(|e| e.session_ended()));
        assert!(!ChipError::SecureMessaging(SmError::BadMac).session_ended());
        assert!(channel.secure_messaging().is_none());
        // A plain 9000 or plain data is still refused: only status words may come unprotected.
        for raw in [vec![0x90, 0x00], vec![0x5A, 0x90, 0x00]] {
            struct Plain(Vec<u8>);
            impl ApduTransport for Plain {
                fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
                    Ok(self.0.clone())
                }
                fn limits(&self) -> TransportLimits {
                    TransportLimits::SHORT
                }
                fn reconnect(&mut self) -> Result<(), TransportError> {
                    Ok(())
                }
            }
            let mut channel = Channel::new(Plain(raw));
            channel.set_secure_messaging(Some(session()));
            assert!(matches!(
                channel.send(&read()),
                Err(ChipError::SecureMessaging(
                    SmError::Unprotected(_) | SmError::Malformed
                ))
            ));
        }
    }
}
