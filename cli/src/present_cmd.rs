//! `eid wallet ... present` (show a QR) and `eid verify` (check one), plus `eid qr-sizes`.

use crate::desk_cache::{Cached, DeskCache};
use crate::output::print_json;
use clap::Args;
use eid_core::account::passcode::Passcode;
use eid_core::credential::TrustList;
use eid_core::present::{Profile, QrImage};
use eid_core::sync::{BackendClient, RetryPolicy};
use eid_core::verify::{StatusList, Verdict, Verifier};
use eid_core::wallet::{Consent, PresentationOut, Wallet};
use eid_fixtures::issuers;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Pixels per QR module in PNG output.
const PNG_SCALE: usize = 6;

fn profile(name: &str) -> Result<Profile, String> {
    Profile::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Profile::ALL.iter().map(|p| p.as_str()).collect();
        format!("unknown profile {name:?}; one of {}", names.join(", "))
    })
}

fn hex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the nonce must be hex, at most 64 bytes".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

/// Writes the PNG / SVG files asked for.
pub fn write_images(qr: &QrImage, png: Option<&Path>, svg: Option<&Path>) -> Result<(), String> {
    if let Some(p) = png {
        let bytes = qr.to_png(PNG_SCALE).map_err(|e| e.to_string())?;
        std::fs::write(p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(p) = svg {
        std::fs::write(p, qr.to_svg(PNG_SCALE)).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// The `--json` shape of a presentation.
pub fn presentation_json(out: &PresentationOut) -> serde_json::Value {
    json!({
        "text": out.text,
        "qr_version": out.qr.version,
        "ecc": out.qr.ecc,
        "payload_bytes": out.payload_bytes,
        "expires_at": out.expires_at,
        "profile": out.profile.as_str(),
        "online": out.online,
        "reused": out.reused,
        "fields": out.fields.0.iter().map(|(f, _)| f.name()).collect::<Vec<_>>(),
    })
}

#[derive(Args)]
pub struct PresentArgs {
    /// airport | clinic | driving | age_over_18 | full
    #[arg(long)]
    pub profile: String,
    /// Also write the QR as a PNG image.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Also write the QR as an SVG image.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// An online token (redeemed by the verifier at the backend) instead of an offline QR.
    #[arg(long)]
    pub online: bool,
    /// The verifier's nonce (hex), when its screen shows one.
    #[arg(long)]
    pub nonce: Option<String>,
    /// Who receives it (for the transaction log).
    #[arg(long, default_value = "QR verifier")]
    pub to: String,
    #[arg(long)]
    pub json: bool,
}

/// Shows a QR; an online token needs the backend (it is registered there with the citizen's
/// consent before it is shown, docs/adr/0017).
pub fn present(
    w: &Wallet,
    pass: &Passcode,
    backend: Option<&str>,
    args: &PresentArgs,
) -> Result<ExitCode, String> {
    let profile = profile(&args.profile)?;
    let nonce = args.nonce.as_deref().map(hex).transpose()?;
    let out = if args.online {
        let backend = backend.ok_or("--backend URL is needed for an online token")?;
        let client = crate::wallet_cmd::client(backend)?;
        crate::wallet_cmd::block_on(w.present_online(&client, profile, pass, &args.to))?
    } else {
        w.present(profile, nonce.as_deref(), Consent::Passcode(pass), &args.to)
    }
    .map_err(|e| e.to_string())?;
    write_images(&out.qr, args.png.as_deref(), args.svg.as_deref())?;
    if args.json {
        print_json(&presentation_json(&out))?;
    } else {
        eprintln!(
            "{} QR for {}: shows {} (valid until {}, version {} ECC {}, {} bytes)",
            if out.online { "online" } else { "offline" },
            profile,
            out.fields
                .0
                .iter()
                .map(|(f, _)| f.label())
                .collect::<Vec<_>>()
                .join(", "),
            out.expires_at,
            out.qr.version,
            out.qr.ecc,
            out.payload_bytes
        );
        if out.reused {
            eprintln!("note: no unused credential left, one was shown again: sync to refill");
        }
        print!("{}", out.qr.to_terminal());
        println!("{}", out.text);
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The scanned text.
    #[arg(long, conflicts_with = "image", required_unless_present = "image")]
    pub text: Option<String>,
    /// A PNG image with the QR code.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Backend URL: fetch its trust list and status list first (offline QR).
    #[arg(long)]
    pub backend: Option<String>,
    /// Trust list file (CBOR as served in `issuers` of GET /v1/trust-list); default: the
    /// fixture issuers.
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// The nonce (hex) this verifier showed the wallet.
    #[arg(long)]
    pub nonce: Option<String>,
    /// Accept only this profile.
    #[arg(long)]
    pub profile: Option<String>,
    /// Keep the lists fetched with --backend in this directory, and check with them when the
    /// backend is not given or does not answer (the status list's age is reported).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// For online tokens: this desk's directory (`eid verifier register`); needs --backend.
    #[arg(long)]
    pub verifier_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The verifier this desk has: trust list from --trust or the fixtures, refreshed (with the
/// status list) from the backend when one is given and answers. With a `cache` directory the
/// fetched lists are kept there, and used when the backend is not given or does not answer.
pub fn verifier(
    trust: Option<&Path>,
    backend: Option<&str>,
    cache: Option<&Path>,
    now: u64,
) -> Result<(Verifier, Vec<String>), String> {
    let mut warnings = Vec::new();
    let mut list = match trust {
        Some(p) => {
            TrustList::decode(&std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?)
                .map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => issuers::trust_list().map_err(|e| e.to_string())?,
    };
    let cache = cache.map(DeskCache::new);
    let mut status = None;
    let mut fetched = false;
    if let Some(url) = backend {
        let client = BackendClient::new(url, RetryPolicy::default()).map_err(|e| e.to_string())?;
        let answer = eid_core::runtime::block_on(async {
            let t = client.trust_list().await?;
            let s = client.status_list().await?;
            Ok::<_, eid_core::sync::SyncError>((t, s))
        })
        .ok_or("no async runtime")?;
        match answer {
            Ok((t, s)) => {
                fetched = true;
                list = TrustList::decode(&t.issuers.0).map_err(|e| e.to_string())?;
                match StatusList::from_signed(&s.signed.0, &list, now) {
                    Ok(checked) => {
                        status = Some(checked);
                        if let Some(c) = &cache {
                            c.store(&Cached {
                                trust: t.issuers.0,
                                status: s.signed.0,
                            })?;
                        }
                    }
                    Err(e) => warnings.push(format!("status list refused: {e}")),
                }
            }
            Err(e) => warnings.push(format!("backend unreachable, checked offline: {e}")),
        }
    }
    if !fetched && let Some(cached) = cache.as_ref().map(DeskCache::load).transpose()?.flatten() {
        if trust.is_none() {
            list =
                TrustList::decode(&cached.trust).map_err(|e| format!("cached trust list: {e}"))?;
        }
        match StatusList::from_signed(&cached.status, &list, now) {
            Ok(checked) => {
                warnings.push(format!(
                    "lists from this desk's cache, fetched {} s ago",
                    checked.age(now)
                ));
                status = Some(checked);
            }
            Err(e) => warnings.push(format!("cached status list refused: {e}")),
        }
    }
    let mut v = Verifier::new(list);
    if let Some(s) = status {
        v = v.with_status_list(s);
    }
    Ok((v, warnings))
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode, String> {
    let text = match (&args.text, &args.image) {
        (Some(t), _) => t.clone(),
        (None, Some(p)) => eid_core::present::qr::decode_png(
            &std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?,
        )
        .map_err(|e| e.to_string())?,
        (None, None) => return Err("--text or --image is needed".into()),
    };
    let nonce = args.nonce.as_deref().map(hex).transpose()?;
    let want = args.profile.as_deref().map(profile).transpose()?;
    let now = now_s();
    let verdict = if text
        .trim()
        .starts_with(eid_core::present::payload::TOKEN_PREFIX)
    {
        let (Some(url), Some(dir)) = (args.backend.as_deref(), args.verifier_dir.as_deref()) else {
            return Err("an online token: verify it with --backend URL --verifier-dir DIR".into());
        };
        let desk = crate::verifier_cmd::desk(dir)?;
        let client = BackendClient::new(url, RetryPolicy::default()).map_err(|e| e.to_string())?;
        let mut verdict =
            eid_core::runtime::block_on(eid_core::verify::redeem(&client, &desk, &text, now))
                .ok_or("no async runtime")?;
        if let Some(w) = want
            && verdict.profile.as_deref() != Some(w.as_str())
        {
            verdict.valid = false;
            verdict.fields = json!({});
            verdict.reasons.push(format!("profile {w} expected"));
        }
        verdict
    } else {
        let (v, warnings) = verifier(
            args.trust.as_deref(),
            args.backend.as_deref(),
            args.cache.as_deref(),
            now,
        )?;
        let mut verdict = v.verify_offline(&text, now, nonce.as_deref(), want);
        verdict.warnings.extend(warnings);
        verdict
    };
    print_verdict(&verdict, args.json)?;
    Ok(if verdict.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn print_verdict(v: &Verdict, as_json: bool) -> Result<(), String> {
    if as_json {
        return print_json(v);
    }
    println!(
        "{} ({} {})",
        if v.valid { "VALID" } else { "INVALID" },
        v.mode,
        v.profile.as_deref().unwrap_or("?")
    );
    if let Some(map) = v.fields.as_object() {
        for (k, val) in map {
            println!("  {k}: {val}");
        }
    }
    for r in &v.reasons {
        println!("  reason: {r}");
    }
    for w in &v.warnings {
        println!("  warning: {w}");
    }
    Ok(())
}

/// `eid qr-sizes`: payload bytes, text length and QR version at ECC M of every profile, from a
/// fixture wallet (first synthetic citizen), with a verifier nonce and without.
pub fn sizes(json_out: bool) -> Result<ExitCode, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let w = crate::wallet_cmd::open_wallet(dir.path())?;
    let pass = Passcode::new("147258").map_err(|e| e.to_string())?;
    crate::wallet_cmd::seed_into(&w, &pass, 2)?;
    let mut rows = Vec::new();
    for profile in Profile::ALL {
        for nonce in [None, Some(&[7u8; 16][..])] {
            let out = w
                .present(profile, nonce, Consent::Passcode(&pass), "eid qr-sizes")
                .map_err(|e| e.to_string())?;
            rows.push(json!({
                "profile": profile.as_str(),
                "nonce": nonce.is_some(),
                "payload_bytes": out.payload_bytes,
                "text_chars": out.text.len(),
                "qr_version": out.qr.version,
                "ecc": out.qr.ecc,
                "modules": out.qr.width,
            }));
        }
    }
    if json_out {
        print_json(&rows)?;
    } else {
        println!("| profile | verifier nonce | payload bytes | text chars | QR version (ECC M) |");
        println!("|---|---|---|---|---|");
        for r in &rows {
            println!(
                "| {} | {} | {} | {} | {} ({}×{}) |",
                r["profile"].as_str().unwrap_or("?"),
                if r["nonce"].as_bool().unwrap_or(false) {
                    "16 B"
                } else {
                    "none"
                },
                r["payload_bytes"],
                r["text_chars"],
                r["qr_version"],
                r["modules"],
                r["modules"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `eid qr-bench`: offline verification of an airport QR against the two bare ES256
/// verifications it contains (issuer, device), measured in the same run, and presentations
/// built per second on a fixture wallet (consent by biometric, so Argon2id is not measured).
pub fn bench(iterations: usize) -> Result<ExitCode, String> {
    use eid_core::present::{Presentation, QrPayload};
    use std::time::Instant;
    let iterations = iterations.max(10);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let w = crate::wallet_cmd::open_wallet(dir.path())?;
    let pass = Passcode::new("147258").map_err(|e| e.to_string())?;
    crate::wallet_cmd::seed_into(&w, &pass, 8)?;
    // The consent is measured apart from the presentation: biometric (a key-store unwrap here)
    // instead of Argon2id, which the citizen pays once per QR whatever the format.
    w.enable_biometric(&pass).map_err(|e| e.to_string())?;
    let out = w
        .present(
            Profile::Airport,
            None,
            Consent::Passcode(&pass),
            "eid qr-bench",
        )
        .map_err(|e| e.to_string())?;
    let now = now_s();
    let v = Verifier::new(issuers::trust_list().map_err(|e| e.to_string())?);
    // The bare verifications: the issuer's over its COSE Sig_structure, the device's over the
    // presentation's signing input, with the keys and messages prepared beforehand.
    let Ok(QrPayload::Offline(p)) = QrPayload::parse(&out.text) else {
        return Err("the presentation does not parse".into());
    };
    let bare = eid_core::present::credential::bare_verifications(&p.credential, v.trust())
        .map_err(|e| e.to_string())?;
    let device_input = Presentation::signing_input(&p.credential, p.created_at, None);
    let device_key = eid_core::present::credential::verify(&p.credential, v.trust(), now)
        .map_err(|e| e.to_string())?
        .device_key;
    let (mut full, mut base) = (Vec::new(), Vec::new());
    for _ in 0..iterations {
        let t = Instant::now();
        let verdict = v.verify_offline(&out.text, now, None, None);
        full.push(t.elapsed().as_secs_f64() * 1e6);
        if !verdict.valid {
            return Err(format!("benchmark QR refused: {:?}", verdict.reasons));
        }
        let t = Instant::now();
        let ok = bare() && eid_crypto::es256::verify_raw(&device_key, &device_input, &p.signature);
        base.push(t.elapsed().as_secs_f64() * 1e6);
        if !ok {
            return Err("bare verification failed".into());
        }
    }
    let (full, base) = (median(full), median(base));
    // Presentations: each uses a credential (reused once the batch is spent, which costs the same).
    let n = iterations.min(200);
    let t = Instant::now();
    for _ in 0..n {
        w.present(Profile::Airport, None, Consent::Biometric, "eid qr-bench")
            .map_err(|e| e.to_string())?;
    }
    let per_s = n as f64 / t.elapsed().as_secs_f64();
    print_json(&json!({
        "iterations": iterations,
        "offline_verify_us_median": (full * 10.0).round() / 10.0,
        "bare_signature_verifications_us_median": (base * 10.0).round() / 10.0,
        "ratio": (full / base * 100.0).round() / 100.0,
        "presentations_per_s": per_s.round(),
        "presentations_measured": n,
    }))?;
    Ok(ExitCode::SUCCESS)
}
