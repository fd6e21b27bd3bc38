//! Signed requests (issue 12, finding 6): one valid encoding per signature (low-S only), and a
//! captured state-changing request cannot be sent again.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use common::*;
use eid_core::api::{
    self, AccountLockRequest, AccountRemoteState, AccountStatus, B64, ErrorCode,
    PresentationCredentialsIssued, PresentationCredentialsRequest, TokenRedeem, headers,
};
use eid_core::client::{VerifierKey, VerifierSigner};
use eid_core::present::{Profile, Token};
use eid_crypto::es256;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A device-signed request as it travels, so it can be sent again byte for byte.
#[derive(Clone)]
struct Captured {
    method: &'static str,
    path: &'static str,
    id_header: &'static str,
    id: String,
    timestamp: u64,
    nonce: String,
    /// base64url DER.
    signature: String,
    body: Vec<u8>,
}

impl Captured {
    fn device(
        h: &Harness,
        d: &DeviceKey,
        method: &'static str,
        path: &'static str,
        body: Vec<u8>,
    ) -> Captured {
        let timestamp = h.app.clock().now();
        let nonce = api::new_nonce();
        let signature = d.sign(&api::signing_input(method, path, timestamp, &nonce, &body));
        Captured {
            method,
            path,
            id_header: headers::ACCOUNT,
            id: d.account.clone(),
            timestamp,
            nonce,
            signature,
            body,
        }
    }

    fn verifier(h: &Harness, v: &VerifierKey, path: &'static str, body: Vec<u8>) -> Captured {
        let timestamp = h.app.clock().now();
        let nonce = api::new_nonce();
        let der = v
            .sign(&api::signing_input("POST", path, timestamp, &nonce, &body))
            .unwrap();
        Captured {
            method: "POST",
            path,
            id_header: headers::VERIFIER,
            id: v.verifier_id(),
            timestamp,
            nonce,
            signature: B64URL.encode(der),
            body,
        }
    }

    /// The same request with the signature's high-S twin (s' = n − s).
    fn high_s(&self) -> Captured {
        let der = B64URL.decode(&self.signature).unwrap();
        assert!(es256::der_is_low_s(&der), "our signers give low-S");
        let twin = es256::flip_s_der(&der).unwrap();
        Captured {
            signature: B64URL.encode(twin),
            ..self.clone()
        }
    }

    async fn send(&self, h: &Harness) -> Reply {
        h.send(
            Request::builder()
                .method(self.method)
                .uri(self.path)
                .header(self.id_header, &self.id)
                .header(headers::TIMESTAMP, self.timestamp.to_string())
                .header(headers::NONCE, &self.nonce)
                .header(headers::SIGNATURE, &self.signature)
                .header("content-type", "application/json")
                .body(Body::from(self.body.clone()))
                .unwrap(),
        )
        .await
    }
}

/// A presentation-credentials request with the citizen's consent (docs/adr/0017).
async fn presentation_request(h: &Harness, device: &DeviceKey, id: &str) -> Vec<u8> {
    let profile = Profile::AgeOver18.as_str();
    let device_keys = vec![B64(DeviceKey::new().public_key())];
    let consent = h
        .consent(
            device,
            api::consent_action::PRESENTATION_CREDENTIALS,
            &api::presentation_credentials_digest(profile, &device_keys),
        )
        .await;
    serde_json::to_vec(&PresentationCredentialsRequest {
        profile: profile.into(),
        device_keys,
        client_request_id: id.into(),
        consent: Some(consent),
        dependant: None,
    })
    .unwrap()
}

fn unauthenticated(r: &Reply, what: &str) {
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
        "{what}"
    );
}

/// A captured state-changing request sent again byte for byte is refused, while a retry of the
/// client (same client_request_id, signed afresh) gets the first answer. Fails on b40b263 (the
/// replay got 200 and, for a lock after an unlock, changed the account again).
#[tokio::test]
async fn a_replayed_signed_post_is_refused() {
    for h in harnesses().await {
        let device = h.activate(&citizen(2)).await;
        // Issue: the replay gets no second batch, nor the first batch's answer.
        let id = request_id();
        let first = Captured::device(
            &h,
            &device,
            "POST",
            api::paths::PRESENTATION_CREDENTIALS,
            presentation_request(&h, &device, &id).await,
        );
        let r = first.send(&h).await;
        assert_eq!(r.status, StatusCode::OK, "{}", h.db);
        let issued: PresentationCredentialsIssued = r.json();
        unauthenticated(&first.send(&h).await, "replayed issuance");
        // The client's retry: a fresh nonce and signature, the same body.
        let retry = Captured::device(
            &h,
            &device,
            "POST",
            api::paths::PRESENTATION_CREDENTIALS,
            first.body.clone(),
        );
        let again = retry.send(&h).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.json::<PresentationCredentialsIssued>(), issued);
        // Lock, unlock, then the captured lock once more: the account stays unlocked.
        let body = |id: String| {
            serde_json::to_vec(&AccountLockRequest {
                client_request_id: id,
                consent: None,
            })
            .unwrap()
        };
        let lock = Captured::device(
            &h,
            &device,
            "POST",
            api::paths::ACCOUNT_LOCK,
            body(request_id()),
        );
        assert_eq!(
            lock.send(&h).await.json::<AccountStatus>().state,
            AccountRemoteState::Locked
        );
        let r = h.unlock(&device).await;
        assert_eq!(r.json::<AccountStatus>().state, AccountRemoteState::Active);
        h.app.clock().advance(200);
        unauthenticated(&lock.send(&h).await, "replayed lock");
        let status: AccountStatus = h
            .signed(&device, "GET", api::paths::ACCOUNT, Vec::new(), &[])
            .await
            .json();
        assert_eq!(status.state, AccountRemoteState::Active, "{}", h.db);
        // Pruning keeps the nonces while the timestamp would still pass.
        h.app.prune().await.unwrap();
        unauthenticated(&lock.send(&h).await, "replayed lock after pruning");
        // Long after, the timestamp refuses it, and pruning has dropped the nonce.
        h.app.clock().advance(2 * api::MAX_SKEW_SECONDS as i64);
        assert!(h.app.prune().await.unwrap() > 0);
        unauthenticated(&lock.send(&h).await, "stale lock");
        // Reads may be repeated (they change nothing).
        let read = Captured::device(&h, &device, "GET", api::paths::ACCOUNT, Vec::new());
        assert_eq!(read.send(&h).await.status, StatusCode::OK);
        assert_eq!(read.send(&h).await.status, StatusCode::OK);
        // Without a nonce, or with one not in the signature, nothing verifies.
        let mut other = read.clone();
        other.nonce = api::new_nonce();
        unauthenticated(&other.send(&h).await, "nonce not signed");
        let r = h
            .send(
                Request::get(api::paths::ACCOUNT)
                    .header(headers::ACCOUNT, &device.account)
                    .header(headers::TIMESTAMP, read.timestamp.to_string())
                    .header(headers::SIGNATURE, &read.signature)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        unauthenticated(&r, "no nonce");
    }
}

/// The high-S twin of a valid request signature is refused on device- and verifier-signed
/// requests, and of a valid token signature at redemption. Fails on b40b263 (ring verifies
/// both forms).
#[tokio::test]
async fn high_s_twins_of_request_and_token_signatures_are_refused() {
    for h in harnesses().await {
        let device = h.activate(&citizen(2)).await;
        // Device-signed, a read and a write.
        let read = Captured::device(&h, &device, "GET", api::paths::ACCOUNT, Vec::new());
        unauthenticated(&read.high_s().send(&h).await, "high-S read");
        assert_eq!(read.send(&h).await.status, StatusCode::OK);
        let write = Captured::device(
            &h,
            &device,
            "POST",
            api::paths::PRESENTATION_CREDENTIALS,
            presentation_request(&h, &device, &request_id()).await,
        );
        unauthenticated(&write.high_s().send(&h).await, "high-S write");
        assert_eq!(write.send(&h).await.status, StatusCode::OK);
        // Verifier-signed, and the token inside.
        let mut verifier = VerifierKey::generate();
        let r = h
            .send(
                Request::post(api::paths::ADMIN_VERIFIERS)
                    .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                    .header("content-type", "application/json")
                    .body(Body::from(
                        serde_json::to_vec(&api::VerifierRegistration {
                            name: "Cổng kiểm tra tuổi".into(),
                            public_key: B64(verifier.public_key()),
                            profiles: vec![Profile::AgeOver18.as_str().into()],
                        })
                        .unwrap(),
                    ))
                    .unwrap(),
            )
            .await;
        verifier.verifier_id = r.json::<api::VerifierRegistered>().verifier_id;
        let expires_at = h.app.clock().now() + 50;
        let mut token = Token {
            id: [7; 16],
            profile: Profile::AgeOver18,
            expires_at,
            signature: [0; 64],
        };
        token.signature =
            device.sign_raw(&Token::signing_input(&token.id, token.profile, expires_at));
        assert!(es256::is_low_s(&token.signature));
        // Registered with the citizen's consent, as the wallet does before showing it (ADR 0017).
        let registered = h.register_token(&device, &token.to_text()).await;
        assert_eq!(registered.status, StatusCode::OK, "{}", h.db);
        let redeem = |t: &Token| {
            Captured::verifier(
                &h,
                &verifier,
                api::paths::TOKEN_REDEEM,
                serde_json::to_vec(&TokenRedeem {
                    token: t.to_text(),
                    client_request_id: None,
                })
                .unwrap(),
            )
        };
        let mut twin = token.clone();
        twin.signature = es256::flip_s(&token.signature).unwrap();
        let r = redeem(&twin).send(&h).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
            "high-S token"
        );
        let good = redeem(&token);
        unauthenticated(&good.high_s().send(&h).await, "high-S verifier signature");
        assert_eq!(good.send(&h).await.status, StatusCode::OK, "{}", h.db);
        // The token is single-use: the redemption replayed gets token_used.
        let r = good.send(&h).await;
        assert_eq!(r.error(), ErrorCode::TokenUsed);
    }
}
