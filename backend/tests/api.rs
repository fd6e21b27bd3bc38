//! The API surface: every route documented in the OpenAPI document, error shape, request ids,
//! development-only outbox, and logs without personal data.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use eid_backend::{App, Config, OPENAPI_JSON, ROUTES};
use eid_core::api::{self, ErrorBody, ErrorCode};
use std::sync::{Arc, Mutex};

#[test]
fn every_route_is_in_the_openapi_document_and_back() {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            assert!(
                ROUTES.contains(&(method.as_str(), path.as_str())),
                "{method} {path} is documented but not routed"
            );
        }
    }
}

#[tokio::test]
async fn every_route_is_served_with_a_request_id() {
    for h in harnesses().await {
        for (method, path) in ROUTES {
            let r = h
                .send(
                    Request::builder()
                        .method(method.to_ascii_uppercase().as_str())
                        .uri(*path)
                        .header("content-type", "application/json")
                        .body(Body::from("{}"))
                        .unwrap(),
                )
                .await;
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            if r.status == StatusCode::NOT_FOUND {
                panic!("{method} {path} is not routed");
            }
            assert!(r.headers.contains_key("x-request-id"), "{method} {path}");
            if r.status.is_client_error() {
                let e: ErrorBody = r.json();
                assert_eq!(
                    e.error.request_id,
                    r.headers["x-request-id"].to_str().unwrap()
                );
            }
        }
        // The served document is the checked-in one.
        let r = h.get(api::paths::OPENAPI).await;
        assert_eq!(r.body, OPENAPI_JSON.as_bytes());
        let health: eid_backend::Health = h.get(api::paths::HEALTH).await.json();
        assert_eq!(health.status, "ok");
        // Unknown routes: the error shape, with the caller's plain request id echoed.
        let r = h
            .send(
                Request::get("/v1/citizens/001099012345")
                    .header("x-request-id", "support-42")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.headers["x-request-id"], "support-42");
        let e: ErrorBody = r.json();
        assert_eq!(
            (e.error.code, e.error.request_id.as_str()),
            (ErrorCode::NotFound, "support-42")
        );
        // Malformed bodies.
        let r = h
            .post_raw(api::paths::ACTIVATION_START, b"{not json".to_vec())
            .await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest)
        );
    }
}

#[tokio::test]
async fn the_outbox_exists_only_in_development_mode() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("prod.db").display());
    let kek = || eid_backend::signing::seal::SealKey::new(&[9u8; 32]).unwrap();
    let app = App::open(Config::production(url.clone(), kek(), None))
        .await
        .unwrap();
    let h = Harness::from_app(app, "sqlite");
    let c = citizen(0);
    h.start(&c).await;
    let r = h
        .get(&format!("{}?phone={}", api::paths::DEV_OUTBOX, c.phone))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, ErrorCode::NotFound)
    );
    // Reopening an existing database neither reseeds nor loses anything; the production start
    // left no message (its code went to the SMS sender, not the outbox).
    h.app.state().store.close().await;
    let again = App::open(Config {
        kek: Some(Arc::new(kek())),
        ..Config::development(url)
    })
    .await
    .unwrap();
    let h = Harness::from_app(again, "sqlite");
    assert_eq!(h.outbox(&c.phone).await.messages.len(), 0);
    let activations: i64 = sqlx::query("SELECT COUNT(*) FROM activations")
        .fetch_one(h.app.state().store.pool())
        .await
        .map(|r| sqlx::Row::get(&r, 0))
        .unwrap();
    assert_eq!(activations, 1);
    h.start(&c).await;
    assert_eq!(h.outbox(&c.phone).await.messages.len(), 1);
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_requests_but_no_personal_data() {
    // Global, not per thread: tracing caches per call site whether anyone listens, and tests on
    // other threads would otherwise leave this test's call sites switched off.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    for h in harnesses().await {
        let c = citizen(7);
        let device = h.activate(&c).await;
        h.signed(&device, "GET", api::paths::DOCUMENTS, Vec::new(), &[])
            .await;
        // A refused completion too.
        let started = h.start(&c).await;
        h.complete(
            &started,
            "000000",
            evidence(&c, &started.chip_challenge.0),
            &DeviceKey::new(),
        )
        .await;
        let code = h.code(&c.phone).await;
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("route=/v1/activation/complete"), "{log}");
        assert!(log.contains("status=401"));
        assert!(log.contains("latency_ms="));
        let masked = format!("sms to ***{}: code {code}", &c.phone[7..]);
        assert!(log.contains(&masked), "{log}");
        for secret in [&c.id_number, &c.phone, &c.full_name, &c.mrz_surname] {
            assert!(!log.contains(secret.as_str()), "personal data in the log");
        }
        // Codes appear only on the development outbox line.
        for line in log
            .lines()
            .filter(|l| l.contains("code ") || l.contains("code="))
        {
            assert!(line.contains("sms to ***"), "{line}");
        }
    }
}

#[tokio::test]
async fn serves_over_a_real_listener() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("listen.db").display());
    let app = App::open(Config::development(url)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.serve(listener, async {
            let _ = stopped.await;
        })
        .await
    });
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("x-request-id:"));
    assert!(answer.contains("\"status\":\"ok\""));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// The OpenAPI schemas name exactly the fields the Rust contract serialises.
#[test]
fn openapi_schemas_match_the_contract_types() {
    use eid_core::api::*;
    let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
    let b = || B64(vec![1, 2, 3]);
    let evidence = ChipEvidence {
        sod: b(),
        dg1: b(),
        dg13: b(),
        dg14: Some(b()),
        dg15: Some(b()),
        aa_signature: Some(b()),
    };
    let mut samples: Vec<(&str, serde_json::Value)> = vec![
        (
            "ErrorBody",
            serde_json::to_value(ErrorBody {
                error: ApiError {
                    code: ErrorCode::NotFound,
                    message: "m".into(),
                    request_id: "r".into(),
                },
            })
            .unwrap(),
        ),
        (
            "ApiError",
            serde_json::to_value(ApiError {
                code: ErrorCode::NotFound,
                message: "m".into(),
                request_id: "r".into(),
            })
            .unwrap(),
        ),
        (
            "ActivationStart",
            serde_json::to_value(ActivationStart {
                client_request_id: "c".into(),
                id_number: "001099012345".into(),
                phone: "0912345678".into(),
            })
            .unwrap(),
        ),
        (
            "ActivationStarted",
            serde_json::to_value(ActivationStarted {
                activation_id: "a".into(),
                chip_challenge: b(),
                expires_at: 1,
            })
            .unwrap(),
        ),
        ("ChipEvidence", serde_json::to_value(&evidence).unwrap()),
        (
            "ActivationComplete",
            serde_json::to_value(ActivationComplete {
                client_request_id: "c".into(),
                activation_id: "a".into(),
                sms_code: "123456".into(),
                chip: evidence.clone(),
                device_public_key: b(),
                attestation: Some(vec![b()]),
                consent_registration: Some(b()),
            })
            .unwrap(),
        ),
        (
            "ActivationCompleted",
            serde_json::to_value(ActivationCompleted {
                account_id: "a".into(),
                level: 2,
                account_credential: b(),
                consent_registration: Some(b()),
            })
            .unwrap(),
        ),
        (
            "DocumentsPage",
            serde_json::to_value(DocumentsPage {
                cursor: "1".into(),
                documents: vec![],
                removed: vec![],
            })
            .unwrap(),
        ),
        (
            "SyncedDocument",
            serde_json::to_value(SyncedDocument {
                id: "i".into(),
                kind: "identity".into(),
                credential: b(),
                dependant: Some(eid_core::api::Dependant {
                    id: "0f3c".into(),
                    name: "Nguyễn Minh An".into(),
                    birth_date: "2023-05-01".into(),
                }),
            })
            .unwrap(),
        ),
        (
            "TrustListResponse",
            serde_json::to_value(TrustListResponse {
                version: 1,
                issuers: b(),
                csca: vec![b()],
                iaca: vec![b()],
                rp_ca: vec![b()],
                reader_ca: vec![b()],
            })
            .unwrap(),
        ),
        (
            "StatusListResponse",
            serde_json::to_value(StatusListResponse {
                list: "l".into(),
                signed: b(),
            })
            .unwrap(),
        ),
        (
            "AccountStatus",
            serde_json::to_value(AccountStatus {
                account_id: "a".into(),
                level: 2,
                state: AccountRemoteState::Locked,
            })
            .unwrap(),
        ),
        (
            "AccountLockRequest",
            serde_json::to_value(AccountLockRequest {
                client_request_id: "c".into(),
                consent: Some(proof()),
            })
            .unwrap(),
        ),
        (
            "DevOutbox",
            serde_json::to_value(DevOutbox { messages: vec![] }).unwrap(),
        ),
        (
            "DevSms",
            serde_json::to_value(DevSms {
                phone: "p".into(),
                code: "123456".into(),
                text: "t".into(),
                sent_at: 1,
            })
            .unwrap(),
        ),
        (
            "PresentationCredentialsRequest",
            serde_json::to_value(PresentationCredentialsRequest {
                profile: "airport".into(),
                device_keys: vec![b()],
                client_request_id: "c".into(),
                consent: Some(proof()),
                dependant: Some("0f3c".into()),
            })
            .unwrap(),
        ),
        (
            "PresentationCredentialsIssued",
            serde_json::to_value(PresentationCredentialsIssued {
                credentials: vec![b()],
            })
            .unwrap(),
        ),
        (
            "CredentialBatchRequest",
            serde_json::to_value(CredentialBatchRequest {
                format: "mso_mdoc".into(),
                credential_type: "org.iso.18013.5.1.mDL".into(),
                device_keys: vec![b()],
                client_request_id: "c".into(),
                consent: Some(proof()),
            })
            .unwrap(),
        ),
        (
            "CredentialBatchIssued",
            serde_json::to_value(CredentialBatchIssued {
                format: "mso_mdoc".into(),
                credential_type: "org.iso.18013.5.1.mDL".into(),
                credentials: vec![b()],
            })
            .unwrap(),
        ),
        (
            "TokenRedeem",
            serde_json::to_value(TokenRedeem {
                token: "VNT2:".into(),
                client_request_id: Some("r-1".into()),
            })
            .unwrap(),
        ),
        (
            "TokenRedeemed",
            serde_json::to_value(TokenRedeemed {
                profile: "airport".into(),
                fields: serde_json::json!({}),
                account_level: 2,
                redeemed_at: 1,
            })
            .unwrap(),
        ),
        (
            "VerifierRegistration",
            serde_json::to_value(VerifierRegistration {
                name: "n".into(),
                public_key: b(),
                profiles: vec!["clinic".into()],
            })
            .unwrap(),
        ),
        (
            "VerifierRegistered",
            serde_json::to_value(VerifierRegistered {
                verifier_id: "v".into(),
            })
            .unwrap(),
        ),
    ];
    samples.extend(consent_samples());
    samples.extend(signing_samples());
    samples.extend(hub_samples());
    samples.push((
        "ReaderCertificateRequest",
        serde_json::to_value(ReaderCertificateRequest {
            name: "Quay san bay".into(),
            public_key: b(),
        })
        .unwrap(),
    ));
    samples.push((
        "ReaderCertificateIssued",
        serde_json::to_value(ReaderCertificateIssued {
            certificate: b(),
            reader_ca: b(),
        })
        .unwrap(),
    ));
    // Accommodation notices (docs/adr/0048).
    samples.extend([
        (
            "CheckInRequest",
            serde_json::to_value(CheckInRequest {
                client_request_id: "c".into(),
                presentation: "VN1:...".into(),
                check_in: "2026-12-04".into(),
                check_out: "2026-12-06".into(),
            })
            .unwrap(),
        ),
        (
            "CheckInAnswer",
            serde_json::to_value(CheckInAnswer {
                receipt_id: "LT-1".into(),
                signed: b(),
            })
            .unwrap(),
        ),
        (
            "AccommodationReceipt",
            serde_json::to_value(AccommodationReceipt {
                receipt: "urn:x".into(),
                receipt_id: "LT-1".into(),
                host_id: "VRF-1".into(),
                host_name: "Khách sạn Sen".into(),
                check_in: "2026-12-04".into(),
                check_out: "2026-12-06".into(),
                recorded_at: 1,
                presentation_digest: "00".into(),
            })
            .unwrap(),
        ),
        (
            "AccommodationNotices",
            serde_json::to_value(AccommodationNotices { notices: vec![] }).unwrap(),
        ),
        (
            "AccommodationNotice",
            serde_json::to_value(AccommodationNotice {
                seq: 1,
                signed: b(),
            })
            .unwrap(),
        ),
    ]);
    // Bank eKYC by chip (docs/adr/0054).
    samples.extend([
        (
            "EkycChallenge",
            serde_json::to_value(EkycChallenge {
                challenge_id: "c".into(),
                challenge: b(),
                expires_at: 1,
            })
            .unwrap(),
        ),
        (
            "EkycCheckRequest",
            serde_json::to_value(EkycCheckRequest {
                challenge_id: "c".into(),
                purpose: "ekyc".into(),
                chip: evidence,
            })
            .unwrap(),
        ),
        (
            "EkycCheckResponse",
            serde_json::to_value(EkycCheckResponse { signed: b() }).unwrap(),
        ),
        (
            "EkycResult",
            serde_json::to_value(EkycResult {
                result: "urn:x".into(),
                rp_id: "RP-1".into(),
                purpose: "ekyc".into(),
                challenge_id: "c".into(),
                challenge: b(),
                checked_at: 1,
                genuine: true,
                registry_match: true,
                not_revoked: true,
                fields: serde_json::Map::new(),
            })
            .unwrap(),
        ),
    ]);
    samples.extend(submission_samples());
    for (name, value) in samples {
        let schema = &doc["components"]["schemas"][name];
        let mut documented: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} is not documented"))
            .keys()
            .map(String::as_str)
            .collect();
        let mut actual: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        documented.sort_unstable();
        actual.sort_unstable();
        assert_eq!(documented, actual, "{name}");
        for required in schema["required"].as_array().unwrap() {
            assert!(actual.contains(&required.as_str().unwrap()), "{name}");
        }
    }
    // Every error code is in the enum.
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap();
    for code in [
        ErrorCode::InvalidRequest,
        ErrorCode::WrongCode,
        ErrorCode::CodeExpired,
        ErrorCode::CodeUsed,
        ErrorCode::ChipEvidenceInvalid,
        ErrorCode::Unauthenticated,
        ErrorCode::Revoked,
        ErrorCode::AccountLocked,
        ErrorCode::NotFound,
        ErrorCode::RateLimited,
        ErrorCode::TokenUsed,
        ErrorCode::TokenExpired,
        ErrorCode::NotAllowed,
        ErrorCode::ConsentRequired,
        ErrorCode::Internal,
    ] {
        assert!(
            codes.contains(&serde_json::to_value(code).unwrap()),
            "{code:?}"
        );
    }
}

/// Samples of the citizen submission types (docs/adr/0057) for the schema check.
fn submission_samples() -> Vec<(&'static str, serde_json::Value)> {
    use eid_core::api::*;
    let attachment = SubmissionAttachment {
        media_type: "image/jpeg".into(),
        content: B64(vec![0xFF, 0xD8, 0xFF]),
    };
    let info = SubmissionInfo {
        id: "SUB-1".into(),
        kind: "vaccination".into(),
        authority: "health".into(),
        state: SubmissionState::Rejected,
        reason: Some("r".into()),
        fields: vec!["doses".into()],
        attachments: 1,
        created_at: 1,
        decided_at: Some(2),
    };
    let queued = QueuedSubmission {
        id: "SUB-1".into(),
        kind: "vaccination".into(),
        authority: "health".into(),
        state: SubmissionState::Pending,
        id_number: "001099012345".into(),
        fields: serde_json::json!({"doses": []}),
        attachments: vec![AttachmentInfo {
            media_type: "image/jpeg".into(),
            size: 3,
        }],
        reason: Some("r".into()),
        created_at: 1,
        decided_at: Some(2),
    };
    let v = |x: serde_json::Result<serde_json::Value>| x.unwrap();
    vec![
        (
            "SubmissionRequest",
            v(serde_json::to_value(SubmissionRequest {
                client_request_id: "c".into(),
                kind: "vaccination".into(),
                fields: serde_json::json!({}),
                attachments: vec![attachment.clone()],
                consent: Some(proof()),
            })),
        ),
        ("SubmissionAttachment", v(serde_json::to_value(&attachment))),
        ("SubmissionInfo", v(serde_json::to_value(&info))),
        (
            "SubmissionList",
            v(serde_json::to_value(SubmissionList {
                submissions: vec![info],
            })),
        ),
        ("QueuedSubmission", v(serde_json::to_value(&queued))),
        (
            "AttachmentInfo",
            v(serde_json::to_value(&queued.attachments[0])),
        ),
        (
            "SubmissionQueue",
            v(serde_json::to_value(SubmissionQueue {
                submissions: vec![queued.clone()],
            })),
        ),
        (
            "SubmissionDetail",
            v(serde_json::to_value(SubmissionDetail {
                submission: queued,
                attachments: vec![attachment],
            })),
        ),
        (
            "SubmissionDecision",
            v(serde_json::to_value(SubmissionDecision {
                decision: SubmissionState::Rejected,
                reason: Some("r".into()),
            })),
        ),
        (
            "SubmissionDecided",
            v(serde_json::to_value(SubmissionDecided {
                id: "SUB-1".into(),
                state: SubmissionState::Verified,
                reason: None,
                reissued: 1,
            })),
        ),
    ]
}

fn proof() -> eid_core::api::ConsentProof {
    eid_core::api::ConsentProof {
        consent_id: "c".into(),
        finalization: eid_core::api::B64(vec![1]),
        mac: eid_core::api::B64(vec![2]),
    }
}

/// Samples of the citizen consent types (docs/adr/0017) for the schema check.
fn consent_samples() -> Vec<(&'static str, serde_json::Value)> {
    use eid_core::api::*;
    let b = || B64(vec![1, 2, 3]);
    fn v<T: serde::Serialize>(x: &T) -> serde_json::Value {
        serde_json::to_value(x).unwrap()
    }
    vec![
        ("ConsentProof", v(&proof())),
        (
            "ConsentRegister",
            v(&ConsentRegister {
                client_request_id: "c".into(),
                upload: b(),
                consent: Some(proof()),
            }),
        ),
        ("ConsentRegistered", v(&ConsentRegistered { generation: 1 })),
        (
            "ConsentStart",
            v(&ConsentStart {
                client_request_id: "c".into(),
                credential_request: b(),
                registration_request: Some(b()),
            }),
        ),
        (
            "ConsentStarted",
            v(&ConsentStarted {
                consent_id: "c".into(),
                credential_response: b(),
                attempts_left: 4,
                expires_at: 1,
                registration_response: Some(b()),
            }),
        ),
        (
            "TokenRegistration",
            v(&TokenRegistration {
                client_request_id: "c".into(),
                token: "VNT2:".into(),
                consent: Some(proof()),
            }),
        ),
        ("TokenRegistered", v(&TokenRegistered { expires_at: 1 })),
    ]
}

/// Samples of the remote signing types (issue 6) for the schema check.
fn signing_samples() -> Vec<(&'static str, serde_json::Value)> {
    use eid_core::api::B64;
    use eid_core::signing::*;
    let b = || B64(vec![1, 2, 3]);
    let c = || "c".to_owned();
    let info = CredentialInfo {
        credential_id: c(),
        status: "enabled".into(),
        key_algo: SIGN_ALGO.into(),
        key_len: 256,
        certificates: vec![b()],
        subject: "CN=x".into(),
        valid_from: 1,
        valid_to: 2,
        scal: "2".into(),
        auth_mode: "explicit".into(),
    };
    fn v<T: serde::Serialize>(x: &T) -> serde_json::Value {
        serde_json::to_value(x).unwrap()
    }
    vec![
        (
            "EnrolRequest",
            v(&EnrolRequest {
                client_request_id: c(),
            }),
        ),
        (
            "CredentialsListRequest",
            v(&CredentialsListRequest {
                client_request_id: c(),
            }),
        ),
        (
            "CredentialRef",
            v(&CredentialRef {
                client_request_id: c(),
                credential_id: c(),
            }),
        ),
        (
            "CredentialsList",
            v(&CredentialsList {
                credential_ids: vec![c()],
                credential_infos: vec![info.clone()],
            }),
        ),
        ("CredentialInfo", v(&info)),
        (
            "Challenge",
            v(&Challenge {
                challenge: b(),
                expires_at: 1,
            }),
        ),
        (
            "AuthorizeRequest",
            v(&AuthorizeRequest {
                client_request_id: c(),
                credential_id: c(),
                challenge: b(),
                hashes: vec![b()],
                expires_at: 1,
                device_signature: b(),
                consent: Some(proof()),
            }),
        ),
        (
            "Sad",
            v(&Sad {
                sad: c(),
                expires_in: 1,
            }),
        ),
        (
            "SignHashRequest",
            v(&SignHashRequest {
                client_request_id: c(),
                credential_id: c(),
                sad: c(),
                hashes: vec![b()],
                sign_algo: SIGN_ALGO.into(),
            }),
        ),
        (
            "Signatures",
            v(&Signatures {
                signatures: vec![b()],
            }),
        ),
    ]
}

/// The request patterns of the OpenAPI document are the server's validation: the same sample
/// strings pass or fail both. Fails on b40b263 (no pattern for client_request_id, phone, code).
#[test]
fn openapi_patterns_are_what_the_server_enforces() {
    use eid_backend::input;
    let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let pattern = |schema: &str, field: &str| -> regex_lite::Regex {
        let p = schemas[schema]["properties"][field]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}.{field} has no pattern"));
        regex_lite::Regex::new(p).unwrap()
    };
    let samples = [
        "",
        "0",
        "0912345678",
        "+84912345678",
        "912345678",
        "09123456789",
        "+8491234567",
        "84912345678",
        "+840912345678",
        "001099012345",
        "00109901234",
        "0010990123456",
        "123456",
        "12345",
        "1234567",
        "12345a",
        "req-1_A",
        "a b",
        "ab/c",
        "é",
        "٣٤٥٦٧٨",
    ];
    let long = "a".repeat(64);
    let too_long = "a".repeat(65);
    let phone_ok = |s: &str| input::normalise_phone(s).is_some();
    type Check<'a> = (&'a str, &'a str, &'a dyn Fn(&str) -> bool);
    let checks: [Check<'_>; 3] = [
        ("ActivationStart", "id_number", &input::is_id_number),
        ("ActivationStart", "phone", &phone_ok),
        ("ActivationComplete", "sms_code", &input::is_sms_code),
    ];
    for (schema, field, server) in checks {
        let re = pattern(schema, field);
        for s in samples {
            assert_eq!(re.is_match(s), server(s), "{schema}.{field}: {s:?}");
        }
    }
    // Every client_request_id, in every schema that has one.
    let mut with_id = 0;
    for (name, schema) in schemas {
        if schema["properties"].get("client_request_id").is_none() {
            continue;
        }
        with_id += 1;
        let re = pattern(name, "client_request_id");
        for s in samples
            .iter()
            .copied()
            .chain([long.as_str(), too_long.as_str()])
        {
            assert_eq!(
                re.is_match(s),
                input::is_client_request_id(s),
                "{name}.client_request_id: {s:?}"
            );
        }
    }
    assert!(with_id >= 8, "{with_id}");
}

/// Fails on b40b263: 413 and 405 were plain text (or empty), not the API's error shape.
#[tokio::test]
async fn every_refusal_is_an_error_body() {
    let h = harnesses().await.remove(0);
    let big = vec![b' '; h.app.state().config.limits.max_body_bytes + 1];
    let r = h.post_raw(api::paths::ACTIVATION_START, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.headers["content-type"], "application/json");
    let e: ErrorBody = r.json();
    assert_eq!(e.error.code, ErrorCode::InvalidRequest);
    assert_eq!(
        e.error.request_id,
        r.headers["x-request-id"].to_str().unwrap()
    );
    // A wrong method.
    let r = h.get(api::paths::ACTIVATION_START).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers.contains_key("allow"));
    assert_eq!(r.error(), ErrorCode::InvalidRequest);
    let r = h
        .send(
            Request::delete(api::paths::HEALTH)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.error(), ErrorCode::InvalidRequest);
}

/// The relying-party hub's types (docs/adr/0036).
fn hub_samples() -> Vec<(&'static str, serde_json::Value)> {
    use eid_core::api::*;
    let purpose = RpPurpose {
        name: "login".into(),
        claims: vec![serde_json::json!(["x"])],
    };
    let record = RpRecord {
        id: "RP-1".into(),
        client_id: "x509_san_dns:a.vn".into(),
        legal_name: "A".into(),
        registration_number: "1".into(),
        logo_url: None,
        dns_name: "a.vn".into(),
        response_uris: vec!["https://a.vn/cb".into()],
        purposes: vec![purpose.clone()],
        status: "active".into(),
        created_at: 1,
        access_certificate: B64(vec![1]),
        access_certificate_pem: "p".into(),
    };
    let public = RpPublic {
        client_id: "x509_san_dns:a.vn".into(),
        name: "A".into(),
        registration_number: "1".into(),
        logo_url: Some("https://a.vn/l.png".into()),
        response_uris: vec!["https://a.vn/cb".into()],
        purposes: vec![purpose.clone()],
        intermediary: true,
    };
    let row = MeteringRow {
        client_id: "x509_san_dns:a.vn".into(),
        purpose: "login".into(),
        kind: "login".into(),
        day: "2026-01-01".into(),
        count: 1,
    };
    let v = |x: serde_json::Result<serde_json::Value>| x.unwrap();
    vec![
        ("RpPurpose", v(serde_json::to_value(&purpose))),
        (
            "RpRegistrationRequest",
            v(serde_json::to_value(RpRegistrationRequest {
                legal_name: "A".into(),
                registration_number: "1".into(),
                logo_url: None,
                dns_name: "a.vn".into(),
                response_uris: vec![],
                purposes: vec![],
                public_key_pem: None,
                public_key_jwk: None,
            })),
        ),
        ("RpRecord", v(serde_json::to_value(&record))),
        (
            "RpList",
            v(serde_json::to_value(RpList {
                relying_parties: vec![record],
            })),
        ),
        (
            "RpSuspend",
            v(serde_json::to_value(RpSuspend {
                reason: Some("contract ended".into()),
            })),
        ),
        (
            "RpRegistryResponse",
            v(serde_json::to_value(RpRegistryResponse {
                signed: B64(vec![1]),
            })),
        ),
        ("RpPublic", v(serde_json::to_value(&public))),
        (
            "DisclosureList",
            v(serde_json::to_value(api::DisclosureList {
                disclosures: vec![api::HubDisclosure {
                    id: "d1".into(),
                    at: 1,
                    rp_client_id: "x509_san_dns:a.vn".into(),
                    rp_name: "A".into(),
                    purpose: "ekyc".into(),
                    claims: vec!["given_name".into()],
                    via: "oidc".into(),
                }],
            })),
        ),
        (
            "RpRegistryDocument",
            v(serde_json::to_value(RpRegistryDocument {
                registry: "r".into(),
                issued_at: 1,
                expires_at: 2,
                relying_parties: vec![public],
            })),
        ),
        // The signed kind list (docs/adr/0060).
        (
            "KindListResponse",
            v(serde_json::to_value(KindListResponse {
                signed: B64(vec![1]),
            })),
        ),
        (
            "KindListDocument",
            v(serde_json::to_value(KindListDocument {
                list: eid_core::verify::KIND_LIST_URI.into(),
                issued_at: 1,
                kinds: vec![
                    eid_core::credential::DocumentKind::Residence
                        .declaration()
                        .to_json(),
                ],
            })),
        ),
        (
            "KindDeclaration",
            v(serde_json::to_value(
                eid_core::credential::DocumentKind::Identity.declaration(),
            )),
        ),
        ("MeteringRow", v(serde_json::to_value(&row))),
        (
            "MeteringReport",
            v(serde_json::to_value(MeteringReport {
                from: "2026-01-01".into(),
                to: "2026-01-02".into(),
                rows: vec![row],
            })),
        ),
    ]
}
