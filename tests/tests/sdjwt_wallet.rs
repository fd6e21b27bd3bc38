//! The identity's SD-JWT VCs end to end, on SQLite and PostgreSQL (docs/adr/0035): activate,
//! sync with the passcode → 8 single-use PID SD-JWT VCs; one taken, matched by a DCQL query (the
//! OpenID4VP selection), presented with only the asked claims and a KB-JWT signed by its own
//! device key, and verified against the trust list; the next one taken is another credential.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eid_core::credential::TrustList;
use eid_core::oid4vp::{self, DcqlQuery, WalletCredential};
use eid_core::runtime::block_on;
use eid_core::sdjwt::{self, KeyBinding, KeyBindingPolicy, PID_VCT};
use eid_core::wallet::SDJWT_BATCH;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;
use serde_json::json;

#[test]
fn wallet_takes_a_pid_sd_jwt_vc_and_presents_it_with_its_own_key() {
    for (db, b) in common::backends() {
        let api = common::client(&b.url);
        let c = citizens::citizens().remove(1);
        let dir = tempfile::tempdir().unwrap();
        let w = common::wallet(dir.path());
        common::activate(&w, &api, &c, Faults::default()).unwrap();
        let report = block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        assert_eq!(report.presentation_error, None, "{db}");
        let stock = w.sdjwt_stock().unwrap();
        assert_eq!(stock.len(), 1, "{db}");
        assert_eq!(stock[0].vct, PID_VCT);
        assert_eq!(stock[0].unused, SDJWT_BATCH as u64);
        assert_eq!(stock[0].status, Some(0), "valid in the JWT status list");

        let held = w.take_sdjwt(PID_VCT).unwrap().unwrap();
        let key = w.sdjwt_key(&held);
        let query = DcqlQuery::parse(&json!({"credentials": [{
            "id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]},
            "claims": [{"path": ["age_equal_or_over", "18"]}, {"path": ["given_name"]}]
        }]}))
        .unwrap();
        let wallet = [WalletCredential::new("pid", held.sd_jwt.clone(), &key).unwrap()];
        let selection = oid4vp::select(&query, &wallet).unwrap();
        let disclose = &selection.presentations[0].disclose;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let binding = KeyBinding {
            audience: "x509_san_dns:bank.example.vn",
            nonce: "n-0S6_WzA2Mj",
            issued_at: now,
        };
        let presented = sdjwt::present(&held.sd_jwt, disclose, &binding, &key).unwrap();
        let t = block_on(api.trust_list()).unwrap().unwrap();
        let trust = TrustList::decode(&t.issuers.0).unwrap();
        let policy = || KeyBindingPolicy {
            audience: "x509_san_dns:bank.example.vn",
            nonce: "n-0S6_WzA2Mj",
            max_age: 300,
        };
        let v = sdjwt::verify_pid(&presented, &trust, now, Some(policy())).unwrap();
        assert!(v.key_bound);
        assert_eq!(
            v.claims["given_name"],
            c.full_name.split_once(' ').unwrap().1
        );
        assert!(v.claims["age_equal_or_over"]["18"].is_boolean());
        // Only what was asked: no other personal claim, no other age threshold.
        for hidden in [
            "family_name",
            "birthdate",
            "personal_administrative_number",
            "address",
        ] {
            assert!(!v.claims.contains_key(hidden), "{hidden} disclosed");
        }
        assert_eq!(v.claims["age_equal_or_over"].as_object().unwrap().len(), 1);
        // Another nonce: the KB-JWT does not fit.
        let wrong = KeyBindingPolicy {
            nonce: "another",
            ..policy()
        };
        assert!(sdjwt::verify_pid(&presented, &trust, now, Some(wrong)).is_err());

        // Single use: the next one is another credential with another key.
        let next = w.take_sdjwt(PID_VCT).unwrap().unwrap();
        assert_ne!(next.alias, held.alias);
        assert_ne!(next.issued, held.issued);
        assert_eq!(w.sdjwt_stock().unwrap()[0].unused, SDJWT_BATCH as u64 - 2);
        // Wrong vct: nothing.
        assert!(w.take_sdjwt("urn:eudi:pid:1").unwrap().is_none());
    }
}
