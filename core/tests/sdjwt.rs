//! SD-JWT issue → present → verify with our own keys, the RFC 9901 §7 refusals one by one, and
//! hostile input (every truncation, byte changes) refused without a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eid_core::sdjwt::{
    ClaimPath, Disclosure, Es256Signer, IssueOptions, IssuerKey, KeyBinding, KeyBindingPolicy,
    PathElem, SD_JWT_VC_TYP, SdJwt, SdJwtError, VerifyOptions, issue, jwk_from_point, present,
    select, sign_jws, verify,
};
use eid_crypto::Rng;
use p256::ecdsa::SigningKey;
use serde_json::{Map, Value, json};

/// A deterministic test RNG (counter bytes), so failures reproduce.
struct CountingRng(u8);
impl Rng for CountingRng {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
}

fn key(i: u8) -> SigningKey {
    SigningKey::from_slice(&[i; 32]).unwrap()
}

fn point(k: &SigningKey) -> Vec<u8> {
    k.verifying_key().to_sec1_point(false).as_bytes().to_vec()
}

const NOW: u64 = 1_800_000_000;
const AUD: &str = "x509_san_dns:bank.example.vn";
const NONCE: &str = "n-0S6_WzA2Mj";

fn claims(device: &SigningKey) -> Map<String, Value> {
    json!({
        "iss": "https://issuer.eid.example.vn",
        "iat": NOW - 100,
        "exp": NOW + 86_400,
        "vct": "urn:eudi:pid:vn:1",
        "cnf": {"jwk": jwk_from_point(&point(device)).unwrap()},
        "given_name": "Lan",
        "family_name": "Trần",
        "birthdate": "2001-01-01",
        "nationalities": ["VN", "FR"],
        "address": {"locality": "Hà Nội", "country": "VN", "street_address": "1 Tràng Tiền"},
        "age_equal_or_over": {"18": true}
    })
    .as_object()
    .unwrap()
    .clone()
}

fn concealed() -> Vec<ClaimPath> {
    let mut paths: Vec<ClaimPath> = [
        "given_name",
        "family_name",
        "birthdate",
        "address",
        "nationalities",
        "age_equal_or_over",
    ]
    .iter()
    .map(|k| ClaimPath::keys(&[k]))
    .collect();
    for sub in ["locality", "country", "street_address"] {
        paths.push(ClaimPath::keys(&["address", sub]));
    }
    paths.push(ClaimPath::keys(&["nationalities"]).then(PathElem::Index(0)));
    paths.push(ClaimPath::keys(&["nationalities"]).then(PathElem::Index(1)));
    paths.push(ClaimPath::keys(&["age_equal_or_over", "18"]));
    paths
}

fn issued(issuer: &SigningKey, device: &SigningKey) -> SdJwt {
    issue(
        &claims(device),
        &concealed(),
        &IssueOptions {
            typ: SD_JWT_VC_TYP,
            x5c: &[],
            decoys: 2,
        },
        issuer,
        &mut CountingRng(0),
    )
    .unwrap()
}

fn binding(iat: u64) -> KeyBinding<'static> {
    KeyBinding {
        audience: AUD,
        nonce: NONCE,
        issued_at: iat,
    }
}

fn options(issuer: &[u8]) -> VerifyOptions<'_> {
    VerifyOptions {
        issuer: IssuerKey::Key(issuer),
        typ: Some(SD_JWT_VC_TYP),
        now: NOW,
        key_binding: Some(KeyBindingPolicy {
            audience: AUD,
            nonce: NONCE,
            max_age: 300,
        }),
    }
}

fn requested() -> Vec<ClaimPath> {
    vec![
        ClaimPath::keys(&["given_name"]),
        ClaimPath::keys(&["address", "locality"]),
        ClaimPath::keys(&["nationalities"]).then(PathElem::Index(1)),
        ClaimPath::keys(&["age_equal_or_over", "18"]),
    ]
}

#[test]
fn issued_credential_hides_every_concealed_claim_and_carries_decoys() {
    let sd = issued(&key(1), &key(2));
    // 6 top-level + 3 address + 2 nationalities + 1 age.
    assert_eq!(sd.disclosures.len(), 12);
    let jws = eid_core::sdjwt::Jws::parse(&sd.jwt).unwrap();
    assert_eq!(jws.typ(), Some("dc+sd-jwt"));
    for hidden in ["given_name", "family_name", "address", "nationalities"] {
        assert!(!jws.payload.contains_key(hidden));
    }
    assert_eq!(jws.payload["_sd_alg"], json!("sha-256"));
    // 6 real digests + 2 decoys at the top.
    assert_eq!(jws.payload["_sd"].as_array().unwrap().len(), 8);
    // Nothing of the values is readable in the signed part.
    let signed = String::from_utf8_lossy(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            sd.jwt.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .into_owned();
    assert!(!signed.contains("Lan") && !signed.contains("2001"));
}

#[test]
fn holder_presents_a_subset_and_the_verifier_sees_exactly_it() {
    let (issuer, device) = (key(1), key(2));
    let sd = issued(&issuer, &device);
    let text = present(&sd, &requested(), &binding(NOW - 5), &device).unwrap();
    let verified = verify(&text, &options(&point(&issuer))).unwrap();
    assert!(verified.key_bound);
    let c = &verified.claims;
    assert_eq!(c["given_name"], json!("Lan"));
    assert_eq!(c["address"], json!({"locality": "Hà Nội"}));
    assert_eq!(c["nationalities"], json!(["FR"]));
    assert_eq!(c["age_equal_or_over"], json!({"18": true}));
    for absent in ["family_name", "birthdate", "_sd", "_sd_alg"] {
        assert!(!c.contains_key(absent), "{absent}");
    }
    assert_eq!(c["vct"], json!("urn:eudi:pid:vn:1"));
    // The Debug form names claims, never their values.
    let jws = eid_core::sdjwt::Jws::parse(&sd.jwt).unwrap();
    let shown = format!("{verified:?} {sd:?} {jws:?}");
    assert!(shown.contains("given_name") && shown.contains("vct"));
    for secret in ["Lan", "Hà Nội", "urn:eudi", &sd.jwt[..40]] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn requesting_an_object_or_every_element_discloses_all_below_it() {
    let (issuer, device) = (key(1), key(2));
    let sd = issued(&issuer, &device);
    let whole = select(
        &sd,
        &[
            ClaimPath::keys(&["address"]),
            ClaimPath::keys(&["nationalities"]).then(PathElem::AllElements),
        ],
    )
    .unwrap();
    assert_eq!(whole.disclosures.len(), 1 + 3 + 1 + 2);
    let text = eid_core::sdjwt::bind(&whole, &binding(NOW), &device)
        .unwrap()
        .to_compact();
    let c = verify(&text, &options(&point(&issuer))).unwrap().claims;
    assert_eq!(c["address"]["street_address"], json!("1 Tràng Tiền"));
    assert_eq!(c["nationalities"], json!(["VN", "FR"]));
    assert_eq!(
        select(&sd, &[ClaimPath::keys(&["phone_number"])]),
        Err(SdJwtError::ClaimNotFound)
    );
}

#[test]
fn key_binding_refusals() {
    let (issuer, device) = (key(1), key(2));
    let sd = issued(&issuer, &device);
    let ip = point(&issuer);
    let good = present(&sd, &requested(), &binding(NOW), &device).unwrap();
    let with = |aud: &'static str, nonce: &'static str| VerifyOptions {
        key_binding: Some(KeyBindingPolicy {
            audience: aud,
            nonce,
            max_age: 300,
        }),
        ..options(&ip)
    };
    // Replayed to a second verifier (other nonce, other audience).
    assert_eq!(
        verify(&good, &with(AUD, "another-nonce")),
        Err(SdJwtError::KeyBinding("nonce"))
    );
    assert_eq!(
        verify(&good, &with("x509_san_dns:other.example.vn", NONCE)),
        Err(SdJwtError::KeyBinding("aud"))
    );
    // Replayed later.
    let late = VerifyOptions {
        now: NOW + 301,
        ..options(&ip)
    };
    assert_eq!(
        verify(&good, &late),
        Err(SdJwtError::KeyBinding("iat not fresh"))
    );
    // Dated in the future.
    let future = present(&sd, &requested(), &binding(NOW + 120), &device).unwrap();
    assert_eq!(
        verify(&future, &options(&ip)),
        Err(SdJwtError::KeyBinding("iat not fresh"))
    );
    // Signed by a key other than cnf.jwk (a stolen credential).
    let stolen = present(&sd, &requested(), &binding(NOW), &key(3)).unwrap();
    assert_eq!(
        verify(&stolen, &options(&ip)),
        Err(SdJwtError::KeyBinding("signature"))
    );
    // No KB-JWT at all.
    let bare = select(&sd, &requested()).unwrap().to_compact();
    assert_eq!(
        verify(&bare, &options(&ip)),
        Err(SdJwtError::KeyBindingMissing)
    );
    // A disclosure added after binding breaks sd_hash.
    let (head, kb) = good.rsplit_once('~').unwrap();
    let extra = sd
        .disclosures
        .iter()
        .find(|d| d.name.as_deref() == Some("family_name"))
        .unwrap();
    let widened = format!("{head}~{}~{kb}", extra.encoded);
    assert_eq!(
        verify(&widened, &options(&ip)),
        Err(SdJwtError::KeyBinding("sd_hash"))
    );
    // A KB-JWT with another typ.
    let mut header = Map::new();
    header.insert("typ".into(), "jwt".into());
    let payload = json!({"iat": NOW, "aud": AUD, "nonce": NONCE,
        "sd_hash": eid_core::sdjwt::digest(&format!("{head}~"))});
    let wrong_typ = sign_jws(header, payload.as_object().unwrap(), &device).unwrap();
    assert_eq!(
        verify(&format!("{head}~{wrong_typ}"), &options(&ip)),
        Err(SdJwtError::KeyBinding("typ"))
    );
}

#[test]
fn issuer_side_refusals() {
    let (issuer, device) = (key(1), key(2));
    let sd = issued(&issuer, &device);
    let text = present(&sd, &requested(), &binding(NOW), &device).unwrap();
    // Another issuer key, another typ, expired.
    assert_eq!(
        verify(&text, &options(&point(&key(9)))),
        Err(SdJwtError::BadSignature)
    );
    let ip = point(&issuer);
    let vc_typ = VerifyOptions {
        typ: Some("vc+sd-jwt"),
        ..options(&ip)
    };
    assert_eq!(
        verify(&text, &vc_typ),
        Err(SdJwtError::Malformed("unexpected typ"))
    );
    let expired = VerifyOptions {
        now: NOW + 86_400,
        key_binding: None,
        ..options(&ip)
    };
    assert_eq!(verify(&text, &expired), Err(SdJwtError::Expired("exp")));
    // x5c required but absent.
    let trust = eid_crypto::trust::TrustStore::new();
    let x5c = VerifyOptions {
        issuer: IssuerKey::X5c(&trust),
        ..options(&ip)
    };
    assert_eq!(verify(&text, &x5c), Err(SdJwtError::Untrusted));
    // A disclosure swapped in from another credential of the same holder.
    let other = issued(&issuer, &device);
    let mut other_rng_sd = issue(
        &claims(&device),
        &concealed(),
        &IssueOptions {
            typ: SD_JWT_VC_TYP,
            x5c: &[],
            decoys: 0,
        },
        &issuer,
        &mut CountingRng(77),
    )
    .unwrap();
    assert_eq!(other.disclosures, sd.disclosures); // same RNG, same salts
    let foreign = other_rng_sd.disclosures.remove(0);
    let mut swapped = select(&sd, &requested()).unwrap();
    swapped.disclosures.push(foreign);
    let swapped = eid_core::sdjwt::bind(&swapped, &binding(NOW), &device)
        .unwrap()
        .to_compact();
    assert_eq!(
        verify(&swapped, &options(&ip)),
        Err(SdJwtError::Disclosure("disclosure not referenced"))
    );
    // Issuers keep iss, cnf, vct, status in the clear.
    for clear in ["iss", "cnf", "vct", "status", "exp"] {
        assert!(
            issue(
                &claims(&device),
                &[ClaimPath::keys(&[clear])],
                &IssueOptions {
                    typ: SD_JWT_VC_TYP,
                    x5c: &[],
                    decoys: 0
                },
                &issuer,
                &mut CountingRng(0),
            )
            .is_err()
        );
    }
}

/// An SD-JWT signed by `issuer` over a hand-made payload, with the given disclosures.
fn crafted(issuer: &SigningKey, payload: Value, disclosures: &[&Disclosure]) -> String {
    let mut header = Map::new();
    header.insert("typ".into(), SD_JWT_VC_TYP.into());
    let jwt = sign_jws(header, payload.as_object().unwrap(), issuer).unwrap();
    let mut out = format!("{jwt}~");
    for d in disclosures {
        out.push_str(&d.encoded);
        out.push('~');
    }
    out
}

#[test]
fn rfc9901_section7_processing_rules() {
    let issuer = key(1);
    let ip = point(&issuer);
    let opts = VerifyOptions {
        key_binding: None,
        ..options(&ip)
    };
    let name = Disclosure::new("c2FsdA".into(), Some("given_name"), json!("Lan"));
    let elem = Disclosure::new("c2FsdDI".into(), None, json!("VN"));
    let d = name.digest();
    let e = elem.digest();
    let check = |payload: Value, ds: &[&Disclosure], want: SdJwtError| {
        assert_eq!(verify(&crafted(&issuer, payload, ds), &opts), Err(want));
    };
    use SdJwtError::Disclosure as D;
    // A digest twice in one _sd, and in two places.
    check(json!({"_sd": [d, d]}), &[&name], D("digest appears twice"));
    check(
        json!({"_sd": [d], "x": {"_sd": [d]}}),
        &[&name],
        D("digest appears twice"),
    );
    // The disclosed name is already a plain claim.
    check(
        json!({"_sd": [d], "given_name": "X"}),
        &[&name],
        D("claim name already present"),
    );
    // _sd not an array, an entry not a string.
    check(json!({"_sd": d}), &[&name], D("_sd is not an array"));
    check(json!({"_sd": [1]}), &[], D("_sd entry is not a string"));
    // Array element disclosure referenced from _sd, object property from an array.
    check(
        json!({"_sd": [e]}),
        &[&elem],
        D("array element disclosure in _sd"),
    );
    check(
        json!({"n": [{"...": d}]}),
        &[&name],
        D("object property disclosure in array"),
    );
    // `...` with other keys, or outside an array.
    check(
        json!({"n": [{"...": e, "x": 1}]}),
        &[&elem],
        D("'...' with other keys"),
    );
    check(
        json!({"...": e}),
        &[&elem],
        D("'...' outside an array element"),
    );
    // The same disclosure presented twice.
    check(
        json!({"_sd": [d]}),
        &[&name, &name],
        D("disclosure presented twice"),
    );
    // Another hash algorithm.
    check(
        json!({"_sd": [d], "_sd_alg": "sha-512"}),
        &[&name],
        SdJwtError::UnsupportedHash,
    );
    // A disclosure named _sd or ... never parses.
    for reserved in ["_sd", "..."] {
        let bad = Disclosure::new("c2FsdA".into(), Some(reserved), json!([]));
        assert_eq!(
            Disclosure::parse(&bad.encoded),
            Err(SdJwtError::BadDisclosure("reserved claim name"))
        );
    }
    // And the accepted forms: a decoy digest is ignored, an array element disclosed.
    let ok = crafted(
        &issuer,
        json!({"vct": "urn:x", "_sd": [d, eid_core::sdjwt::digest("decoy")], "n": [{"...": e}, "FR"]}),
        &[&name, &elem],
    );
    let c = verify(&ok, &opts).unwrap().claims;
    assert_eq!(
        Value::Object(c),
        json!({"vct": "urn:x", "given_name": "Lan", "n": ["VN", "FR"]})
    );
}

#[test]
fn every_truncation_and_byte_change_is_refused_without_panic() {
    let (issuer, device) = (key(1), key(2));
    let sd = issued(&issuer, &device);
    let text = present(&sd, &requested(), &binding(NOW), &device).unwrap();
    let ip = point(&issuer);
    let opts = options(&ip);
    assert!(verify(&text, &opts).is_ok());
    for cut in 0..text.len() {
        assert!(verify(&text[..cut], &opts).is_err(), "prefix {cut}");
        let _ = SdJwt::parse(&text[..cut]);
    }
    // Change each byte of the text to a few others (base64url letters, separators, junk).
    let bytes = text.as_bytes();
    let mut changed = 0;
    for i in (0..bytes.len()).step_by(3) {
        for sub in [b'A', b'~', b'.', b'_', 0xFF] {
            if bytes[i] == sub {
                continue;
            }
            let mut m = bytes.to_vec();
            m[i] = sub;
            let Ok(m) = String::from_utf8(m) else {
                continue;
            };
            // The only change that may still verify: a base64url letter whose last unused bits
            // the decoder ignores is refused by the strict decoder, so none may verify.
            assert!(verify(&m, &opts).is_err(), "byte {i} -> {sub}");
            changed += 1;
        }
    }
    assert!(changed > 1000);
    // Hostile disclosures and JWS parts.
    for junk in [
        "",
        "~",
        "~~",
        "a~b~c",
        ".~",
        "..~",
        "e30.e30.~",
        "e30.e30.AA~W10~",
    ] {
        assert!(verify(junk, &opts).is_err(), "{junk}");
    }
    for d in [
        "W10",
        "WzFd",
        "WzEsMiwzLDRd",
        "WyJzIiwxLDJd",
        "bnVsbA",
        "!!",
    ] {
        assert!(Disclosure::parse(d).is_err(), "{d}");
    }
    // Deep nesting in a disclosure is refused by the JSON reader, not by a stack overflow.
    let deep = format!(
        "[\"s\",\"n\",{}1{}]",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let deep = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, deep);
    assert!(Disclosure::parse(&deep).is_err());
}

#[test]
fn holder_checks_what_it_is_issued() {
    let (issuer, device) = (key(1), key(2));
    let sd = issued(&issuer, &device);
    let ip = point(&issuer);
    let text = sd.to_compact();
    assert_eq!(
        eid_core::sdjwt::receive(&text, IssuerKey::Key(&ip), NOW).unwrap(),
        sd
    );
    assert_eq!(
        eid_core::sdjwt::receive(&text, IssuerKey::Key(&point(&key(3))), NOW),
        Err(SdJwtError::BadSignature)
    );
    // A leaf disclosure dropped in transit is fine (the holder just cannot show it) ...
    let mut fewer = sd.clone();
    fewer
        .disclosures
        .retain(|d| d.name.as_deref() != Some("given_name"));
    assert_eq!(fewer.disclosures.len(), sd.disclosures.len() - 1);
    assert!(eid_core::sdjwt::receive(&fewer.to_compact(), IssuerKey::Key(&ip), NOW).is_ok());
    // ... but not a parent without which its children's disclosures hang unreferenced, nor
    // one the issuer did not sign, nor an attached KB-JWT.
    let mut orphans = sd.clone();
    orphans
        .disclosures
        .retain(|d| d.name.as_deref() != Some("address"));
    assert_eq!(
        eid_core::sdjwt::receive(&orphans.to_compact(), IssuerKey::Key(&ip), NOW),
        Err(SdJwtError::Disclosure("disclosure not referenced"))
    );
    let mut more = sd.clone();
    more.disclosures
        .push(Disclosure::new("c2FsdA".into(), Some("x"), json!(1)));
    assert_eq!(
        eid_core::sdjwt::receive(&more.to_compact(), IssuerKey::Key(&ip), NOW),
        Err(SdJwtError::Disclosure("disclosure not referenced"))
    );
    let bound = present(&sd, &requested(), &binding(NOW), &device).unwrap();
    assert!(eid_core::sdjwt::receive(&bound, IssuerKey::Key(&ip), NOW).is_err());
}

#[test]
fn an_sd_jwt_vc_without_vct_is_refused() {
    let issuer = key(1);
    let ip = point(&issuer);
    let opts = VerifyOptions {
        key_binding: None,
        ..options(&ip)
    };
    let name = Disclosure::new("c2FsdA".into(), Some("vct"), json!("urn:x"));
    // Neither absent nor hidden behind a disclosure (issue() refuses to conceal it).
    for payload in [json!({"iss": "x"}), json!({"_sd": [name.digest()]})] {
        assert_eq!(
            verify(&crafted(&issuer, payload, &[&name][..0]), &opts),
            Err(SdJwtError::Malformed("SD-JWT VC without vct"))
        );
    }
    assert!(verify(&crafted(&issuer, json!({"vct": "urn:x"}), &[]), &opts).is_ok());
}

#[test]
fn jws_headers_we_do_not_understand_are_refused() {
    let issuer = key(1);
    let ip = point(&issuer);
    let opts = VerifyOptions {
        key_binding: None,
        typ: None,
        ..options(&ip)
    };
    let payload = json!({"vct": "urn:x"});
    let mut crit = Map::new();
    crit.insert("crit".into(), json!(["b64"]));
    crit.insert("b64".into(), json!(false));
    let jwt = sign_jws(crit, payload.as_object().unwrap(), &issuer).unwrap();
    assert_eq!(
        verify(&format!("{jwt}~"), &opts),
        Err(SdJwtError::Malformed("crit header"))
    );
    // alg none (unsigned) and another alg are refused whatever the signature.
    let good = sign_jws(Map::new(), payload.as_object().unwrap(), &issuer).unwrap();
    let sig = good.rsplit('.').next().unwrap();
    let b64 = |v: Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            v.to_string(),
        )
    };
    let body = good.split('.').nth(1).unwrap();
    for alg in ["none", "HS256", "ES384", "RS256"] {
        let header = b64(json!({"alg": alg}));
        for s in ["", sig] {
            assert_eq!(
                verify(&format!("{header}.{body}.{s}~"), &opts),
                Err(SdJwtError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
    }
}

#[test]
fn device_keys_sign_low_s() {
    for i in 1..=16u8 {
        let sig = key(i).sign_es256(&[i; 8]).unwrap();
        assert!(eid_crypto::es256::is_low_s(&sig));
    }
}
