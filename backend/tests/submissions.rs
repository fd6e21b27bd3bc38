//! Citizen-entered data (issue 18, docs/adr/0057), on SQLite and PostgreSQL: a citizen's
//! submission is checked by the kind's declaration (a refusal names the field and the rule),
//! attachments are bounded, sealed at rest and checked against their media type, a retry with
//! the same key is the same submission, each submission goes to the queue of the authority its
//! kind names, the clerk verifies (the record is merged and the held credential re-issued by
//! the kind's issuer, delivered at the next sync) or rejects with a reason the citizen sees, a
//! decision is taken once, and another citizen sees nothing of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{ADMIN_TOKEN, DeviceKey, Harness, Reply, citizen, harnesses_with};
use eid_core::api::{
    B64, DocumentsPage, ErrorBody, ErrorCode, MAX_ATTACHMENT_BYTES, SubmissionAttachment,
    SubmissionDecided, SubmissionDetail, SubmissionInfo, SubmissionList, SubmissionQueue,
    SubmissionRequest, SubmissionState, TrustListResponse, consent_action, paths,
    submission_digest,
};
use eid_core::credential::{Date, DocumentKind, TrustList, VerifiedCredential};
use serde_json::json;
use sqlx::Row;

/// The health and police authorities' own clerk tokens.
const HEALTH_TOKEN: &str = "test-health-clerk-token";
const POLICE_TOKEN: &str = "test-police-clerk-token";

fn jpeg(len: usize) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.resize(len, 0x42);
    b
}

fn draft(
    key: &str,
    kind: &str,
    fields: serde_json::Value,
    files: Vec<(&str, Vec<u8>)>,
) -> SubmissionRequest {
    SubmissionRequest {
        client_request_id: key.to_owned(),
        kind: kind.to_owned(),
        fields,
        attachments: files
            .into_iter()
            .map(|(t, b)| SubmissionAttachment {
                media_type: t.to_owned(),
                content: B64(b),
            })
            .collect(),
        consent: None,
    }
}

/// The body of `r` without the citizen's consent.
fn bare(r: &SubmissionRequest) -> Vec<u8> {
    serde_json::to_vec(r).unwrap()
}

/// The body of `r` with the citizen's consent over it.
async fn consented(h: &Harness, d: &DeviceKey, mut r: SubmissionRequest) -> Vec<u8> {
    let digest = submission_digest(&r.client_request_id, &r.kind, &r.fields, &r.attachments);
    r.consent = Some(h.consent(d, consent_action::SUBMISSION, &digest).await);
    bare(&r)
}

async fn submit(h: &Harness, d: &DeviceKey, body: Vec<u8>) -> Reply {
    h.signed(d, "POST", paths::SUBMISSIONS, body, &[]).await
}

fn message(r: &Reply) -> String {
    r.json::<ErrorBody>().error.message
}

async fn admin(
    h: &Harness,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
    token: Option<&str>,
) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let body = body.map_or_else(Body::empty, |v| Body::from(serde_json::to_vec(&v).unwrap()));
    h.send(b.body(body).unwrap()).await
}

async fn queue(h: &Harness, query: &str) -> SubmissionQueue {
    let r = admin(
        h,
        "GET",
        &format!("{}?{query}", paths::ADMIN_SUBMISSIONS),
        None,
        Some(ADMIN_TOKEN),
    )
    .await;
    r.assert_ok("");
    r.json()
}

async fn decide(h: &Harness, id: &str, body: serde_json::Value) -> Reply {
    let path = paths::ADMIN_SUBMISSION_DECISION.replace("{id}", id);
    admin(h, "POST", &path, Some(body), Some(ADMIN_TOKEN)).await
}

async fn mine(h: &Harness, d: &DeviceKey) -> Vec<SubmissionInfo> {
    let r = h
        .signed(d, "GET", paths::SUBMISSIONS, Vec::new(), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    r.json::<SubmissionList>().submissions
}

async fn page(h: &Harness, device: &DeviceKey, since: Option<&str>) -> DocumentsPage {
    let path = match since {
        Some(s) => format!("{}?since={s}", paths::DOCUMENTS),
        None => paths::DOCUMENTS.to_owned(),
    };
    let r = h.signed(device, "GET", &path, Vec::new(), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()
}

async fn verified(
    h: &Harness,
    page: &DocumentsPage,
    kind: DocumentKind,
) -> Option<VerifiedCredential> {
    let t: TrustListResponse = h.get(paths::TRUST_LIST).await.json();
    let trust = TrustList::decode(&t.issuers.0).unwrap();
    let d = page.documents.iter().find(|d| d.kind == kind.as_str())?;
    Some(eid_core::credential::verify(&d.credential.0, &trust, h.app.clock().now()).unwrap())
}

/// A dose of influenza vaccine given abroad ten days ago, numbered after the record's own.
fn dose_abroad(h: &Harness, record: &serde_json::Value) -> serde_json::Value {
    let next = record["doses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["vaccine"] == "141")
        .filter_map(|d| d["dose_number"].as_i64())
        .max()
        .unwrap_or(0)
        + 1;
    let day = Date::from_unix(h.app.clock().now() - 10 * 86_400);
    json!({"doses": [{"vaccine": "141", "dose_number": next, "date": day.to_string(),
        "facility": "Hôpital Saint-Louis, Paris", "lot_number": "FLU-2026-77"}]})
}

#[tokio::test]
async fn submissions_are_checked_routed_decided_and_delivered() {
    let clerks = |c: eid_backend::Config| eid_backend::Config {
        authority_tokens: vec![
            format!("health={HEALTH_TOKEN}").parse().unwrap(),
            format!("police={POLICE_TOKEN}").parse().unwrap(),
        ],
        ..c
    };
    for h in harnesses_with(clerks).await {
        let db = h.db;
        let c = citizen(0);
        let device = h.activate(&c).await;
        let first = page(&h, &device, None).await;
        let vaccination = verified(&h, &first, DocumentKind::Vaccination)
            .await
            .unwrap();
        let record = vaccination.document.fields_json();
        let dose = dose_abroad(&h, &record);

        // Refused by the declaration: the field and the rule are named.
        let mut bad = dose.clone();
        bad["doses"][0]["dose_number"] = json!(11);
        let r = submit(
            &h,
            &device,
            consented(&h, &device, draft("k-bad", "vaccination", bad, vec![])).await,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{db}");
        let m = message(&r);
        assert!(
            m.starts_with("invalid field doses[") && m.ends_with("].dose_number: must be 1 to 10"),
            "{db}: {m}"
        );
        let r = submit(
            &h,
            &device,
            bare(&draft("k-unknown", "passport", json!({"a": 1}), vec![])),
        )
        .await;
        assert_eq!(message(&r), "unknown document kind", "{db}");
        let r = submit(
            &h,
            &device,
            consented(
                &h,
                &device,
                draft("k-judicial", "judicial_record", json!({"form": 1}), vec![]),
            )
            .await,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{db}");
        assert!(message(&r).contains("not entered by citizens"), "{db}");

        // Attachments: bounded in size and count, and of the type they claim.
        let big = jpeg(MAX_ATTACHMENT_BYTES + 1);
        let r = submit(
            &h,
            &device,
            bare(&draft(
                "k-big",
                "vaccination",
                dose.clone(),
                vec![("image/jpeg", big)],
            )),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{db}");
        assert_eq!(
            message(&r),
            format!("attachment 1 is too large: at most {MAX_ATTACHMENT_BYTES} bytes"),
            "{db}"
        );
        let r = submit(
            &h,
            &device,
            bare(&draft(
                "k-type",
                "vaccination",
                dose.clone(),
                vec![
                    ("image/jpeg", jpeg(10)),
                    ("image/jpeg", b"%PDF-1.7 ...".to_vec()),
                ],
            )),
        )
        .await;
        assert_eq!(message(&r), "attachment 2 is not a image/jpeg file", "{db}");
        let r = submit(
            &h,
            &device,
            bare(&draft(
                "k-many",
                "vaccination",
                dose.clone(),
                vec![("image/jpeg", jpeg(10)); 5],
            )),
        )
        .await;
        assert_eq!(message(&r), "at most 4 attachments per submission", "{db}");
        // The body of a submission may exceed the API's usual limit (the 200 000-byte photo
        // below does, in base64), but not MAX_SUBMISSION_BODY.
        assert!(
            200_000 * 4 / 3 > h.app.state().config.limits.max_body_bytes,
            "{db}"
        );
        let huge = vec![b' '; eid_core::api::MAX_SUBMISSION_BODY + 1];
        let r = submit(&h, &device, huge).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{db}");
        assert!(
            mine(&h, &device).await.is_empty(),
            "{db}: nothing refused was kept"
        );

        // Accepted, for the health authority; the same key again is the same submission.
        let certificate = jpeg(200_000);
        let body = draft(
            "k-vacc",
            "vaccination",
            dose.clone(),
            vec![("image/jpeg", certificate.clone())],
        );
        // The device key alone files nothing in the citizen's name: no consent, or a consent
        // to other fields, is refused (docs/adr/0057).
        // (Each with a key of its own: a refusal is the answer its key keeps.)
        let mut unconsented = body.clone();
        unconsented.client_request_id = "k-vacc-0".into();
        let r = submit(&h, &device, bare(&unconsented)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{db}");
        assert_eq!(
            r.json::<ErrorBody>().error.code,
            ErrorCode::ConsentRequired,
            "{db}"
        );
        let mut other_fields = body.clone();
        other_fields.client_request_id = "k-vacc-2".into();
        let digest = submission_digest("k-vacc-2", "vaccination", &json!({"doses": []}), &[]);
        other_fields.consent = Some(
            h.consent(&device, consent_action::SUBMISSION, &digest)
                .await,
        );
        let r = submit(&h, &device, bare(&other_fields)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{db}");
        assert!(
            mine(&h, &device).await.is_empty(),
            "{db}: nothing was filed"
        );
        let body = consented(&h, &device, body).await;
        let r = submit(&h, &device, body.clone()).await;
        r.assert_ok(&format!("{db}: "));
        let sent: SubmissionInfo = r.json();
        assert_eq!(
            (sent.state, sent.authority.as_str(), sent.attachments),
            (SubmissionState::Pending, "health", 1),
            "{db}"
        );
        assert_eq!(sent.fields, vec!["doses".to_owned()], "{db}");
        let again: SubmissionInfo = submit(&h, &device, body).await.json();
        assert_eq!(again.id, sent.id, "{db}: a retry is the same submission");
        let other = bare(&draft(
            "k-vacc",
            "vaccination",
            json!({"doses": []}),
            vec![],
        ));
        assert_ne!(
            submit(&h, &device, other).await.status,
            StatusCode::OK,
            "{db}: the key of another submission"
        );

        // A temporary residence, for the police.
        let today = Date::from_unix(h.app.clock().now());
        let residence = json!({"temporary": {
            "address": {"street": "12 Lê Lợi", "commune": "Phường Bến Thành", "province": "Thành phố Hồ Chí Minh"},
            "start_date": today.to_string(), "valid_until": today.plus_years(1).to_string()}});
        let r = submit(
            &h,
            &device,
            consented(
                &h,
                &device,
                draft("k-res", "residence", residence.clone(), vec![]),
            )
            .await,
        )
        .await;
        r.assert_ok(&format!("{db}: "));
        let temp: SubmissionInfo = r.json();
        assert_eq!(temp.authority, "police", "{db}");

        // Each authority's queue holds its own; the clerk sees the fields and the attachment.
        let health = queue(&h, "authority=health&state=pending")
            .await
            .submissions;
        assert_eq!(
            health.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            vec![sent.id.as_str()],
            "{db}"
        );
        assert_eq!(health[0].fields, dose, "{db}");
        assert_eq!(health[0].id_number, c.id_number, "{db}");
        assert_eq!(
            (
                health[0].attachments[0].media_type.as_str(),
                health[0].attachments[0].size
            ),
            ("image/jpeg", 200_000),
            "{db}"
        );
        let police = queue(&h, "authority=police").await.submissions;
        assert_eq!(
            police.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            vec![temp.id.as_str()],
            "{db}"
        );
        assert!(
            queue(&h, "authority=transport")
                .await
                .submissions
                .is_empty(),
            "{db}"
        );
        let detail: SubmissionDetail = admin(
            &h,
            "GET",
            &paths::ADMIN_SUBMISSION.replace("{id}", &sent.id),
            None,
            Some(ADMIN_TOKEN),
        )
        .await
        .json();
        assert_eq!(detail.attachments[0].content.0, certificate, "{db}");

        // An authority's own token opens its own queue only: the health clerk sees the
        // vaccination, is refused the police's queue, and the residence is none of its own.
        let as_clerk = async |token: &str, method: &str, path: &str, body| {
            admin(&h, method, path, body, Some(token)).await
        };
        let own: SubmissionQueue = as_clerk(HEALTH_TOKEN, "GET", paths::ADMIN_SUBMISSIONS, None)
            .await
            .json();
        assert_eq!(
            own.submissions
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            vec![sent.id.as_str()],
            "{db}"
        );
        let path = format!("{}?authority=police", paths::ADMIN_SUBMISSIONS);
        let r = as_clerk(HEALTH_TOKEN, "GET", &path, None).await;
        assert_eq!(r.error(), ErrorCode::NotAllowed, "{db}");
        let police_detail = paths::ADMIN_SUBMISSION.replace("{id}", &temp.id);
        let r = as_clerk(HEALTH_TOKEN, "GET", &police_detail, None).await;
        assert_eq!(r.error(), ErrorCode::NotFound, "{db}");
        let police_decision = paths::ADMIN_SUBMISSION_DECISION.replace("{id}", &temp.id);
        let verify = Some(json!({"decision": "verified"}));
        let r = as_clerk(HEALTH_TOKEN, "POST", &police_decision, verify).await;
        assert_eq!(r.error(), ErrorCode::NotFound, "{db}");
        let r = as_clerk(POLICE_TOKEN, "GET", &police_detail, None).await;
        r.assert_ok(&format!("{db}: "));
        let r = as_clerk(
            "test-health-clerk-tokenX",
            "GET",
            paths::ADMIN_SUBMISSIONS,
            None,
        )
        .await;
        assert_eq!(r.error(), ErrorCode::Unauthenticated, "{db}");
        // Sealed at rest: neither the fields nor the attachment are in the database in clear.
        let row = sqlx::query("SELECT s.fields, a.content FROM submissions s JOIN submission_attachments a ON a.submission_id = s.id WHERE s.id = $1")
            .bind(&sent.id)
            .fetch_one(h.app.state().store.pool())
            .await
            .unwrap();
        let (fields, content): (Vec<u8>, Vec<u8>) =
            (row.try_get(0).unwrap(), row.try_get(1).unwrap());
        assert!(!fields.windows(11).any(|w| w == b"Saint-Louis"), "{db}");
        assert!(!content.windows(4).any(|w| w == [0x42; 4]), "{db}");

        // Without the admin token, or with a citizen's signature, no queue and no decision.
        let r = admin(&h, "GET", paths::ADMIN_SUBMISSIONS, None, None).await;
        assert_eq!(r.error(), ErrorCode::Unauthenticated, "{db}");
        let path = paths::ADMIN_SUBMISSION_DECISION.replace("{id}", &sent.id);
        let body = serde_json::to_vec(&json!({"decision": "verified"})).unwrap();
        let stranger = h.activate(&citizen(1)).await;
        let r = h.signed(&stranger, "POST", &path, body.clone(), &[]).await;
        assert_eq!(r.error(), ErrorCode::Unauthenticated, "{db}");
        let r = h.signed(&device, "POST", &path, body, &[]).await;
        assert_eq!(
            r.error(),
            ErrorCode::Unauthenticated,
            "{db}: not even the citizen's own"
        );
        // Another citizen sees none of it.
        assert!(mine(&h, &stranger).await.is_empty(), "{db}");

        // Rejected: a reason is required, and the citizen sees it.
        let r = decide(&h, &temp.id, json!({"decision": "rejected"})).await;
        assert_eq!(
            message(&r),
            "a rejection needs a reason the citizen can act on",
            "{db}"
        );
        let reason = "Hợp đồng thuê nhà không có chữ ký của chủ nhà";
        let r = decide(
            &h,
            &temp.id,
            json!({"decision": "rejected", "reason": reason}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{db}");
        let r = decide(&h, &temp.id, json!({"decision": "verified"})).await;
        assert_eq!(message(&r), "this submission was already decided", "{db}");
        let r = decide(&h, "SUB-NONE", json!({"decision": "verified"})).await;
        assert_eq!(r.error(), ErrorCode::NotFound, "{db}");

        // Verified: the record merged, the held credential re-issued by the vaccination issuer.
        let r = decide(&h, &sent.id, json!({"decision": "verified"})).await;
        r.assert_ok(&format!("{db}: "));
        let decided: SubmissionDecided = r.json();
        assert_eq!(
            (decided.state, decided.reissued),
            (SubmissionState::Verified, 1),
            "{db}"
        );
        let next = page(&h, &device, Some(&first.cursor)).await;
        assert_eq!(next.removed, vec![vaccination.id.clone()], "{db}");
        let renewed = verified(&h, &next, DocumentKind::Vaccination)
            .await
            .expect("the new vaccination record");
        assert_eq!(
            renewed.issuer, vaccination.issuer,
            "{db}: the kind's own issuer"
        );
        assert!(
            renewed.issuer.contains("Tiem chung"),
            "{db}: {}",
            renewed.issuer
        );
        let doses = renewed.document.fields_json()["doses"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(
            doses.len(),
            record["doses"].as_array().unwrap().len() + 1,
            "{db}"
        );
        assert!(
            doses
                .iter()
                .any(|d| d["facility"] == "Hôpital Saint-Louis, Paris"
                    && d["lot_number"] == "FLU-2026-77"),
            "{db}"
        );
        assert_eq!(
            renewed.document.fields_json()["as_of"],
            today.to_string(),
            "{db}"
        );

        // The citizen's list: newest first, states and the reason.
        let list = mine(&h, &device).await;
        let states: Vec<_> = list
            .iter()
            .map(|s| (s.id.as_str(), s.state, s.reason.as_deref()))
            .collect();
        assert_eq!(
            states,
            vec![
                (temp.id.as_str(), SubmissionState::Rejected, Some(reason)),
                (sent.id.as_str(), SubmissionState::Verified, None)
            ],
            "{db}"
        );
        assert!(list.iter().all(|s| s.decided_at.is_some()), "{db}");
        assert!(
            queue(&h, "authority=health").await.submissions.is_empty(),
            "{db}: decided ones leave the queue"
        );
        assert_eq!(
            queue(&h, "authority=health&state=verified")
                .await
                .submissions
                .len(),
            1,
            "{db}"
        );

        // The device the account moved from sees nothing any more; the new one sees them all.
        let moved = h.activate(&c).await;
        let r = h
            .signed(&device, "GET", paths::SUBMISSIONS, Vec::new(), &[])
            .await;
        assert_eq!(r.error(), ErrorCode::Revoked, "{db}");
        assert_eq!(mine(&h, &moved).await.len(), 2, "{db}");
    }
}
