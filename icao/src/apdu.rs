//! ISO 7816-4 command and response APDUs, short and extended length. Shared by the chip reader
//! and the mdoc NFC transport (`eid_core::mdoc::transport::nfc`, the holder as the card), so the
//! framing is written once.

use thiserror::Error;

/// Status words the reader acts on (ISO 7816-4 §5.6).
pub mod sw {
    pub const OK: u16 = 0x9000;
    /// End of file reached before reading Le bytes (the data that exists is returned).
    pub const END_OF_FILE: u16 = 0x6282;
    pub const WRONG_LENGTH: u16 = 0x6700;
    pub const SECURITY_NOT_SATISFIED: u16 = 0x6982;
    pub const AUTH_METHOD_BLOCKED: u16 = 0x6983;
    pub const SM_MISSING: u16 = 0x6987;
    pub const SM_INCORRECT: u16 = 0x6988;
    pub const WRONG_DATA: u16 = 0x6A80;
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    pub const WRONG_P1P2: u16 = 0x6B00;
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
    /// `6Cxx`: wrong Le, xx gives the right one.
    pub const WRONG_LE_PREFIX: u8 = 0x6C;
    /// `63Cx`: verification failed (PACE/BAC authentication on some chips).
    pub const AUTH_FAILED: u16 = 0x6300;
    /// `61xx`: more response bytes wait for GET RESPONSE, xx of them (`00`: 256 or more).
    pub const MORE_DATA_PREFIX: u8 = 0x61;

    /// The `61xx` word announcing `remaining` bytes (at least one; `6100` from 256 on).
    pub fn more_data(remaining: usize) -> u16 {
        let xx = u8::try_from(remaining).unwrap_or(0);
        u16::from_be_bytes([MORE_DATA_PREFIX, xx])
    }
}

/// Instruction bytes used by ICAO 9303.
pub mod ins {
    pub const SELECT: u8 = 0xA4;
    pub const READ_BINARY: u8 = 0xB0;
    /// READ BINARY with the offset in a data object, for offsets above 32767.
    pub const READ_BINARY_ODD: u8 = 0xB1;
    pub const GET_CHALLENGE: u8 = 0x84;
    pub const EXTERNAL_AUTHENTICATE: u8 = 0x82;
    pub const INTERNAL_AUTHENTICATE: u8 = 0x88;
    pub const MSE: u8 = 0x22;
    pub const GENERAL_AUTHENTICATE: u8 = 0x86;
}

/// Largest Le of a short APDU (encoded as `00`).
pub const SHORT_MAX_LE: usize = 256;
/// Largest Le of an extended APDU (encoded as `0000`).
pub const EXTENDED_MAX_LE: usize = 65536;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApduError {
    #[error("response shorter than a status word")]
    ResponseTooShort,
    #[error("command APDU malformed")]
    MalformedCommand,
}

/// A command APDU. `le` is the number of response bytes expected (`Some(256)` or
/// `Some(65536)` for "as many as possible").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandApdu {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    pub le: Option<usize>,
}

impl CommandApdu {
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// Extended length is needed when the data or Le do not fit a short APDU.
    pub fn needs_extended(&self) -> bool {
        self.data.len() > 255 || self.le.is_some_and(|le| le > SHORT_MAX_LE)
    }

    /// Encodes the APDU (ISO 7816-4 §5.1), choosing the extended form only when needed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let extended = self.needs_extended();
        let mut out = Vec::with_capacity(self.data.len() + 9);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if !self.data.is_empty() {
            if extended {
                let n = self.data.len();
                out.extend_from_slice(&[0, (n >> 8) as u8, n as u8]);
            } else {
                out.push(self.data.len() as u8);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            if extended {
                if self.data.is_empty() {
                    out.push(0);
                }
                let le = if le >= EXTENDED_MAX_LE { 0 } else { le };
                out.extend_from_slice(&[(le >> 8) as u8, le as u8]);
            } else {
                out.push(if le >= SHORT_MAX_LE { 0 } else { le as u8 });
            }
        }
        out
    }

    /// Decodes a command APDU (used by the simulated card and tests).
    pub fn parse(raw: &[u8]) -> Result<Self, ApduError> {
        let (&[cla, ins, p1, p2], body) = raw
            .split_first_chunk::<4>()
            .ok_or(ApduError::MalformedCommand)?;
        let mut cmd = CommandApdu::new(cla, ins, p1, p2);
        let short_le = |b: u8| if b == 0 { SHORT_MAX_LE } else { usize::from(b) };
        let ext_le = |h: u8, l: u8| {
            let v = usize::from(h) << 8 | usize::from(l);
            if v == 0 { EXTENDED_MAX_LE } else { v }
        };
        match body {
            [] => {}
            [le] => cmd.le = Some(short_le(*le)),
            [0, h, l] => cmd.le = Some(ext_le(*h, *l)),
            [0, h, l, rest @ ..] => {
                let lc = usize::from(*h) << 8 | usize::from(*l);
                if lc == 0 {
                    return Err(ApduError::MalformedCommand);
                }
                let data = rest.get(..lc).ok_or(ApduError::MalformedCommand)?;
                cmd.data = data.to_vec();
                match rest.get(lc..) {
                    Some([]) => {}
                    Some([h, l]) => cmd.le = Some(ext_le(*h, *l)),
                    _ => return Err(ApduError::MalformedCommand),
                }
            }
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                let data = rest.get(..lc).ok_or(ApduError::MalformedCommand)?;
                cmd.data = data.to_vec();
                match rest.get(lc..) {
                    Some([]) => {}
                    Some([le]) => cmd.le = Some(short_le(*le)),
                    _ => return Err(ApduError::MalformedCommand),
                }
            }
        }
        Ok(cmd)
    }
}

/// A response APDU: data and status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseApdu {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl ResponseApdu {
    pub fn new(data: Vec<u8>, sw: u16) -> Self {
        ResponseApdu { data, sw }
    }

    pub fn status(sw: u16) -> Self {
        ResponseApdu {
            data: Vec::new(),
            sw,
        }
    }

    pub fn parse(raw: &[u8]) -> Result<Self, ApduError> {
        let (data, sw) = raw
            .split_last_chunk::<2>()
            .ok_or(ApduError::ResponseTooShort)?;
        Ok(ResponseApdu {
            data: data.to_vec(),
            sw: u16::from_be_bytes(*sw),
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.extend_from_slice(&self.sw.to_be_bytes());
        out
    }

    pub fn is_ok(&self) -> bool {
        self.sw == sw::OK
    }

    /// `61xx`: the card holds more of this response for GET RESPONSE.
    pub fn has_more_data(&self) -> bool {
        self.sw.to_be_bytes()[0] == sw::MORE_DATA_PREFIX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_extended_forms_round_trip() {
        let cases = [
            CommandApdu::new(0, 0xA4, 4, 0x0C).with_data(vec![0xA0, 0, 0, 2, 0x47, 0x10, 0x01]),
            CommandApdu::new(0, 0xB0, 0x81, 0).with_le(256),
            CommandApdu::new(0, 0xB0, 0, 4).with_le(65536),
            CommandApdu::new(0, 0xB0, 0, 4).with_le(1000),
            CommandApdu::new(0, 0x86, 0, 0)
                .with_data(vec![7; 300])
                .with_le(65536),
            CommandApdu::new(0, 0x86, 0, 0)
                .with_data(vec![7; 10])
                .with_le(12),
            CommandApdu::new(0, 0x84, 0, 0),
            // mdoc NFC ENVELOPE: chained (CLA 0x10) and extended.
            CommandApdu::new(0x10, 0xC3, 0, 0).with_data(vec![7; 300]),
            CommandApdu::new(0, 0xC3, 0, 0)
                .with_data(vec![0x53, 0])
                .with_le(65536),
        ];
        for c in cases {
            assert_eq!(CommandApdu::parse(&c.to_bytes()).unwrap(), c);
        }
        assert_eq!(
            CommandApdu::new(0, 0xB0, 0, 4).with_le(65536).to_bytes(),
            [0, 0xB0, 0, 4, 0, 0, 0]
        );
        assert_eq!(
            CommandApdu::new(0, 0xC3, 0, 0)
                .with_data(vec![9])
                .with_le(65536)
                .to_bytes(),
            [0, 0xC3, 0, 0, 0, 0, 1, 9, 0, 0]
        );
        assert_eq!(
            CommandApdu::new(0, 0x84, 0, 0).with_le(8).to_bytes(),
            [0, 0x84, 0, 0, 8]
        );
    }

    #[test]
    fn malformed_commands_are_rejected() {
        for raw in [
            &[0u8, 1, 2][..],
            &[0, 1, 2, 3, 5, 1],
            &[0, 1, 2, 3, 0, 0, 0, 1],
            &[0, 1, 2, 3, 1, 9, 9, 9],
        ] {
            assert!(CommandApdu::parse(raw).is_err());
        }
    }

    #[test]
    fn response_splits_status_word() {
        let r = ResponseApdu::parse(&[1, 2, 0x62, 0x82]).unwrap();
        assert_eq!((r.data.as_slice(), r.sw), (&[1u8, 2][..], sw::END_OF_FILE));
        assert!(ResponseApdu::parse(&[0x90]).is_err());
    }

    #[test]
    fn more_data_words_announce_what_remains() {
        assert_eq!(sw::more_data(1), 0x6101);
        assert_eq!(sw::more_data(255), 0x61FF);
        assert_eq!(sw::more_data(256), 0x6100);
        assert_eq!(sw::more_data(70_000), 0x6100);
        assert!(ResponseApdu::status(sw::more_data(3)).has_more_data());
        assert!(
            ResponseApdu::parse(&[7, 0x61, 0x00])
                .unwrap()
                .has_more_data()
        );
        for other in [sw::OK, sw::END_OF_FILE, 0x6C10, 0x6200] {
            assert!(!ResponseApdu::status(other).has_more_data(), "{other:04X}");
        }
    }
}
