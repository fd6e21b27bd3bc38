//! A small zero-copy BER-TLV reader and writer for LDS files, APDU data objects and the exact
//! bytes of certificate and CMS parts (what was signed, as read).
//!
//! `der` cannot be used here: LDS tags such as `5F1F` or `7F61` have tag numbers above 30, which
//! `der` 0.8 does not represent (see docs/adr/0003). Definite lengths only (ICAO 9303-10 §4.4 uses
//! DER), up to four length bytes. Every function returns an error on malformed input and never
//! panics; `fuzz/fuzz_targets/tlv.rs` checks that.

use thiserror::Error;

/// Why a TLV could not be read. Positions only, never content: the data may be personal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TlvError {
    #[error("TLV truncated at byte {0}")]
    Truncated(usize),
    #[error("TLV tag longer than 3 bytes at byte {0}")]
    TagTooLong(usize),
    #[error("TLV length form not supported at byte {0}")]
    BadLength(usize),
    #[error("expected tag {expected:X}, found {found:X}")]
    UnexpectedTag { expected: u32, found: u32 },
    #[error("tag {0:X} not found")]
    Missing(u32),
}

/// One data object: its tag (all tag bytes big-endian, e.g. `0x5F1F`) and its value bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u32,
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Constructed tags (bit 6 of the first tag byte) hold nested TLVs.
    pub fn is_constructed(&self) -> bool {
        let first = if self.tag > 0xFFFF {
            self.tag >> 16
        } else if self.tag > 0xFF {
            self.tag >> 8
        } else {
            self.tag
        };
        first & 0x20 != 0
    }

    /// The nested objects of a constructed value.
    pub fn children(&self) -> Iter<'a> {
        Iter::new(self.value)
    }

    /// Fails unless the tag is `expected`.
    pub fn expect_tag(self, expected: u32) -> Result<Self, TlvError> {
        if self.tag == expected {
            Ok(self)
        } else {
            Err(TlvError::UnexpectedTag {
                expected,
                found: self.tag,
            })
        }
    }
}

/// The header of a TLV: tag, header length (tag + length bytes) and value length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub tag: u32,
    pub header_len: usize,
    pub value_len: usize,
}

impl Header {
    /// Total encoded length of the object.
    pub fn total_len(&self) -> Option<usize> {
        self.header_len.checked_add(self.value_len)
    }
}

/// Reads a tag and a length from the start of `input` without needing the value.
/// Used to learn a file's size from its first bytes.
pub fn read_header(input: &[u8]) -> Result<Header, TlvError> {
    let first = *input.first().ok_or(TlvError::Truncated(0))?;
    let mut tag = u32::from(first);
    let mut pos = 1;
    if first & 0x1F == 0x1F {
        // Subsequent tag bytes: bit 8 set means another follows (ISO 7816-4 §5.2.2.1).
        loop {
            let b = *input.get(pos).ok_or(TlvError::Truncated(pos))?;
            if pos >= 3 {
                return Err(TlvError::TagTooLong(0));
            }
            tag = (tag << 8) | u32::from(b);
            pos += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let len_byte = *input.get(pos).ok_or(TlvError::Truncated(pos))?;
    pos += 1;
    let value_len = if len_byte < 0x80 {
        usize::from(len_byte)
    } else {
        let n = usize::from(len_byte & 0x7F);
        if n == 0 || n > 4 {
            return Err(TlvError::BadLength(pos - 1));
        }
        let bytes = input.get(pos..pos + n).ok_or(TlvError::Truncated(pos))?;
        pos += n;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    Ok(Header {
        tag,
        header_len: pos,
        value_len,
    })
}

/// Reads one TLV from the start of `input`; returns it and the bytes after it.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let h = read_header(input)?;
    let end = h.total_len().ok_or(TlvError::BadLength(0))?;
    let value = input
        .get(h.header_len..end)
        .ok_or(TlvError::Truncated(input.len()))?;
    let rest = input.get(end..).ok_or(TlvError::Truncated(input.len()))?;
    Ok((Tlv { tag: h.tag, value }, rest))
}

/// Reads exactly one TLV with the given tag that fills all of `input`.
pub fn read_exact(input: &[u8], tag: u32) -> Result<Tlv<'_>, TlvError> {
    let (tlv, rest) = read(input)?;
    if !rest.is_empty() {
        return Err(TlvError::BadLength(input.len() - rest.len()));
    }
    tlv.expect_tag(tag)
}

/// The whole encodings (header and value) of the consecutive TLVs in `content`.
pub fn elements(content: &[u8]) -> Result<Vec<&[u8]>, TlvError> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let h = read_header(rest)?;
        let total = h.total_len().ok_or(TlvError::BadLength(0))?;
        let (one, after) = rest
            .split_at_checked(total)
            .ok_or(TlvError::Truncated(content.len()))?;
        out.push(one);
        rest = after;
    }
    Ok(out)
}

/// Iterates over consecutive TLVs; yields an error once and then stops.
pub struct Iter<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Iter<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Iter {
            rest: input,
            failed: false,
        }
    }

    /// The first object with `tag` among the remaining ones.
    pub fn find(self, tag: u32) -> Result<Option<Tlv<'a>>, TlvError> {
        for item in self {
            let tlv = item?;
            if tlv.tag == tag {
                return Ok(Some(tlv));
            }
        }
        Ok(None)
    }

    /// Like [`Iter::find`], but a missing tag is an error.
    pub fn require(self, tag: u32) -> Result<Tlv<'a>, TlvError> {
        self.find(tag)?.ok_or(TlvError::Missing(tag))
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        match read(self.rest) {
            Ok((tlv, rest)) => {
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Appends the encoding of a length (DER definite form: short form below 128, otherwise `0x80 | n`
/// followed by the `n` bytes of the length, as few as needed). Lengths of 16 MiB and more take
/// the four-byte form `84`; a length beyond four bytes (only possible on 64-bit targets) is
/// still written in full, though [`read_header`] reads at most four length bytes.
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    // At most size_of::<usize>() (8) bytes, so the count fits the 7 bits of the long form.
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

/// Encodes one TLV.
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    if tag > 0xFFFF {
        out.push((tag >> 16) as u8);
    }
    if tag > 0xFF {
        out.push((tag >> 8) as u8);
    }
    out.push(tag as u8);
    encode_len(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

/// Encodes one TLV whose value is the concatenation of `parts`.
pub fn encode_parts(tag: u32, parts: &[&[u8]]) -> Vec<u8> {
    encode(tag, &parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_multi_byte_tags_and_long_lengths() {
        let dg1 = encode(0x61, &encode(0x5F1F, &[b'A'; 200]));
        let outer = read_exact(&dg1, 0x61).unwrap();
        assert!(outer.is_constructed());
        let inner = outer.children().require(0x5F1F).unwrap();
        assert_eq!(inner.value.len(), 200);
        assert!(!inner.is_constructed());
        assert_eq!(read_header(&dg1[..3]).unwrap().total_len(), Some(dg1.len()));
    }

    #[test]
    fn lengths_round_trip_in_every_form() {
        for len in [0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000] {
            let bytes = encode(0x7F61, &vec![0u8; len]);
            let (tlv, rest) = read(&bytes).unwrap();
            assert_eq!((tlv.tag, tlv.value.len(), rest.len()), (0x7F61, len, 0));
        }
    }

    #[test]
    fn lengths_of_16_mib_and_more_use_the_four_byte_form() {
        // Used to be written as 83 00 00 00: the top byte was lost.
        let enc = |len: usize| {
            let mut out = Vec::new();
            encode_len(len, &mut out);
            out
        };
        assert_eq!(enc(0xFF_FFFF), [0x83, 0xFF, 0xFF, 0xFF]);
        assert_eq!(enc(0x100_0000), [0x84, 0x01, 0x00, 0x00, 0x00]);
        assert_eq!(enc(0x1234_5678), [0x84, 0x12, 0x34, 0x56, 0x78]);
        assert_eq!(enc(u32::MAX as usize), [0x84, 0xFF, 0xFF, 0xFF, 0xFF]);
        #[cfg(target_pointer_width = "64")]
        assert_eq!(enc(0x1_0000_0000), [0x85, 0x01, 0x00, 0x00, 0x00, 0x00]);
        // The header reads back without the value being there.
        for len in [0x100_0000usize, 0x1234_5678, u32::MAX as usize] {
            let mut header = vec![0x04];
            encode_len(len, &mut header);
            let h = read_header(&header).unwrap();
            assert_eq!((h.tag, h.header_len, h.value_len), (0x04, 6, len));
        }
        // And a whole 16 MiB object round-trips.
        let big = encode(0x04, &vec![0xA5; 0x100_0000]);
        let (tlv, rest) = read(&big).unwrap();
        assert_eq!((tlv.value.len(), rest.len()), (0x100_0000, 0));
        assert_eq!(&big[..6], [0x04, 0x84, 0x01, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(read(&[]), Err(TlvError::Truncated(0)));
        assert_eq!(read(&[0x5F]), Err(TlvError::Truncated(1)));
        assert_eq!(read(&[0x04, 0x80]), Err(TlvError::BadLength(1)));
        assert_eq!(
            read(&[0x04, 0x85, 1, 1, 1, 1, 1]),
            Err(TlvError::BadLength(1))
        );
        assert!(matches!(
            read(&[0x04, 0x03, 1]),
            Err(TlvError::Truncated(_))
        ));
        assert!(matches!(
            read(&[0x5F, 0xFF, 0xFF, 0xFF, 0x01, 0x00]),
            Err(TlvError::TagTooLong(_))
        ));
        assert!(matches!(
            read(&[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(TlvError::Truncated(_))
        ));
        assert_eq!(
            read_exact(&[0x04, 0x00, 0x00], 0x04),
            Err(TlvError::BadLength(2))
        );
        assert_eq!(
            read_exact(&[0x04, 0x00], 0x05),
            Err(TlvError::UnexpectedTag {
                expected: 5,
                found: 4
            })
        );
    }

    #[test]
    fn iterator_stops_after_an_error() {
        let mut it = Iter::new(&[0x80, 0x01, 0xAA, 0x81, 0x05]);
        assert_eq!(
            it.next(),
            Some(Ok(Tlv {
                tag: 0x80,
                value: &[0xAA]
            }))
        );
        assert!(matches!(it.next(), Some(Err(_))));
        assert_eq!(it.next(), None);
    }
}
