//! `eid load-hub`: the relying-party hub's figures of issue 16 (`scripts/load-hub.sh`), hidden
//! from `eid --help`.
//!
//! - `--mode logins`: whole "Log in with e-ID" flows (docs/adr/0042, 0050). Before the clock: a
//!   relying party registered with `login` and made an OIDC client, `--population` wallets
//!   activated and synced with the passcode (each gets its single-use PID SD-JWT VCs and the
//!   signed registry), their SD-JWT VCs taken out (`--rounds` refills each). Timed per login:
//!   the RP's authorize with PKCE S256 (`Accept: application/json`), the wallet fetching and
//!   verifying the hub's signed request, presenting (KB-JWT over the nonce, JWE to the hub's
//!   key: the client's own crypto, timed on its own), the citizen's consent login and its proof
//!   over the answer (docs/adr/0058), `POST /v1/oidc/response`, the browser's
//!   poll taking the code, the token exchange, and the ID token checked against the JWKS
//!   (nonce, audience, signature).
//! - `--mode ekyc`: bank eKYC by chip (docs/adr/0054). Before the clock: a relying party with
//!   `ekyc` and its client secret, `--population` simulated chips read once. Timed per check:
//!   `POST /v1/ekyc/challenges`, the chip's active-authentication signature over it (computed
//!   with the fixture card's key, timed on its own) and `POST /v1/ekyc/checks`.
//!
//! Prints one JSON object: rate, p50/p99 per flow and per step, errors, concurrency, the load
//! average before the clock, the backend's (`--server-pid`, from /proc) and the client's CPU
//! per flow.

use super::load::{LOAD_PASSCODE, activate_wallet, quantile};
use super::load_activate::cpu_seconds;
use crate::card::{EXTENDED, read_with};
use crate::context::{block_on, client};
use crate::output::print_json;
use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use eid_core::account::Passcode;
use eid_core::api::{ChipEvidence, EkycCheckRequest, RpPurpose, RpRegistrationRequest};
use eid_core::client::{BackendClient, UreqTransport};
use eid_core::oid4vp::{self, WalletCredential, WalletPolicy};
use eid_core::platform::{HttpRequest, HttpTransport, Method};
use eid_core::sdjwt::{Jws, PID_VCT};
use eid_core::wallet::HeldSdJwt;
use eid_fixtures::card::SimTransport;
use eid_fixtures::card::cccd::{self, CardOptions};
use eid_fixtures::citizens::{self, Citizen};
use eid_icao::document::ChipDocument;
use eid_icao::pace::PacePassword;
use eid_icao::reader::ReadRequest;
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Logins,
    Ekyc,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    backend: String,
    #[arg(long, env = "EID_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    #[arg(long, value_enum)]
    mode: Mode,
    /// Citizens: wallets activated (logins) or chips read (eKYC). The backend must have been
    /// seeded with at least as many (`eid serve --population N`).
    #[arg(long, default_value_t = 200)]
    population: usize,
    /// Logins: SD-JWT VC refills per wallet (8 each) before the clock.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// eKYC: checks to run (round-robin over the chips).
    #[arg(long, default_value_t = 3000)]
    checks: usize,
    /// Flows in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The backend's process id: its CPU time over the timed part is reported per flow.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A shell command run right before the clock starts (with the argument `before`) and
    /// right after it stops (`after`): the load script reads PostgreSQL's counters there, so
    /// they cover the timed part only.
    #[arg(long)]
    hook: Option<String>,
    /// Distinguishes this run's relying party (its DNS name `load-<tag>-<purpose>.example.vn`).
    #[arg(long, default_value = "hub")]
    tag: String,
}

const REDIRECT_URI: &str = "http://127.0.0.1:9/load/cb";
const TIMEOUT: Duration = Duration::from_secs(30);

/// A relying party registered for `purposes` and made an OIDC client: (client id, secret).
fn relying_party(
    api: &BackendClient,
    admin: &str,
    tag: &str,
    purpose: &str,
) -> Result<(String, String)> {
    // Only its public key is used (the hub's OIDC flows never see the RP sign anything).
    let key = p256::SecretKey::from_slice(&sha2::Sha256::digest(format!("load-rp/{tag}")))?;
    let point = p256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(&key.public_key(), false);
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let bytes = point.as_bytes();
    let jwk =
        json!({"kty": "EC", "crv": "P-256", "x": b64(&bytes[1..33]), "y": b64(&bytes[33..65])});
    let record = block_on(api.register_relying_party(
        admin,
        &RpRegistrationRequest {
            legal_name: format!("Load {tag}"),
            registration_number: "0100000099".into(),
            logo_url: None,
            dns_name: format!("load-{tag}-{purpose}.example.vn"),
            response_uris: vec![REDIRECT_URI.into()],
            purposes: vec![RpPurpose {
                name: purpose.into(),
                claims: Vec::new(),
            }],
            public_key_pem: None,
            public_key_jwk: Some(jwk),
        },
    ))??;
    let client = block_on(api.oidc_client(admin, &record.id, &[REDIRECT_URI.to_owned()]))??;
    Ok((client.client_id, client.client_secret))
}

/// One HTTP exchange; the body as text, or why not (status and body).
fn exchange(
    http: &UreqTransport,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Result<String> {
    let r = http
        .exchange(HttpRequest {
            method,
            url: url.to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body,
            timeout: TIMEOUT,
        })
        .map_err(|e| anyhow!("{url}: {e}"))?;
    let text = String::from_utf8(r.body).unwrap_or_default();
    if r.status != 200 {
        let path = url.split('?').next().unwrap_or(url);
        bail!(
            "{path}: HTTP {} {}",
            r.status,
            text.chars().take(200).collect::<String>()
        );
    }
    Ok(text)
}

/// An activated wallet with the SD-JWT VCs taken out of it for the timed logins.
type Prepared = (super::load::ActivatedWallet, Vec<HeldSdJwt>);

/// The milliseconds of each step of one flow, in order.
type Steps = Vec<(&'static str, f64)>;

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// What every login shares: the hub's URLs, the RP's client, the wallets' trust in RPs.
struct LoginSetup<'a> {
    backend: &'a str,
    /// The hub's backend (the consent login of each answer, docs/adr/0058).
    api: &'a BackendClient,
    passcode: &'a Passcode,
    client_id: String,
    basic: String,
    jwks_point: Vec<u8>,
    rp_trust: eid_crypto::trust::TrustStore,
    registrations: Vec<eid_core::oid4vp::RpRegistration>,
}

/// One timed login with a taken SD-JWT VC of `wallet`.
fn login(
    s: &LoginSetup<'_>,
    http: &UreqTransport,
    wallet: &eid_core::wallet::Wallet,
    held: &HeldSdJwt,
    n: usize,
) -> Result<Steps> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let verifier = b64(&sha2::Sha256::digest(format!(
        "load-verifier-{n}-{}",
        s.client_id
    )));
    let challenge = b64(&sha2::Sha256::digest(verifier.as_bytes()));
    let nonce = format!("n-{n}");
    let mut steps = Steps::new();

    let t = Instant::now();
    let query = oid4vp::form_encode(&[
        ("response_type", "code"),
        ("client_id", &s.client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("state", "load"),
        ("nonce", &nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let started: Value = serde_json::from_str(&exchange(
        http,
        Method::Get,
        &format!("{}/v1/oidc/authorize?{query}", s.backend),
        &[("Accept", "application/json")],
        None,
    )?)?;
    steps.push(("authorize", ms_since(t)));
    let uri = started["openid4vp_uri"]
        .as_str()
        .context("no openid4vp_uri")?;
    let poll = started["poll_uri"].as_str().context("no poll_uri")?;

    // The wallet: the request object fetched (server) and verified (client).
    let t = Instant::now();
    let fetch_ms = std::cell::Cell::new(0.0);
    let fetch_error = std::cell::RefCell::new(None);
    let policy = WalletPolicy {
        rp_trust: &s.rp_trust,
        registrations: &s.registrations,
        now: crate::context::now_s(),
        allow_unsigned_test_rps: false,
        wallet_nonce: None,
    };
    let mut fetch = |request_uri: &str, _body: Option<&str>| {
        let t = Instant::now();
        let r = exchange(
            http,
            Method::Get,
            request_uri,
            &[("Accept", "application/oauth-authz-req+jwt")],
            None,
        )
        .map_err(|e| {
            *fetch_error.borrow_mut() = Some(e);
            eid_core::oid4vp::Oid4vpError::Malformed("request object not fetched")
        });
        fetch_ms.set(ms_since(t));
        r
    };
    let request = oid4vp::resolve_request(uri, &policy, &mut fetch).map_err(|e| {
        fetch_error
            .borrow_mut()
            .take()
            .unwrap_or_else(|| anyhow!("the hub's request: {e}"))
    })?;
    steps.push(("request_fetch", fetch_ms.get()));
    steps.push(("client_request_verify", ms_since(t) - fetch_ms.get()));

    // The wallet's own crypto: KB-JWT over the nonce, JWE to the hub's key.
    let t = Instant::now();
    let key = wallet.sdjwt_key(held);
    let credentials = vec![WalletCredential::new(PID_VCT, held.sd_jwt.clone(), &key)?];
    let selection = oid4vp::select(&request.dcql, &credentials)?;
    let token = oid4vp::vp_token(&request, &selection, &credentials, crate::context::now_s())?;
    let post = oid4vp::respond(&request, &token, &mut eid_crypto::OsRng)?;
    steps.push(("client_present", ms_since(t)));

    // The citizen's consent (docs/adr/0058): the OPAQUE login (`POST /v1/consent/start` and the
    // client's key stretching, with the load wallets' test-grade Argon2 parameters: the phone's
    // own cost, not the server's) and its proof over this answer, sent with it.
    let t = Instant::now();
    let post = block_on(wallet.hub_consent_post(&request, post, s.passcode, s.api))??;
    steps.push(("consent", ms_since(t)));

    let t = Instant::now();
    exchange(
        http,
        Method::Post,
        &post.uri,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(post.body.into_bytes()),
    )?;
    steps.push(("response", ms_since(t)));

    let t = Instant::now();
    let done: Value = serde_json::from_str(&exchange(http, Method::Get, poll, &[], None)?)?;
    steps.push(("poll", ms_since(t)));
    let to = done["redirect_uri"]
        .as_str()
        .context("the poll has no code")?;
    let params = oid4vp::form_decode(to.split_once('?').map_or("", |(_, q)| q))
        .map_err(|_| anyhow!("the redirect's query"))?;
    let code = params.get("code").context("no code in the redirect")?;

    let t = Instant::now();
    let body = oid4vp::form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", &verifier),
    ]);
    let answer: Value = serde_json::from_str(&exchange(
        http,
        Method::Post,
        &format!("{}/v1/oidc/token", s.backend),
        &[
            ("Authorization", &s.basic),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(body.into_bytes()),
    )?)?;
    steps.push(("token", ms_since(t)));

    // The RP's check of the ID token.
    let t = Instant::now();
    let jws = Jws::parse(answer["id_token"].as_str().context("no id_token")?)?;
    jws.verify(&s.jwks_point)?;
    if jws.payload["nonce"] != nonce.as_str() || jws.payload["aud"] != s.client_id.as_str() {
        bail!("the ID token names another nonce or audience");
    }
    if jws.payload["sub"].as_str().is_none_or(str::is_empty) {
        bail!("the ID token has no subject");
    }
    steps.push(("client_id_token_verify", ms_since(t)));
    Ok(steps)
}

/// One timed eKYC check of `chip` (citizen `c`).
fn check(
    api: &BackendClient,
    id: &str,
    secret: &str,
    c: &Citizen,
    chip: &ChipDocument,
) -> Result<Steps> {
    let mut steps = Steps::new();
    let t = Instant::now();
    let challenge = block_on(api.ekyc_challenge(id, secret))??;
    steps.push(("challenge", ms_since(t)));
    let t = Instant::now();
    let mut chip = chip.clone();
    chip.aa_signature = Some(
        cccd::active_authentication_signature(c, &challenge.challenge.0)
            .ok_or_else(|| anyhow!("the fixture card did not sign the challenge"))?,
    );
    let evidence = ChipEvidence::from_chip(&chip).map_err(|m| anyhow!(m))?;
    steps.push(("client_chip_sign", ms_since(t)));
    let t = Instant::now();
    block_on(api.ekyc_check(
        id,
        secret,
        &EkycCheckRequest {
            challenge_id: challenge.challenge_id,
            purpose: "ekyc".into(),
            chip: evidence,
        },
    ))??;
    steps.push(("check", ms_since(t)));
    Ok(steps)
}

/// Runs `--hook` with `phase`; its failure stops the run.
fn hook(cmd: Option<&str>, phase: &str) -> Result<()> {
    let Some(cmd) = cmd else { return Ok(()) };
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{cmd} {phase}"))
        .status()?;
    if !status.success() {
        bail!("the hook failed ({phase}): {status}");
    }
    Ok(())
}

/// The 1-minute load average (/proc/loadavg), if readable.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One timed run of the flows: their timings and errors, the wall time, the CPU seconds of the
/// server (when its pid is known) and of this process, the load average before, how many flows.
struct Run {
    done: Vec<Steps>,
    errors: Vec<String>,
    wall: f64,
    server_cpu: Option<f64>,
    client_cpu: f64,
    load_before: Option<f64>,
    wanted: usize,
}

/// [`drive`] between the `hook` calls, with the CPU and wall time it took.
fn timed<J: Sync>(
    hook_cmd: Option<&str>,
    server_pid: Option<&str>,
    jobs: &[J],
    concurrency: usize,
    flow: &(dyn Fn(&UreqTransport, &J, usize) -> Result<Steps> + Sync),
) -> Result<Run> {
    hook(hook_cmd, "before")?;
    let load_before = load_average();
    let server_before = server_pid.map(cpu_seconds).transpose()?;
    let client_before = cpu_seconds("self")?;
    let started = Instant::now();
    let (done, errors) = drive(jobs, concurrency, flow);
    let wall = started.elapsed().as_secs_f64();
    hook(hook_cmd, "after")?;
    let client_cpu = cpu_seconds("self")? - client_before;
    let server_cpu = match (server_pid, server_before) {
        (Some(pid), Some(b)) => Some(cpu_seconds(pid)? - b),
        _ => None,
    };
    Ok(Run {
        done,
        errors,
        wall,
        server_cpu,
        client_cpu,
        load_before,
        wanted: jobs.len(),
    })
}

/// Runs `jobs` flows with `concurrency` threads, each with its own HTTP transport; the timings.
fn drive<J: Sync>(
    jobs: &[J],
    concurrency: usize,
    flow: &(dyn Fn(&UreqTransport, &J, usize) -> Result<Steps> + Sync),
) -> (Vec<Steps>, Vec<String>) {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Steps>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..concurrency.max(1) {
            s.spawn(|| {
                let http = UreqTransport::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(n) else { break };
                    match flow(&http, job, n) {
                        Ok(steps) => done.lock().unwrap_or_else(|p| p.into_inner()).push(steps),
                        Err(e) => errors
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(e.to_string()),
                    }
                }
            });
        }
    });
    (
        done.into_inner().unwrap_or_else(|p| p.into_inner()),
        errors.into_inner().unwrap_or_else(|p| p.into_inner()),
    )
}

/// p50/p99 per flow (the sum of its steps), per step, and of the server's steps only.
fn latencies(done: &[Steps]) -> (Value, Value, Value) {
    let mut per_step: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut total = Vec::new();
    let mut server = Vec::new();
    for steps in done {
        total.push(steps.iter().map(|(_, ms)| ms).sum::<f64>());
        server.push(
            steps
                .iter()
                .filter(|(name, _)| !name.starts_with("client_"))
                .map(|(_, ms)| ms)
                .sum::<f64>(),
        );
        for (name, ms) in steps {
            per_step.entry(name).or_default().push(*ms);
        }
    }
    let pq = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        json!({"p50_ms": quantile(&v, 0.50), "p99_ms": quantile(&v, 0.99)})
    };
    let steps = per_step
        .into_iter()
        .map(|(k, v)| (k.to_owned(), pq(v)))
        .collect::<serde_json::Map<_, _>>();
    (pq(total), pq(server), Value::Object(steps))
}

pub fn run(args: Args) -> Result<ExitCode> {
    let api = client(&args.backend)?;
    let concurrency = args.concurrency.max(1);
    let prep_started = Instant::now();
    let server_pid = args.server_pid.map(|p| p.to_string());
    let (
        mode,
        Run {
            done,
            errors,
            wall,
            server_cpu,
            client_cpu,
            load_before,
            wanted: flows_wanted,
        },
    ) = match args.mode {
        Mode::Logins => {
            let (client_id, secret) = relying_party(&api, &args.admin_token, &args.tag, "login")?;
            let pass = Passcode::new(LOAD_PASSCODE)?;
            let people = citizens::population(args.population);
            // Wallets activated and refilled, several at once (untimed).
            let next = AtomicUsize::new(0);
            let made: Mutex<Vec<Result<Prepared>>> = Mutex::new(Vec::new());
            std::thread::scope(|s| {
                for _ in 0..concurrency {
                    s.spawn(|| {
                        while let Some(c) = people.get(next.fetch_add(1, Ordering::Relaxed)) {
                            let r = (|| {
                                let a = activate_wallet(&api, c)?;
                                let mut held = Vec::new();
                                for _ in 0..args.rounds.max(1) {
                                    let report = block_on(a.wallet.sync(&api, None, Some(&pass)))??;
                                    while let Some(h) = a.wallet.take_sdjwt(PID_VCT)? {
                                        held.push(h);
                                    }
                                    if held.is_empty() {
                                        // Said, not hidden: such a wallet makes no login.
                                        eprintln!(
                                            "load-hub: a wallet got no SD-JWT VC: {}",
                                            report.presentation_error.as_deref().unwrap_or("-")
                                        );
                                    }
                                }
                                Ok((a, held))
                            })();
                            made.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                        }
                    });
                }
            });
            let made = made
                .into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .into_iter()
                .collect::<Result<Vec<_>>>()?;
            let first = &made.first().context("no wallet")?.0.wallet;
            let jwks: Value = serde_json::from_str(&exchange(
                &UreqTransport::new(),
                Method::Get,
                &format!("{}/v1/oidc/jwks", args.backend),
                &[],
                None,
            )?)?;
            let setup = LoginSetup {
                backend: &args.backend,
                api: &api,
                passcode: &pass,
                basic: format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{client_id}:{secret}"))
                ),
                client_id,
                jwks_point: eid_core::sdjwt::point_from_jwk(&jwks["keys"][0])
                    .context("the hub's JWKS")?,
                rp_trust: first.rp_trust()?,
                registrations: first.rp_registrations()?,
            };
            // Interleaved: consecutive logins come from different wallets.
            let most = made.iter().map(|(_, h)| h.len()).max().unwrap_or(0);
            let mut jobs = Vec::new();
            for i in 0..most {
                for (w, (_, held)) in made.iter().enumerate() {
                    if let Some(h) = held.get(i) {
                        jobs.push((w, h.clone()));
                    }
                }
            }
            let flow = |http: &UreqTransport, job: &(usize, HeldSdJwt), n: usize| {
                login(&setup, http, &made[job.0].0.wallet, &job.1, n)
            };
            (
                "logins",
                timed(
                    args.hook.as_deref(),
                    server_pid.as_deref(),
                    &jobs,
                    concurrency,
                    &flow,
                )?,
            )
        }
        Mode::Ekyc => {
            let (client_id, secret) = relying_party(&api, &args.admin_token, &args.tag, "ekyc")?;
            let people = citizens::population(args.population);
            let chips = people
                .iter()
                .map(|c| {
                    let card = cccd::card(c, &CardOptions::default())?;
                    let key = PacePassword::Mrz(cccd::mrz_key(c)?);
                    read_with(
                        SimTransport::new(card, EXTENDED),
                        key,
                        &ReadRequest::cccd(false),
                        None,
                        None,
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let jobs: Vec<usize> = (0..args.checks).map(|n| n % people.len().max(1)).collect();
            // The core's client per thread would be the same: one shared, as a desk fleet's.
            let flow = |_: &UreqTransport, i: &usize, _: usize| {
                check(&api, &client_id, &secret, &people[*i], &chips[*i])
            };
            (
                "ekyc_checks",
                timed(
                    args.hook.as_deref(),
                    server_pid.as_deref(),
                    &jobs,
                    concurrency,
                    &flow,
                )?,
            )
        }
    };
    let n = done.len().max(1) as f64;
    let per = |cpu: f64| cpu * 1000.0 / n;
    let (total, server_steps, steps) = latencies(&done);
    let client_steps_ms: f64 = done
        .iter()
        .flat_map(|s| s.iter())
        .filter(|(name, _)| name.starts_with("client_"))
        .map(|(_, ms)| ms)
        .sum::<f64>()
        / n;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
    let mut error_kinds: BTreeMap<String, usize> = BTreeMap::new();
    for e in &errors {
        *error_kinds
            .entry(e.chars().take(120).collect())
            .or_default() += 1;
    }
    print_json(&json!({
        "mode": mode,
        "flows": done.len(),
        "flows_wanted": flows_wanted,
        "errors": errors.len(),
        "error_kinds": error_kinds,
        "concurrency": concurrency,
        "population": args.population,
        "wall_seconds": wall,
        "per_s": done.len() as f64 / wall.max(1e-9),
        "latency": total,
        "latency_server_steps": server_steps,
        "steps": steps,
        "client_steps_ms_mean": client_steps_ms,
        "server_cpu_ms_per_flow": server_cpu.map(per),
        "client_cpu_ms_per_flow": per(client_cpu),
        "cores": cores,
        "cpu_bound_per_s": server_cpu.map(|s| cores * 1000.0 / (per(s) + per(client_cpu)).max(1e-9)),
        "server_cpu_bound_per_s": server_cpu.map(|s| cores * 1000.0 / per(s).max(1e-9)),
        "load_average_before": load_before,
        "untimed_preparation_seconds": prep_started.elapsed().as_secs_f64() - wall,
    }))?;
    if done.is_empty() {
        bail!(
            "no flow succeeded; the first error: {}",
            errors.first().map_or("none", String::as_str)
        );
    }
    Ok(ExitCode::SUCCESS)
}
