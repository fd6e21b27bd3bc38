//! OpenID4VP 1.0 with ISO mdocs (docs/adr/0049), protocol level over the fixture mdocs (a
//! PhotoID and an mDL of one synthetic citizen): the specification's `complex_mdoc` DCQL example
//! evaluated by the wallet (credential sets, optional set skipped), `intent_to_retain` read and
//! written back, and the relying party's check of a DeviceResponse made for its request:
//! accepted with exactly the asked elements; refused with an extra element, for a query of
//! another docType, with an untrusted IACA, outside the MSO's validity, another transcript,
//! without an mdoc policy, without the status list the MSO names, or with the mdoc revoked on it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eid_core::mdoc::CheckError;
use eid_core::oid4vp::{
    self, DcqlQuery, HandoverInfo, MdocPolicy, MemoryNonceLedger, Oid4vpError, PendingRequest,
    ResponseMode, ResponsePolicy, VerifiedPresentation, WalletCredential, select,
};
use eid_core::sdjwt::{ClaimPath, StatusList};
use eid_crypto::trust::TrustStore;
use eid_fixtures::mdoc::{
    MDL, MDL_NS, MdocFixtures, NOW, PHOTOID, PHOTOID_NS, STATUS_INDEXES, STATUS_LIST_URI,
};
use serde_json::{Value, json};

const CLIENT_ID: &str = "x509_san_dns:rp.example.vn";
const RESPONSE_URI: &str = "https://rp.example.vn/response";
const NONCE: &str = "n-mdoc-core";

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/oid4vp/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn wallet(f: &MdocFixtures) -> Vec<WalletCredential<'_>> {
    f.wallet
        .mdocs
        .iter()
        .map(|m| {
            WalletCredential::mdoc(
                m.doc_type,
                m.doc_type,
                m.issuer_signed.clone(),
                m.device_key(),
            )
        })
        .collect()
}

fn pending(dcql: DcqlQuery) -> PendingRequest {
    PendingRequest {
        client_id: CLIENT_ID.into(),
        nonce: NONCE.into(),
        state: None,
        dcql,
        response_mode: ResponseMode::DirectPost,
        kid: None,
    }
}

fn transcript(nonce: &str) -> eid_core::mdoc::SessionTranscript {
    HandoverInfo {
        client_id: CLIENT_ID,
        nonce,
        jwk_thumbprint: None,
        response_uri: RESPONSE_URI,
    }
    .session_transcript()
    .unwrap()
}

/// A direct_post body answering query `id` with the DeviceResponse of `doc_type` disclosing
/// `elements`, signed over `transcript`.
fn body(
    f: &MdocFixtures,
    doc_type: &str,
    elements: &[(&str, &str)],
    transcript: &eid_core::mdoc::SessionTranscript,
) -> String {
    let m = f
        .wallet
        .mdocs
        .iter()
        .find(|m| m.doc_type == doc_type)
        .unwrap();
    let paths: Vec<ClaimPath> = elements
        .iter()
        .map(|(ns, e)| ClaimPath::keys(&[ns, e]))
        .collect();
    let b64 = oid4vp::device_response(
        transcript,
        doc_type,
        &m.issuer_signed,
        &paths,
        m.device_key(),
    )
    .unwrap();
    let token = json!({ "mdoc": [b64] }).to_string();
    oid4vp::form_encode(&[("vp_token", &token)])
}

fn no_list(_: &str) -> Option<StatusList> {
    None
}

/// The fixture MSOs' status list (the backend's CWT list, verified), every entry valid.
fn fixture_list(uri: &str) -> Option<StatusList> {
    (uri == STATUS_LIST_URI).then(|| StatusList::new(1, 131_072).unwrap())
}

/// The same list with the fixture PhotoID revoked.
fn photo_id_revoked(uri: &str) -> Option<StatusList> {
    let mut list = fixture_list(uri)?;
    assert!(list.set(STATUS_INDEXES[0], 1));
    Some(list)
}

fn check(
    pending: &PendingRequest,
    body: &str,
    iacas: &TrustStore,
    now: u64,
) -> Result<Vec<VerifiedPresentation>, Oid4vpError> {
    check_with(pending, body, iacas, now, &fixture_list)
}

fn check_with(
    pending: &PendingRequest,
    body: &str,
    iacas: &TrustStore,
    now: u64,
    mdoc_status_list: &dyn Fn(&str) -> Option<StatusList>,
) -> Result<Vec<VerifiedPresentation>, Oid4vpError> {
    let issuers = TrustStore::new();
    oid4vp::verify_response_with(
        pending,
        body,
        &ResponsePolicy {
            issuer_trust: &issuers,
            now,
            max_age: 300,
            status_list: &no_list,
            decryption_key: None,
        },
        Some(&MdocPolicy {
            iacas,
            status_list: mdoc_status_list,
            response_uri: RESPONSE_URI,
        }),
        &mut MemoryNonceLedger::default(),
    )
}

#[test]
fn spec_complex_mdoc_example_takes_the_licence_and_skips_the_optional_address() {
    let f = MdocFixtures::new().unwrap();
    let w = wallet(&f);
    let q = DcqlQuery::parse(&vector("dcql_complex_mdoc.json")).unwrap();
    let s = select(&q, &w).unwrap();
    // First set: the mDL's names and portrait (the PhotoID has them in another namespace);
    // second set (optional): no resident address in either, so nothing.
    assert_eq!(s.presentations.len(), 1);
    assert_eq!(s.presentations[0].query_id, "mdl-id");
    assert_eq!(w[s.presentations[0].credential].doc_type(), Some(MDL));
    assert_eq!(
        s.presentations[0].disclose,
        ["given_name", "family_name", "portrait"].map(|e| ClaimPath::keys(&[MDL_NS, e]))
    );
    // Without the mDL, no option of the required set can be met.
    let photo_only: Vec<_> = wallet(&f)
        .into_iter()
        .filter(|c| c.doc_type() == Some(PHOTOID))
        .collect();
    assert_eq!(select(&q, &photo_only), Err(Oid4vpError::NoMatch));
}

#[test]
fn intent_to_retain_reads_and_writes_back_and_must_be_a_boolean() {
    let q = json!({"credentials": [{"id": "m", "format": "mso_mdoc",
        "meta": {"doctype_value": PHOTOID},
        "claims": [{"path": [PHOTOID_NS, "family_name"], "intent_to_retain": true},
                   {"path": [PHOTOID_NS, "given_name"]}]}]});
    let parsed = DcqlQuery::parse(&q).unwrap();
    let claims = parsed.credentials[0].claims.as_ref().unwrap();
    assert_eq!(claims[0].intent_to_retain, Some(true));
    assert_eq!(claims[1].intent_to_retain, None);
    assert_eq!(parsed.to_json(), q);
    let mut bad = q;
    bad["credentials"][0]["claims"][0]["intent_to_retain"] = json!("yes");
    assert!(DcqlQuery::parse(&bad).is_err());
    // The builder the relying parties use writes it on every element.
    let built = oid4vp::mdoc_query(PHOTOID, &[(PHOTOID_NS, "family_name")], Some(false)).unwrap();
    assert_eq!(
        built.to_json()["credentials"][0]["claims"][0]["intent_to_retain"],
        json!(false)
    );
}

#[test]
fn the_relying_party_accepts_exactly_the_asked_elements_and_refuses_the_rest() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let asked = [(PHOTOID_NS, "family_name"), (PHOTOID_NS, "age_over_18")];
    let p = pending(oid4vp::mdoc_query(PHOTOID, &asked, None).unwrap());
    let t = transcript(NONCE);

    let ok = body(&f, PHOTOID, &asked, &t);
    let got = check(&p, &ok, &iacas, NOW).unwrap();
    assert_eq!(
        got[0].disclosed,
        asked.map(|(ns, e)| ClaimPath::keys(&[ns, e]))
    );
    assert_eq!(got[0].claims[PHOTOID_NS].as_object().unwrap().len(), 2);

    // One element more than asked.
    let extra = body(
        &f,
        PHOTOID,
        &[asked[0], asked[1], (PHOTOID_NS, "given_name")],
        &t,
    );
    assert_eq!(
        check(&p, &extra, &iacas, NOW).unwrap_err(),
        Oid4vpError::OverDisclosure
    );
    // One element fewer: the query is not met.
    let fewer = body(&f, PHOTOID, &asked[..1], &t);
    assert!(matches!(
        check(&p, &fewer, &iacas, NOW).unwrap_err(),
        Oid4vpError::NotSatisfied(_)
    ));
    // The licence for a PhotoID query.
    let licence = body(&f, MDL, &[(MDL_NS, "family_name")], &t);
    let mdl_query = pending(oid4vp::mdoc_query(PHOTOID, &[(MDL_NS, "family_name")], None).unwrap());
    assert_eq!(
        check(&mdl_query, &licence, &iacas, NOW).unwrap_err(),
        Oid4vpError::NotSatisfied("docType not requested")
    );
    // Signed for another nonce.
    let other = body(&f, PHOTOID, &asked, &transcript("n-other"));
    assert_eq!(
        check(&p, &other, &iacas, NOW).unwrap_err(),
        Oid4vpError::Mdoc(CheckError::DeviceAuth)
    );
    // The MSO names a status list: without it nothing is accepted; revoked on it, refused.
    assert_eq!(
        check_with(&p, &ok, &iacas, NOW, &no_list).unwrap_err(),
        Oid4vpError::Mdoc(CheckError::StatusList)
    );
    assert_eq!(
        check_with(&p, &ok, &iacas, NOW, &photo_id_revoked).unwrap_err(),
        Oid4vpError::Mdoc(CheckError::Revoked)
    );
    // An IACA the relying party does not trust; after the MSO's validity.
    assert_eq!(
        check(&p, &ok, &TrustStore::new(), NOW).unwrap_err(),
        Oid4vpError::Mdoc(CheckError::UntrustedIssuer)
    );
    assert!(matches!(
        check(&p, &ok, &iacas, eid_fixtures::mdoc::VALID_UNTIL + 1).unwrap_err(),
        Oid4vpError::Mdoc(CheckError::Validity | CheckError::CertificateExpired)
    ));
    // A relying party that set no mdoc policy accepts no mdoc.
    let issuers = TrustStore::new();
    assert_eq!(
        oid4vp::verify_response(
            &p,
            &ok,
            &ResponsePolicy {
                issuer_trust: &issuers,
                now: NOW,
                max_age: 300,
                status_list: &no_list,
                decryption_key: None,
            },
            &mut MemoryNonceLedger::default(),
        )
        .unwrap_err(),
        Oid4vpError::Unsupported("mso_mdoc without an IACA policy")
    );
    // Not base64url, or not a DeviceResponse: refused, no panic.
    for junk in ["%%%", "oWFhYWI"] {
        let token = json!({ "mdoc": [junk] }).to_string();
        let b = oid4vp::form_encode(&[("vp_token", &token)]);
        assert!(check(&p, &b, &iacas, NOW).is_err());
    }
}

/// A verified request of the relying party, as `verify_request_object` gives it, registered for
/// the age check only.
fn age_check_request(
    dcql: DcqlQuery,
    mode: ResponseMode,
    enc: Option<&p256::SecretKey>,
) -> oid4vp::AuthorizationRequest {
    use p256::elliptic_curve::sec1::ToSec1Point;
    let jwks = enc.map(|k| {
        let point = k.public_key().to_sec1_point(false);
        let mut jwk = eid_core::sdjwt::jwk_from_point(point.as_bytes()).unwrap();
        jwk["kid"] = "rp-enc".into();
        jwk["alg"] = "ECDH-ES".into();
        json!({ "keys": [jwk] })
    });
    oid4vp::AuthorizationRequest {
        client_id: oid4vp::ClientId::parse(CLIENT_ID).unwrap(),
        certificate: None,
        registration: oid4vp::RpRegistration {
            client_id: CLIENT_ID.into(),
            name: "RP".into(),
            response_uris: vec![RESPONSE_URI.into()],
            purposes: vec![oid4vp::Purpose {
                name: "age_check".into(),
                claims: oid4vp::purposes::known_claims("age_check").unwrap(),
            }],
            intermediary: false,
        },
        purpose: "age_check".into(),
        response_mode: mode,
        response_uri: RESPONSE_URI.into(),
        nonce: NONCE.into(),
        state: Some("st".into()),
        dcql,
        on_behalf_of: None,
        client_metadata: oid4vp::ClientMetadata {
            jwks,
            encrypted_response_enc_values_supported: vec![],
            vp_formats_supported: None,
        },
    }
}

#[test]
fn the_wallets_answer_verifies_in_both_modes_and_an_element_outside_the_purpose_is_never_sent() {
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let w = wallet(&f);
    let dcql = oid4vp::mdoc_query(PHOTOID, &[(PHOTOID_NS, "age_over_18")], Some(false)).unwrap();
    let enc = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    for mode in [ResponseMode::DirectPost, ResponseMode::DirectPostJwt] {
        let request = age_check_request(dcql.clone(), mode, Some(&enc));
        let selection = select(&request.dcql, &w).unwrap();
        let token = oid4vp::vp_token(&request, &selection, &w, NOW).unwrap();
        let post = oid4vp::respond(&request, &token, &mut eid_crypto::OsRng).unwrap();
        assert_eq!(post.uri, RESPONSE_URI);
        let pending = PendingRequest {
            state: Some("st".into()),
            response_mode: mode,
            kid: Some("rp-enc".into()),
            ..pending(dcql.clone())
        };
        let issuers = TrustStore::new();
        let got = oid4vp::verify_response_with(
            &pending,
            &post.body,
            &ResponsePolicy {
                issuer_trust: &issuers,
                now: NOW,
                max_age: 300,
                status_list: &no_list,
                decryption_key: Some(&enc),
            },
            Some(&MdocPolicy {
                iacas: &iacas,
                status_list: &fixture_list,
                response_uri: RESPONSE_URI,
            }),
            &mut MemoryNonceLedger::default(),
        )
        .unwrap();
        assert_eq!(
            got[0].claims,
            *json!({PHOTOID_NS: {"age_over_18": true}})
                .as_object()
                .unwrap()
        );

        // A selection that grew an element the age check does not allow: nothing is made.
        let mut wider = selection.clone();
        wider.presentations[0]
            .disclose
            .push(ClaimPath::keys(&[PHOTOID_NS, "family_name"]));
        assert_eq!(
            oid4vp::vp_token(&request, &wider, &w, NOW).unwrap_err(),
            Oid4vpError::Scope
        );
    }
    // direct_post.jwt binds the key encrypted to: the RP decrypting with another key of its
    // own (a re-encrypted answer) fails device authentication.
    let request = age_check_request(dcql.clone(), ResponseMode::DirectPostJwt, Some(&enc));
    let token = oid4vp::vp_token(&request, &select(&request.dcql, &w).unwrap(), &w, NOW).unwrap();
    let other = p256::SecretKey::from_slice(&[8u8; 32]).unwrap();
    let reencrypted = age_check_request(dcql.clone(), ResponseMode::DirectPostJwt, Some(&other));
    let post = oid4vp::respond(&reencrypted, &token, &mut eid_crypto::OsRng).unwrap();
    let pending = PendingRequest {
        state: Some("st".into()),
        response_mode: ResponseMode::DirectPostJwt,
        kid: Some("rp-enc".into()),
        ..pending(dcql)
    };
    let issuers = TrustStore::new();
    assert_eq!(
        oid4vp::verify_response_with(
            &pending,
            &post.body,
            &ResponsePolicy {
                issuer_trust: &issuers,
                now: NOW,
                max_age: 300,
                status_list: &no_list,
                decryption_key: Some(&other),
            },
            Some(&MdocPolicy {
                iacas: &iacas,
                status_list: &fixture_list,
                response_uri: RESPONSE_URI,
            }),
            &mut MemoryNonceLedger::default(),
        )
        .unwrap_err(),
        Oid4vpError::Mdoc(CheckError::DeviceAuth)
    );
}
