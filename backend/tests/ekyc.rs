//! Bank eKYC by chip (issue 16, docs/adr/0054), on SQLite and PostgreSQL: a registered relying
//! party gets a challenge, sends the chip evidence its desk read, and gets a result signed by
//! the police issuer with exactly its purpose's fields; every refusal (tampered file, answer
//! over another challenge, replay, unknown or suspended relying party, purpose not registered)
//! with its code; the chip check metered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use common::{ADMIN_TOKEN, Harness, Reply, citizen, evidence, harnesses};
use eid_core::api::{
    self, ChipEvidence, EkycChallenge, EkycCheckRequest, EkycCheckResponse, EkycResult, ErrorCode,
    MeteringReport, OidcClient, OidcClientRequest, RpPurpose, RpRecord, RpRegistrationRequest,
    paths,
};
use eid_core::credential::TrustList;
use eid_core::verify::{EkycExpected, EkycResultError, check_ekyc_result};
use serde_json::json;

/// A registered bank with an OIDC client secret (its server-to-server credential).
struct Bank {
    record: RpRecord,
    secret: String,
}

async fn admin(h: &Harness, method: &str, path: &str, body: Vec<u8>) -> Reply {
    h.send(
        Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn bank(h: &Harness, dns: &str) -> Bank {
    use p256::pkcs8::EncodePublicKey;
    let key = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
    let req = RpRegistrationRequest {
        legal_name: "Ngân hàng Example".into(),
        registration_number: "0101234567".into(),
        logo_url: None,
        dns_name: dns.into(),
        response_uris: vec![format!("https://{dns}/oid4vp/response")],
        purposes: ["ekyc", "age_check"]
            .iter()
            .map(|n| RpPurpose {
                name: (*n).into(),
                claims: vec![],
            })
            .collect(),
        public_key_pem: Some(
            key.verifying_key()
                .to_public_key_pem(der::pem::LineEnding::LF)
                .unwrap(),
        ),
        public_key_jwk: None,
    };
    let r = admin(
        h,
        "POST",
        paths::ADMIN_RELYING_PARTIES,
        serde_json::to_vec(&req).unwrap(),
    )
    .await;
    r.assert_ok("");
    let record: RpRecord = r.json();
    let r = admin(
        h,
        "POST",
        &paths::ADMIN_RP_OIDC_CLIENT.replace("{id}", &record.id),
        serde_json::to_vec(&OidcClientRequest {
            redirect_uris: vec![format!("https://{dns}/cb")],
        })
        .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let client: OidcClient = r.json();
    assert_eq!(client.client_id, record.id);
    Bank {
        record,
        secret: client.client_secret,
    }
}

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn post(h: &Harness, path: &str, auth: Option<&str>, body: Vec<u8>) -> Reply {
    let mut b = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    h.send(b.body(Body::from(body)).unwrap()).await
}

async fn challenge(h: &Harness, bank: &Bank) -> EkycChallenge {
    let r = post(
        h,
        paths::EKYC_CHALLENGES,
        Some(&basic(&bank.record.id, &bank.secret)),
        vec![],
    )
    .await;
    r.assert_ok("");
    let c: EkycChallenge = r.json();
    assert_eq!(c.challenge.0.len(), 8);
    c
}

async fn check(
    h: &Harness,
    bank: &Bank,
    challenge_id: &str,
    purpose: &str,
    chip: &ChipEvidence,
) -> Reply {
    let req = EkycCheckRequest {
        challenge_id: challenge_id.into(),
        purpose: purpose.into(),
        chip: chip.clone(),
    };
    post(
        h,
        paths::EKYC_CHECKS,
        Some(&basic(&bank.record.id, &bank.secret)),
        serde_json::to_vec(&req).unwrap(),
    )
    .await
}

async fn issuers(h: &Harness) -> TrustList {
    let t: api::TrustListResponse = h.get(paths::TRUST_LIST).await.json();
    TrustList::decode(&t.issuers.0).unwrap()
}

/// A whole check for `purpose` of citizen 0's genuine chip: the verified result.
async fn genuine(h: &Harness, bank: &Bank, purpose: &str) -> EkycResult {
    let c = challenge(h, bank).await;
    let r = check(
        h,
        bank,
        &c.challenge_id,
        purpose,
        &evidence(&citizen(0), &c.challenge.0),
    )
    .await;
    r.assert_ok("");
    let signed = r.json::<EkycCheckResponse>().signed.0;
    let expected = EkycExpected {
        rp_id: &bank.record.id,
        purpose,
        challenge_id: &c.challenge_id,
        challenge: &c.challenge.0,
    };
    let trust = issuers(h).await;
    let now = h.app.clock().now();
    // Bound to this desk's challenge: another challenge is refused.
    let other = EkycExpected {
        challenge: &[0; 8],
        ..expected
    };
    assert_eq!(
        check_ekyc_result(&signed, &trust, now, &other).unwrap_err(),
        EkycResultError::NotOurs
    );
    // A flipped byte breaks the signature.
    let mut tampered = signed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(check_ekyc_result(&tampered, &trust, now, &expected).is_err());
    check_ekyc_result(&signed, &trust, now, &expected).unwrap()
}

#[tokio::test]
async fn a_genuine_chip_gets_a_signed_result_with_exactly_the_purposes_fields() {
    for h in harnesses().await {
        let bank = bank(&h, "bank.example.vn").await;
        let c = citizen(0);

        let ekyc = genuine(&h, &bank, "ekyc").await;
        assert!(
            ekyc.genuine && ekyc.registry_match && ekyc.not_revoked,
            "{}",
            h.db
        );
        assert_eq!(ekyc.rp_id, bank.record.id);
        let mut names: Vec<&str> = ekyc.fields.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "address",
                "age_birth_year",
                "age_equal_or_over",
                "age_in_years",
                "birthdate",
                "family_name",
                "given_name",
                "issuing_authority",
                "issuing_country",
                "nationalities",
                "personal_administrative_number",
            ]
        );
        assert_eq!(
            ekyc.fields["personal_administrative_number"],
            json!(c.id_number)
        );
        assert_eq!(
            ekyc.fields["birthdate"],
            json!(format!(
                "{:04}-{:02}-{:02}",
                c.date_of_birth.year, c.date_of_birth.month, c.date_of_birth.day
            )),
            "{}",
            h.db
        );

        let age = genuine(&h, &bank, "age_check").await;
        assert!(age.genuine && age.registry_match && age.not_revoked);
        let over_18 = ekyc.fields["age_in_years"].as_u64().unwrap() >= 18;
        assert_eq!(
            serde_json::Value::Object(age.fields),
            json!({"age_equal_or_over": {"18": over_18}})
        );
    }
}

#[tokio::test]
async fn a_genuine_card_that_is_not_the_registrys_current_one_gets_no_fields() {
    for h in harnesses().await {
        let bank = bank(&h, "bank.example.vn").await;
        // The citizen's earlier card: signed under the CSCA, the chip's own key, but another
        // address than the registry's current card.
        let mut old = citizen(0);
        old.place_of_residence = "Số 1 Phố Cũ, Hà Nội".into();
        let ch = challenge(&h, &bank).await;
        let r = check(
            &h,
            &bank,
            &ch.challenge_id,
            "ekyc",
            &evidence(&old, &ch.challenge.0),
        )
        .await;
        r.assert_ok("");
        let signed = r.json::<EkycCheckResponse>().signed.0;
        let expected = EkycExpected {
            rp_id: &bank.record.id,
            purpose: "ekyc",
            challenge_id: &ch.challenge_id,
            challenge: &ch.challenge.0,
        };
        let result =
            check_ekyc_result(&signed, &issuers(&h).await, h.app.clock().now(), &expected).unwrap();
        assert!(result.genuine);
        assert!(!result.registry_match && !result.not_revoked);
        assert!(result.fields.is_empty());
    }
}

#[tokio::test]
async fn tampered_files_other_challenges_and_replays_are_refused() {
    for h in harnesses().await {
        let bank = bank(&h, "bank.example.vn").await;
        let c = citizen(1);

        // A tampered DG1: its hash is no longer the SOD's.
        let ch = challenge(&h, &bank).await;
        let mut chip = evidence(&c, &ch.challenge.0);
        let n = chip.dg1.0.len() - 3;
        chip.dg1.0[n] ^= 0x01;
        let r = check(&h, &bank, &ch.challenge_id, "ekyc", &chip).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error(), ErrorCode::ChipEvidenceInvalid);
        // The refused check used the challenge: the genuine evidence cannot follow on it.
        let r = check(
            &h,
            &bank,
            &ch.challenge_id,
            "ekyc",
            &evidence(&c, &ch.challenge.0),
        )
        .await;
        assert_eq!(r.error(), ErrorCode::CodeUsed);

        // The chip's answer over another challenge (one recorded earlier).
        let ch = challenge(&h, &bank).await;
        let r = check(
            &h,
            &bank,
            &ch.challenge_id,
            "ekyc",
            &evidence(&c, b"12345678"),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error(), ErrorCode::ChipEvidenceInvalid);

        // No active authentication at all.
        let ch = challenge(&h, &bank).await;
        let mut chip = evidence(&c, &ch.challenge.0);
        chip.aa_signature = None;
        let r = check(&h, &bank, &ch.challenge_id, "ekyc", &chip).await;
        assert_eq!(r.error(), ErrorCode::ChipEvidenceInvalid);

        // A replay of a whole good check.
        let ch = challenge(&h, &bank).await;
        let chip = evidence(&c, &ch.challenge.0);
        let r = check(&h, &bank, &ch.challenge_id, "ekyc", &chip).await;
        assert_eq!(r.status, StatusCode::OK);
        let r = check(&h, &bank, &ch.challenge_id, "ekyc", &chip).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert_eq!(r.error(), ErrorCode::CodeUsed);

        // A made-up challenge id, and another bank's challenge.
        let r = check(&h, &bank, "00112233445566778899aabbccddeeff", "ekyc", &chip).await;
        assert_eq!(r.error(), ErrorCode::NotFound);
        let other = self::bank(&h, "other-bank.example.vn").await;
        let theirs = challenge(&h, &other).await;
        let chip = evidence(&c, &theirs.challenge.0);
        let r = check(&h, &bank, &theirs.challenge_id, "ekyc", &chip).await;
        assert_eq!(r.error(), ErrorCode::NotFound);
        // Still theirs to use.
        let r = check(&h, &other, &theirs.challenge_id, "ekyc", &chip).await;
        assert_eq!(r.status, StatusCode::OK);

        // An expired challenge.
        let ch = challenge(&h, &bank).await;
        h.app.clock().advance(121);
        let r = check(
            &h,
            &bank,
            &ch.challenge_id,
            "ekyc",
            &evidence(&c, &ch.challenge.0),
        )
        .await;
        assert_eq!(r.status, StatusCode::GONE);
        assert_eq!(r.error(), ErrorCode::CodeExpired);
    }
}

#[tokio::test]
async fn unknown_or_suspended_relying_parties_and_unregistered_purposes_are_refused() {
    for h in harnesses().await {
        let bank = bank(&h, "bank.example.vn").await;
        let c = citizen(2);
        // No credentials, a wrong secret, an unknown client.
        for auth in [
            None,
            Some(basic(&bank.record.id, "not-the-secret")),
            Some(basic("RP-unknown", &bank.secret)),
            Some("Bearer x".to_owned()),
        ] {
            let r = post(&h, paths::EKYC_CHALLENGES, auth.as_deref(), vec![]).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}");
            assert_eq!(r.error(), ErrorCode::Unauthenticated);
            let r = post(&h, paths::EKYC_CHECKS, auth.as_deref(), b"{}".to_vec()).await;
            assert_eq!(r.error(), ErrorCode::Unauthenticated);
        }

        // A purpose the bank did not register: refused before the challenge is used.
        let ch = challenge(&h, &bank).await;
        let chip = evidence(&c, &ch.challenge.0);
        for purpose in ["login", "sim_registration", ""] {
            let r = check(&h, &bank, &ch.challenge_id, purpose, &chip).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{purpose}");
            assert_eq!(r.error(), ErrorCode::NotAllowed);
            assert!(!String::from_utf8_lossy(&r.body).contains(&c.id_number));
        }

        // Suspended: its credentials no longer work, its open challenge with them; once its
        // secret is proven it is told why (docs/adr/0059), a wrong secret learns nothing.
        let r = admin(
            &h,
            "DELETE",
            &paths::ADMIN_RELYING_PARTY.replace("{id}", &bank.record.id),
            vec![],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = check(&h, &bank, &ch.challenge_id, "ekyc", &chip).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.error(), ErrorCode::NotAllowed);
        assert!(String::from_utf8_lossy(&r.body).contains("the relying party is suspended"));
        let r = post(
            &h,
            paths::EKYC_CHALLENGES,
            Some(&basic(&bank.record.id, &bank.secret)),
            vec![],
        )
        .await;
        assert_eq!(r.error(), ErrorCode::NotAllowed);
        let r = post(
            &h,
            paths::EKYC_CHALLENGES,
            Some(&basic(&bank.record.id, "wrong-secret")),
            vec![],
        )
        .await;
        assert_eq!(r.error(), ErrorCode::Unauthenticated);
        assert!(!String::from_utf8_lossy(&r.body).contains("suspended"));
    }
}

#[tokio::test]
async fn every_answered_chip_check_is_metered_per_rp_purpose_and_day() {
    for h in harnesses().await {
        let bank = bank(&h, "bank.example.vn").await;
        for purpose in ["ekyc", "ekyc", "age_check"] {
            genuine(&h, &bank, purpose).await;
        }
        // A refused check is not billed.
        let ch = challenge(&h, &bank).await;
        let r = check(
            &h,
            &bank,
            &ch.challenge_id,
            "ekyc",
            &evidence(&citizen(0), b"other!!!"),
        )
        .await;
        assert_eq!(r.error(), ErrorCode::ChipEvidenceInvalid);

        let r = admin(&h, "GET", paths::ADMIN_METERING, vec![]).await;
        assert_eq!(r.status, StatusCode::OK);
        let report: MeteringReport = r.json();
        let mut rows: Vec<(String, String, u64)> = report
            .rows
            .iter()
            .filter(|r| r.client_id == bank.record.client_id)
            .map(|r| (r.purpose.clone(), r.kind.clone(), r.count))
            .collect();
        rows.sort();
        assert_eq!(
            rows,
            [
                ("age_check".into(), "chip_check".into(), 1),
                ("ekyc".into(), "chip_check".into(), 2),
            ],
            "{}",
            h.db
        );
        // No claim value in the report.
        assert!(!String::from_utf8_lossy(&r.body).contains(&citizen(0).id_number));
    }
}
