//! The ISO/IEC 7816-4 APDU forms NFC data retrieval needs (short and extended length), on both
//! sides: the holder parses commands and writes responses, the reader the other way round. The
//! chip reader (`eid_icao`) has its own for its secure messaging; this module keeps mdoc off it
//! (only the transport trait is shared, `core/tests/layering.rs`).

/// Status words used here.
pub mod sw {
    pub const OK: u16 = 0x9000;
    pub const WRONG_LENGTH: u16 = 0x6700;
    pub const SECURITY_NOT_SATISFIED: u16 = 0x6982;
    pub const WRONG_DATA: u16 = 0x6A80;
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    pub const WRONG_P1P2: u16 = 0x6B00;
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
}

/// Le of a short APDU's "as many as possible".
pub const SHORT_MAX_LE: usize = 256;
/// Le of an extended APDU's "as many as possible".
pub const EXTENDED_MAX_LE: usize = 65536;

/// A command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    pub le: Option<usize>,
}

impl Command {
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Command {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    pub fn with_data(mut self, data: Vec<u8>) -> Command {
        self.data = data;
        self
    }

    pub fn with_le(mut self, le: usize) -> Command {
        self.le = Some(le);
        self
    }

    /// Encodes, in the extended form when the data or Le need it (ISO/IEC 7816-4 §5.1).
    pub fn to_bytes(&self) -> Vec<u8> {
        let extended = self.data.len() > 255 || self.le.is_some_and(|le| le > SHORT_MAX_LE);
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        if !self.data.is_empty() {
            let n = self.data.len();
            if extended {
                out.extend_from_slice(&[0, (n >> 8) as u8, n as u8]);
            } else {
                out.push(n as u8);
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

    /// Decodes the four cases, short or extended; `None` when malformed. Never panics.
    pub fn parse(raw: &[u8]) -> Option<Command> {
        let (&[cla, ins, p1, p2], body) = raw.split_first_chunk::<4>()?;
        let mut c = Command::new(cla, ins, p1, p2);
        let short_le = |b: u8| if b == 0 { SHORT_MAX_LE } else { usize::from(b) };
        let ext_le = |h: u8, l: u8| match usize::from(u16::from_be_bytes([h, l])) {
            0 => EXTENDED_MAX_LE,
            v => v,
        };
        match body {
            [] => {}
            [le] => c.le = Some(short_le(*le)),
            [0, h, l] => c.le = Some(ext_le(*h, *l)),
            [0, h, l, rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([*h, *l]));
                if lc == 0 {
                    return None;
                }
                c.data = rest.get(..lc)?.to_vec();
                match rest.get(lc..)? {
                    [] => {}
                    [h, l] => c.le = Some(ext_le(*h, *l)),
                    _ => return None,
                }
            }
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                c.data = rest.get(..lc)?.to_vec();
                match rest.get(lc..)? {
                    [] => {}
                    [le] => c.le = Some(short_le(*le)),
                    _ => return None,
                }
            }
        }
        Some(c)
    }
}

/// A response APDU's bytes: data then SW1 SW2.
pub fn response(data: &[u8], sw: u16) -> Vec<u8> {
    let mut out = data.to_vec();
    out.extend_from_slice(&sw.to_be_bytes());
    out
}

/// Splits a response into data and status word; `None` when shorter than a status word.
pub fn split_response(raw: &[u8]) -> Option<(&[u8], u16)> {
    let (data, sw) = raw.split_last_chunk::<2>()?;
    Some((data, u16::from_be_bytes(*sw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_cases_short_and_extended_round_trip() {
        for c in [
            Command::new(0, 0xA4, 4, 0x0C).with_data(vec![1, 2, 3]),
            Command::new(0, 0xB0, 0, 0).with_le(15),
            Command::new(0, 0xB0, 0, 0).with_le(256),
            Command::new(0, 0xC0, 0, 0).with_le(65536),
            Command::new(0, 0xC3, 0, 0)
                .with_data(vec![0x53, 0])
                .with_le(65536),
            Command::new(0x10, 0xC3, 0, 0).with_data(vec![7; 300]),
            Command::new(0, 0xC3, 0, 0)
                .with_data(vec![7; 300])
                .with_le(1000),
        ] {
            assert_eq!(Command::parse(&c.to_bytes()), Some(c.clone()), "{c:?}");
        }
        assert_eq!(
            Command::new(0, 0xC3, 0, 0)
                .with_data(vec![9])
                .with_le(65536)
                .to_bytes(),
            [0, 0xC3, 0, 0, 0, 0, 1, 9, 0, 0]
        );
        for bad in [
            &[][..],
            &[0, 1, 2],
            &[0, 1, 2, 3, 5, 1],
            &[0, 1, 2, 3, 0, 0, 0, 1],
        ] {
            assert_eq!(Command::parse(bad), None);
        }
        assert_eq!(split_response(&[1, 0x90, 0]), Some((&[1u8][..], 0x9000)));
        assert_eq!(split_response(&[0x90]), None);
    }
}
