//! SD-JWT and Token Status List against the specifications' own examples
//! (core/tests/vectors/README.md names every source).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eid_core::sdjwt::{
    Disclosure, IssuerKey, KeyBindingPolicy, SdJwt, SdJwtError, StatusList, VerifyOptions, digest,
    point_from_jwk, verify,
};
use serde_json::{Value, json};
use std::path::Path;

fn vector(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// RFC 9901 Appendix A.5: the issuer key of every example, and the holder key of A.4.
fn issuer_point() -> Vec<u8> {
    point_from_jwk(&json!({"kty": "EC", "crv": "P-256",
        "x": "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
        "y": "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}))
    .unwrap()
}

const NOW: u64 = 1_748_537_300; // after A.4's KB iat, before every exp (1883000000)

fn options(point: &[u8]) -> VerifyOptions<'_> {
    VerifyOptions {
        issuer: IssuerKey::Key(point),
        typ: None,
        now: NOW,
        key_binding: None,
    }
}

// --- RFC 9901 §4.2: disclosures and their digests ---------------------------------------------

const FAMILY_NAME: &str = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";

#[test]
fn rfc9901_disclosure_digest_is_taken_over_the_base64url_text() {
    assert_eq!(
        digest(FAMILY_NAME),
        "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
    );
    let d = Disclosure::parse(FAMILY_NAME).unwrap();
    assert_eq!(d.salt, "_26bc4LT-ac6q2KI6cBW5es");
    assert_eq!(d.name.as_deref(), Some("family_name"));
    assert_eq!(d.value, json!("Möbius"));
    assert_eq!(d.digest(), "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0");
}

#[test]
fn rfc9901_other_encodings_of_the_same_disclosure_read_alike_and_hash_differently() {
    let variants = [
        "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd",
        "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsImZhbWlseV9uYW1lIiwiTcO2Yml1cyJd",
        "WwoiXzI2YmM0TFQtYWM2cTJLSTZjQlc1ZXMiLAoiZmFtaWx5X25hbWUiLAoiTcO2Yml1cyIKXQ",
    ];
    for v in variants {
        let d = Disclosure::parse(v).unwrap();
        assert_eq!(
            (d.salt.as_str(), d.name.as_deref(), &d.value),
            (
                "_26bc4LT-ac6q2KI6cBW5es",
                Some("family_name"),
                &json!("Möbius")
            )
        );
        assert_ne!(d.digest(), digest(FAMILY_NAME));
    }
}

#[test]
fn rfc9901_array_element_disclosure() {
    let d = Disclosure::parse("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0").unwrap();
    assert_eq!(d.salt, "lklxF5jMYlGTPUovMNIvCA");
    assert_eq!(d.name, None);
    assert_eq!(d.value, json!("FR"));
}

// --- RFC 9901 Appendix A: whole SD-JWTs with the example issuer key ----------------------------

fn check_example(name: &str) -> eid_core::sdjwt::Verified {
    let text = vector(&format!("sd-jwt/{name}.txt"));
    let expected: Value =
        serde_json::from_str(&vector(&format!("sd-jwt/{name}.claims.json"))).unwrap();
    let point = issuer_point();
    let verified = verify(text.trim(), &options(&point)).unwrap();
    assert_eq!(Value::Object(verified.claims.clone()), expected, "{name}");
    // Every disclosure's digest is in the signed payload (or in another disclosure).
    let parsed = SdJwt::parse(text.trim()).unwrap();
    assert!(!parsed.disclosures.is_empty());
    assert_eq!(parsed.to_compact(), text.trim());
    verified
}

#[test]
fn rfc9901_a1_simple_structured() {
    check_example("rfc9901-a1-simple-structured");
}

#[test]
fn rfc9901_a2_complex_structured() {
    check_example("rfc9901-a2-complex-structured");
}

#[test]
fn rfc9901_a3_sd_jwt_vc() {
    let v = check_example("rfc9901-a3-sd-jwt-vc");
    assert_eq!(v.header.get("typ"), Some(&json!("vc+sd-jwt")));
}

#[test]
fn rfc9901_a4_with_key_binding() {
    let text = vector("sd-jwt/rfc9901-a4-w3c-vcdm-kb.txt");
    let point = issuer_point();
    let policy = |aud, nonce| KeyBindingPolicy {
        audience: aud,
        nonce,
        max_age: 300,
    };
    let mut opts = options(&point);
    opts.key_binding = Some(policy("https://verifier.example.org", "1234567890"));
    let verified = verify(text.trim(), &opts).unwrap();
    assert!(verified.key_bound);
    let expected: Value =
        serde_json::from_str(&vector("sd-jwt/rfc9901-a4-w3c-vcdm-kb.claims.json")).unwrap();
    assert_eq!(Value::Object(verified.claims), expected);

    opts.key_binding = Some(policy("https://verifier.example.org", "1234567891"));
    assert_eq!(
        verify(text.trim(), &opts),
        Err(SdJwtError::KeyBinding("nonce"))
    );
    opts.key_binding = Some(policy("https://other.example.org", "1234567890"));
    assert_eq!(
        verify(text.trim(), &opts),
        Err(SdJwtError::KeyBinding("aud"))
    );
    opts.key_binding = Some(policy("https://verifier.example.org", "1234567890"));
    opts.now = 1_748_537_244 + 301;
    assert_eq!(
        verify(text.trim(), &opts),
        Err(SdJwtError::KeyBinding("iat not fresh"))
    );
    // Dropping a disclosure changes sd_hash.
    let parts: Vec<&str> = text.trim().split('~').collect();
    let dropped = [&parts[..1], &parts[2..]].concat().join("~");
    opts.now = NOW;
    assert_eq!(
        verify(&dropped, &opts),
        Err(SdJwtError::KeyBinding("sd_hash"))
    );
}

#[test]
fn sd_jwt_vc_draft08_presentation_with_key_binding() {
    let text = vector("sd-jwt/sd-jwt-vc-08-4.2-presentation-kb.txt");
    let point = issuer_point();
    let mut opts = VerifyOptions {
        issuer: IssuerKey::Key(&point),
        typ: Some("dc+sd-jwt"),
        now: 1_733_230_200,
        key_binding: Some(KeyBindingPolicy {
            audience: "https://example.com/verifier",
            nonce: "1234567890",
            max_age: 300,
        }),
    };
    let verified = verify(text.trim(), &opts).unwrap();
    assert!(verified.key_bound);
    assert_eq!(
        Value::Object(verified.claims),
        json!({
            "iss": "https://example.com/issuer",
            "iat": 1683000000,
            "exp": 1883000000,
            "vct": "https://credentials.example.com/identity_credential",
            "cnf": {"jwk": {"kty": "EC", "crv": "P-256",
                "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
                "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}},
            "is_over_65": true,
            "address": {"street_address": "123 Main St", "locality": "Anytown",
                "region": "Anystate", "country": "US"}
        })
    );
    opts.key_binding = Some(KeyBindingPolicy {
        audience: "https://example.com/verifier",
        nonce: "1234567890",
        max_age: 30,
    });
    opts.now = 1_733_230_140 + 31;
    assert_eq!(
        verify(text.trim(), &opts),
        Err(SdJwtError::KeyBinding("iat not fresh"))
    );
}

#[test]
fn rfc9901_examples_fail_with_another_key_or_a_changed_payload() {
    let text = vector("sd-jwt/rfc9901-a1-simple-structured.txt");
    let holder = point_from_jwk(&json!({"kty": "EC", "crv": "P-256",
        "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
        "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}))
    .unwrap();
    assert_eq!(
        verify(text.trim(), &options(&holder)),
        Err(SdJwtError::BadSignature)
    );
    // A disclosure not in the payload (the §4.2.1 one) is refused.
    let extra = format!("{}{FAMILY_NAME}~", text.trim());
    assert_eq!(
        verify(&extra, &options(&issuer_point())),
        Err(SdJwtError::Disclosure("disclosure not referenced"))
    );
}

// --- Token Status List ---------------------------------------------------------------------

fn lst_of(name: &str) -> Value {
    let text = vector(&format!("status-list/{name}.txt"));
    let json_start = text.find('{').unwrap();
    // The long examples wrap `lst` over several lines.
    let joined: String = text[json_start..]
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("");
    serde_json::from_str(&joined).unwrap()
}

#[test]
fn status_list_draft_examples_bits_1_and_2() {
    for (name, bits, bytes) in [
        ("status_list_encoding_json", 1u8, vec![0xb9u8, 0xa3]),
        ("status_list_encoding2_json", 2, vec![0xc9, 0x44, 0xf9]),
    ] {
        let json = lst_of(name);
        let list = StatusList::from_json(&json).unwrap();
        assert_eq!(list.bits(), bits);
        assert_eq!(list.bytes(), bytes.as_slice());
        // Our encoding is the draft's byte for byte (zlib level 9 both sides).
        assert_eq!(list.to_json(), json, "{name}");
    }
    // The draft's reading of the bit string (§4.1 examples).
    let one = StatusList::from_json(&lst_of("status_list_encoding_json")).unwrap();
    let statuses: Vec<u8> = (0..16).map(|i| one.get(i).unwrap()).collect();
    assert_eq!(statuses, [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
    assert_eq!(one.get(16), None);
    let two = StatusList::from_json(&lst_of("status_list_encoding2_json")).unwrap();
    let statuses: Vec<u8> = (0..12).map(|i| two.get(i).unwrap()).collect();
    assert_eq!(statuses, [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]);
}

#[test]
fn status_list_draft_test_vectors() {
    let ones = [
        0u64, 1993, 25460, 159495, 495669, 554353, 645645, 723232, 854545, 934534, 1000345,
    ];
    let twos: [(u64, u8); 11] = [
        (0, 1),
        (1993, 2),
        (25460, 1),
        (159495, 3),
        (495669, 1),
        (554353, 1),
        (645645, 2),
        (723232, 1),
        (854545, 1),
        (934534, 2),
        (1000345, 3),
    ];
    let fours: [(u64, u8); 15] = [
        (0, 1),
        (1993, 2),
        (35460, 3),
        (459495, 4),
        (595669, 5),
        (754353, 6),
        (845645, 7),
        (923232, 8),
        (924445, 9),
        (934534, 10),
        (1004534, 11),
        (1000345, 12),
        (1030203, 13),
        (1030204, 14),
        (1030205, 15),
    ];
    let expect = |name: &str, bits: u8, set: &[(u64, u8)]| {
        let list = StatusList::from_json(&lst_of(name)).unwrap();
        assert_eq!((list.bits(), list.len()), (bits, 1 << 20), "{name}");
        let mut nonzero = 0;
        for i in 0..(1u64 << 20) {
            let want = set.iter().find(|(j, _)| *j == i).map_or(0, |(_, s)| *s);
            assert_eq!(list.get(i), Some(want), "{name} index {i}");
            nonzero += usize::from(want != 0);
        }
        assert_eq!(nonzero, set.len());
        // Rebuilt from the statuses, the list decodes to the same bytes.
        let mut ours = StatusList::new(bits, 1 << 20).unwrap();
        for (i, s) in set {
            assert!(ours.set(*i, *s));
        }
        assert_eq!(ours.bytes(), list.bytes());
        assert_eq!(StatusList::from_json(&ours.to_json()).unwrap(), list);
    };
    expect("status_list_encoding1_long_json", 1, &ones.map(|i| (i, 1)));
    expect("status_list_encoding2_long_json", 2, &twos);
    expect("status_list_encoding4_json", 4, &fours);
    let eight = StatusList::from_json(&lst_of("status_list_encoding8_json")).unwrap();
    assert_eq!((eight.bits(), eight.len()), (8, 1 << 20));
}

#[test]
fn status_list_draft_jwt_verifies_with_the_draft_key() {
    let jwt: String = vector("status-list/status_list_jwt_raw.txt")
        .lines()
        .map(str::trim)
        .collect();
    let key = point_from_jwk(&json!({"kty": "EC", "crv": "P-256",
        "x": "I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo",
        "y": "6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M"}))
    .unwrap();
    let uri = "https://example.com/statuslists/1";
    let list = StatusList::from_jwt(&jwt, uri, IssuerKey::Key(&key), 1_686_920_170).unwrap();
    assert_eq!(list.get(0), Some(1));
    assert_eq!(list.get(1), Some(0));
    assert_eq!(
        StatusList::from_jwt(
            &jwt,
            "https://example.com/statuslists/2",
            IssuerKey::Key(&key),
            1_686_920_170
        ),
        Err(SdJwtError::StatusList("sub is not the referenced uri"))
    );
    assert_eq!(
        StatusList::from_jwt(&jwt, uri, IssuerKey::Key(&key), 2_291_720_170),
        Err(SdJwtError::Expired("status list exp"))
    );
    assert_eq!(
        StatusList::from_jwt(&jwt, uri, IssuerKey::Key(&issuer_point()), 1_686_920_170),
        Err(SdJwtError::BadSignature)
    );
}
