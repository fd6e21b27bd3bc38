//! OpenID4VP 1.0 Appendix B.2.6.1 (invocation via redirects): the specification's worked example
//! of the mdoc SessionTranscript, byte for byte. Inputs as the specification gives them: the
//! verifier's encryption JWK, client_id `x509_san_dns:example.com`, its nonce and response URI;
//! outputs its hex of the JWK thumbprint (inside OpenID4VPHandoverInfo), OpenID4VPHandoverInfo,
//! OpenID4VPHandover and SessionTranscript (openid/OpenID4VP, `1.0/openid-4-verifiable-
//! presentations-1_0.md`, section "Handover and SessionTranscript Definitions").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eid_core::oid4vp::{HandoverInfo, jwk_thumbprint_of};
use serde_json::json;

const HANDOVER_INFO_HEX: &str = concat!(
    "847818783530395f73616e5f646e733a6578616d706c652e636f6d782b6578633767",
    "426b786a7831726463397564527276654b7653734a4971383061766c58654c486847",
    "7771744158204283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6",
    "bd669047781c68747470733a2f2f6578616d706c652e636f6d2f726573706f6e7365",
);
const HANDOVER_HEX: &str = concat!(
    "82714f70656e494434565048616e646f7665725820048bc053c00442af9b8eed494c",
    "efdd9d95240d254b046b11b68013722aad38ac",
);
const SESSION_TRANSCRIPT_HEX: &str = concat!(
    "83f6f682714f70656e494434565048616e646f7665725820048bc053c00442af9b8e",
    "ed494cefdd9d95240d254b046b11b68013722aad38ac",
);
/// The thumbprint as it sits in the example's OpenID4VPHandoverInfo (`58 20 ...`).
const THUMBPRINT_HEX: &str = "4283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6bd669047";

fn spec_jwk() -> serde_json::Value {
    json!({
        "kty": "EC",
        "crv": "P-256",
        "x": "DxiH5Q4Yx3UrukE2lWCErq8N8bqC9CHLLrAwLz5BmE0",
        "y": "XtLM4-3h5o3HUH0MHVJV0kyq0iBlrBwlh8qEDMZ4-Pc",
        "use": "enc",
        "alg": "ECDH-ES",
        "kid": "1"
    })
}

fn spec_info() -> HandoverInfo<'static> {
    HandoverInfo {
        client_id: "x509_san_dns:example.com",
        nonce: "exc7gBkxjx1rdc9udRrveKvSsJIq80avlXeLHhGwqtA",
        jwk_thumbprint: Some(jwk_thumbprint_of(&spec_jwk()).unwrap()),
        response_uri: "https://example.com/response",
    }
}

#[test]
fn spec_example_jwk_thumbprint() {
    let t = jwk_thumbprint_of(&spec_jwk()).unwrap();
    assert_eq!(hex::encode(t), THUMBPRINT_HEX);
}

#[test]
fn spec_example_openid4vp_handover_info() {
    assert_eq!(
        hex::encode(spec_info().encoded().unwrap()),
        HANDOVER_INFO_HEX
    );
}

#[test]
fn spec_example_openid4vp_handover() {
    let mut bytes = Vec::new();
    ciborium::into_writer(&spec_info().handover().unwrap(), &mut bytes).unwrap();
    assert_eq!(hex::encode(bytes), HANDOVER_HEX);
}

#[test]
fn spec_example_session_transcript() {
    let transcript = spec_info().session_transcript().unwrap();
    assert_eq!(hex::encode(transcript.encoded()), SESSION_TRANSCRIPT_HEX);
    // And the tagged form the device signature embeds reads back to the same transcript.
    let again = eid_core::mdoc::SessionTranscript::parse_bytes(&transcript.bytes()).unwrap();
    assert_eq!(again, transcript);
}
