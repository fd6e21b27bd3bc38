//! SD-JWT (RFC 9901) and SD-JWT VC as a relying party receives them from any wallet, and as the
//! wallet reads what it was issued. The first byte picks the mode:
//!
//! - 0: the text as a presentation: the compact, disclosure and JWS parsers, and a verification
//!   that must fail (nothing here carries our issuer's signature); what parses must serialise
//!   back to itself;
//! - 1: an issuer-signed payload that is the input's JSON, with the input's disclosures (JSON
//!   that the harness encodes and whose digests it puts where the input names them, or in the
//!   payload's `_sd`, so processing gets past the lookup, nested disclosures too): whatever verifies
//!   has no `_sd`, `...` or top-level `_sd_alg` left, and every disclosure was used; the holder
//!   reads the same issuance, picks disclosures for paths named by the input (claims whole or
//!   their members), and what it presents must verify, show every claim asked for and no
//!   top-level claim that was neither asked for nor always visible;
//! - 2: a genuine PID-like issuance and a KB-JWT that is the holder's signature over the input's
//!   JSON, each checked claim kept, left out, made wrong or made right by the input: it is
//!   accepted only with our audience, our nonce, a fresh `iat` and the `sd_hash` of the
//!   presentation it ends.
//!
//! None may panic.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eid_core::sdjwt::{
    ClaimPath, Disclosure, IssuerKey, Jws, KeyBindingPolicy, SdJwt, VerifyOptions, digest,
    jwk_from_point, receive, select, sign_jws, verify,
};
use p256::ecdsa::SigningKey;
use serde_json::{Map, Value, json};

const NOW: u64 = 1_800_000_000;
const AUD: &str = "x509_san_dns:bank.example.vn";
const NONCE: &str = "n-0S6_WzA2Mj";
const TYP: &str = "dc+sd-jwt";
const MAX_AGE: u64 = 300;

fn key(i: u8) -> SigningKey {
    SigningKey::from_slice(&[i; 32]).expect("scalar in range")
}

fn point(k: &SigningKey) -> Vec<u8> {
    k.verifying_key().to_sec1_point(false).as_bytes().to_vec()
}

fn header(typ: &str) -> Map<String, Value> {
    let mut h = Map::new();
    h.insert("typ".into(), typ.into());
    h
}

fn options<'a>(
    issuer: &'a [u8],
    key_binding: Option<KeyBindingPolicy<'static>>,
) -> VerifyOptions<'a> {
    VerifyOptions {
        issuer: IssuerKey::Key(issuer),
        typ: Some(TYP),
        now: NOW,
        key_binding,
    }
}

/// No `_sd` or `...` anywhere: every digest was replaced or dropped.
fn fully_processed(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            !m.contains_key("_sd") && !m.contains_key("...") && m.values().all(fully_processed)
        }
        Value::Array(a) => a.iter().all(fully_processed),
        _ => true,
    }
}

/// Whether `claims` holds a value at `path` (keys only).
fn holds(claims: &Map<String, Value>, path: &[String]) -> bool {
    let mut at = claims;
    for (i, k) in path.iter().enumerate() {
        match at.get(k) {
            Some(Value::Object(m)) if i + 1 < path.len() => at = m,
            Some(_) => return i + 1 == path.len(),
            None => return false,
        }
    }
    true
}

fn as_presented(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(sd) = SdJwt::parse(&text) {
        assert_eq!(SdJwt::parse(&sd.to_compact()).ok().as_ref(), Some(&sd));
        assert!(sd.without_kb().ends_with('~'));
    }
    if let Ok(d) = Disclosure::parse(&text) {
        assert_eq!(d.digest(), digest(&d.encoded));
    }
    let _ = Jws::parse(&text);
    let issuer = point(&key(1));
    assert!(verify(&text, &options(&issuer, None)).is_err());
}

/// The input's disclosures as JSON text, `~`-separated after the payload's: `"#j"` in the
/// payload or in disclosure `i < j` stands for disclosure `j`'s digest (the fuzzer cannot compute
/// SHA-256), and disclosures named nowhere go into the payload's top-level `_sd`.
fn issuance(text: &str) -> (Map<String, Value>, Vec<String>) {
    let mut parts: Vec<String> = text.split('~').map(str::to_owned).collect();
    let payload_text = parts.remove(0);
    parts.truncate(64);
    let mut encoded = vec![String::new(); parts.len()];
    let mut named = vec![false; parts.len()];
    let substitute = |text: &mut String, from: usize, encoded: &[String], named: &mut [bool]| {
        for j in (from..encoded.len()).rev() {
            let token = format!("\"#{j}\"");
            if text.contains(&token) {
                named[j] = true;
                *text = text.replace(&token, &format!("\"{}\"", digest(&encoded[j])));
            }
        }
    };
    for i in (0..parts.len()).rev() {
        let mut t = parts[i].clone();
        substitute(&mut t, i + 1, &encoded, &mut named);
        encoded[i] = URL_SAFE_NO_PAD.encode(t.as_bytes());
    }
    let mut payload_text = payload_text;
    substitute(&mut payload_text, 0, &encoded, &mut named);
    let mut payload = match serde_json::from_str::<Value>(&payload_text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    payload
        .entry("vct")
        .or_insert_with(|| "urn:eudi:pid:vn:1".into());
    if let Value::Array(sd) = payload
        .entry("_sd")
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        let unnamed = encoded.iter().zip(&named).filter(|(_, n)| !**n);
        sd.extend(unnamed.map(|(e, _)| Value::from(digest(e))));
    }
    (payload, encoded)
}

fn signed_by_the_issuer(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (payload, encoded) = issuance(&text);
    let disclosures: Vec<&str> = encoded.iter().map(String::as_str).collect();
    let issuer_key = key(1);
    let Ok(jwt) = sign_jws(header(TYP), &payload, &issuer_key) else {
        return;
    };
    let issued: String = std::iter::once(jwt.as_str())
        .chain(disclosures.iter().copied())
        .flat_map(|part| [part, "~"])
        .collect();
    let issuer = point(&issuer_key);

    let verified = verify(&issued, &options(&issuer, None));
    if let Ok(v) = &verified {
        let claims = Value::Object(v.claims.clone());
        assert!(fully_processed(&claims), "digests left in verified claims");
        assert!(!v.claims.contains_key("_sd_alg"));
        assert!(!v.key_bound);
        assert!(disclosures.iter().all(|d| Disclosure::parse(d).is_ok()));
    }

    // The holder's side: receive, choose, present; the verifier must accept what the holder
    // made, see every claim asked for, and no top-level claim beyond those and what the issuer
    // left visible.
    let Ok(held) = receive(&issued, IssuerKey::Key(&issuer), NOW) else {
        return;
    };
    let Ok(everything) = verified else {
        panic!("received but not verified");
    };
    // Per claim, a byte of the input: bit 0 asks for it whole, else bit 1 for its members.
    let mut names: Vec<Vec<String>> = Vec::new();
    for (i, (k, v)) in everything.claims.iter().enumerate() {
        let b = data.get(i).copied().unwrap_or(0);
        if b & 1 == 1 {
            names.push(vec![k.clone()]);
        } else if b & 2 == 2
            && let Value::Object(inner) = v
        {
            names.extend(inner.keys().map(|c| vec![k.clone(), c.clone()]));
        }
    }
    let requested: Vec<ClaimPath> = names
        .iter()
        .map(|p| ClaimPath::keys(&p.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    let Ok(chosen) = select(&held, &requested) else {
        return;
    };
    let shown = verify(&chosen.to_compact(), &options(&issuer, None))
        .expect("the holder's own selection verifies");
    assert!(chosen.disclosures.len() <= held.disclosures.len());
    for p in &names {
        if holds(&everything.claims, p) {
            assert!(holds(&shown.claims, p), "asked for, held, not shown");
        }
    }
    // Nothing beyond: a claim shown is always visible (no disclosure) or was asked for.
    let Ok(visible) = verify(&format!("{jwt}~"), &options(&issuer, None)) else {
        panic!("verifies with every disclosure but not with none");
    };
    for k in shown.claims.keys() {
        assert!(
            visible.claims.contains_key(k) || names.iter().any(|p| p[0] == *k),
            "shown but neither asked for nor always visible"
        );
    }
}

fn key_bound(data: &[u8]) {
    let issuer_key = key(1);
    let holder_key = key(2);
    let Some(jwk) = jwk_from_point(&point(&holder_key)) else {
        return;
    };
    let payload = json!({
        "iss": "https://issuer.eid.example.vn",
        "iat": NOW - 100,
        "exp": NOW + 86_400,
        "vct": "urn:eudi:pid:vn:1",
        "cnf": {"jwk": jwk},
        "given_name": "Lan",
    });
    let Value::Object(payload) = payload else {
        return;
    };
    let Ok(jwt) = sign_jws(header(TYP), &payload, &issuer_key) else {
        return;
    };
    let presented = format!("{jwt}~");
    // The input's JSON, then each claim the verifier checks, as a two-bit choice of the first
    // byte: the input's own value (else the right one), left out, a wrong one, the right one.
    let Some((&choice, json)) = data.split_first() else {
        return;
    };
    let mut kb_payload = match serde_json::from_slice::<Value>(json) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let claims = [
        (
            "aud",
            Value::from(AUD),
            Value::from("x509_san_dns:other.example.vn"),
        ),
        ("nonce", Value::from(NONCE), Value::from("n-0S6_WzA2Mk")),
        ("iat", Value::from(NOW - 10), Value::from(NOW - MAX_AGE - 1)),
        (
            "sd_hash",
            Value::from(digest(&presented)),
            Value::from(digest(&format!("{jwt}~~"))),
        ),
    ];
    for (i, (name, right, wrong)) in claims.into_iter().enumerate() {
        match (choice >> (2 * i)) & 3 {
            0 => {
                kb_payload.entry(name).or_insert(right);
            }
            1 => {
                kb_payload.remove(name);
            }
            2 => {
                kb_payload.insert(name.into(), wrong);
            }
            _ => {
                kb_payload.insert(name.into(), right);
            }
        }
    }
    let Ok(kb) = sign_jws(header("kb+jwt"), &kb_payload, &holder_key) else {
        return;
    };
    let policy = KeyBindingPolicy {
        audience: AUD,
        nonce: NONCE,
        max_age: MAX_AGE,
    };
    let issuer = point(&issuer_key);
    if let Ok(v) = verify(&format!("{presented}{kb}"), &options(&issuer, Some(policy))) {
        assert!(v.key_bound);
        let text = |n: &str| kb_payload.get(n).and_then(Value::as_str);
        assert_eq!(text("aud"), Some(AUD));
        assert_eq!(text("nonce"), Some(NONCE));
        assert_eq!(text("sd_hash"), Some(digest(&presented).as_str()));
        let iat = kb_payload.get("iat").and_then(Value::as_f64).expect("iat");
        assert!(iat <= (NOW + 60) as f64 && iat + MAX_AGE as f64 >= NOW as f64 - 1.0);
    }
}

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => as_presented(rest),
        1 => signed_by_the_issuer(rest),
        _ => key_bound(rest),
    }
}
