//! QR presentation against the backend, on SQLite and PostgreSQL: sync brings presentation
//! credentials, offline QRs verify with the backend's lists, a device change revokes the first
//! device's credentials once the verifier refreshes its status list, and an online token is
//! redeemed once by a registered verifier allowed that profile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eid_core::account::Passcode;
use eid_core::api::{B64, ErrorCode, VerifierRegistration};
use eid_core::client::VerifierKey;
use eid_core::client::{BackendClient, ClientError};
use eid_core::credential::TrustList;
use eid_core::present::PRESENTATION_LIFETIME;
use eid_core::present::{Profile, QrPayload};
use eid_core::runtime::block_on;
use eid_core::verify::{StatusList, Verifier};
use eid_core::wallet::Consent;
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens;

fn pass() -> Passcode {
    Passcode::new("123456").unwrap()
}

/// A verifier desk as it is after refreshing its lists from the backend.
fn desk(api: &BackendClient, now: u64) -> Verifier {
    let t = block_on(api.trust_list()).unwrap().unwrap();
    let trust = TrustList::decode(&t.issuers.0).unwrap();
    let s = block_on(api.status_list()).unwrap().unwrap();
    let status = StatusList::from_signed(&s.signed.0, &trust, now).unwrap();
    Verifier::new(trust).with_status_list(status)
}

/// A verifier desk registered through the admin API for `profile`.
fn register_desk(api: &BackendClient, name: &str, profile: &str) -> VerifierKey {
    let mut desk = VerifierKey::generate();
    desk.verifier_id = block_on(api.register_verifier(
        common::ADMIN_TOKEN,
        &VerifierRegistration {
            name: name.into(),
            public_key: B64(desk.public_key()),
            profiles: vec![profile.into()],
        },
    ))
    .unwrap()
    .unwrap()
    .verifier_id;
    desk
}

fn api_code(e: ClientError) -> ErrorCode {
    match e {
        ClientError::Api { code, .. } => code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[test]
fn presentations_through_the_backend() {
    for (db, b) in common::backends() {
        let api = common::client(&b.url);
        let c = citizens::citizens().remove(0);
        let d1 = tempfile::tempdir().unwrap();
        let w1 = common::wallet(d1.path());
        common::activate(&w1, &api, &c, Faults::default()).unwrap();
        let report = block_on(w1.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        assert_eq!(report.presentation_error, None, "{db}");
        // Every profile: the citizen holds all their source documents.
        assert_eq!(
            report.presentation_credentials,
            Profile::ALL.len() as u64 * 8,
            "{db}"
        );
        // A second sync does not ask again: nothing runs low.
        let again = block_on(w1.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        assert_eq!(again.presentation_credentials, 0, "{db}");

        let now = b.app.clock().now();
        let shown = w1
            .present(
                Profile::Airport,
                None,
                Consent::Passcode(&pass()),
                "airport",
            )
            .unwrap();
        let QrPayload::Offline(p) = QrPayload::parse(&shown.text).unwrap() else {
            panic!()
        };
        let verdict = desk(&api, now).verify_offline(&shown.text, p.created_at, None, None);
        assert!(verdict.valid, "{db}: {:?}", verdict.reasons);
        assert_eq!(verdict.fields.to_json()["id_number"], c.id_number.as_str());
        assert!(verdict.status_list_age_s.is_some());

        // Online: a desk registered for the airport profile redeems a token once.
        let airport_desk = register_desk(&api, "Noi Bai T2 check-in 14", "airport");
        let token = block_on(w1.present_online(&api, Profile::Airport, &pass(), "airport"))
            .unwrap()
            .unwrap();
        assert!(token.text.starts_with("VNT2:"));
        let redeemed = block_on(api.redeem_token(&airport_desk, &token.text))
            .unwrap()
            .unwrap();
        assert_eq!(redeemed.profile, "airport");
        assert_eq!(redeemed.fields["id_number"], c.id_number.as_str());
        assert_eq!(redeemed.account_level, 2);
        let twice = block_on(api.redeem_token(&airport_desk, &token.text)).unwrap();
        assert_eq!(api_code(twice.unwrap_err()), ErrorCode::TokenUsed, "{db}");
        // The airport desk may not receive clinic data.
        let clinic = block_on(w1.present_online(&api, Profile::Clinic, &pass(), "clinic"))
            .unwrap()
            .unwrap();
        let refused = block_on(api.redeem_token(&airport_desk, &clinic.text)).unwrap();
        assert_eq!(
            api_code(refused.unwrap_err()),
            ErrorCode::NotAllowed,
            "{db}"
        );
        // An offline verifier does not accept a token as a presentation.
        assert!(
            !desk(&api, now)
                .verify_offline(&clinic.text, now, None, None)
                .valid
        );

        // Device change: the citizen activates a new phone. The old phone's QR, still within
        // its minute, is refused once the desk has the new status list.
        let d2 = tempfile::tempdir().unwrap();
        let w2 = common::wallet(d2.path());
        common::activate(&w2, &api, &c, Faults::default()).unwrap();
        let late = desk(&api, now).verify_offline(&shown.text, p.created_at, None, None);
        assert!(!late.valid, "{db}");
        assert!(
            late.reasons.iter().any(|r| r.message().contains("revoked")),
            "{db}: {:?}",
            late.reasons
        );
        // The new phone's credentials are fine.
        block_on(w2.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        let fresh = w2
            .present(
                Profile::Airport,
                None,
                Consent::Passcode(&pass()),
                "airport",
            )
            .unwrap();
        let QrPayload::Offline(p2) = QrPayload::parse(&fresh.text).unwrap() else {
            panic!()
        };
        assert!(
            desk(&api, now)
                .verify_offline(&fresh.text, p2.created_at, None, None)
                .valid
        );
        // And a minute later nothing shown earlier is accepted anyway.
        let stale = desk(&api, now).verify_offline(
            &fresh.text,
            p2.created_at + PRESENTATION_LIFETIME + 1,
            None,
            None,
        );
        assert!(!stale.valid);
    }
}

/// Passes everything through, but loses the answer to the first redemption after the backend
/// has redeemed the token (a desk's Wi-Fi dropping at the wrong moment).
#[derive(Debug, Default)]
struct LosesFirstRedeemAnswer {
    inner: eid_core::client::UreqTransport,
    lost: std::sync::atomic::AtomicBool,
}

impl eid_core::platform::HttpTransport for LosesFirstRedeemAnswer {
    fn exchange(
        &self,
        request: eid_core::platform::HttpRequest,
    ) -> Result<eid_core::platform::HttpResponse, eid_core::platform::TransportFailure> {
        use std::sync::atomic::Ordering;
        let redeem = request.url.ends_with(eid_core::api::paths::TOKEN_REDEEM);
        let r = self.inner.exchange(request)?;
        if redeem && r.status == 200 && !self.lost.swap(true, Ordering::SeqCst) {
            return Err(eid_core::platform::TransportFailure::MaybeSent(
                "connection reset after the request was sent".into(),
            ));
        }
        Ok(r)
    }
}

/// The desk's client retries a redemption whose answer was lost and gets the fields: the token
/// was redeemed once, by this desk (docs/adr/0045). Another redemption is still refused.
#[test]
fn a_desk_gets_its_fields_when_the_redemption_answer_is_lost() {
    for (db, b) in common::backends() {
        let api = common::client(&b.url);
        let c = citizens::citizens().remove(2);
        let d = tempfile::tempdir().unwrap();
        let w = common::wallet(d.path());
        common::activate(&w, &api, &c, Faults::default()).unwrap();
        block_on(w.sync(&api, None, Some(&common::pass())))
            .unwrap()
            .unwrap();
        let desk_key = register_desk(&api, "Bach Mai clinic desk 3", "clinic");
        let token = block_on(w.present_online(&api, Profile::Clinic, &pass(), "clinic"))
            .unwrap()
            .unwrap();
        let transport = std::sync::Arc::new(LosesFirstRedeemAnswer::default());
        let flaky = BackendClient::with_transport(
            &b.url,
            eid_core::client::RetryPolicy {
                attempts: 3,
                first_backoff: std::time::Duration::from_millis(20),
                timeout: std::time::Duration::from_secs(10),
            },
            transport.clone(),
        );
        let redeemed = block_on(flaky.redeem_token(&desk_key, &token.text))
            .unwrap()
            .unwrap_or_else(|e| panic!("{db}: {e}"));
        assert!(
            transport.lost.load(std::sync::atomic::Ordering::SeqCst),
            "{db}: no answer was lost"
        );
        assert_eq!(redeemed.profile, "clinic", "{db}");
        assert_eq!(redeemed.fields["full_name"], c.full_name.as_str(), "{db}");
        let again = block_on(api.redeem_token(&desk_key, &token.text)).unwrap();
        assert_eq!(api_code(again.unwrap_err()), ErrorCode::TokenUsed, "{db}");
    }
}
