//! Issue 18, a new kind reaches existing apps as data (docs/adr/0060): the backend declares a
//! kind no library release has code for (a fishing licence, `fixtures/kinds/`), publishes it in
//! its signed kind list and issues one to a citizen at sync; the wallet verifies the list,
//! holds the credential, lists it by its machine name and shows its labelled fields in
//! declaration order, and refuses a credential of that kind that breaks a rule or comes from
//! an issuer not authorised for it. A kind list whose signature does not verify, or that names
//! a check function the library does not have, is refused and the previous one kept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // test helpers outside #[test] fns

mod common;

use common::{activate, backend_with, pass, wallet};
use eid_backend::kinds::DeclaredKind;
use eid_core::api::{B64, KindListResponse};
use eid_core::client::{BackendClient, RetryPolicy, UreqTransport};
use eid_core::credential::kinds::KindDeclaration;
use eid_core::credential::{CredentialError, DocumentKind, StatusRef, Validity, issue_declared};
use eid_core::platform::{HttpRequest, HttpResponse, HttpTransport, TransportFailure};
use eid_core::runtime::block_on;
use eid_core::verify::KindListError;
use eid_core::wallet::{DocumentStatus, WalletError};
use eid_fixtures::card::cccd::Faults;
use eid_fixtures::citizens::{Citizen, citizens};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KIND: &str = "fishing_licence";

fn declaration() -> KindDeclaration {
    serde_json::from_str(include_str!("../../fixtures/kinds/fishing_licence.json")).unwrap()
}

fn licence(c: &Citizen) -> Value {
    json!({
        "licence_number": "0042/2026/GPKTTS",
        "holder_name": c.full_name,
        "id_number": c.id_number,
        "vessel_number": "KG-91234-TS",
        "fishing_area": "offshore",
        "issue_date": "2026-03-02",
        "valid_until": "2031-03-01",
    })
}

/// What the tampering transport does to `GET /v1/kinds`.
#[derive(Debug, Clone)]
enum Mode {
    Pass,
    /// One byte of the signed payload changed: the signature no longer verifies.
    FlipPayload,
    /// This body instead of the backend's (a list signed by the right key).
    Replace(Vec<u8>),
}

#[derive(Debug)]
struct Tamper {
    inner: UreqTransport,
    mode: Mutex<Mode>,
    /// The statuses of the `/v1/kinds` answers, in order.
    kinds_statuses: Mutex<Vec<u16>>,
}

impl HttpTransport for Tamper {
    fn exchange(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let kinds = request.url.ends_with(eid_core::api::paths::KINDS);
        let mode = self.mode.lock().unwrap().clone();
        if kinds && !matches!(mode, Mode::Pass) {
            // A whole answer to alter, not a 304.
            request.headers.retain(|(n, _)| n != "if-none-match");
        }
        let mut response = self.inner.exchange(request)?;
        if kinds {
            self.kinds_statuses.lock().unwrap().push(response.status);
            match mode {
                Mode::Pass => {}
                Mode::FlipPayload => {
                    let mut answer: KindListResponse =
                        serde_json::from_slice(&response.body).unwrap();
                    let bytes = &mut answer.signed.0;
                    let at = bytes
                        .windows(15)
                        .position(|w| w == b"Fishing licence")
                        .expect("the payload names the kind");
                    bytes[at + 13] = b's';
                    response.body = serde_json::to_vec(&answer).unwrap();
                }
                Mode::Replace(body) => response.body = body,
            }
        }
        Ok(response)
    }
}

#[test]
fn a_kind_declared_only_by_the_backend_is_synced_held_listed_and_shown() {
    let c = citizens().remove(2);
    let server = backend_with(|config| eid_backend::Config {
        declared_kinds: vec![DeclaredKind {
            declaration: declaration(),
            documents: vec![(c.id_number.clone(), licence(&c))],
        }],
        ..config
    });
    assert!(DocumentKind::parse(KIND).is_none(), "no code for this kind");
    let tamper = Arc::new(Tamper {
        inner: UreqTransport::new(),
        mode: Mutex::new(Mode::Pass),
        kinds_statuses: Mutex::new(Vec::new()),
    });
    let retry = RetryPolicy {
        attempts: 2,
        first_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
    };
    let api = BackendClient::with_transport(&server.url, retry, tamper.clone());
    let dir = tempfile::tempdir().unwrap();
    let w = wallet(dir.path());
    activate(&w, &api, &c, Faults::default()).unwrap();
    // Before the sync the wallet has never heard of the kind.
    assert_eq!(w.kind_declaration(KIND).unwrap(), None);
    block_on(w.sync(&api, None, Some(&pass())))
        .unwrap()
        .unwrap();

    // The declaration arrived with the list, as the backend declared it.
    assert_eq!(w.kind_declaration(KIND).unwrap(), Some(declaration()));
    assert_eq!(
        w.declared_kinds()
            .unwrap()
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        [KIND]
    );
    // Listed by its machine name, summarised by its declaration.
    let docs = w.documents().unwrap();
    let info = docs
        .iter()
        .find(|d| d.kind.as_str() == KIND)
        .expect("the fishing licence is held");
    assert_eq!(info.kind.known(), None);
    assert_eq!(info.title, "Giấy phép khai thác thủy sản");
    assert_eq!(info.holder, c.full_name);
    assert_eq!(info.valid_until.as_deref(), Some("2031-03-01"));
    assert_eq!(w.status_of(info), DocumentStatus::Valid);
    // The built-in kinds keep their typed paths.
    let identity = docs
        .iter()
        .find(|d| d.kind == DocumentKind::Identity)
        .unwrap();
    assert!(w.document(&identity.id).is_ok());
    // Signed by the backend's issuer of exactly this kind.
    let issuer = server.app.state().keys.declared_issuer(KIND).unwrap();

    // Shown: every field labelled, in declaration order, the enum with its labels.
    let view = w.document_view(&info.id).unwrap();
    assert_eq!(view.title_en, "Fishing licence");
    let names: Vec<&str> = view
        .labelled_fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let d = declaration();
    let declared: Vec<&str> = d.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, declared);
    let field = |n: &str| view.labelled_fields.iter().find(|f| f.name == n).unwrap();
    assert_eq!(field("vessel_number").label_vi, "Số đăng ký tàu cá");
    assert_eq!(
        field("vessel_number").label_en,
        "Fishing vessel registration"
    );
    assert_eq!(field("vessel_number").value, json!("KG-91234-TS"));
    assert_eq!(
        field("fishing_area").value_label_vi.as_deref(),
        Some("Vùng khơi")
    );
    assert_eq!(
        field("fishing_area").value_label_en.as_deref(),
        Some("Offshore waters")
    );
    assert_eq!(field("issue_date").ty, "date");
    assert_eq!(field("issue_date").value, json!("2026-03-02"));
    assert_eq!(
        view.fields_json["licence_number"],
        json!("0042/2026/GPKTTS")
    );

    // Refused: a credential of the kind whose field breaks a rule (signed by the authorised
    // issuer under a copy of the declaration without that rule).
    let device = w.device_public_key().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let status = StatusRef {
        list: eid_backend::lists::STATUS_LIST_URI.into(),
        index: 7,
    };
    let validity = Validity::starting(now - 60, 86_400);
    let without_rules = |field: &str| {
        let mut d = declaration();
        d.fields.iter_mut().find(|f| f.name == field).unwrap().rules = Vec::new();
        d
    };
    let refused = |lax: &KindDeclaration, doc: &Value| {
        let bytes = issue_declared(lax, doc, &device, validity, &status, issuer).unwrap();
        match w.import(&[bytes]) {
            Err(WalletError::Credential(CredentialError::InvalidDocument(e))) => {
                (e.field, e.reason)
            }
            other => panic!("{other:?}"),
        }
    };
    let mut bad = licence(&c);
    bad["vessel_number"] = json!("KG91234");
    assert_eq!(
        refused(&without_rules("vessel_number"), &bad),
        (
            "vessel_number".into(),
            "must be a fishing vessel number (e.g. KG-91234-TS)".into()
        )
    );
    let mut bad = licence(&c);
    bad["valid_until"] = json!("2026-03-02");
    assert_eq!(
        refused(&without_rules("valid_until"), &bad),
        ("valid_until".into(), "not after issue date".into())
    );
    // A valid one from the lax declaration's issuer is accepted: what was refused was the rule.
    assert!(matches!(
        w.import(&[issue_declared(
            &without_rules("vessel_number"),
            &licence(&c),
            &device,
            validity,
            &status,
            issuer
        )
        .unwrap()]),
        Ok(infos) if infos[0].kind.as_str() == KIND
    ));
    // Refused: a trusted issuer not authorised for this kind (the police's identity issuer).
    let police = server
        .app
        .state()
        .keys
        .issuer(DocumentKind::Identity)
        .unwrap();
    let bytes = issue_declared(
        &declaration(),
        &licence(&c),
        &device,
        validity,
        &status,
        police,
    )
    .unwrap();
    assert!(matches!(
        w.import(&[bytes]),
        Err(WalletError::Credential(CredentialError::IssuerNotAuthorisedFor(k))) if k == KIND
    ));

    // The next sync asks with the list's ETag: a 304, nothing re-read.
    block_on(w.sync(&api, None, Some(&pass())))
        .unwrap()
        .unwrap();
    assert_eq!(*tamper.kinds_statuses.lock().unwrap(), [200, 304]);

    // A tampered list: refused, the sync changes nothing, the previous list is kept.
    *tamper.mode.lock().unwrap() = Mode::FlipPayload;
    let e = block_on(w.sync(&api, None, Some(&pass())))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(e, WalletError::KindList(KindListError::BadSignature)),
        "{e:?}"
    );
    assert_eq!(w.kind_declaration(KIND).unwrap(), Some(declaration()));
    assert!(w.document_view(&info.id).is_ok());

    // A list signed by the right key that names a check function the library does not have:
    // refused whole, the previous kept.
    let mut unknown_check = declaration().to_json();
    unknown_check["fields"][0]["rules"] = json!([{"rule": "check", "function": "fishing_quota"}]);
    let payload = serde_json::to_vec(&eid_core::api::KindListDocument {
        list: eid_core::verify::KIND_LIST_URI.into(),
        issued_at: now + 10,
        kinds: vec![unknown_check],
    })
    .unwrap();
    let signer = server.app.state().keys.status_signer(now).unwrap();
    let signed = eid_backend::kinds::sign_payload(signer, payload).unwrap();
    *tamper.mode.lock().unwrap() = Mode::Replace(
        serde_json::to_vec(&KindListResponse {
            signed: B64(signed),
        })
        .unwrap(),
    );
    let e = block_on(w.sync(&api, None, Some(&pass())))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&e, WalletError::KindList(KindListError::Declaration { index: 0, reason })
            if reason.contains("fishing_quota")),
        "{e:?}"
    );
    assert_eq!(w.kind_declaration(KIND).unwrap(), Some(declaration()));

    // Back to the backend's own list: the wallet syncs again.
    *tamper.mode.lock().unwrap() = Mode::Pass;
    block_on(w.sync(&api, None, Some(&pass())))
        .unwrap()
        .unwrap();
    assert_eq!(
        w.documents()
            .unwrap()
            .iter()
            .filter(|d| d.kind.as_str() == KIND)
            .count(),
        2,
        "the one synced and the valid one imported"
    );
}
