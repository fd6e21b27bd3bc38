//! QR presentation at the backend: presentation credentials for devices, verifier registration,
//! one-time token redemption, and their status list entries.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use eid_core::api::{
    self, B64, ConsentProof, ErrorCode, PresentationCredentialsIssued,
    PresentationCredentialsRequest, TokenRedeem, TokenRedeemed, VerifierRegistered,
    VerifierRegistration,
};
use eid_core::client::VerifierKey;
use eid_core::credential::TrustList;
use eid_core::present::{self, Profile};
use eid_fixtures::citizens::Citizen;
use std::collections::BTreeSet;

async fn trust(h: &Harness) -> TrustList {
    let list: api::TrustListResponse = h.get(api::paths::TRUST_LIST).await.json();
    TrustList::decode(&list.issuers.0).unwrap()
}

fn request(profile: &str, keys: &[Vec<u8>], id: &str, consent: Option<ConsentProof>) -> Vec<u8> {
    serde_json::to_vec(&PresentationCredentialsRequest {
        profile: profile.into(),
        device_keys: keys.iter().cloned().map(B64).collect(),
        client_request_id: id.into(),
        consent,
        dependant: None,
    })
    .unwrap()
}

/// The citizen's consent to a batch, when the backend gives one (not to a revoked device).
async fn batch_consent(
    h: &Harness,
    device: &DeviceKey,
    profile: &str,
    keys: &[Vec<u8>],
) -> Option<ConsentProof> {
    let keys: Vec<B64> = keys.iter().cloned().map(B64).collect();
    match h
        .try_consent(
            device,
            PASSCODE,
            api::consent_action::PRESENTATION_CREDENTIALS,
            &api::presentation_credentials_digest(profile, &keys),
        )
        .await
    {
        Consented::Proof(p) => Some(p),
        _ => None,
    }
}

async fn ask(h: &Harness, device: &DeviceKey, profile: &str, keys: &[Vec<u8>]) -> Reply {
    let consent = batch_consent(h, device, profile, keys).await;
    let body = request(profile, keys, &request_id(), consent);
    h.signed(
        device,
        "POST",
        api::paths::PRESENTATION_CREDENTIALS,
        body,
        &[],
    )
    .await
}

fn fresh_keys(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|_| DeviceKey::new().public_key()).collect()
}

/// What the profile must disclose for `c`: its fields from the fixtures' document models.
fn expected(c: &Citizen, profile: Profile, now: u64) -> present::Disclosed {
    let docs = eid_fixtures::issuers::models_for(c, now).unwrap();
    profile.extract(&docs, now).unwrap()
}

#[tokio::test]
async fn credentials_of_each_profile_verify_and_carry_exactly_its_fields() {
    for h in harnesses().await {
        let c = citizen(2);
        let device = h.activate(&c).await;
        let trust = trust(&h).await;
        let mut all_indices = BTreeSet::new();
        let mut all_serials = BTreeSet::new();
        for profile in Profile::ALL {
            let keys = fresh_keys(3);
            let r = ask(&h, &device, profile.as_str(), &keys).await;
            assert_eq!(r.status, StatusCode::OK, "{} {profile}", h.db);
            let issued: PresentationCredentialsIssued = r.json();
            assert_eq!(issued.credentials.len(), 3);
            let now = h.app.clock().now();
            for (cred, key) in issued.credentials.iter().zip(&keys) {
                let v = present::verify_presentation_credential(&cred.0, &trust, now)
                    .unwrap_or_else(|e| panic!("{profile}: {e}"));
                assert_eq!(v.profile, profile);
                assert_eq!(&v.device_key, key, "bound to its own key, in order");
                assert_eq!(v.fields, expected(&c, profile, now), "{profile}");
                assert_eq!(v.expires - v.issued_at, 30 * 86_400);
                assert!(all_indices.insert(v.status_index), "status index reused");
                assert!(all_serials.insert(v.serial), "serial reused");
            }
        }
        // The age check discloses one yes/no and nothing else.
        let age = expected(&c, Profile::AgeOver18, h.app.clock().now());
        assert_eq!(age.0.len(), 1);
        // Not the documents' status entries either.
        let page: api::DocumentsPage = h
            .signed(&device, "GET", api::paths::DOCUMENTS, Vec::new(), &[])
            .await
            .json();
        for d in &page.documents {
            let v =
                eid_core::credential::verify(&d.credential.0, &trust, h.app.clock().now()).unwrap();
            assert!(!all_indices.contains(&v.status.index));
        }
    }
}

#[tokio::test]
async fn malformed_requests_are_refused() {
    for h in harnesses().await {
        let device = h.activate(&citizen(3)).await;
        for (what, profile, keys) in [
            ("unknown profile", "bar", fresh_keys(1)),
            ("no keys", "airport", vec![]),
            (
                "too many",
                "airport",
                fresh_keys(api::MAX_PRESENTATION_BATCH + 1),
            ),
            ("not a point", "airport", vec![vec![4u8; 65]]),
            ("repeated", "airport", {
                let k = fresh_keys(1);
                vec![k[0].clone(), k[0].clone()]
            }),
        ] {
            let r = ask(&h, &device, profile, &keys).await;
            assert_eq!(
                (r.status, r.error()),
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
                "{what}"
            );
        }
        let r = ask(
            &h,
            &device,
            "airport",
            &fresh_keys(api::MAX_PRESENTATION_BATCH),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        // Unsigned.
        let r = h
            .post_raw(
                api::paths::PRESENTATION_CREDENTIALS,
                request("airport", &fresh_keys(1), "x", None),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_missing_source_document_is_not_found_and_retries_get_the_first_batch() {
    for h in harnesses().await {
        let c = citizen(4);
        let device = h.activate(&c).await;
        sqlx::query("DELETE FROM registry_records WHERE id_number = $1 AND kind = $2")
            .bind(&c.id_number)
            .bind("driving_licence")
            .execute(h.app.state().store.pool())
            .await
            .unwrap();
        let r = ask(&h, &device, "driving", &fresh_keys(1)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::NOT_FOUND, ErrorCode::NotFound)
        );
        assert!(
            r.json::<api::ErrorBody>()
                .error
                .message
                .contains("driving licence")
        );
        // Idempotent by client_request_id: the same batch, not a second one.
        let keys = fresh_keys(2);
        let consent = batch_consent(&h, &device, "airport", &keys).await;
        let body = request("airport", &keys, &request_id(), consent);
        let path = api::paths::PRESENTATION_CREDENTIALS;
        let first = h.signed(&device, "POST", path, body.clone(), &[]).await;
        let again = h.signed(&device, "POST", path, body, &[]).await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.body, again.body);
        assert_eq!(again.headers["idempotent-replayed"], "true");
    }
}

#[tokio::test]
async fn revocation_and_lock_reach_the_presentation_credentials() {
    for h in harnesses().await {
        let c = citizen(5);
        let device = h.activate(&c).await;
        let trust = trust(&h).await;
        let issued: PresentationCredentialsIssued =
            ask(&h, &device, "full", &fresh_keys(2)).await.json();
        let indices: Vec<u32> = issued
            .credentials
            .iter()
            .map(|b| {
                present::verify_presentation_credential(&b.0, &trust, h.app.clock().now())
                    .unwrap()
                    .status_index
            })
            .collect();
        let (revoked, suspended) = status_bits(&h).await;
        assert!(
            indices
                .iter()
                .all(|i| !bit(&revoked, *i) && !bit(&suspended, *i))
        );
        // Locked: suspended, and no new credentials.
        let lock = serde_json::to_vec(&api::AccountLockRequest {
            client_request_id: request_id(),
            consent: None,
        })
        .unwrap();
        let r = h
            .signed(&device, "POST", api::paths::ACCOUNT_LOCK, lock, &[])
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let (revoked, suspended) = status_bits(&h).await;
        assert!(
            indices
                .iter()
                .all(|i| !bit(&revoked, *i) && bit(&suspended, *i)),
            "{}",
            h.db
        );
        let r = ask(&h, &device, "full", &fresh_keys(1)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::LOCKED, ErrorCode::AccountLocked)
        );
        let r = h.unlock(&device).await;
        assert_eq!(r.status, StatusCode::OK);
        // A second activation of the citizen revokes the first device and its credentials.
        let second = h.activate(&c).await;
        let (revoked, suspended) = status_bits(&h).await;
        assert!(
            indices
                .iter()
                .all(|i| bit(&revoked, *i) && !bit(&suspended, *i)),
            "{}",
            h.db
        );
        let r = ask(&h, &device, "full", &fresh_keys(1)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::FORBIDDEN, ErrorCode::Revoked)
        );
        // The new device's are not.
        let fresh: PresentationCredentialsIssued =
            ask(&h, &second, "full", &fresh_keys(1)).await.json();
        let index = present::verify_presentation_credential(
            &fresh.credentials[0].0,
            &trust,
            h.app.clock().now(),
        )
        .unwrap()
        .status_index;
        let (revoked, _) = status_bits(&h).await;
        assert!(!bit(&revoked, index));
    }
}

#[tokio::test]
async fn the_admin_endpoint_wants_the_admin_token() {
    for h in harnesses().await {
        let body = serde_json::to_vec(&VerifierRegistration {
            name: "Phòng khám".into(),
            public_key: B64(VerifierKey::generate().public_key()),
            profiles: vec!["clinic".into()],
        })
        .unwrap();
        for auth in [
            None,
            Some("Bearer wrong"),
            Some("test-admin-token"),
            Some("Bearer "),
        ] {
            let mut req = Request::post(api::paths::ADMIN_VERIFIERS);
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = h.send(req.body(Body::from(body.clone())).unwrap()).await;
            assert_eq!(
                (r.status, r.error()),
                (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
                "{auth:?}"
            );
        }
        let admin = |body: Vec<u8>| {
            Request::post(api::paths::ADMIN_VERIFIERS)
                .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                .body(Body::from(body))
                .unwrap()
        };
        assert_eq!(h.send(admin(body)).await.status, StatusCode::OK);
        for bad in [
            VerifierRegistration {
                name: "x".into(),
                public_key: B64(vec![1, 2, 3]),
                profiles: vec!["clinic".into()],
            },
            VerifierRegistration {
                name: "x".into(),
                public_key: B64(VerifierKey::generate().public_key()),
                profiles: vec!["everything".into()],
            },
            VerifierRegistration {
                name: "x".into(),
                public_key: B64(VerifierKey::generate().public_key()),
                profiles: vec![],
            },
            VerifierRegistration {
                name: " ".into(),
                public_key: B64(VerifierKey::generate().public_key()),
                profiles: vec!["clinic".into()],
            },
        ] {
            let r = h.send(admin(serde_json::to_vec(&bad).unwrap())).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
        }
    }
    // A backend without an admin token has no admin.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("noadmin.db").display());
    let app = eid_backend::App::open(eid_backend::Config::development(url))
        .await
        .unwrap();
    let h = Harness::from_app(app, "sqlite");
    let r = h
        .send(
            Request::post(api::paths::ADMIN_VERIFIERS)
                .header("authorization", "Bearer ")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tokens_of_each_profile_are_redeemed_once() {
    for h in harnesses().await {
        let c = citizen(6);
        let device = h.activate(&c).await;
        let verifier = register_verifier(&h, &Profile::ALL).await;
        for profile in Profile::ALL {
            let now = h.app.clock().now();
            let t = h.registered_token(&device, profile, now + 60).await;
            let r = redeem(&h, &verifier, &t).await;
            assert_eq!(r.status, StatusCode::OK, "{} {profile}", h.db);
            let redeemed: TokenRedeemed = r.json();
            assert_eq!(redeemed.profile, profile.as_str());
            assert_eq!(
                redeemed.fields,
                expected(&c, profile, now).to_json(),
                "{profile}"
            );
            assert_eq!(redeemed.account_level, 2);
            assert!(redeemed.redeemed_at.abs_diff(now) <= 1);
            let again = redeem(&h, &verifier, &t).await;
            assert_eq!(
                (again.status, again.error()),
                (StatusCode::CONFLICT, ErrorCode::TokenUsed),
                "{profile}"
            );
        }
        // Another verifier cannot redeem it either.
        let t = h
            .registered_token(&device, Profile::Airport, h.app.clock().now() + 60)
            .await;
        assert_eq!(redeem(&h, &verifier, &t).await.status, StatusCode::OK);
        let other = register_verifier(&h, &[Profile::Airport]).await;
        assert_eq!(redeem(&h, &other, &t).await.error(), ErrorCode::TokenUsed);
    }
}

/// A desk whose redemption answer was lost asks again with the same client_request_id and
/// gets the same fields and time; nobody else does (docs/adr/0045).
#[tokio::test]
async fn a_lost_redemption_answer_is_given_again_to_its_desk_only() {
    for h in harnesses().await {
        let c = citizen(7);
        let device = h.activate(&c).await;
        let desk = register_verifier(&h, &[Profile::Airport]).await;
        let other = register_verifier(&h, &[Profile::Airport]).await;
        let now = h.app.clock().now();
        let t = h
            .registered_token(&device, Profile::Airport, now + 60)
            .await;
        let send =
            |v: &VerifierKey, id: Option<&str>| h.send(redeem_request_with_id(v, &t, now, id));
        let first = send(&desk, Some("desk-try-1")).await;
        assert_eq!(first.status, StatusCode::OK, "{}", h.db);
        let first: TokenRedeemed = first.json();
        let again = send(&desk, Some("desk-try-1")).await;
        assert_eq!(again.status, StatusCode::OK, "{}", h.db);
        assert_eq!(again.json::<TokenRedeemed>(), first, "{}", h.db);
        // Another redemption by the same desk, one without an id, another desk with the id.
        for (v, id) in [
            (&desk, Some("desk-try-2")),
            (&desk, None),
            (&other, Some("desk-try-1")),
        ] {
            let r = send(v, id).await;
            assert_eq!(
                (r.status, r.error()),
                (StatusCode::CONFLICT, ErrorCode::TokenUsed),
                "{} {id:?}",
                h.db
            );
        }
        // Redeemed without an id: nothing is given twice.
        let t2 = h
            .registered_token(&device, Profile::Airport, now + 60)
            .await;
        assert_eq!(redeem(&h, &desk, &t2).await.status, StatusCode::OK);
        let r = h.send(redeem_request_with_id(&desk, &t2, now, None)).await;
        assert_eq!(r.error(), ErrorCode::TokenUsed, "{}", h.db);
        // A malformed id is refused before anything is redeemed.
        let t3 = h
            .registered_token(&device, Profile::Airport, now + 60)
            .await;
        let r = h
            .send(redeem_request_with_id(&desk, &t3, now, Some("no spaces")))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", h.db);
        assert_eq!(redeem(&h, &desk, &t3).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn expired_forged_and_unauthorised_redemptions_are_refused() {
    for h in harnesses().await {
        let c = citizen(7);
        let device = h.activate(&c).await;
        let verifier = register_verifier(&h, &[Profile::Airport, Profile::AgeOver18]).await;
        let now = h.app.clock().now();
        let check = |r: Reply, status: StatusCode, code: ErrorCode, what: &str| {
            assert_eq!((r.status, r.error()), (status, code), "{what} {}", h.db);
        };
        let t = token(&device, Profile::Airport, now);
        check(
            redeem(&h, &verifier, &t).await,
            StatusCode::GONE,
            ErrorCode::TokenExpired,
            "expired",
        );
        let t = token(&device, Profile::Airport, now + 60 + 300 + 1);
        check(
            redeem(&h, &verifier, &t).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "living too long",
        );
        let mut forger = DeviceKey::new();
        forger.account = device.account.clone();
        let t = token(&forger, Profile::Airport, now + 60);
        check(
            redeem(&h, &verifier, &t).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "wrong device key",
        );
        // A forger's token under the id of a registered one (seen on a citizen's screen): the
        // registration binds the whole token, so it is not that registration's.
        let registered = h
            .registered_token(&device, Profile::Airport, now + 60)
            .await;
        let present::QrPayload::Token(mut forged) = present::QrPayload::parse(&registered).unwrap()
        else {
            panic!("not a token")
        };
        forged.signature = forger.sign_raw(&present::Token::signing_input(
            &forged.id,
            forged.profile,
            forged.expires_at,
        ));
        check(
            redeem(&h, &verifier, &forged.to_text()).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "forged under a registered id",
        );
        // Nor can another token take a registered id (even the same device's): the id is taken.
        let mut other = forged.clone();
        other.profile = Profile::AgeOver18;
        other.signature = device.sign_raw(&present::Token::signing_input(
            &other.id,
            other.profile,
            other.expires_at,
        ));
        let r = h.register_token(&device, &other.to_text()).await;
        check(
            r,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "another token under a registered id",
        );
        // The same registration again is fine (a retry).
        assert_eq!(
            h.register_token(&device, &registered).await.status,
            StatusCode::OK
        );
        forger.account = "VNEID-0000".into();
        let t = token(&forger, Profile::Airport, now + 60);
        check(
            redeem(&h, &verifier, &t).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "unknown account",
        );
        check(
            redeem(&h, &verifier, "VN1:ABC").await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "not a token",
        );
        let t = token(&device, Profile::Clinic, now + 60);
        check(
            redeem(&h, &verifier, &t).await,
            StatusCode::FORBIDDEN,
            ErrorCode::NotAllowed,
            "profile not allowed",
        );
        // Verifier authentication.
        let t = h
            .registered_token(&device, Profile::Airport, now + 60)
            .await;
        let mut unknown = VerifierKey::generate();
        unknown.verifier_id = "VRF-0000".into();
        check(
            redeem(&h, &unknown, &t).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "unknown verifier",
        );
        let mut impostor = VerifierKey::generate();
        impostor.verifier_id = verifier.verifier_id.clone();
        check(
            redeem(&h, &impostor, &t).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "wrong verifier key",
        );
        check(
            redeem_at(&h, &verifier, &t, now - 301).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "stale verifier signature",
        );
        let r = h
            .post(
                api::paths::TOKEN_REDEEM,
                &TokenRedeem {
                    token: t.clone(),
                    client_request_id: None,
                },
            )
            .await;
        check(
            r,
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "unsigned",
        );
        // None of these used the token up.
        assert_eq!(redeem(&h, &verifier, &t).await.status, StatusCode::OK);

        // Locked account: refused (a token registered before the lock).
        let t = h
            .registered_token(&device, Profile::AgeOver18, now + 60)
            .await;
        let lock = serde_json::to_vec(&api::AccountLockRequest {
            client_request_id: request_id(),
            consent: None,
        })
        .unwrap();
        h.signed(&device, "POST", api::paths::ACCOUNT_LOCK, lock, &[])
            .await;
        check(
            redeem(&h, &verifier, &t).await,
            StatusCode::LOCKED,
            ErrorCode::AccountLocked,
            "locked",
        );
        // A new device: the old one's tokens no longer verify, the new one's do.
        let second = h.activate(&c).await;
        check(
            redeem(&h, &verifier, &t).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "revoked device",
        );
        let t = h
            .registered_token(&second, Profile::AgeOver18, now + 60)
            .await;
        let r = redeem(&h, &verifier, &t).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.json::<TokenRedeemed>().fields["age_over_18"],
            serde_json::json!(true)
        );

        // Pruned once expired, not before.
        let count = || async {
            let row = sqlx::query("SELECT COUNT(*) FROM redeemed_tokens")
                .fetch_one(h.app.state().store.pool())
                .await
                .unwrap();
            sqlx::Row::try_get::<i64, _>(&row, 0).unwrap()
        };
        h.app.prune().await.unwrap();
        assert_eq!(count().await, 2);
        h.app.clock().advance(60 + 300 + 1);
        h.app.prune().await.unwrap();
        assert_eq!(count().await, 0);
        check(
            redeem(&h, &verifier, &t).await,
            StatusCode::GONE,
            ErrorCode::TokenExpired,
            "pruned and expired",
        );
    }
}

/// What a verifier sees of one offline presentation, field by field, as comparable bytes.
fn visible_fields(qr: &str) -> Vec<(&'static str, Vec<u8>)> {
    use coset::{AsCborValue, CborSerializable};
    let present::QrPayload::Offline(p) = present::QrPayload::parse(qr).unwrap() else {
        panic!("not an offline presentation")
    };
    let sign1 = coset::CoseSign1::from_slice(&p.credential).unwrap();
    let payload: ciborium::Value =
        ciborium::from_reader(sign1.payload.as_deref().unwrap()).unwrap();
    let mut fields = vec![
        (
            "protected header (alg, kid)",
            sign1.protected.clone().to_vec().unwrap(),
        ),
        (
            "unprotected header",
            sign1
                .unprotected
                .clone()
                .to_cbor_value()
                .map(|v| {
                    let mut b = Vec::new();
                    ciborium::into_writer(&v, &mut b).unwrap();
                    b
                })
                .unwrap(),
        ),
        ("issuer signature", sign1.signature),
        (
            "presentation created_at",
            p.created_at.to_be_bytes().to_vec(),
        ),
        ("presentation nonce", p.nonce.clone().unwrap_or_default()),
        ("device signature", p.signature.to_vec()),
    ];
    let names = [
        "profile",
        "serial",
        "issued_at",
        "expires",
        "device key",
        "status index",
        "disclosed fields",
    ];
    let entries = payload.as_map().unwrap();
    assert_eq!(
        entries.len(),
        names.len(),
        "a claim nobody checks for linkability"
    );
    for (i, name) in names.iter().enumerate() {
        let (k, v) = &entries[i];
        assert_eq!(k.as_integer(), Some((i as u8 + 1).into()), "claim order");
        let mut b = Vec::new();
        ciborium::into_writer(v, &mut b).unwrap();
        fields.push((*name, b));
    }
    fields
}

/// Issue 12, finding 5: many presentations of several citizens, decoded as a verifier decodes
/// them; no field but the disclosed ones groups them by citizen, and the status indexes carry
/// no order or adjacency.
#[tokio::test]
async fn a_verifier_cannot_group_presentations_by_citizen() {
    use std::collections::BTreeMap;
    const CITIZENS: usize = 4;
    const BATCHES: usize = 3;
    const BATCH: usize = 8;
    for h in harnesses().await {
        // Start an hour into a UTC day, so the run (under an hour of backend time) stays in it.
        let now = h.app.clock().now();
        h.app
            .clock()
            .advance((now - now % 86_400 + 86_400 + 3_600 - now) as i64);
        let trust = trust(&h).await;
        let mut devices = Vec::new();
        for i in 0..CITIZENS {
            devices.push(h.activate(&citizen(i + 1)).await);
        }
        // (citizen, batch, qr text, status index)
        let mut seen: Vec<(usize, usize, String, u32)> = Vec::new();
        for batch in 0..BATCHES {
            for (who, device) in devices.iter().enumerate() {
                let keys: Vec<DeviceKey> = (0..BATCH).map(|_| DeviceKey::new()).collect();
                let publics: Vec<Vec<u8>> = keys.iter().map(DeviceKey::public_key).collect();
                let r = ask(&h, device, Profile::AgeOver18.as_str(), &publics).await;
                assert_eq!(r.status, StatusCode::OK, "{}", h.db);
                let issued: PresentationCredentialsIssued = r.json();
                for (cred, key) in issued.credentials.iter().zip(&keys) {
                    // Each presented a little later, as a wallet would at a desk.
                    h.app.clock().advance(7);
                    let created_at = h.app.clock().now();
                    let input = present::Presentation::signing_input(&cred.0, created_at, None);
                    let qr = present::Presentation {
                        credential: cred.0.clone(),
                        created_at,
                        nonce: None,
                        signature: key.sign_raw(&input),
                    }
                    .to_text();
                    let v = present::verify_presentation_credential(&cred.0, &trust, created_at)
                        .unwrap();
                    seen.push((who, batch, qr, v.status_index));
                }
                h.app.clock().advance(41);
            }
        }
        let n = seen.len();
        // Every visible field: one value for all, or one value per presentation.
        let decoded: Vec<_> = seen
            .iter()
            .map(|(_, _, qr, _)| visible_fields(qr))
            .collect();
        for f in 0..decoded[0].len() {
            let name = decoded[0][f].0;
            if name == "disclosed fields" {
                continue;
            }
            let mut groups: BTreeMap<&[u8], BTreeSet<usize>> = BTreeMap::new();
            for (i, fields) in decoded.iter().enumerate() {
                groups.entry(&fields[f].1).or_default().insert(seen[i].0);
            }
            assert!(
                groups.len() == 1 || groups.len() == n,
                "{}: {name} splits {n} presentations of {CITIZENS} citizens into {} groups",
                h.db,
                groups.len()
            );
        }
        // No adjacency: the indexes of a batch are not neighbours. A counter would make all
        // 7 neighbour pairs of each of the 12 batches lie within 2 of each other (84 pairs);
        // uniform draws from 131,072 indexes do so by chance about once in 100 runs (expected
        // 0.01 pairs), twice about once in 20,000, so at most one such pair is allowed ...
        let mut close_pairs = Vec::new();
        for batch in 0..BATCHES {
            for who in 0..CITIZENS {
                let mut idx: Vec<u32> = seen
                    .iter()
                    .filter(|s| s.0 == who && s.1 == batch)
                    .map(|s| s.3)
                    .collect();
                idx.sort_unstable();
                close_pairs.extend(
                    idx.windows(2)
                        .filter(|w| w[1] - w[0] <= 2)
                        .map(|w| (w[0], w[1])),
                );
            }
        }
        assert!(
            close_pairs.len() <= 1,
            "{}: batches' status indexes lie together: {close_pairs:?}",
            h.db
        );
        // ... and in index order the citizens are mixed: a neighbour is the same citizen about
        // as often as chance says (23 of 95), far from the 7 in 8 of consecutive batches.
        let mut by_index: Vec<&(usize, usize, String, u32)> = seen.iter().collect();
        by_index.sort_by_key(|s| s.3);
        let same = by_index.windows(2).filter(|w| w[0].0 == w[1].0).count();
        assert!(
            same * 2 < n - 1,
            "{}: {same} of {} index neighbours belong to one citizen",
            h.db,
            n - 1
        );
    }
}

/// Issue 12: a verifier's name (shown to citizens) is kept in NFC, and one with a
/// bidirectional control or a zero-width character is refused (b40b263 took them).
#[tokio::test]
async fn verifier_names_are_nfc_without_invisible_characters() {
    for h in harnesses().await {
        let post = |name: String| {
            let key = VerifierKey::generate();
            Request::post(api::paths::ADMIN_VERIFIERS)
                .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                .header("content-type", "application/json")
                .body(Body::from(
                    serde_json::to_vec(&VerifierRegistration {
                        name,
                        public_key: B64(key.public_key()),
                        profiles: vec!["airport".into()],
                    })
                    .unwrap(),
                ))
                .unwrap()
        };
        let r = h
            .send(post(
                "Be\u{302}\u{323}nh vie\u{302}\u{323}n Ba\u{323}ch Mai".into(),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let id = r.json::<VerifierRegistered>().verifier_id;
        use sqlx::Row;
        let name: String = sqlx::query("SELECT name FROM verifiers WHERE id = $1")
            .bind(&id)
            .fetch_one(h.app.state().store.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(name, "Bệnh viện Bạch Mai");
        for c in [
            '\u{202E}', '\u{2066}', '\u{200E}', '\u{061C}', '\u{200B}', '\u{200D}', '\u{FEFF}',
            '\u{2060}',
        ] {
            let r = h.send(post(format!("Bệnh viện{c} Bạch Mai"))).await;
            assert_eq!(
                (r.status, r.error()),
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
                "{c:?}"
            );
        }
    }
}

/// What a verifier sees of one online token: the text's prefix and each element of the CBOR
/// array under it, as comparable bytes (decoded generically, whatever the token's version).
fn visible_token_fields(qr: &str) -> Vec<Vec<u8>> {
    let (prefix, body) = qr.split_once(':').unwrap();
    let bytes = base45::decode(body).unwrap();
    let value: ciborium::Value = ciborium::from_reader(bytes.as_slice()).unwrap();
    let mut fields = vec![prefix.as_bytes().to_vec()];
    for v in value.as_array().unwrap() {
        let mut b = Vec::new();
        ciborium::into_writer(v, &mut b).unwrap();
        fields.push(b);
    }
    fields
}

/// Issue 12, finding 5: online tokens of several citizens, made and registered as a wallet does
/// and decoded as a verifier decodes them. Each field is one value for all tokens or one value
/// per token, so nothing in them groups a citizen's tokens (b40b263's tokens named the account);
/// the backend still finds whose each is and redeems it once.
#[tokio::test]
async fn a_verifier_cannot_group_online_tokens_by_citizen() {
    use std::collections::BTreeMap;
    const CITIZENS: usize = 3;
    const TOKENS: usize = 4;
    for h in harnesses().await {
        let verifier = register_verifier(&h, &[Profile::AgeOver18]).await;
        let mut devices = Vec::new();
        for i in 0..CITIZENS {
            devices.push((citizen(i + 1), h.activate(&citizen(i + 1)).await));
        }
        // (citizen, qr text)
        let mut seen: Vec<(usize, String)> = Vec::new();
        for _ in 0..TOKENS {
            for (who, (c, device)) in devices.iter().enumerate() {
                // Each shown a little later, as a wallet would at a desk.
                h.app.clock().advance(7);
                let now = h.app.clock().now();
                let qr = h
                    .registered_token(device, Profile::AgeOver18, now + 60)
                    .await;
                // The backend finds the citizen from the registration alone.
                let r = redeem(&h, &verifier, &qr).await;
                assert_eq!(r.status, StatusCode::OK, "{}", h.db);
                let redeemed: TokenRedeemed = r.json();
                assert_eq!(
                    redeemed.fields,
                    expected(c, Profile::AgeOver18, now).to_json()
                );
                assert_eq!(redeemed.account_level, 2);
                assert_eq!(
                    redeem(&h, &verifier, &qr).await.error(),
                    ErrorCode::TokenUsed
                );
                seen.push((who, qr));
            }
        }
        let n = seen.len();
        let decoded: Vec<_> = seen
            .iter()
            .map(|(_, qr)| visible_token_fields(qr))
            .collect();
        assert!(decoded.iter().all(|d| d.len() == decoded[0].len()));
        for f in 0..decoded[0].len() {
            let mut groups: BTreeMap<&[u8], BTreeSet<usize>> = BTreeMap::new();
            for (i, fields) in decoded.iter().enumerate() {
                groups.entry(&fields[f]).or_default().insert(seen[i].0);
            }
            assert!(
                groups.len() == 1 || groups.len() == n,
                "{}: token field {f} splits {n} tokens of {CITIZENS} citizens into {} groups",
                h.db,
                groups.len()
            );
        }
    }
}
