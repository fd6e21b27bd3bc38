//! The CBOR pieces every mdoc structure is read with: decoding exactly one item, map lookups by
//! text or integer key, and the tag-24 "embedded CBOR" wrapper (RFC 8949 §3.4.5.1) whose inner
//! bytes are what issuers and devices sign and hash, so they are kept byte-exact as received.

use super::error::MdocError;
use ciborium::Value;

/// The CBOR tag for an embedded CBOR data item (`#6.24(bstr .cbor X)`).
pub(crate) const TAG_ENCODED_CBOR: u64 = 24;
/// RFC 8949 tdate (date/time text) tag.
pub(crate) const TAG_TDATE: u64 = 0;

/// Decodes exactly one CBOR item; trailing bytes are an error. Never panics.
pub(crate) fn decode(bytes: &[u8]) -> Result<Value, MdocError> {
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader(&mut rest).map_err(|_| MdocError::Cbor)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(MdocError::Cbor)
    }
}

/// Encodes a value (preferred serialisation of lengths, map order as given).
pub(crate) fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail for a ciborium Value.
    let _ = ciborium::ser::into_writer(value, &mut out);
    out
}

pub(crate) fn map<'a>(
    value: &'a Value,
    what: &'static str,
) -> Result<&'a [(Value, Value)], MdocError> {
    value
        .as_map()
        .map(Vec::as_slice)
        .ok_or(MdocError::Structure(what))
}

pub(crate) fn array<'a>(value: &'a Value, what: &'static str) -> Result<&'a [Value], MdocError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or(MdocError::Structure(what))
}

/// The value under a text key.
pub(crate) fn get<'a>(entries: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

/// `{+ key => {+ entry}}` built one entry at a time: appends `entry` to the map under the text
/// `key` of `outer`, adding that key (in first-seen order) when it is new. Namespaced maps
/// (ItemsRequest's nameSpaces, the MSO's valueDigests, a Document's errors) are built this way.
pub(crate) fn push_under(outer: &mut Vec<(Value, Value)>, key: &str, entry: (Value, Value)) {
    match outer.iter_mut().find(|(k, _)| k.as_text() == Some(key)) {
        Some((_, Value::Map(inner))) => inner.push(entry),
        _ => outer.push((Value::from(key), Value::Map(vec![entry]))),
    }
}

/// The value under an integer key.
pub(crate) fn get_int(entries: &[(Value, Value)], key: i64) -> Option<&Value> {
    entries
        .iter()
        .find(|(k, _)| k.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(key))
        .map(|(_, v)| v)
}

pub(crate) fn text<'a>(value: Option<&'a Value>, what: &'static str) -> Result<&'a str, MdocError> {
    value
        .and_then(Value::as_text)
        .ok_or(MdocError::Structure(what))
}

pub(crate) fn bytes<'a>(
    value: Option<&'a Value>,
    what: &'static str,
) -> Result<&'a [u8], MdocError> {
    value
        .and_then(Value::as_bytes)
        .map(Vec::as_slice)
        .ok_or(MdocError::Structure(what))
}

pub(crate) fn uint(value: Option<&Value>, what: &'static str) -> Result<u64, MdocError> {
    value
        .and_then(Value::as_integer)
        .and_then(|i| u64::try_from(i).ok())
        .ok_or(MdocError::Structure(what))
}

/// `#6.24(bstr .cbor X)`: an embedded CBOR item with its bytes exactly as received.
#[derive(Clone, PartialEq, Eq)]
pub struct Tagged24 {
    inner: Vec<u8>,
}

impl std::fmt::Debug for Tagged24 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Embedded items carry element values and keys: only their size is shown.
        write!(f, "Tagged24({} bytes)", self.inner.len())
    }
}

impl Tagged24 {
    /// Wraps the encoding of an item.
    pub fn new(inner: Vec<u8>) -> Tagged24 {
        Tagged24 { inner }
    }

    /// Wraps the encoding of `value`.
    pub fn of(value: &Value) -> Tagged24 {
        Tagged24::new(encode(value))
    }

    /// Reads `#6.24(bstr)` from a decoded value; the bstr must itself be one CBOR item.
    pub fn from_value(value: &Value, what: &'static str) -> Result<Tagged24, MdocError> {
        match value {
            Value::Tag(TAG_ENCODED_CBOR, inner) => match inner.as_ref() {
                Value::Bytes(b) => {
                    decode(b)?;
                    Ok(Tagged24 { inner: b.clone() })
                }
                _ => Err(MdocError::Structure(what)),
            },
            _ => Err(MdocError::Structure(what)),
        }
    }

    /// Reads the encoding of `#6.24(bstr)` (e.g. SessionTranscriptBytes).
    pub fn from_encoded(bytes: &[u8], what: &'static str) -> Result<Tagged24, MdocError> {
        let t = Tagged24::from_value(&decode(bytes)?, what)?;
        // Only the preferred encoding of tag and length is accepted, so `encoded()` gives back
        // exactly the bytes that were read (and hashed or signed by the other side).
        if t.encoded() == bytes {
            Ok(t)
        } else {
            Err(MdocError::Structure(what))
        }
    }

    /// The embedded item's bytes (what `bstr .cbor` holds).
    pub fn inner(&self) -> &[u8] {
        &self.inner
    }

    /// The embedded item, decoded.
    pub fn item(&self) -> Result<Value, MdocError> {
        decode(&self.inner)
    }

    /// The tagged value, to place inside a larger structure.
    pub fn to_value(&self) -> Value {
        Value::Tag(TAG_ENCODED_CBOR, Box::new(Value::Bytes(self.inner.clone())))
    }

    /// The encoding of the tagged value: what MSO digests and the session-key salt hash.
    pub fn encoded(&self) -> Vec<u8> {
        encode(&self.to_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_decoding_and_tag24() {
        assert_eq!(decode(&[0x01]), Ok(Value::from(1)));
        assert_eq!(decode(&[0x01, 0x02]), Err(MdocError::Cbor));
        assert_eq!(decode(&[]), Err(MdocError::Cbor));
        // Huge declared lengths do not allocate or panic.
        for hostile in [
            &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
            &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[0x7b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert_eq!(decode(hostile), Err(MdocError::Cbor));
        }
        // Deep nesting is refused, not a stack overflow.
        assert_eq!(decode(&[0x81; 100_000]), Err(MdocError::Cbor));
        let t = Tagged24::of(&Value::from("x"));
        assert_eq!(t.encoded(), [0xd8, 0x18, 0x42, 0x61, 0x78]);
        assert_eq!(Tagged24::from_encoded(&t.encoded(), "t"), Ok(t.clone()));
        // A non-preferred length (0x58 0x02) would not re-encode to the same bytes: refused.
        assert!(Tagged24::from_encoded(&[0xd8, 0x18, 0x58, 0x02, 0x61, 0x78], "t").is_err());
        // The embedded bytes must be one CBOR item.
        assert!(Tagged24::from_encoded(&[0xd8, 0x18, 0x42, 0x61, 0xff], "t").is_err());
        assert_eq!(format!("{t:?}"), "Tagged24(2 bytes)");
    }
}
