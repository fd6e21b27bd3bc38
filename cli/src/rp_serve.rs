//! `eid rp --backend URL serve --addr A --key K --cert C`: a reference relying party (a bank's
//! "open an account" page, issue 16). `GET /` starts a session: a signed OpenID4VP request
//! (eKYC claims, `direct_post.jwt`) and a page with its cross-device QR (inline SVG from the
//! core's QR encoder; the `openid4vp://` text in `data-openid4vp-uri`) that polls
//! `/result/{state}` and shows the verified claims (`data-status` on `#status`: `waiting`,
//! `verified`, `refused`, `error`; each claim a `<dd data-claim=NAME>`; docs/adr/0041).
//! `GET /request/{state}` serves the request object, `POST /response` verifies the answer
//! (`oid4vp::verify_response_with` against the backend's trust list, its IACAs, and its JWT and
//! CWT status lists). Sessions live in memory.
//!
//! `--format mso_mdoc --doctype D --claims NS/ELEMENT,...` asks for an mdoc's elements instead
//! (OpenID4VP 1.0 B.2, docs/adr/0049); `--claims` with the default format takes dotted SD-JWT VC
//! claim paths. `--response-mode direct_post` sends the answer unencrypted.

use anyhow::{Context as _, Result, anyhow};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use clap::Args;
use eid_core::credential::TrustList;
use eid_core::mdoc;
use eid_core::oid4vp::{
    self, DcqlQuery, Enc, MdocPolicy, MemoryNonceLedger, Oid4vpError, PendingRequest, RequestSpec,
    RequestUriMethod, ResponseMode, ResponsePolicy, RpSigner,
};
use eid_core::present::QrImage;
use eid_core::sdjwt;
use eid_core::sdjwt::ClaimPath;
use eid_crypto::trust::TrustStore;
use eid_crypto::x509::SignerCertificate;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// The claims the page asks for (eKYC: who opens the account), with the page's label for each.
const CLAIMS: [(&str, &str); 4] = [
    ("family_name", "Family name"),
    ("given_name", "Given names"),
    ("birthdate", "Date of birth"),
    ("personal_administrative_number", "ID number"),
];
/// Seconds a request object is valid.
const REQUEST_LIFETIME: u64 = 300;

#[derive(Args)]
pub struct RpServeArgs {
    /// Where to listen, e.g. 127.0.0.1:8090 (its http://ADDR/response must be registered).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub addr: String,
    /// The relying party's P-256 private key, PKCS#8 PEM (`PRIVATE KEY`).
    #[arg(long)]
    pub key: PathBuf,
    /// Its access certificate from `eid rp register --out-cert` (PEM).
    #[arg(long)]
    pub cert: PathBuf,
    /// The credential format asked: `dc+sd-jwt` (the PID) or `mso_mdoc`.
    #[arg(long, default_value = oid4vp::FORMAT_SD_JWT_VC)]
    pub format: String,
    /// The mdoc docType (`--format mso_mdoc`), e.g. org.iso.23220.photoid.1.
    #[arg(long)]
    pub doctype: Option<String>,
    /// The claims asked, comma-separated: `NAMESPACE/ELEMENT` for an mdoc, dotted paths for the
    /// PID (default: family and given names, birth date, ID number).
    #[arg(long, value_delimiter = ',')]
    pub claims: Vec<String>,
    /// mdoc only: the `intent_to_retain` sent with every element.
    #[arg(long)]
    pub intent_to_retain: Option<bool>,
    /// `direct_post.jwt` (encrypted to a fresh key of this server) or `direct_post`.
    #[arg(long, default_value = "direct_post.jwt")]
    pub response_mode: String,
}

/// One claim the page asks for: its key on the page and in `/result` (the PID claim's name, the
/// dotted path, or `NAMESPACE/ELEMENT`), its label, its claims path.
#[derive(Clone)]
struct Asked {
    key: String,
    label: String,
    path: Vec<String>,
}

/// The query and the page's claims from the arguments.
fn asked(args: &RpServeArgs) -> Result<(DcqlQuery, Vec<Asked>)> {
    match args.format.as_str() {
        oid4vp::FORMAT_SD_JWT_VC => {
            if args.doctype.is_some() {
                return Err(anyhow!("--doctype is for --format mso_mdoc"));
            }
            let asked: Vec<Asked> = if args.claims.is_empty() {
                CLAIMS
                    .iter()
                    .map(|(c, label)| Asked {
                        key: (*c).to_owned(),
                        label: (*label).to_owned(),
                        path: vec![(*c).to_owned()],
                    })
                    .collect()
            } else {
                args.claims
                    .iter()
                    .map(|c| {
                        if c.split('.').any(str::is_empty) {
                            return Err(anyhow!("empty claim path in --claims {c}"));
                        }
                        Ok(Asked {
                            key: c.clone(),
                            label: c.clone(),
                            path: c.split('.').map(str::to_owned).collect(),
                        })
                    })
                    .collect::<Result<_>>()?
            };
            let paths: Vec<Vec<&str>> = asked
                .iter()
                .map(|a| a.path.iter().map(String::as_str).collect())
                .collect();
            let paths: Vec<&[&str]> = paths.iter().map(Vec::as_slice).collect();
            Ok((oid4vp::pid_query(&paths)?, asked))
        }
        oid4vp::FORMAT_MSO_MDOC => {
            let doc_type = args
                .doctype
                .as_deref()
                .context("--format mso_mdoc needs --doctype")?;
            if args.claims.is_empty() {
                return Err(anyhow!(
                    "--format mso_mdoc needs --claims NAMESPACE/ELEMENT,..."
                ));
            }
            let asked = args
                .claims
                .iter()
                .map(|c| match c.rsplit_once('/') {
                    Some((ns, id)) if !ns.is_empty() && !id.is_empty() => Ok(Asked {
                        key: c.clone(),
                        label: id.to_owned(),
                        path: vec![ns.to_owned(), id.to_owned()],
                    }),
                    _ => Err(anyhow!("--claims {c}: NAMESPACE/ELEMENT expected")),
                })
                .collect::<Result<Vec<_>>>()?;
            let elements: Vec<(&str, &str)> = asked
                .iter()
                .map(|a| (a.path[0].as_str(), a.path[1].as_str()))
                .collect();
            Ok((
                oid4vp::mdoc_query(doc_type, &elements, args.intent_to_retain)?,
                asked,
            ))
        }
        other => Err(anyhow!("--format {other}: dc+sd-jwt or mso_mdoc")),
    }
}

enum Outcome {
    Waiting,
    Verified(Value),
    Refused(String),
}

struct Session {
    created: u64,
    jwt: String,
    pending: PendingRequest,
    outcome: Outcome,
}

struct Rp {
    client_id: String,
    dcql: DcqlQuery,
    asked: Vec<Asked>,
    response_mode: ResponseMode,
    iacas: TrustStore,
    key: p256::ecdsa::SigningKey,
    cert: Vec<u8>,
    enc_key: p256::SecretKey,
    base: String,
    backend: String,
    issuer_trust: TrustStore,
    trust: TrustList,
    sessions: Mutex<HashMap<String, Session>>,
    ledger: Mutex<MemoryNonceLedger>,
}

fn pem_der(text: &str) -> Result<Vec<u8>> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .context("PEM body is not base64")
}

fn now() -> u64 {
    crate::context::now_s()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fail(status: StatusCode, why: &str) -> Response {
    (status, why.to_owned()).into_response()
}

impl Rp {
    fn new_session(&self) -> Result<(String, String)> {
        let mut rng = eid_crypto::OsRng;
        let state = oid4vp::fresh_nonce(&mut rng);
        let nonce = oid4vp::fresh_nonce(&mut rng);
        let dcql = &self.dcql;
        let enc_point = p256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(
            &self.enc_key.public_key(),
            false,
        );
        let x5c = [self.cert.clone()];
        let response_uri = format!("{}/response", self.base);
        let (jwt, pending) = oid4vp::request_object(
            &RpSigner {
                client_id: &self.client_id,
                key: &self.key,
                x5c: &x5c,
            },
            &RequestSpec {
                response_uri: &response_uri,
                response_mode: self.response_mode,
                nonce: &nonce,
                state: Some(&state),
                dcql,
                encryption_key: (self.response_mode == ResponseMode::DirectPostJwt)
                    .then_some(("rp-enc", enc_point.as_bytes())),
                enc_values: &[Enc::A128Gcm],
                wallet_nonce: None,
                issued_at: now(),
                lifetime: REQUEST_LIFETIME,
            },
        )?;
        let uri = oid4vp::authorization_uri(
            "openid4vp://",
            &self.client_id,
            &format!("{}/request/{state}", self.base),
            RequestUriMethod::Get,
        );
        let mut sessions = self.sessions.lock().map_err(|_| anyhow!("sessions"))?;
        // Sessions older than two request lifetimes are forgotten (the page has long stopped).
        let horizon = now().saturating_sub(2 * REQUEST_LIFETIME);
        sessions.retain(|_, s| s.created >= horizon);
        sessions.insert(
            state.clone(),
            Session {
                created: now(),
                jwt,
                pending,
                outcome: Outcome::Waiting,
            },
        );
        Ok((state, uri))
    }

    /// Verifies a posted answer against every waiting session (the state is inside the JWE).
    fn verify(&self, body: &str, status_jwt: &str, status_cwt: &[u8]) -> Result<(), Oid4vpError> {
        let status_list =
            |uri: &str| sdjwt::verify_status_list_jwt(status_jwt, uri, &self.trust, now()).ok();
        let mdoc_status_list = |uri: &str| {
            mdoc::verify_status_list_cwt(status_cwt, uri, &self.iacas, now())
                .ok()
                .map(|v| v.list)
        };
        let response_uri = format!("{}/response", self.base);
        let mdoc_policy = MdocPolicy {
            iacas: &self.iacas,
            status_list: &mdoc_status_list,
            response_uri: &response_uri,
        };
        let policy = ResponsePolicy {
            issuer_trust: &self.issuer_trust,
            now: now(),
            max_age: REQUEST_LIFETIME,
            status_list: &status_list,
            decryption_key: Some(&self.enc_key),
        };
        let mut sessions = self
            .sessions
            .lock()
            .map_err(|_| Oid4vpError::Malformed("sessions"))?;
        let mut ledger = self
            .ledger
            .lock()
            .map_err(|_| Oid4vpError::Malformed("ledger"))?;
        // An error response (the citizen declined) is not encrypted: its state names the session.
        let form = oid4vp::form_decode(body)?;
        if form.contains_key("error") {
            let session = form
                .get("state")
                .and_then(|state| sessions.get_mut(state))
                .filter(|s| matches!(s.outcome, Outcome::Waiting))
                .ok_or(Oid4vpError::State)?;
            session.outcome = Outcome::Refused(Oid4vpError::Declined.to_string());
            return Ok(());
        }
        for session in sessions.values_mut() {
            if !matches!(session.outcome, Outcome::Waiting) {
                continue;
            }
            let verified = oid4vp::verify_response_with(
                &session.pending,
                body,
                &policy,
                Some(&mdoc_policy),
                &mut *ledger,
            );
            match verified {
                Err(Oid4vpError::State) => continue,
                Ok(presentations) => {
                    let all =
                        Value::Object(presentations.into_iter().flat_map(|p| p.claims).collect());
                    let mut claims = serde_json::Map::new();
                    for a in &self.asked {
                        let path: Vec<&str> = a.path.iter().map(String::as_str).collect();
                        let found = oid4vp::select_claims(&all, &ClaimPath::keys(&path))
                            .and_then(|mut f| f.pop());
                        if let Some((_, value)) = found {
                            claims.insert(a.key.clone(), value.clone());
                        }
                    }
                    session.outcome = Outcome::Verified(Value::Object(claims));
                    return Ok(());
                }
                Err(e) => {
                    session.outcome = Outcome::Refused(e.to_string());
                    return Err(e);
                }
            }
        }
        Err(Oid4vpError::State)
    }
}

async fn page(State(rp): State<Arc<Rp>>) -> Response {
    let Ok((state, uri)) = rp.new_session() else {
        return fail(StatusCode::INTERNAL_SERVER_ERROR, "no request");
    };
    let svg = QrImage::encode(&uri).map_or_else(|_| String::new(), |q| q.to_svg(4));
    let (state_attr, uri_attr) = (escape(&state), escape(&uri));
    let shared = escape(
        &rp.asked
            .iter()
            .map(|a| a.label.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    // The constant [name, label] pairs, in order, as JSON for the script (shown with
    // textContent, as the claim values are).
    let labels: Vec<[&str; 2]> = rp
        .asked
        .iter()
        .map(|a| [a.key.as_str(), a.label.as_str()])
        .collect();
    let labels = json!(labels);
    Html(format!(
        r#"<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Open an account</title></head>
<body>
<h1>Open an account</h1>
<p>Scan with your e-ID wallet to share: {shared}.</p>
<div id="qr" data-openid4vp-uri="{uri_attr}" data-state="{state_attr}">{svg}</div>
<p id="status" role="status" data-status="waiting">Waiting for the wallet…</p>
<dl id="claims"></dl>
<script>
const LABELS = {labels};
function show(status, text) {{
  const s = document.getElementById("status");
  s.dataset.status = status;
  s.textContent = text;
  // A final answer: the request is spent, its QR goes.
  if (status !== "waiting") document.getElementById("qr").hidden = true;
}}
async function poll() {{
  let j;
  try {{
    const r = await fetch("/result/{state_attr}");
    if (!r.ok) throw new Error("HTTP " + r.status);
    j = await r.json();
  }} catch (e) {{
    show("error", "The bank's server did not answer: " + e.message);
    return;
  }}
  if (j.status === "verified") {{
    const dl = document.getElementById("claims");
    for (const [name, label] of LABELS) {{
      if (!(name in j.claims)) continue;
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.dataset.claim = name;
      dd.textContent = String(j.claims[name]);
      dl.append(dt, dd);
    }}
    show("verified", "Verified");
  }} else if (j.status === "refused") {{
    show("refused", "Refused: " + j.reason);
  }} else {{ setTimeout(poll, 1000); }}
}}
poll();
</script>
</body></html>
"#
    ))
    .into_response()
}

async fn request(State(rp): State<Arc<Rp>>, Path(state): Path<String>) -> Response {
    let jwt = rp
        .sessions
        .lock()
        .ok()
        .and_then(|s| s.get(&state).map(|s| s.jwt.clone()));
    match jwt {
        Some(jwt) => (
            [(header::CONTENT_TYPE, oid4vp::REQUEST_OBJECT_CONTENT_TYPE)],
            jwt,
        )
            .into_response(),
        None => fail(StatusCode::NOT_FOUND, "no such request"),
    }
}

async fn response(State(rp): State<Arc<Rp>>, body: String) -> Response {
    let backend = rp.backend.clone();
    // The status list as of now (the core client runs on its own runtime: off this one).
    let (status, status_cwt) = tokio::task::spawn_blocking(move || {
        let Ok(api) = crate::context::client(&backend) else {
            return (String::new(), Vec::new());
        };
        let jwt = eid_core::runtime::block_on(api.status_list_jwt()).and_then(Result::ok);
        let cwt = eid_core::runtime::block_on(api.status_list_cwt()).and_then(Result::ok);
        (jwt.unwrap_or_default(), cwt.unwrap_or_default())
    })
    .await
    .unwrap_or_default();
    match rp.verify(&body, &status, &status_cwt) {
        Ok(()) => axum::Json(json!({ "redirect_uri": format!("{}/", rp.base) })).into_response(),
        Err(e) => fail(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

async fn result(State(rp): State<Arc<Rp>>, Path(state): Path<String>) -> Response {
    let Ok(sessions) = rp.sessions.lock() else {
        return fail(StatusCode::INTERNAL_SERVER_ERROR, "sessions");
    };
    let out = match sessions.get(&state).map(|s| &s.outcome) {
        None => return fail(StatusCode::NOT_FOUND, "no such session"),
        Some(Outcome::Waiting) => json!({"status": "waiting"}),
        Some(Outcome::Verified(claims)) => json!({"status": "verified", "claims": claims}),
        Some(Outcome::Refused(reason)) => json!({"status": "refused", "reason": reason}),
    };
    axum::Json(out).into_response()
}

/// `backend`: the hub (the issuers' trust list and the JWT status list).
pub fn run(backend: &str, args: RpServeArgs) -> Result<ExitCode> {
    use p256::pkcs8::DecodePrivateKey;
    let key_text =
        std::fs::read_to_string(&args.key).with_context(|| args.key.display().to_string())?;
    let key = p256::SecretKey::from_pkcs8_der(&pem_der(&key_text)?)
        .map_err(|_| anyhow!("--key is not a P-256 PKCS#8 private key"))?;
    let cert_text =
        std::fs::read_to_string(&args.cert).with_context(|| args.cert.display().to_string())?;
    let cert = pem_der(&cert_text)?;
    let leaf = SignerCertificate::from_der(&cert).map_err(|_| anyhow!("--cert is not X.509"))?;
    let dns = oid4vp::dns_names(&leaf)
        .into_iter()
        .next()
        .context("the certificate has no DNS name")?;
    let api = crate::context::client(backend)?;
    let t = crate::context::block_on(api.trust_list())??;
    let trust = TrustList::decode(&t.issuers.0).map_err(|_| anyhow!("trust list"))?;
    let issuer_trust = trust.anchor_store().clone();
    let mut iacas = TrustStore::new();
    for der in &t.iaca {
        iacas
            .add_der(&der.0)
            .map_err(|_| anyhow!("IACA in the trust list"))?;
    }
    let (dcql, asked) = asked(&args)?;
    let response_mode = match args.response_mode.as_str() {
        "direct_post" => ResponseMode::DirectPost,
        "direct_post.jwt" => ResponseMode::DirectPostJwt,
        other => {
            return Err(anyhow!(
                "--response-mode {other}: direct_post or direct_post.jwt"
            ));
        }
    };
    let mut enc = [0u8; 32];
    eid_crypto::Rng::fill(&mut eid_crypto::OsRng, &mut enc);
    let enc_key = p256::SecretKey::from_slice(&enc).map_err(|_| anyhow!("encryption key"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let base = format!("http://{}", listener.local_addr()?);
        let rp = Arc::new(Rp {
            client_id: format!("x509_san_dns:{dns}"),
            dcql,
            asked,
            response_mode,
            iacas,
            key: p256::ecdsa::SigningKey::from(&key),
            cert,
            enc_key,
            base: base.clone(),
            backend: backend.to_owned(),
            issuer_trust,
            trust,
            sessions: Mutex::new(HashMap::new()),
            ledger: Mutex::new(MemoryNonceLedger::default()),
        });
        let app = Router::new()
            .route("/", get(page))
            .route("/request/{state}", get(request))
            .route("/response", post(response))
            .route("/result/{state}", get(result))
            .with_state(rp);
        println!("listening on {base}");
        axum::serve(listener, app).await.context("serving")
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(format: &str, doctype: Option<&str>, claims: &[&str]) -> RpServeArgs {
        RpServeArgs {
            addr: String::new(),
            key: PathBuf::new(),
            cert: PathBuf::new(),
            format: format.into(),
            doctype: doctype.map(str::to_owned),
            claims: claims.iter().map(|c| (*c).to_owned()).collect(),
            intent_to_retain: Some(true),
            response_mode: "direct_post".into(),
        }
    }

    #[test]
    fn the_request_builder_asks_for_mdoc_elements_or_pid_claims() {
        let (q, asked) = asked(&args(
            "mso_mdoc",
            Some("org.iso.23220.photoid.1"),
            &["org.iso.23220.1/family_name", "org.iso.23220.1/age_over_18"],
        ))
        .unwrap();
        let c = &q.to_json()["credentials"][0];
        assert_eq!(c["format"], "mso_mdoc");
        assert_eq!(c["meta"]["doctype_value"], "org.iso.23220.photoid.1");
        assert_eq!(
            c["claims"][1],
            json!({"path": ["org.iso.23220.1", "age_over_18"], "intent_to_retain": true})
        );
        assert_eq!(asked[0].label, "family_name");
        // The default: the four eKYC claims of the PID.
        let (q, asked) = asked_default();
        assert_eq!(q.credentials[0].format, "dc+sd-jwt");
        assert_eq!(asked.len(), CLAIMS.len());
        // Refused: an mdoc without docType or elements, a claim without namespace, a PID with a
        // docType, another format.
        for bad in [
            args("mso_mdoc", None, &["a/b"]),
            args("mso_mdoc", Some("d"), &[]),
            args("mso_mdoc", Some("d"), &["family_name"]),
            args("mso_mdoc", Some("d"), &["ns/"]),
            args("dc+sd-jwt", Some("d"), &[]),
            args("dc+sd-jwt", None, &["a..b"]),
            args("jwt_vc_json", None, &[]),
        ] {
            assert!(super::asked(&bad).is_err());
        }
    }

    fn asked_default() -> (DcqlQuery, Vec<Asked>) {
        super::asked(&args("dc+sd-jwt", None, &[])).unwrap()
    }
}
