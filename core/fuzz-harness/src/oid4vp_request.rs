//! OpenID4VP authorization requests as the wallet reads them: anyone can print a QR code or send
//! a link, so the wallet takes arbitrary text there. The first byte picks the mode:
//!
//! - 0: the text as an authorization URI, a form body, a client identifier, a DCQL query and
//!   client metadata (JSON), and a request object that must be refused (no RP CA signed it);
//! - 1: the text as the parameters of an unsigned request (a registered `redirect_uri:` test
//!   relying party, which a development wallet allows), with the parameters it leaves out filled
//!   in, so the input reaches the response mode, DCQL, metadata, registration and purpose
//!   checks. A request the wallet accepts names a registered relying party and response URI and
//!   a registered purpose that covers every claim asked for; the wallet's choice over its PID
//!   then discloses nothing that purpose does not cover.
//!
//! None may panic.

use eid_core::oid4vp::{
    ClientId, DcqlQuery, Purpose, RpRegistration, WalletCredential, WalletPolicy, form_decode,
    parse_authorization_uri, select, unsigned_request, verify_request_object,
};
use eid_core::sdjwt::{ClaimPath, StatusReference};
use eid_crypto::trust::TrustStore;
use p256::ecdsa::SigningKey;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const NOW: u64 = 1_800_000_000;
const RP: &str = "https://rp.example.vn/cb";
const HUB: &str = "https://hub.example.vn/cb";

fn registrations() -> Vec<RpRegistration> {
    let purpose = |name: &str, claims: &[&[&str]]| Purpose {
        name: name.into(),
        claims: claims.iter().map(|p| ClaimPath::keys(p)).collect(),
    };
    let kyc = purpose(
        "kyc",
        &[
            &["given_name"],
            &["family_name"],
            &["birthdate"],
            &["address"],
            &["nationalities"],
        ],
    );
    vec![
        RpRegistration {
            client_id: format!("redirect_uri:{RP}"),
            name: "Test bank".into(),
            response_uris: vec![RP.into()],
            purposes: vec![purpose("age", &[&["age_equal_or_over", "18"]]), kyc.clone()],
            intermediary: false,
        },
        RpRegistration {
            client_id: format!("redirect_uri:{HUB}"),
            name: "Test hub".into(),
            response_uris: vec![HUB.into()],
            purposes: vec![kyc],
            intermediary: true,
        },
    ]
}

struct World {
    registrations: Vec<RpRegistration>,
    device_key: SigningKey,
    pid: eid_core::sdjwt::SdJwt,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let device_key = SigningKey::from_slice(&[2; 32]).expect("scalar");
        let point = device_key.verifying_key().to_sec1_point(false);
        let citizen = &eid_fixtures::citizens::citizens()[0];
        let status = StatusReference {
            idx: 1,
            uri: "https://eid.gov.vn/v1/status-list".into(),
        };
        let pid = eid_fixtures::sd_jwt_vc::pid_sd_jwt_vc(citizen, point.as_bytes(), NOW, &status)
            .expect("PID");
        World {
            registrations: registrations(),
            device_key,
            pid,
        }
    })
}

fn policy<'a>(trust: &'a TrustStore, w: &'a World) -> WalletPolicy<'a> {
    WalletPolicy {
        rp_trust: trust,
        registrations: &w.registrations,
        now: NOW,
        allow_unsigned_test_rps: true,
        wallet_nonce: None,
    }
}

fn as_received(text: &str) {
    let w = world();
    let trust = TrustStore::new();
    let _ = parse_authorization_uri(text);
    let _ = form_decode(text);
    if let Ok(id) = ClientId::parse(text) {
        assert_eq!(id.as_str(), text);
    }
    if let Ok(v) = serde_json::from_str::<Value>(text)
        && let Ok(q) = DcqlQuery::parse(&v)
    {
        let again = DcqlQuery::parse(&q.to_json()).expect("a parsed query reparses");
        assert_eq!(again, q);
    }
    for client in [
        "x509_san_dns:bank.example.vn",
        "redirect_uri:https://rp.example.vn/cb",
    ] {
        assert!(verify_request_object(text, client, &policy(&trust, w)).is_err());
    }
}

fn unsigned(text: &str) {
    let w = world();
    let trust = TrustStore::new();
    let mut params: BTreeMap<String, String> = form_decode(text).unwrap_or_default();
    let defaults = [
        ("client_id", format!("redirect_uri:{RP}")),
        ("response_type", "vp_token".into()),
        ("response_mode", "direct_post".into()),
        ("nonce", "n-0S6_WzA2Mj".into()),
        (
            "dcql_query",
            r#"{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:eudi:pid:vn:1"]},"claims":[{"path":["age_equal_or_over","18"]}]}]}"#.into(),
        ),
    ];
    for (name, value) in defaults {
        params.entry(name.into()).or_insert(value);
    }
    let Ok(request) = unsigned_request(&params, &policy(&trust, w)) else {
        return;
    };
    let registration = w
        .registrations
        .iter()
        .find(|r| r.client_id == request.client_id.as_str())
        .expect("an accepted request names a registered relying party");
    assert_eq!(&request.registration, registration);
    assert!(registration.response_uris.contains(&request.response_uri));
    let purpose = registration
        .purposes
        .iter()
        .find(|p| p.name == request.purpose)
        .expect("a registered purpose");
    for c in &request.dcql.credentials {
        for path in c.all_paths() {
            assert!(purpose.allows(path), "a claim outside the purpose");
        }
    }
    let pid =
        WalletCredential::new("pid", w.pid.clone(), &w.device_key).expect("the fixture PID reads");
    if let Ok(selection) = select(&request.dcql, &[pid]) {
        for s in &selection.presentations {
            assert!(request.dcql.credential(&s.query_id).is_some());
            for d in &s.disclose {
                assert!(
                    purpose.allows(d),
                    "the wallet would disclose beyond the purpose"
                );
            }
        }
    }
}

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 2 {
        0 => as_received(&text),
        _ => unsigned(&text),
    }
}
