//! Citizen consent (docs/adr/0017): the device key alone — a copy of the phone's key file —
//! authorises none of the four remote actions; the passcode is proved to the backend with
//! OPAQUE, counted server-side, bound to one action and its parameters, and used once.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use axum::http::StatusCode;
use common::*;
use eid_core::api::{
    self, AccountRemoteState, AccountStatus, B64, ConsentProof, ErrorCode, consent_action,
};
use eid_core::present::Profile;
use eid_core::signing::{
    AuthorizeRequest, Challenge, CredentialInfo, CredentialRef, EnrolRequest, Sad,
    authorization_input,
};
use p256::ecdsa::signature::Signer;
use std::sync::Arc;

fn refused(r: &Reply, what: &str) {
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, ErrorCode::ConsentRequired),
        "{what}: {}",
        String::from_utf8_lossy(&r.body)
    );
}

async fn lock(h: &Harness, device: &DeviceKey) -> Reply {
    let body = serde_json::to_vec(&api::AccountLockRequest {
        client_request_id: request_id(),
        consent: None,
    })
    .unwrap();
    h.signed(device, "POST", api::paths::ACCOUNT_LOCK, body, &[])
        .await
}

async fn unlock_with(h: &Harness, device: &DeviceKey, proof: Option<ConsentProof>) -> Reply {
    let body = serde_json::to_vec(&api::AccountLockRequest {
        client_request_id: request_id(),
        consent: proof,
    })
    .unwrap();
    h.signed(device, "POST", api::paths::ACCOUNT_UNLOCK, body, &[])
        .await
}

async fn credentials_with(
    h: &Harness,
    device: &DeviceKey,
    keys: &[B64],
    proof: Option<ConsentProof>,
) -> Reply {
    let body = serde_json::to_vec(&api::PresentationCredentialsRequest {
        profile: "full".into(),
        device_keys: keys.to_vec(),
        client_request_id: request_id(),
        consent: proof,
        dependant: None,
    })
    .unwrap();
    h.signed(
        device,
        "POST",
        api::paths::PRESENTATION_CREDENTIALS,
        body,
        &[],
    )
    .await
}

/// A signing authorisation of one hash, device-signed, with `proof`; (reply, digest to consent
/// to for it). The credential is enrolled and a challenge fetched first.
async fn authorize_with(
    h: &Harness,
    device: &DeviceKey,
    signing_key: &p256::ecdsa::SigningKey,
    proof: impl AsyncFnOnce(&[u8]) -> Option<ConsentProof>,
) -> Reply {
    let post = |path: &'static str, body: Vec<u8>| h.signed(device, "POST", path, body, &[]);
    let info: CredentialInfo = post(
        eid_core::signing::paths::ENROL,
        serde_json::to_vec(&EnrolRequest {
            client_request_id: request_id(),
        })
        .unwrap(),
    )
    .await
    .json();
    let challenge: Challenge = post(
        eid_core::signing::paths::CREDENTIALS_CHALLENGE,
        serde_json::to_vec(&CredentialRef {
            client_request_id: request_id(),
            credential_id: info.credential_id.clone(),
        })
        .unwrap(),
    )
    .await
    .json();
    let hashes = vec![vec![7u8; 32]];
    let expires_at = h.app.clock().now() + 60;
    let input = authorization_input(
        &info.credential_id,
        &challenge.challenge.0,
        &hashes,
        expires_at,
    );
    // Low-S, the one encoding the backend accepts (ADR 0020).
    let sig: p256::ecdsa::Signature = signing_key.sign(&input);
    let sig = sig.normalize_s().to_der();
    let body = AuthorizeRequest {
        client_request_id: request_id(),
        credential_id: info.credential_id,
        challenge: challenge.challenge,
        hashes: hashes.into_iter().map(B64).collect(),
        expires_at,
        device_signature: B64(sig.as_bytes().to_vec()),
        consent: proof(&api::signing_authorization_digest(&input)).await,
    };
    post(
        eid_core::signing::paths::CREDENTIALS_AUTHORIZE,
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

/// Fails on b40b263: every one of these device-signed requests succeeded with the key alone.
#[tokio::test]
async fn a_copy_of_the_device_key_without_the_passcode_authorises_none_of_the_four_actions() {
    for h in harnesses().await {
        let c = citizen(1);
        let owner = h.activate(&c).await;
        let thief = owner.copy();
        let key = owner.signing_key();

        // 1. Remote signing.
        let r = authorize_with(&h, &thief, &key, async |_| None).await;
        refused(&r, "signing authorisation without consent");
        // A guess at the passcode gives no proof: the wallet's side cannot finish the login.
        match h
            .try_consent(
                &thief,
                "000000",
                consent_action::SIGNING_AUTHORIZE,
                &[0; 32],
            )
            .await
        {
            Consented::WrongPasscode { attempts_left } => assert_eq!(attempts_left, 4),
            _ => panic!("a wrong passcode must not give a proof"),
        }
        // A made-up proof for a started login does not pass either.
        let (_, started) = h.consent_start(&thief, "000000").await;
        let started: api::ConsentStarted = started.json();
        let forged = ConsentProof {
            consent_id: started.consent_id,
            finalization: B64(vec![0; 64]),
            mac: B64(vec![0; 32]),
        };
        let r = authorize_with(&h, &thief, &key, async |_| Some(forged)).await;
        refused(&r, "signing authorisation with a forged proof");
        // The owner too needs consent; a proof over another authorisation is refused; a proof
        // over exactly this one gets the SAD.
        let r = authorize_with(&h, &owner, &key, async |_| None).await;
        refused(&r, "the owner without consent");
        let other = h
            .consent(&owner, consent_action::SIGNING_AUTHORIZE, &[3; 32])
            .await;
        let r = authorize_with(&h, &owner, &key, async |_| Some(other)).await;
        refused(&r, "a proof over another authorisation");
        let r = authorize_signed(&h, &owner, &key).await;
        r.assert_ok("");
        assert!(!r.json::<Sad>().sad.is_empty());

        // 2. Presentation credentials.
        let keys = vec![B64(DeviceKey::new().public_key())];
        let r = credentials_with(&h, &thief, &keys, None).await;
        refused(&r, "presentation credentials without consent");
        let proof = h
            .consent(
                &owner,
                consent_action::PRESENTATION_CREDENTIALS,
                &api::presentation_credentials_digest("full", &keys),
            )
            .await;
        // A proof for these keys does not issue for the thief's own keys.
        let own = vec![B64(DeviceKey::new().public_key())];
        refused(
            &credentials_with(&h, &thief, &own, Some(proof.clone())).await,
            "a proof for other keys",
        );
        // …and was used up by that attempt.
        refused(
            &credentials_with(&h, &owner, &keys, Some(proof)).await,
            "a used proof",
        );
        let proof = h
            .consent(
                &owner,
                consent_action::PRESENTATION_CREDENTIALS,
                &api::presentation_credentials_digest("full", &keys),
            )
            .await;
        assert_eq!(
            credentials_with(&h, &owner, &keys, Some(proof))
                .await
                .status,
            StatusCode::OK
        );

        // 3. Online tokens: not registered without consent, and unregistered ones do not redeem.
        let t = token(&thief, Profile::Full, h.app.clock().now() + 60);
        refused(
            &h.post_token(&thief, &t, None).await,
            "token registration without consent",
        );
        assert_eq!(h.register_token(&owner, &t).await.status, StatusCode::OK);

        // 4. Account unlock (locking needs no consent: a lost phone must be lockable).
        assert_eq!(lock(&h, &thief).await.status, StatusCode::OK);
        refused(
            &unlock_with(&h, &thief, None).await,
            "unlock without consent",
        );
        let status: AccountStatus = h.unlock(&owner).await.json();
        assert_eq!(status.state, AccountRemoteState::Active);

        // And the thief cannot register a passcode of their own for the device binding.
        let r = h
            .register_consent(&thief, &own_upload("000000"), None)
            .await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::FORBIDDEN, ErrorCode::NotAllowed)
        );
    }
}

/// A well-formed registration upload of `passcode` (made against a setup of the test's own:
/// all a thief can do without the activation's answer).
fn own_upload(passcode: &str) -> Vec<u8> {
    use eid_core::consent::{Suite, SysRng};
    let p = eid_core::account::Passcode::new(passcode).unwrap();
    let setup = opaque_ke::ServerSetup::<Suite>::new(&mut SysRng);
    let (state, request) = eid_core::consent::registration_start(&p).unwrap();
    let response = opaque_ke::ServerRegistration::<Suite>::start(
        &setup,
        opaque_ke::RegistrationRequest::deserialize(&request).unwrap(),
        b"x",
    )
    .unwrap()
    .message
    .serialize()
    .to_vec();
    eid_core::consent::registration_finish(state, &p, &response, KDF).unwrap()
}

/// A signing authorisation with a fresh challenge and the owner's consent over exactly it.
async fn authorize_signed(h: &Harness, owner: &DeviceKey, key: &p256::ecdsa::SigningKey) -> Reply {
    authorize_with(h, owner, key, async |digest: &[u8]| {
        Some(
            h.consent(owner, consent_action::SIGNING_AUTHORIZE, digest)
                .await,
        )
    })
    .await
}

/// Fails on b40b263 (no consent endpoint, no server-side count).
#[tokio::test]
async fn five_wrong_passcodes_lock_remote_consent_with_the_local_backoff() {
    for h in harnesses().await {
        let owner = h.activate(&citizen(2)).await;
        let action = consent_action::PRESENTATION_TOKEN;
        for left in (0..5).rev() {
            match h.try_consent(&owner, "111111", action, &[1; 32]).await {
                Consented::WrongPasscode { attempts_left } => assert_eq!(attempts_left, left),
                _ => panic!("a wrong passcode must be told as such"),
            }
        }
        // Locked: even the right passcode is refused, for a minute.
        let Consented::Refused(r) = h.try_consent(&owner, PASSCODE, action, &[1; 32]).await else {
            panic!("remote consent must be locked after five failures");
        };
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            "{}",
            h.db
        );
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((55..=60).contains(&retry), "retry-after {retry}");
        h.app.clock().advance(61);
        // The sixth failure locks for two minutes.
        assert!(matches!(
            h.try_consent(&owner, "111111", action, &[1; 32]).await,
            Consented::WrongPasscode { attempts_left: 0 }
        ));
        let Consented::Refused(r) = h.try_consent(&owner, PASSCODE, action, &[1; 32]).await else {
            panic!("locked again");
        };
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((115..=120).contains(&retry), "retry-after {retry}");
        h.app.clock().advance(121);
        // Then the right passcode works, and resets the count.
        let t = token(&owner, Profile::AgeOver18, h.app.clock().now() + 60);
        assert_eq!(h.register_token(&owner, &t).await.status, StatusCode::OK);
        match h.try_consent(&owner, "111111", action, &[1; 32]).await {
            Consented::WrongPasscode { attempts_left } => assert_eq!(attempts_left, 4),
            _ => panic!("the count starts again after a success"),
        }
    }
}

/// Fails on b40b263 (no consent proofs at all).
#[tokio::test]
async fn a_proof_is_for_one_action_one_set_of_parameters_and_one_use() {
    for h in harnesses().await {
        let owner = h.activate(&citizen(3)).await;
        let now = h.app.clock().now();
        let t = token(&owner, Profile::Airport, now + 60);
        let other = token(&owner, Profile::Airport, now + 60);
        // For another token.
        let p = h
            .consent(
                &owner,
                consent_action::PRESENTATION_TOKEN,
                &api::token_digest(&t),
            )
            .await;
        refused(
            &h.post_token(&owner, &other, Some(p)).await,
            "proof for another token",
        );
        // For another action over the same parameters.
        let p = h
            .consent(
                &owner,
                consent_action::ACCOUNT_UNLOCK,
                &api::token_digest(&t),
            )
            .await;
        refused(
            &h.post_token(&owner, &t, Some(p)).await,
            "proof for another action",
        );
        // Used once.
        let p = h
            .consent(
                &owner,
                consent_action::PRESENTATION_TOKEN,
                &api::token_digest(&t),
            )
            .await;
        assert_eq!(
            h.post_token(&owner, &t, Some(p.clone())).await.status,
            StatusCode::OK
        );
        refused(&h.post_token(&owner, &t, Some(p)).await, "a used proof");
        // Expired.
        let t = token(&owner, Profile::Airport, now + 200);
        let p = h
            .consent(
                &owner,
                consent_action::PRESENTATION_TOKEN,
                &api::token_digest(&t),
            )
            .await;
        h.app.clock().advance(api::CONSENT_LIFETIME as i64 + 1);
        refused(&h.post_token(&owner, &t, Some(p)).await, "an expired proof");
        // Another device's proof (a second activation revokes the first, so the first one's
        // login is unknown to the new binding).
        let second = h.activate(&citizen(3)).await;
        let p = h
            .consent(
                &second,
                consent_action::PRESENTATION_TOKEN,
                &api::token_digest(&t),
            )
            .await;
        assert_eq!(
            h.post_token(&owner, &t, Some(p)).await.error(),
            ErrorCode::Revoked
        );
    }
}

/// N wrong logins at once count N: on PostgreSQL the counter is one atomic UPDATE on a row
/// that concurrent starts queue on, so exactly five KE2 are answered and the rest are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_logins_are_each_counted() {
    for h in harnesses().await {
        let h = Arc::new(h);
        let owner = Arc::new(h.activate(&citizen(4)).await);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (h, owner) = (h.clone(), owner.clone());
            tasks.spawn(async move { h.consent_start(&owner, "111111").await.1.status });
        }
        let mut answered = 0;
        let mut limited = 0;
        while let Some(status) = tasks.join_next().await {
            match status.unwrap() {
                StatusCode::OK => answered += 1,
                StatusCode::TOO_MANY_REQUESTS => limited += 1,
                other => panic!("{other}"),
            }
        }
        assert_eq!((answered, limited), (5, 15), "{}", h.db);
        let row = sqlx::query("SELECT failures FROM consent_attempts")
            .fetch_one(h.app.state().store.pool())
            .await
            .unwrap();
        assert_eq!(sqlx::Row::try_get::<i64, _>(&row, 0).unwrap(), 5);
    }
}

/// A passcode change needs the old passcode and replaces the record; the old one then fails.
#[tokio::test]
async fn a_passcode_change_needs_the_old_passcode() {
    use eid_core::account::Passcode;
    use eid_core::consent;
    for h in harnesses().await {
        let owner = h.activate(&citizen(5)).await;
        let new = Passcode::new("246802").unwrap();
        let (login, ke1) = consent::login_start(&Passcode::new(PASSCODE).unwrap()).unwrap();
        let (registration, request) = consent::registration_start(&new).unwrap();
        let body = serde_json::to_vec(&api::ConsentStart {
            client_request_id: request_id(),
            credential_request: B64(ke1),
            registration_request: Some(B64(request)),
        })
        .unwrap();
        let started: api::ConsentStarted = h
            .signed(&owner, "POST", api::paths::CONSENT_START, body, &[])
            .await
            .json();
        let done = consent::login_finish(
            login,
            &Passcode::new(PASSCODE).unwrap(),
            &started.consent_id,
            &started.credential_response.0,
            KDF,
        )
        .unwrap();
        let upload = consent::registration_finish(
            registration,
            &new,
            &started.registration_response.unwrap().0,
            KDF,
        )
        .unwrap();
        // Without consent the record is not replaced.
        let r = h.register_consent(&owner, &upload, None).await;
        assert_eq!(r.error(), ErrorCode::NotAllowed);
        let proof = done.proof(
            consent_action::PASSCODE_CHANGE,
            &api::registration_digest(&upload),
        );
        let r = h.register_consent(&owner, &upload, Some(proof)).await;
        r.assert_ok("");
        assert_eq!(r.json::<api::ConsentRegistered>().generation, 2);
        assert!(matches!(
            h.try_consent(&owner, PASSCODE, consent_action::ACCOUNT_UNLOCK, &[0; 32])
                .await,
            Consented::WrongPasscode { .. }
        ));
        assert!(matches!(
            h.try_consent(&owner, "246802", consent_action::ACCOUNT_UNLOCK, &[0; 32])
                .await,
            Consented::Proof(_)
        ));
        // A proof from a login not started for a change cannot replace the record.
        let Consented::Proof(p) = h
            .try_consent(
                &owner,
                "246802",
                consent_action::PASSCODE_CHANGE,
                &api::registration_digest(&upload),
            )
            .await
        else {
            panic!("the new passcode logs in");
        };
        refused(
            &h.register_consent(&owner, &upload, Some(p)).await,
            "a change without a registration in its login",
        );
    }
}

/// A binding activated without a passcode registration cannot consent: the four actions stay
/// refused, and no record can be registered for it later either.
#[tokio::test]
async fn without_a_registration_nothing_is_consented() {
    for h in harnesses().await {
        let c = citizen(6);
        let started = h.start(&c).await;
        let code = h.code(&c.phone).await;
        let mut device = DeviceKey::new();
        let r = h
            .post(
                api::paths::ACTIVATION_COMPLETE,
                &api::ActivationComplete {
                    client_request_id: request_id(),
                    activation_id: started.activation_id.clone(),
                    sms_code: code,
                    chip: evidence(&c, &started.chip_challenge.0),
                    device_public_key: B64(device.public_key()),
                    attestation: None,
                    consent_registration: None,
                },
            )
            .await;
        let done: api::ActivationCompleted = r.json();
        assert_eq!(done.consent_registration, None);
        device.account = done.account_id;
        let (_, r) = h.consent_start(&device, PASSCODE).await;
        refused(&r, "a login without a record");
        let t = token(&device, Profile::AgeOver18, h.app.clock().now() + 60);
        refused(&h.post_token(&device, &t, None).await, "a token");
        // A record of one's own choosing would let the device key log in without the passcode:
        // the activation opened no registration window, so none is accepted.
        let r = h
            .register_consent(&device, &own_upload(PASSCODE), None)
            .await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::FORBIDDEN, ErrorCode::NotAllowed)
        );
    }
}

/// The activation's registration window closes: a record uploaded later is refused.
#[tokio::test]
async fn the_first_record_is_accepted_only_soon_after_activation() {
    for h in harnesses().await {
        let c = citizen(7);
        let started = h.start(&c).await;
        let code = h.code(&c.phone).await;
        let mut device = DeviceKey::new();
        let r = h
            .complete(
                &started,
                &code,
                evidence(&c, &started.chip_challenge.0),
                &device,
            )
            .await;
        let done: api::ActivationCompleted = r.json();
        device.account = done.account_id;
        let upload = device.finish_registration(&done.consent_registration.unwrap().0);
        h.app.clock().advance(301);
        let r = h.register_consent(&device, &upload, None).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::FORBIDDEN, ErrorCode::NotAllowed)
        );
        let (_, r) = h.consent_start(&device, PASSCODE).await;
        refused(&r, "no record");
    }
}
