//! The wallet's OpenID4VP answer through the core API an app uses (docs/adr/0039), on SQLite and
//! PostgreSQL: a registered bank (hub-issued access certificate) asks over `https` with
//! `request_uri_method=post` (the wallet's `wallet_nonce` signed into the request); the prompt
//! names the bank, the narrowest purpose and the exact claim; a wrong passcode sends and spends
//! nothing; the answer spends one SD-JWT VC and the bank verifies exactly the asked claim.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eid_core::account::Passcode;
use eid_core::credential::TrustList;
use eid_core::oid4vp::{
    self, DcqlQuery, MemoryNonceLedger, RequestUriMethod, ResponseMode, ResponsePolicy,
};
use eid_core::runtime::block_on;
use eid_core::sdjwt::{self, PID_VCT};
use eid_core::wallet::{Consent, SDJWT_BATCH, claim_text};
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;
use eid_fixtures::relying_parties::{BANK_DNS, RpPki};
use serde_json::json;

use common::bank::{Bank, REQUEST_URI, register};

#[test]
fn a_registered_bank_gets_exactly_the_asked_claim_after_the_passcode() {
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
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let age = DcqlQuery::parse(&json!({"credentials": [{
            "id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]},
            "claims": [{"path": ["age_equal_or_over", "18"]}]
        }]}))
        .unwrap();
        let mut bank = Bank::new(
            pki,
            &rec,
            age,
            ResponseMode::DirectPost,
            "n-0S6_WzA2Mj-age",
            now,
        );
        bank.answer = json!({"redirect_uri": "https://bank.example.vn/welcome"});
        let uri = oid4vp::authorization_uri(
            "openid4vp://",
            &rec.client_id,
            REQUEST_URI,
            RequestUriMethod::Post,
        );
        let prompt = w.authorize_prepare(&uri, &bank).unwrap();
        assert_eq!(prompt.rp.legal_name, "Ngân hàng Example", "{db}");
        assert_eq!(prompt.rp.registration_number, "0101234567");
        assert_eq!(prompt.rp.dns_names, [BANK_DNS]);
        assert_eq!(
            prompt.purpose, "age_check",
            "the narrowest covering purpose"
        );
        let shown: Vec<String> = prompt.claims.iter().map(|c| claim_text(&c.path)).collect();
        assert_eq!(shown, ["age_equal_or_over.18"]);
        assert_eq!(prompt.claims[0].credential, PID_VCT);
        // Looking spends nothing.
        assert_eq!(w.sdjwt_stock().unwrap()[0].unused, SDJWT_BATCH as u64);

        // A wrong passcode: nothing sent, nothing spent.
        let wrong = Passcode::new("654321").unwrap();
        assert!(
            w.authorize_answer(&prompt, Consent::Passcode(&wrong), &bank)
                .is_err()
        );
        assert!(bank.posted.lock().unwrap().is_empty(), "{db}");
        assert_eq!(w.sdjwt_stock().unwrap()[0].unused, SDJWT_BATCH as u64);

        let sent = w
            .authorize_answer(&prompt, Consent::Passcode(&common::pass()), &bank)
            .unwrap();
        assert!(sent.disclosed);
        assert_eq!(
            sent.redirect_uri.as_deref(),
            Some("https://bank.example.vn/welcome")
        );
        assert_eq!(w.sdjwt_stock().unwrap()[0].unused, SDJWT_BATCH as u64 - 1);

        // The bank verifies: over 18, nothing else.
        let t = block_on(api.trust_list()).unwrap().unwrap();
        let trust = TrustList::decode(&t.issuers.0).unwrap();
        let mut issuer_trust = eid_crypto::trust::TrustStore::new();
        for a in trust.anchors() {
            issuer_trust.add_der(a).unwrap();
        }
        let status_jwt = block_on(api.status_list_jwt()).unwrap().unwrap();
        let status_list = |u: &str| sdjwt::verify_status_list_jwt(&status_jwt, u, &trust, now).ok();
        let pending = bank.pending.lock().unwrap().clone().unwrap();
        let body = bank.posted.lock().unwrap()[0].clone();
        let got = oid4vp::verify_response(
            &pending,
            &body,
            &ResponsePolicy {
                issuer_trust: &issuer_trust,
                now,
                max_age: 300,
                status_list: &status_list,
                decryption_key: None,
            },
            &mut MemoryNonceLedger::default(),
        )
        .unwrap();
        let claims = &got[0].claims;
        assert!(claims["age_equal_or_over"]["18"].is_boolean(), "{db}");
        for hidden in [
            "given_name",
            "family_name",
            "birthdate",
            "personal_administrative_number",
        ] {
            assert!(!claims.contains_key(hidden), "{hidden} disclosed");
        }
        let last = w.transactions().unwrap().pop().unwrap();
        assert_eq!(
            last.counterparty,
            format!("Ngân hàng Example ({})", rec.client_id)
        );
        assert_eq!(last.profile, "age_check");
        assert_eq!(last.fields, ["age_equal_or_over.18"]);
        assert_eq!(last.outcome, eid_core::transactions::Outcome::Success);
    }
}
