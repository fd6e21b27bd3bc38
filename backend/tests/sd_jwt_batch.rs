//! Credential batches as SD-JWT VCs (docs/adr/0035): the identity as a PID-like `dc+sd-jwt`, one
//! per fresh device key (`cnf.jwk`), signed by the identity issuer with `x5c` under the trust
//! list's root, every personal claim selectively disclosable with its own salt, each naming its
//! own entry in the JWT Token Status List, which revokes them with the device binding and
//! suspends them with the account. On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use axum::http::StatusCode;
use base64::Engine;
use common::*;
use eid_core::api::{self, B64, CredentialBatchIssued, CredentialBatchRequest, ErrorCode};
use eid_core::credential::{DocumentKind, TrustList};
use eid_core::sdjwt::{
    self, INVALID, Jws, PID_VCT, SUSPENDED, SdJwt, StatusList, StatusReference, Verified,
};
use serde_json::json;
use std::collections::BTreeSet;

const SD_JWT_VC: &str = api::credential_format::SD_JWT_VC;

fn fresh_keys(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|_| DeviceKey::new().public_key()).collect()
}

async fn trust(h: &Harness) -> TrustList {
    let list: api::TrustListResponse = h.get(api::paths::TRUST_LIST).await.json();
    TrustList::decode(&list.issuers.0).unwrap()
}

async fn ask_as(
    h: &Harness,
    device: &DeviceKey,
    format: &str,
    credential_type: &str,
    keys: &[Vec<u8>],
) -> Reply {
    let device_keys: Vec<B64> = keys.iter().cloned().map(B64).collect();
    let consent = match h
        .try_consent(
            device,
            PASSCODE,
            api::consent_action::CREDENTIAL_BATCH,
            &api::credential_batch_digest(format, credential_type, &device_keys),
        )
        .await
    {
        Consented::Proof(p) => Some(p),
        _ => None,
    };
    let body = serde_json::to_vec(&CredentialBatchRequest {
        format: format.into(),
        credential_type: credential_type.into(),
        device_keys,
        client_request_id: request_id(),
        consent,
    })
    .unwrap();
    h.signed(device, "POST", api::paths::CREDENTIAL_BATCHES, body, &[])
        .await
}

async fn ask(h: &Harness, device: &DeviceKey, keys: &[Vec<u8>]) -> Vec<String> {
    let r = ask_as(h, device, SD_JWT_VC, PID_VCT, keys).await;
    assert_eq!(r.status, StatusCode::OK, "{}", h.db);
    let issued: CredentialBatchIssued = r.json();
    assert_eq!(
        (issued.format.as_str(), issued.credential_type.as_str()),
        (SD_JWT_VC, PID_VCT)
    );
    issued
        .credentials
        .into_iter()
        .map(|c| String::from_utf8(c.0).unwrap())
        .collect()
}

/// The end of the last day of the citizen's identity card (Unix seconds).
fn card_end(c: &eid_fixtures::citizens::Citizen, now: u64) -> Option<u64> {
    eid_fixtures::issuers::models_for(c, now)
        .unwrap()
        .iter()
        .find(|d| d.kind() == DocumentKind::Identity)
        .and_then(|d| d.summary().valid_until)
        .map(|d| d.unix_seconds() + 86_400)
}

fn status_uri(h: &Harness) -> String {
    format!(
        "{}{}",
        h.app.state().config.public_url.trim_end_matches('/'),
        api::paths::STATUS_LIST_JWT
    )
}

/// The JWT status list, verified against the trust list, for the URI the credentials name.
async fn jwt_list(h: &Harness, trust: &TrustList) -> StatusList {
    let r = h.get(api::paths::STATUS_LIST_JWT).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/statuslist+jwt");
    let jwt = std::str::from_utf8(&r.body).unwrap();
    assert_eq!(Jws::parse(jwt).unwrap().typ(), Some("statuslist+jwt"));
    sdjwt::verify_status_list_jwt(jwt, &status_uri(h), trust, h.app.clock().now()).unwrap()
}

fn status_of(v: &Verified) -> StatusReference {
    StatusReference::from_claims(&v.claims).unwrap()
}

#[tokio::test]
async fn the_identity_comes_as_single_use_pid_sd_jwt_vcs_under_the_trust_list() {
    for h in harnesses().await {
        let c = citizen(2);
        let device = h.activate(&c).await;
        let trust = trust(&h).await;
        let now = h.app.clock().now();
        let keys = fresh_keys(3);
        let started = std::time::Instant::now();
        let issued = ask(&h, &device, &keys).await;
        let elapsed = started.elapsed();
        assert_eq!(issued.len(), 3);
        eprintln!(
            "{}: 3 PID SD-JWT VCs (consent included) in {elapsed:?}, {} bytes each",
            h.db,
            issued[0].len()
        );
        let mut indexes = BTreeSet::new();
        let mut salts = BTreeSet::new();
        let mut disclosures = 0;
        for (text, key) in issued.iter().zip(&keys) {
            assert!(text.ends_with('~'), "issued form, no KB-JWT");
            let v = sdjwt::verify_pid(text, &trust, now, None).unwrap();
            assert_eq!(v.header["typ"], "dc+sd-jwt");
            assert_eq!(v.header["alg"], "ES256");
            let cl = &v.claims;
            assert_eq!(cl["vct"], PID_VCT);
            assert_eq!(
                cl["cnf"]["jwk"],
                sdjwt::jwk_from_point(key).unwrap(),
                "bound to its own key, in order"
            );
            // 30 days from the start of the UTC day, or the card's end if sooner.
            let iat = cl["iat"].as_u64().unwrap();
            assert_eq!(iat % 86_400, 0);
            let until = card_end(&c, now).map_or(iat + 30 * 86_400, |e| e.min(iat + 30 * 86_400));
            assert_eq!(cl["exp"].as_u64().unwrap(), until);
            let (family, given) = c.full_name.split_once(' ').unwrap();
            assert_eq!(cl["family_name"], family);
            assert_eq!(cl["given_name"], given);
            let b = &c.date_of_birth;
            assert_eq!(
                cl["birthdate"],
                format!("{:04}-{:02}-{:02}", b.year, b.month, b.day)
            );
            assert_eq!(cl["personal_administrative_number"], c.id_number.as_str());
            assert_eq!(cl["nationalities"], json!(["VN"]));
            assert_eq!(
                cl["address"],
                json!({"formatted": c.place_of_residence, "country": "VN"})
            );
            let age = cl["age_in_years"].as_u64().unwrap();
            let over = cl["age_equal_or_over"].as_object().unwrap();
            let names: Vec<&str> = over.keys().map(String::as_str).collect();
            assert_eq!(names, ["16", "18", "21", "65"]);
            for (t, v) in over {
                assert_eq!(v.as_bool(), Some(age >= t.parse::<u64>().unwrap()));
            }
            assert_eq!(cl["age_birth_year"], b.year);
            assert_eq!(cl["issuing_country"], "VN");
            assert_eq!(cl["issuing_authority"], "Bộ Công an");
            let status = status_of(&v);
            assert_eq!(status.uri, status_uri(&h));
            assert!(indexes.insert(status.idx), "status index reused");
            // Nothing personal in the clear: the payload holds digests only.
            let sd = SdJwt::parse(text).unwrap();
            let payload = Jws::parse(&sd.jwt).unwrap().payload;
            let clear: BTreeSet<&str> = payload.keys().map(String::as_str).collect();
            let expected: BTreeSet<&str> = [
                "_sd", "_sd_alg", "cnf", "exp", "iat", "iss", "status", "vct",
            ]
            .into();
            assert_eq!(clear, expected);
            // 11 claims + 3 decoys at the top; 18 disclosures (the parts of address, ages and
            // nationalities on their own).
            assert_eq!(payload["_sd"].as_array().unwrap().len(), 11 + 3);
            assert_eq!(sd.disclosures.len(), 18);
            for d in &sd.disclosures {
                let salt = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(&d.salt)
                    .unwrap();
                assert!(salt.len() >= 16, "128-bit salts");
                salts.insert(d.salt.clone());
            }
            disclosures += sd.disclosures.len();
        }
        assert_eq!(salts.len(), disclosures, "no salt appears twice");
        // Nothing is revoked or suspended yet.
        let list = jwt_list(&h, &trust).await;
        for i in &indexes {
            assert_eq!(list.get(*i), Some(0));
        }
        assert_eq!(list.bits(), 2);
        // Signed in the same pass as the CWT form: the same time, the same entries.
        let r = h.get(api::paths::STATUS_LIST_JWT).await;
        let jwt = Jws::parse(std::str::from_utf8(&r.body).unwrap()).unwrap();
        let t: api::TrustListResponse = h.get(api::paths::TRUST_LIST).await.json();
        let mut iacas = eid_crypto::trust::TrustStore::new();
        iacas.add_der(&t.iaca[0].0).unwrap();
        let cwt = h.get(api::paths::STATUS_LIST_CWT).await;
        let cwt = eid_core::mdoc::verify_status_list_cwt(
            &cwt.body,
            &eid_backend::lists::status_list_cwt_uri(h.app.state()),
            &iacas,
            h.app.clock().now(),
        )
        .unwrap();
        assert_eq!(jwt.payload["iat"].as_u64(), Some(cwt.issued_at));
        assert_eq!(jwt.payload["exp"].as_u64(), cwt.expires_at);
        assert_eq!(jwt.payload["ttl"].as_u64(), cwt.ttl);
        assert_eq!(list, cwt.list);
    }
}

#[tokio::test]
async fn lock_suspends_and_a_new_activation_revokes_the_sd_jwt_vcs() {
    for h in harnesses().await {
        let c = citizen(5);
        let device = h.activate(&c).await;
        let trust = trust(&h).await;
        let now = h.app.clock().now();
        let idx: Vec<u64> = ask(&h, &device, &fresh_keys(2))
            .await
            .iter()
            .map(|t| status_of(&sdjwt::verify_pid(t, &trust, now, None).unwrap()).idx)
            .collect();
        let list = jwt_list(&h, &trust).await;
        assert!(idx.iter().all(|i| list.get(*i) == Some(0)));
        let lock = serde_json::to_vec(&api::AccountLockRequest {
            client_request_id: request_id(),
            consent: None,
        })
        .unwrap();
        let r = h
            .signed(&device, "POST", api::paths::ACCOUNT_LOCK, lock, &[])
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let list = jwt_list(&h, &trust).await;
        assert!(
            idx.iter().all(|i| list.get(*i) == Some(SUSPENDED)),
            "{}",
            h.db
        );
        let r = ask_as(&h, &device, SD_JWT_VC, PID_VCT, &fresh_keys(1)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::LOCKED, ErrorCode::AccountLocked)
        );
        assert_eq!(h.unlock(&device).await.status, StatusCode::OK);
        let list = jwt_list(&h, &trust).await;
        assert!(idx.iter().all(|i| list.get(*i) == Some(0)));
        // The citizen activates another phone: this device and its SD-JWT VCs are revoked.
        let second = h.activate(&c).await;
        let list = jwt_list(&h, &trust).await;
        assert!(
            idx.iter().all(|i| list.get(*i) == Some(INVALID)),
            "{}",
            h.db
        );
        let fresh = ask(&h, &second, &fresh_keys(1)).await;
        let v = sdjwt::verify_pid(&fresh[0], &trust, now, None).unwrap();
        assert_eq!(list.get(status_of(&v).idx), Some(0));
    }
}

#[tokio::test]
async fn sd_jwt_batches_refuse_unknown_types_bad_keys_and_no_consent() {
    for h in harnesses().await {
        let device = h.activate(&citizen(3)).await;
        for (what, format, vct, keys) in [
            ("format", "vc+sd-jwt", PID_VCT, fresh_keys(1)),
            ("vct", SD_JWT_VC, "urn:eudi:pid:1", fresh_keys(1)),
            (
                "a docType",
                SD_JWT_VC,
                eid_core::mdoc::PHOTO_ID_DOCTYPE,
                fresh_keys(1),
            ),
            ("no keys", SD_JWT_VC, PID_VCT, vec![]),
            (
                "too many",
                SD_JWT_VC,
                PID_VCT,
                fresh_keys(api::MAX_PRESENTATION_BATCH + 1),
            ),
            ("not a point", SD_JWT_VC, PID_VCT, vec![vec![4u8; 65]]),
            ("repeated", SD_JWT_VC, PID_VCT, {
                let k = fresh_keys(1);
                vec![k[0].clone(), k[0].clone()]
            }),
        ] {
            let r = ask_as(&h, &device, format, vct, &keys).await;
            assert_eq!(
                (r.status, r.error()),
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
                "{what}"
            );
        }
        // Without the citizen's consent: refused.
        let body = serde_json::to_vec(&CredentialBatchRequest {
            format: SD_JWT_VC.into(),
            credential_type: PID_VCT.into(),
            device_keys: vec![B64(fresh_keys(1).remove(0))],
            client_request_id: request_id(),
            consent: None,
        })
        .unwrap();
        let r = h
            .signed(&device, "POST", api::paths::CREDENTIAL_BATCHES, body, &[])
            .await;
        assert_eq!(r.error(), ErrorCode::ConsentRequired);
        // A consent for other keys does not cover these.
        let keys = fresh_keys(1);
        let other: Vec<B64> = fresh_keys(1).into_iter().map(B64).collect();
        let proof = h
            .consent(
                &device,
                api::consent_action::CREDENTIAL_BATCH,
                &api::credential_batch_digest(SD_JWT_VC, PID_VCT, &other),
            )
            .await;
        let body = serde_json::to_vec(&CredentialBatchRequest {
            format: SD_JWT_VC.into(),
            credential_type: PID_VCT.into(),
            device_keys: keys.into_iter().map(B64).collect(),
            client_request_id: request_id(),
            consent: Some(proof),
        })
        .unwrap();
        let r = h
            .signed(&device, "POST", api::paths::CREDENTIAL_BATCHES, body, &[])
            .await;
        assert_ne!(r.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn no_sd_jwt_vc_outlives_the_identity_card() {
    for h in harnesses().await {
        let now = h.app.clock().now();
        // The citizen whose card ends soonest.
        let (i, end) = (0..8)
            .filter_map(|i| card_end(&citizen(i), now).map(|e| (i, e)))
            .filter(|(_, e)| *e > now + 20 * 86_400)
            .min_by_key(|(_, e)| *e)
            .unwrap();
        let c = citizen(i);
        let device = h.activate(&c).await;
        // Ten days before the card ends: the credentials end with it, not 30 days on.
        h.app
            .clock()
            .advance(i64::try_from(end - 10 * 86_400 - now).unwrap());
        let now = h.app.clock().now();
        let trust = trust(&h).await;
        let issued = ask(&h, &device, &fresh_keys(1)).await;
        let v = sdjwt::verify_pid(&issued[0], &trust, now, None).unwrap();
        assert_eq!(v.claims["exp"].as_u64(), Some(end), "{}", h.db);
        // Past its end: none issued.
        h.app.clock().advance(i64::try_from(end - now).unwrap() + 1);
        let r = ask_as(&h, &device, SD_JWT_VC, PID_VCT, &fresh_keys(1)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            "{}",
            h.db
        );
    }
}
