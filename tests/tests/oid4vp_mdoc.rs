//! mdoc answers over OpenID4VP 1.0 end to end (issues 15, 16, docs/adr/0049), on SQLite and
//! PostgreSQL: a registered bank (hub-issued access certificate) asks with DCQL for PhotoID
//! elements (`mso_mdoc`, `doctype_value`, `[namespace, element]` paths with `intent_to_retain`);
//! the wallet shows exactly those elements, answers with one fresh single-use MSO as a
//! DeviceResponse device-signed over the B.2.6.1 SessionTranscript, by `direct_post` and by
//! `direct_post.jwt`; the bank verifies it against the trust list's IACA and the CWT status list
//! and gets exactly the asked elements. Refused: the answer checked for another nonce, client id
//! or response URI (replay to another RP), an element changed in an IssuerSignedItem, a revoked
//! MSO, the nonce twice, and a request for elements outside the bank's registered purposes. A
//! query for an mdoc and an SD-JWT VC together gets both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use ciborium::Value as Cbor;
use eid_core::api::RpRecord;
use eid_core::client::BackendClient;
use eid_core::credential::TrustList;
use eid_core::mdoc::{self, CheckError, DeviceResponse};
use eid_core::oid4vp::{
    self, DcqlQuery, MdocPolicy, MemoryNonceLedger, Oid4vpError, PendingRequest, RequestUriMethod,
    ResponseMode, ResponsePolicy, VerifiedPresentation,
};
use eid_core::runtime::block_on;
use eid_core::sdjwt::{self, ClaimPath, PID_VCT};
use eid_core::transactions::Outcome;
use eid_core::wallet::{AuthorizeError, Consent, MDOC_BATCH, Wallet};
use eid_crypto::trust::TrustStore;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;
use eid_fixtures::relying_parties::RpPki;
use serde_json::{Value, json};

use common::bank::{Bank, REQUEST_URI, RESPONSE_URI, register};

const ISO: &str = mdoc::ISO_23220_NAMESPACE;

/// What the bank trusts, as fetched from the hub now.
struct Trust {
    issuers: TrustStore,
    trust: TrustList,
    iacas: TrustStore,
    status_jwt: String,
    status_cwt: Vec<u8>,
}

fn trust(api: &BackendClient) -> Trust {
    let t = block_on(api.trust_list()).unwrap().unwrap();
    let trust = TrustList::decode(&t.issuers.0).unwrap();
    let mut iacas = TrustStore::new();
    for der in &t.iaca {
        iacas.add_der(&der.0).unwrap();
    }
    Trust {
        issuers: trust.anchor_store().clone(),
        trust,
        iacas,
        status_jwt: block_on(api.status_list_jwt()).unwrap().unwrap(),
        status_cwt: block_on(api.status_list_cwt()).unwrap().unwrap(),
    }
}

/// The bank's check of a posted body for `pending`, as if received at `response_uri`.
fn verify(
    t: &Trust,
    bank: &Bank,
    pending: &PendingRequest,
    body: &str,
    response_uri: &str,
    ledger: &mut MemoryNonceLedger,
) -> Result<Vec<VerifiedPresentation>, Oid4vpError> {
    let now = bank.now;
    let jwt_list = |u: &str| sdjwt::verify_status_list_jwt(&t.status_jwt, u, &t.trust, now).ok();
    let cwt_list = |u: &str| {
        mdoc::verify_status_list_cwt(&t.status_cwt, u, &t.iacas, now)
            .ok()
            .map(|v| v.list)
    };
    oid4vp::verify_response_with(
        pending,
        body,
        &ResponsePolicy {
            issuer_trust: &t.issuers,
            now,
            max_age: 300,
            status_list: &jwt_list,
            decryption_key: Some(&bank.enc),
        },
        Some(&MdocPolicy {
            iacas: &t.iacas,
            status_list: &cwt_list,
            response_uri,
        }),
        ledger,
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn photo_id_query(elements: &[(&str, &str)]) -> DcqlQuery {
    oid4vp::mdoc_query(mdoc::PHOTO_ID_DOCTYPE, elements, Some(false)).unwrap()
}

fn bank(pki: RpPki, rec: &RpRecord, dcql: DcqlQuery, mode: ResponseMode, nonce: &str) -> Bank {
    Bank::new(pki, rec, dcql, mode, nonce, now())
}

fn uri(rec: &RpRecord) -> String {
    oid4vp::authorization_uri(
        "openid4vp://",
        &rec.client_id,
        REQUEST_URI,
        RequestUriMethod::Post,
    )
}

fn unused(w: &Wallet, doc_type: &str) -> u64 {
    w.mdoc_stock()
        .unwrap()
        .into_iter()
        .find(|s| s.doc_type == doc_type)
        .map_or(0, |s| s.unused)
}

/// The DeviceResponse of a direct_post body's vp_token entry `id`.
fn device_response(body: &str, id: &str) -> DeviceResponse {
    let form = oid4vp::form_decode(body).unwrap();
    let token: Value = serde_json::from_str(&form["vp_token"]).unwrap();
    let b64 = token[id][0].as_str().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .unwrap();
    DeviceResponse::parse(&bytes).unwrap()
}

/// A direct_post body with `response` as the vp_token entry `id`.
fn body_with(body: &str, id: &str, response: &DeviceResponse) -> String {
    let form = oid4vp::form_decode(body).unwrap();
    let mut token: Value = serde_json::from_str(&form["vp_token"]).unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(response.encode().unwrap());
    token[id] = json!([b64]);
    let token = token.to_string();
    oid4vp::form_encode(&[("vp_token", token.as_str()), ("state", &form["state"])])
}

#[test]
fn a_bank_gets_exactly_the_asked_mdoc_elements_and_tampering_or_replay_is_refused() {
    for (db, b) in common::backends() {
        let api = common::client(&b.url);
        let pki = RpPki::new().unwrap();
        let rec = register(&b.url, &pki);
        let c = citizens::citizens().remove(2);
        let dir = tempfile::tempdir().unwrap();
        let w = common::wallet(dir.path());
        common::activate(&w, &api, &c, Faults::default()).unwrap();
        block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        let t = trust(&api);
        let asked = [
            (ISO, "family_name"),
            (ISO, "given_name"),
            (ISO, "age_over_18"),
        ];
        let mut bodies = Vec::new();
        for (i, mode) in [ResponseMode::DirectPost, ResponseMode::DirectPostJwt]
            .into_iter()
            .enumerate()
        {
            // The wallet's RP registry is the one of the last sync; the bank's key pair is its own.
            let bank = bank(
                pki.clone(),
                &rec,
                photo_id_query(&asked),
                mode,
                &format!("n-mdoc-{i}"),
            );
            let before = unused(&w, mdoc::PHOTO_ID_DOCTYPE);
            assert_eq!(before, MDOC_BATCH as u64 - i as u64, "{db}");
            let prompt = w.authorize_prepare(&uri(&rec), &bank).unwrap();
            assert_eq!(prompt.purpose, "ekyc", "{db}");
            let shown: Vec<String> = prompt.claims.iter().map(|c| c.text()).collect();
            assert_eq!(
                shown,
                [
                    "org.iso.23220.1/family_name",
                    "org.iso.23220.1/given_name",
                    "org.iso.23220.1/age_over_18"
                ]
            );
            assert!(
                prompt
                    .claims
                    .iter()
                    .all(|c| c.credential == mdoc::PHOTO_ID_DOCTYPE && c.format == "mso_mdoc")
            );
            assert_eq!(
                unused(&w, mdoc::PHOTO_ID_DOCTYPE),
                before,
                "looking spends nothing"
            );
            let sent = w
                .authorize_answer(&prompt, Consent::Passcode(&common::pass()), &bank)
                .unwrap();
            assert!(sent.disclosed);
            assert_eq!(
                unused(&w, mdoc::PHOTO_ID_DOCTYPE),
                before - 1,
                "one single-use MSO"
            );
            let pending = bank.pending.lock().unwrap().clone().unwrap();
            let body = bank.posted.lock().unwrap()[0].clone();
            eprintln!("{mode:?}: posted body {} bytes", body.len());
            let mut ledger = MemoryNonceLedger::default();
            let got = verify(&t, &bank, &pending, &body, RESPONSE_URI, &mut ledger).unwrap();
            assert_eq!(got.len(), 1, "{db} {mode:?}");
            assert_eq!(got[0].query_id, "mdoc");
            let elements: Vec<&str> = got[0].claims[ISO]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(elements.len(), 3, "{db}: {elements:?}");
            for (_, e) in asked {
                assert!(elements.contains(&e), "{e}");
            }
            assert!(got[0].claims[ISO]["age_over_18"].is_boolean());
            assert_eq!(
                got[0].claims[ISO]["family_name"],
                json!(c.full_name.split(' ').next().unwrap())
            );
            assert_eq!(
                got[0].mdoc.as_ref().unwrap().document.doc_type,
                mdoc::PHOTO_ID_DOCTYPE
            );
            assert_eq!(
                got[0].disclosed,
                asked.map(|(ns, e)| ClaimPath::keys(&[ns, e]))
            );
            // The same answer again: the nonce is spent.
            assert_eq!(
                verify(&t, &bank, &pending, &body, RESPONSE_URI, &mut ledger).unwrap_err(),
                Oid4vpError::Replay
            );
            // Checked for another nonce, relying party or response URI: the device signature
            // covers the SessionTranscript of this request only.
            let fresh = || MemoryNonceLedger::default();
            let other_nonce = PendingRequest {
                nonce: "n-other".into(),
                ..pending.clone()
            };
            let other_rp = PendingRequest {
                client_id: "x509_san_dns:other.example.vn".into(),
                ..pending.clone()
            };
            for p in [&other_nonce, &other_rp] {
                assert_eq!(
                    verify(&t, &bank, p, &body, RESPONSE_URI, &mut fresh()).unwrap_err(),
                    Oid4vpError::Mdoc(CheckError::DeviceAuth),
                    "{db} {mode:?}"
                );
            }
            assert_eq!(
                verify(
                    &t,
                    &bank,
                    &pending,
                    &body,
                    "https://other.example.vn/response",
                    &mut fresh()
                )
                .unwrap_err(),
                Oid4vpError::Mdoc(CheckError::DeviceAuth)
            );
            let last = w.transactions().unwrap().pop().unwrap();
            assert_eq!(last.profile, "ekyc");
            assert_eq!(last.fields, shown);
            assert_eq!(last.outcome, Outcome::Success);
            bodies.push((bank, pending, body));
        }

        // A changed element value in an IssuerSignedItem: its digest no longer matches.
        let (bank, pending, body) = &bodies[0];
        let mut response = device_response(body, "mdoc");
        let (_, items) = response.documents[0]
            .issuer_signed
            .namespaces
            .iter_mut()
            .find(|(ns, _)| ns == ISO)
            .unwrap();
        let item = items
            .iter_mut()
            .find(|i| i.element_identifier == "age_over_18")
            .unwrap();
        let flipped = Cbor::Bool(item.element_value != Cbor::Bool(true));
        *item = mdoc::IssuerSignedItem::new(
            item.digest_id,
            item.random.clone(),
            "age_over_18",
            flipped,
        );
        let tampered = body_with(body, "mdoc", &response);
        assert!(matches!(
            verify(
                &t,
                bank,
                pending,
                &tampered,
                RESPONSE_URI,
                &mut MemoryNonceLedger::default()
            ),
            Err(Oid4vpError::Mdoc(CheckError::Digest { .. }))
        ));
        // Untouched, re-encoded: still fine (the tamper test fails for the change only).
        let same = body_with(body, "mdoc", &device_response(body, "mdoc"));
        verify(
            &t,
            bank,
            pending,
            &same,
            RESPONSE_URI,
            &mut MemoryNonceLedger::default(),
        )
        .unwrap();

        // The citizen activates another phone: the first wallet's MSOs are revoked.
        let d2 = tempfile::tempdir().unwrap();
        let w2 = common::wallet(d2.path());
        common::activate(&w2, &api, &c, Faults::default()).unwrap();
        let after = trust(&api);
        assert_eq!(
            verify(
                &after,
                bank,
                pending,
                body,
                RESPONSE_URI,
                &mut MemoryNonceLedger::default()
            )
            .unwrap_err(),
            Oid4vpError::Mdoc(CheckError::Revoked),
            "{db}"
        );
    }
}

#[test]
fn mdoc_elements_outside_the_registered_purposes_are_refused_and_mixed_queries_get_both() {
    let b = common::backend();
    let api = common::client(&b.url);
    let pki = RpPki::new().unwrap();
    let rec = register(&b.url, &pki);
    let c = citizens::citizens().remove(2);
    let dir = tempfile::tempdir().unwrap();
    let w = common::wallet(dir.path());
    common::activate(&w, &api, &c, Faults::default()).unwrap();
    block_on(w.sync(&api, None, Some(&common::pass())))
        .unwrap()
        .unwrap();

    // The licence's driving privileges: in no purpose the bank registered (ekyc, age_check).
    let privileges = oid4vp::mdoc_query(
        mdoc::MDL_DOCTYPE,
        &[(mdoc::MDL_NAMESPACE, "driving_privileges")],
        None,
    )
    .unwrap();
    let bank_p = bank(
        pki.clone(),
        &rec,
        privileges,
        ResponseMode::DirectPost,
        "n-scope",
    );
    let err = w.authorize_prepare(&uri(&rec), &bank_p).unwrap_err();
    assert!(
        matches!(err, AuthorizeError::Refused(Oid4vpError::Scope)),
        "{err}"
    );
    assert!(bank_p.posted.lock().unwrap().is_empty());
    assert_eq!(unused(&w, mdoc::MDL_DOCTYPE), MDOC_BATCH as u64);
    let last = w.transactions().unwrap().pop().unwrap();
    assert_eq!(last.outcome, Outcome::Refused);

    // Over 18 from the PhotoID and from the PID SD-JWT VC in one query: both answered.
    let both = DcqlQuery::parse(&json!({"credentials": [
        {"id": "photo", "format": "mso_mdoc", "meta": {"doctype_value": mdoc::PHOTO_ID_DOCTYPE},
         "claims": [{"path": [ISO, "age_over_18"], "intent_to_retain": false}]},
        {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]},
         "claims": [{"path": ["age_equal_or_over", "18"]}]}
    ]}))
    .unwrap();
    let bank_b = bank(
        pki.clone(),
        &rec,
        both,
        ResponseMode::DirectPostJwt,
        "n-both",
    );
    let prompt = w.authorize_prepare(&uri(&rec), &bank_b).unwrap();
    assert_eq!(prompt.purpose, "age_check");
    let shown: Vec<String> = prompt.claims.iter().map(|c| c.text()).collect();
    assert_eq!(
        shown,
        ["org.iso.23220.1/age_over_18", "age_equal_or_over.18"]
    );
    w.authorize_answer(&prompt, Consent::Passcode(&common::pass()), &bank_b)
        .unwrap();
    let t = trust(&api);
    let pending = bank_b.pending.lock().unwrap().clone().unwrap();
    let body = bank_b.posted.lock().unwrap()[0].clone();
    let got = verify(
        &t,
        &bank_b,
        &pending,
        &body,
        RESPONSE_URI,
        &mut MemoryNonceLedger::default(),
    )
    .unwrap();
    let ids: Vec<&str> = got.iter().map(|p| p.query_id.as_str()).collect();
    assert_eq!(ids, ["photo", "pid"]);
    let iso = got[0].claims[ISO].as_object().unwrap();
    assert_eq!(iso.keys().collect::<Vec<_>>(), ["age_over_18"]);
    assert_eq!(
        iso["age_over_18"], got[1].claims["age_equal_or_over"]["18"],
        "both say the same"
    );

    // With credential sets offering either, the first option (the mdoc) alone is answered.
    let either = DcqlQuery::parse(&json!({"credentials": [
        {"id": "photo", "format": "mso_mdoc", "meta": {"doctype_value": mdoc::PHOTO_ID_DOCTYPE},
         "claims": [{"path": [ISO, "age_over_18"]}]},
        {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]},
         "claims": [{"path": ["age_equal_or_over", "18"]}]}
    ], "credential_sets": [{"options": [["photo"], ["pid"]]}]}))
    .unwrap();
    let bank_e = bank(pki, &rec, either, ResponseMode::DirectPost, "n-either");
    let sd_before = w.sdjwt_stock().unwrap()[0].unused;
    let prompt = w.authorize_prepare(&uri(&rec), &bank_e).unwrap();
    assert_eq!(
        prompt.claims.iter().map(|c| c.text()).collect::<Vec<_>>(),
        ["org.iso.23220.1/age_over_18"]
    );
    w.authorize_answer(&prompt, Consent::Passcode(&common::pass()), &bank_e)
        .unwrap();
    assert_eq!(
        w.sdjwt_stock().unwrap()[0].unused,
        sd_before,
        "the SD-JWT VC not selected is not spent"
    );
    let pending = bank_e.pending.lock().unwrap().clone().unwrap();
    let body = bank_e.posted.lock().unwrap()[0].clone();
    let got = verify(
        &t,
        &bank_e,
        &pending,
        &body,
        RESPONSE_URI,
        &mut MemoryNonceLedger::default(),
    )
    .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].query_id, "photo");
}
