//! Hostile input: every prefix and every single-byte change of the Annex D structures is either
//! read or refused, never a panic.

use super::*;

fn vector(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text.trim()).unwrap()
}

fn vectors() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "engagement",
            vector(include_str!(
                "../../tests/vectors/iso18013-5/device_engagement.hex"
            )),
        ),
        (
            "establishment",
            vector(include_str!(
                "../../tests/vectors/iso18013-5/session_establishment.hex"
            )),
        ),
        (
            "transcript",
            vector(include_str!(
                "../../tests/vectors/iso18013-5/session_transcript_bytes.hex"
            )),
        ),
        (
            "request",
            vector(include_str!(
                "../../tests/vectors/iso18013-5/device_request.hex"
            )),
        ),
        (
            "response",
            vector(include_str!(
                "../../tests/vectors/iso18013-5/device_response.hex"
            )),
        ),
        (
            "data",
            vector(include_str!(
                "../../tests/vectors/iso18013-5/session_termination.hex"
            )),
        ),
    ]
}

/// Runs every parser on `bytes`; returns how many accepted.
fn parse_all(bytes: &[u8]) -> usize {
    [
        DeviceEngagement::parse(bytes).is_ok(),
        SessionEstablishment::parse(bytes).is_ok(),
        SessionTranscript::parse_bytes(bytes).is_ok(),
        DeviceRequest::parse(bytes).is_ok(),
        DeviceResponse::parse(bytes).is_ok(),
        SessionData::parse(bytes).is_ok(),
        IssuerSigned::parse(bytes).is_ok(),
        MobileSecurityObject::parse_bytes(bytes).is_ok(),
        DeviceEngagement::from_uri(&format!("mdoc:{}", String::from_utf8_lossy(bytes))).is_ok(),
    ]
    .iter()
    .filter(|ok| **ok)
    .count()
}

#[test]
fn every_prefix_of_every_vector_is_refused_without_panic() {
    for (name, bytes) in vectors() {
        assert!(parse_all(&bytes) >= 1, "{name} is read whole");
        for len in 0..bytes.len() {
            // A strict prefix of one CBOR item is never one item.
            assert_eq!(parse_all(&bytes[..len]), 0, "{name} prefix {len}");
        }
    }
}

#[test]
fn single_byte_changes_never_panic() {
    for (_, bytes) in vectors() {
        // Every position, a few values: parsers return, whatever they decide.
        for i in 0..bytes.len() {
            for x in [0x00, 0x01, 0x20, 0x80, 0xff] {
                let mut t = bytes.clone();
                t[i] ^= x;
                let _ = parse_all(&t);
            }
        }
    }
}
