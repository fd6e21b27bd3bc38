//! OpenID4VP 1.0: the specification's DCQL examples (`vectors/oid4vp/dcql_*.json`, from
//! `1.0/examples/query_lang/` of openid/OpenID4VP) read, written back and evaluated by the wallet
//! over SD-JWT VCs of our own issuing; malformed queries refused; and the specification's
//! encrypted response example (§8.3) decrypted with its published key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eid_core::oid4vp::{
    DcqlQuery, Oid4vpError, Selection, WalletCredential, decrypt, path_from_json, select,
};
use eid_core::sdjwt::{ClaimPath, IssueOptions, SD_JWT_VC_TYP, issue, jwk_from_point};
use eid_crypto::Rng;
use p256::ecdsa::SigningKey;
use serde_json::{Map, Value, json};

struct CountingRng(u8);
impl Rng for CountingRng {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
}

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/oid4vp/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn device() -> SigningKey {
    SigningKey::from_slice(&[9u8; 32]).unwrap()
}

/// An SD-JWT VC of type `vct` with `claims`, every top-level claim (and every member of an
/// object claim) selectively disclosable.
fn credential(vct: &str, claims: Value) -> eid_core::sdjwt::SdJwt {
    let device_point = device().verifying_key().to_sec1_point(false);
    let mut all: Map<String, Value> = claims.as_object().unwrap().clone();
    let mut concealed = Vec::new();
    for (k, v) in &all {
        concealed.push(ClaimPath::keys(&[k]));
        if let Value::Object(m) = v {
            for child in m.keys() {
                concealed.push(ClaimPath::keys(&[k, child]));
            }
        }
    }
    all.insert("iss".into(), "https://issuer.example".into());
    all.insert("vct".into(), vct.into());
    all.insert(
        "cnf".into(),
        json!({"jwk": jwk_from_point(device_point.as_bytes()).unwrap()}),
    );
    issue(
        &all,
        &concealed,
        &IssueOptions {
            typ: SD_JWT_VC_TYP,
            x5c: &[],
            decoys: 2,
        },
        &SigningKey::from_slice(&[3u8; 32]).unwrap(),
        &mut CountingRng(0),
    )
    .unwrap()
}

const IDENTITY: &str = "https://credentials.example.com/identity_credential";

fn paths(selection: &Selection, i: usize) -> Vec<Value> {
    selection.presentations[i]
        .disclose
        .iter()
        .map(eid_core::oid4vp::path_to_json)
        .collect()
}

fn ids(selection: &Selection) -> Vec<&str> {
    selection
        .presentations
        .iter()
        .map(|p| p.query_id.as_str())
        .collect()
}

#[test]
fn every_specification_example_reads_and_writes_back_the_same() {
    for name in [
        "simple",
        "multi_credentials",
        "claims_alternatives",
        "credentials_alternatives",
        "value_matching_simple",
        "complex_mdoc",
        "simple_mdoc",
    ] {
        let q = DcqlQuery::parse(&vector(&format!("dcql_{name}.json"))).unwrap();
        assert_eq!(DcqlQuery::parse(&q.to_json()).unwrap(), q, "{name}");
    }
    let q = DcqlQuery::parse(&vector("dcql_credentials_alternatives.json")).unwrap();
    let sets = q.credential_sets.as_ref().unwrap();
    assert_eq!(sets.len(), 2);
    assert!(sets[0].required && !sets[1].required);
    assert_eq!(
        sets[0].options[2],
        ["pid_reduced_cred_1", "pid_reduced_cred_2"]
    );
}

#[test]
fn simple_example_discloses_exactly_the_three_claims() {
    let q = DcqlQuery::parse(&vector("dcql_simple.json")).unwrap();
    let key = device();
    let john = json!({"given_name": "John", "family_name": "Doe", "birthdate": "1940-01-01",
        "address": {"street_address": "123 Main St", "locality": "Anytown", "postal_code": "90210"}});
    let wallet = [
        WalletCredential::new(
            "other",
            credential("https://other.example/vc", john.clone()),
            &key,
        )
        .unwrap(),
        WalletCredential::new("pid", credential(IDENTITY, john), &key).unwrap(),
    ];
    let s = select(&q, &wallet).unwrap();
    assert_eq!(ids(&s), ["my_credential"]);
    assert_eq!(s.presentations[0].credential, 1, "the vct decides");
    assert_eq!(
        paths(&s, 0),
        [
            json!(["family_name"]),
            json!(["given_name"]),
            json!(["address", "street_address"])
        ]
    );
    // Without the street address the credential does not match, so nothing is returned.
    let partial = json!({"given_name": "John", "family_name": "Doe", "address": {"locality": "X"}});
    let wallet = [WalletCredential::new("pid", credential(IDENTITY, partial), &key).unwrap()];
    assert_eq!(select(&q, &wallet), Err(Oid4vpError::NoMatch));
}

#[test]
fn value_matching_example_needs_the_values() {
    let q = DcqlQuery::parse(&vector("dcql_value_matching_simple.json")).unwrap();
    let key = device();
    let claims = |family: &str, postal: Value| {
        json!({"given_name": "John", "family_name": family, "postal_code": postal,
            "address": {"street_address": "123 Main St"}})
    };
    let ok = [WalletCredential::new(
        "a",
        credential(IDENTITY, claims("Doe", json!("90211"))),
        &key,
    )
    .unwrap()];
    assert_eq!(select(&q, &ok).unwrap().presentations[0].disclose.len(), 4);
    for (family, postal) in [
        ("Doe", json!("10115")),
        ("Roe", json!("90210")),
        ("Doe", json!(90210)),
    ] {
        let w = [
            WalletCredential::new("b", credential(IDENTITY, claims(family, postal)), &key).unwrap(),
        ];
        assert_eq!(select(&q, &w), Err(Oid4vpError::NoMatch), "{family}");
    }
}

#[test]
fn claims_alternatives_example_takes_the_first_option_it_can_meet() {
    let q = DcqlQuery::parse(&vector("dcql_claims_alternatives.json")).unwrap();
    let key = device();
    // No locality or region: the first option (a, c, d, e) fails, the second (a, b, e) holds.
    let w = [WalletCredential::new(
        "pid",
        credential(
            IDENTITY,
            json!({"family_name": "Doe", "postal_code": "90210", "date_of_birth": "1940-01-01", "region": "CA"}),
        ),
        &key,
    )
    .unwrap()];
    let s = select(&q, &w).unwrap();
    assert_eq!(
        paths(&s, 0),
        [
            json!(["family_name"]),
            json!(["postal_code"]),
            json!(["date_of_birth"])
        ]
    );
    // With every claim, the first option wins and postal_code stays undisclosed.
    let w = [WalletCredential::new(
        "pid",
        credential(
            IDENTITY,
            json!({"family_name": "Doe", "postal_code": "90210", "locality": "Beverly Hills",
                "region": "CA", "date_of_birth": "1940-01-01"}),
        ),
        &key,
    )
    .unwrap()];
    let s = select(&q, &w).unwrap();
    assert_eq!(
        paths(&s, 0),
        [
            json!(["family_name"]),
            json!(["locality"]),
            json!(["region"]),
            json!(["date_of_birth"])
        ]
    );
}

#[test]
fn credentials_alternatives_example_follows_the_credential_sets() {
    let q = DcqlQuery::parse(&vector("dcql_credentials_alternatives.json")).unwrap();
    let key = device();
    let reduced = credential(
        "https://credentials.example.com/reduced_identity_credential",
        json!({"family_name": "Doe", "given_name": "John"}),
    );
    let residence = credential(
        "https://cred.example/residence_credential",
        json!({"postal_code": "90210", "locality": "Beverly Hills", "region": "CA"}),
    );
    let rewards = credential(
        "https://company.example/company_rewards",
        json!({"rewards_number": 12345}),
    );
    // Neither pid nor other_pid: the third option (two credentials); no rewards card, and the
    // optional set is left out.
    let w = [
        WalletCredential::new("r", reduced.clone(), &key).unwrap(),
        WalletCredential::new("s", residence.clone(), &key).unwrap(),
    ];
    let s = select(&q, &w).unwrap();
    assert_eq!(ids(&s), ["pid_reduced_cred_1", "pid_reduced_cred_2"]);
    // With the rewards card the optional set is answered too.
    let w = [
        WalletCredential::new("r", reduced.clone(), &key).unwrap(),
        WalletCredential::new("s", residence, &key).unwrap(),
        WalletCredential::new("c", rewards.clone(), &key).unwrap(),
    ];
    assert_eq!(
        ids(&select(&q, &w).unwrap()),
        ["pid_reduced_cred_1", "pid_reduced_cred_2", "nice_to_have"]
    );
    // A full pid is preferred (first option) and the reduced ones are not sent.
    let full = credential(
        IDENTITY,
        json!({"given_name": "John", "family_name": "Doe", "address": {"street_address": "1 A St"}}),
    );
    let w = [
        WalletCredential::new("r", reduced.clone(), &key).unwrap(),
        WalletCredential::new("p", full, &key).unwrap(),
    ];
    assert_eq!(ids(&select(&q, &w).unwrap()), ["pid"]);
    // Only the rewards card: the required set cannot be met, nothing is returned.
    let w = [WalletCredential::new("c", rewards, &key).unwrap()];
    assert_eq!(select(&q, &w), Err(Oid4vpError::NoMatch));
    // Half of the third option is not enough either.
    let w = [WalletCredential::new("r", reduced, &key).unwrap()];
    assert_eq!(select(&q, &w), Err(Oid4vpError::NoMatch));
}

#[test]
fn multi_credentials_example_needs_the_mdoc_too() {
    let q = DcqlQuery::parse(&vector("dcql_multi_credentials.json")).unwrap();
    let key = device();
    let w = [WalletCredential::new(
        "p",
        credential(
            IDENTITY,
            json!({"given_name": "John", "family_name": "Doe", "address": {"street_address": "1 A St"}}),
        ),
        &key,
    )
    .unwrap()];
    // No credential_sets: both queries are required; this module answers no mdoc.
    assert_eq!(select(&q, &w), Err(Oid4vpError::NoMatch));
}

#[test]
fn null_and_index_paths_select_array_elements() {
    let key = device();
    let w = [WalletCredential::new(
        "p",
        credential(
            IDENTITY,
            json!({"nationalities": ["VN", "FR"], "degrees": [{"type": "BSc"}, {"type": "MSc"}]}),
        ),
        &key,
    )
    .unwrap()];
    let q = |claims: Value| {
        DcqlQuery::parse(&json!({"credentials": [{"id": "q", "format": "dc+sd-jwt",
            "meta": {"vct_values": [IDENTITY]}, "claims": claims}]}))
        .unwrap()
    };
    let s = select(&q(json!([{"path": ["degrees", null, "type"]}])), &w).unwrap();
    assert_eq!(
        paths(&s, 0),
        [json!(["degrees", 0, "type"]), json!(["degrees", 1, "type"])]
    );
    let s = select(
        &q(json!([{"path": ["nationalities", null], "values": ["FR"]}])),
        &w,
    )
    .unwrap();
    assert_eq!(paths(&s, 0), [json!(["nationalities", 1])]);
    let s = select(&q(json!([{"path": ["nationalities", 0]}])), &w).unwrap();
    assert_eq!(paths(&s, 0), [json!(["nationalities", 0])]);
    assert_eq!(
        select(&q(json!([{"path": ["nationalities", 2]}])), &w),
        Err(Oid4vpError::NoMatch)
    );
    // No claims: only what must be presented (no disclosure at all).
    let none = DcqlQuery::parse(&json!({"credentials": [{"id": "q", "format": "dc+sd-jwt",
        "meta": {"vct_values": [IDENTITY]}}]}))
    .unwrap();
    assert!(
        select(&none, &w).unwrap().presentations[0]
            .disclose
            .is_empty()
    );
}

#[test]
fn malformed_queries_are_refused() {
    let cred = |extra: Value| {
        let mut c = json!({"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": ["v"]}});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        json!({ "credentials": [c] })
    };
    let bad = [
        json!({"credentials": []}),
        json!({}),
        json!({"credentials": [{"id": "a b", "format": "dc+sd-jwt", "meta": {"vct_values": ["v"]}}]}),
        json!({"credentials": [{"id": "q", "format": "dc+sd-jwt"}]}),
        cred(json!({"meta": {}})),
        cred(json!({"meta": {"vct_values": []}})),
        cred(json!({"meta": {"vct_values": [1]}})),
        json!({"credentials": [{"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": ["v"]}},
            {"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": ["v"]}}]}),
        cred(json!({"claim_sets": [["a"]]})),
        cred(json!({"claims": [{"path": ["a"]}], "claim_sets": [["a"]]})),
        cred(json!({"claims": [{"id": "a", "path": ["a"]}], "claim_sets": [["b"]]})),
        cred(json!({"claims": [{"id": "a", "path": ["a"]}, {"id": "a", "path": ["b"]}]})),
        cred(json!({"claims": [{"path": []}]})),
        cred(json!({"claims": [{"path": ["a", -1]}]})),
        cred(json!({"claims": [{"path": ["a", 1.5]}]})),
        cred(json!({"claims": [{"path": ["a"], "values": [{"x": 1}]}]})),
        cred(json!({"claims": [{"path": ["a"], "values": []}]})),
        cred(json!({"multiple": "yes"})),
        json!({"credentials": [{"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": ["v"]}}],
            "credential_sets": [{"options": [["other"]]}]}),
        json!({"credentials": [{"id": "q", "format": "mso_mdoc", "meta": {"doctype_value": "d"},
            "claims": [{"path": ["org.iso.18013.5.1"]}]}]}),
        json!({"credentials": [{"id": "q", "format": "mso_mdoc", "meta": {}}]}),
    ];
    for q in bad {
        assert!(
            matches!(DcqlQuery::parse(&q), Err(Oid4vpError::Malformed(_))),
            "{q}"
        );
    }
    assert!(path_from_json(&json!(["a", null, 0])).is_ok());
    // The base of these cases is itself valid: each case fails on its own change.
    assert!(DcqlQuery::parse(&cred(json!({}))).is_ok());
    assert!(
        DcqlQuery::parse(&cred(
            json!({"claims": [{"id": "a", "path": ["a"]}], "claim_sets": [["a"]]})
        ))
        .is_ok()
    );
}

/// OpenID4VP 1.0 §8.3: the example encrypted response decrypts with the example private key
/// (`kid` "ac") to the example payload.
#[test]
fn the_specifications_encrypted_response_example_decrypts() {
    let path = format!(
        "{}/tests/vectors/oid4vp/encrypted_response_8_3.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let jwe = std::fs::read_to_string(path).unwrap();
    let d = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        "Et-3ce0omz8_TuZ96Df9lp0GAaaDoUnDe6X-CRO7Aww",
    )
    .unwrap();
    let key = p256::SecretKey::from_slice(&d).unwrap();
    let out = decrypt(jwe.trim(), &key, Some("ac")).unwrap();
    assert_eq!(out.header["enc"], "A128GCM");
    let payload: Value = serde_json::from_slice(&out.plaintext).unwrap();
    assert_eq!(
        payload,
        json!({"vp_token": {"example_credential_id": ["eyJhb...YMetA"]}})
    );
    assert!(decrypt(jwe.trim(), &key, Some("other")).is_err());
    let other = p256::SecretKey::from_slice(&[5u8; 32]).unwrap();
    assert!(decrypt(jwe.trim(), &other, None).is_err());
}

/// OpenID4VP 1.0 Appendix B.3.3: the example SD-JWT VC payload (`sd_jwt_vc_payload.json`) with
/// the three disclosures printed there. Every printed disclosure's digest is in the payload's
/// `_sd` (the wallet's reading refuses one that is not), and the simple DCQL query for the two
/// names picks exactly the two printed disclosures, in the wallet's presentation too.
#[test]
fn the_specifications_sd_jwt_vc_example_answers_a_query_for_the_names() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let given = "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd";
    let family = "WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZhbWlseV9uYW1lIiwgIkRvZSJd";
    let birth = "WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImJpcnRoZGF0ZSIsICIxOTQwLTAxLTAxIl0";
    assert_eq!(
        eid_core::sdjwt::digest(given),
        "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4"
    );
    let payload = vector("sd_jwt_vc_payload.json");
    // The issuer signature is not the wallet's concern here (checked when the credential was
    // received); a placeholder stands in for it.
    let jwt = format!(
        "{}.{}.{}",
        b64.encode(br#"{"alg":"ES256","typ":"dc+sd-jwt"}"#),
        b64.encode(payload.to_string()),
        b64.encode([0u8; 64])
    );
    let issued =
        eid_core::sdjwt::SdJwt::parse(&format!("{jwt}~{given}~{family}~{birth}~")).unwrap();
    let key = device();
    let w = [WalletCredential::new("spec", issued.clone(), &key).unwrap()];
    assert_eq!(w[0].claims()["given_name"], "John");
    assert_eq!(w[0].claims()["birthdate"], "1940-01-01");
    let q = DcqlQuery::parse(
        &json!({"credentials": [{"id": "my_credential", "format": "dc+sd-jwt",
        "meta": {"vct_values": [IDENTITY]},
        "claims": [{"path": ["family_name"]}, {"path": ["given_name"]}]}]}),
    )
    .unwrap();
    let s = select(&q, &w).unwrap();
    let chosen = eid_core::sdjwt::select(&issued, &s.presentations[0].disclose).unwrap();
    let encoded: Vec<&str> = chosen
        .disclosures
        .iter()
        .map(|d| d.encoded.as_str())
        .collect();
    assert_eq!(encoded, [given, family]);
    // A disclosure whose digest the payload does not hold is refused.
    let foreign = "WyJzYWx0IiwgImdpdmVuX25hbWUiLCAiTWFsbG9yeSJd";
    let bad = eid_core::sdjwt::SdJwt::parse(&format!("{jwt}~{foreign}~")).unwrap();
    assert!(WalletCredential::new("bad", bad, &key).is_err());
}
