//! `eid verify`: check a presentation QR as a verifier desk (offline with the trust and status
//! lists, or an online token redeemed at the backend), and `eid verifier register`, the desk's
//! key at the backend. [`print_verdict`] is the one place a verdict becomes output.

mod cache;
pub mod desk;

use crate::context::{block_on, client, now_s};
use crate::output::{exit_code, print_json, print_json_line};
use crate::values::{nonce, profile};
use anyhow::{Context as _, Result, bail};
use cache::{Cached, DeskCache};
use clap::Args;
use eid_core::credential::TrustList;
use eid_core::present::Profile;
use eid_core::verify::{Reason, StatusList, Verdict, Verifier};
use eid_fixtures::issuers;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct VerifyArgs {
    /// The scanned text.
    #[arg(long, conflicts_with = "image", required_unless_present_any = ["image", "scan"])]
    pub text: Option<String>,
    /// A PNG image with the QR code.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// A desk's scanner: read the scanned texts from standard input, one per line (a 2D
    /// scanner in keyboard mode types the code and Enter), until it ends. Each verdict is one
    /// line (JSON Lines with --json); the lists fetched from --backend are fetched again once
    /// five minutes old; a line that cannot be checked gives `{"valid": false, "error": ...}`
    /// and the desk goes on. Exit 0 when every code was valid.
    #[arg(long, conflicts_with_all = ["text", "image"])]
    pub scan: bool,
    /// Backend URL: fetch its trust list and status list first (offline QR).
    #[arg(long)]
    pub backend: Option<String>,
    /// Trust list file (CBOR as served in `issuers` of GET /v1/trust-list).
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// A development desk: with no trust list from --trust, --backend or --cache, trust the
    /// public fixture issuers. Anyone can sign with their keys: for tests only.
    #[arg(long)]
    pub dev: bool,
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

/// Where a desk's trust list may come from, best first: the backend when it is given and
/// answers (its status list too), the file `trust`, the lists the `cache` directory kept from
/// an earlier fetch, and, in a development desk (`dev`), the public fixture issuers. With none
/// of these the desk refuses to check anything: it never falls back to the fixture keys, which
/// anyone can sign with (docs/adr/0077).
pub struct TrustSources<'a> {
    pub trust: Option<&'a Path>,
    pub backend: Option<&'a str>,
    pub cache: Option<&'a Path>,
    pub dev: bool,
}

/// The verifier this desk has (see [`TrustSources`]). With a `cache` directory the fetched
/// lists are kept there, and used when the backend is not given or does not answer.
pub fn verifier(sources: &TrustSources<'_>, now: u64) -> Result<(Verifier, Vec<String>)> {
    let TrustSources {
        trust,
        backend,
        cache,
        dev,
    } = *sources;
    let mut warnings = Vec::new();
    let mut list = match trust {
        Some(p) => Some(
            TrustList::decode(&std::fs::read(p).with_context(|| p.display().to_string())?)
                .with_context(|| p.display().to_string())?,
        ),
        None => None,
    };
    let cache = cache.map(DeskCache::new);
    let mut status = None;
    let mut fetched = false;
    if let Some(url) = backend {
        let client = client(url)?;
        let answer = block_on(async {
            let t = client.trust_list().await?;
            let s = client.status_list().await?;
            Ok::<_, eid_core::client::ClientError>((t, s))
        })?;
        match answer {
            Ok((t, s)) => {
                fetched = true;
                let fresh = list.insert(TrustList::decode(&t.issuers.0)?);
                match StatusList::from_signed(&s.signed.0, fresh, now) {
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
        let list = match &mut list {
            Some(given) => given,
            None => list.insert(TrustList::decode(&cached.trust).context("cached trust list")?),
        };
        match StatusList::from_signed(&cached.status, list, now) {
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
    let list = match list {
        Some(list) => list,
        None if dev => {
            warnings.push(
                "checked against the public fixture issuers (--dev): not for real documents".into(),
            );
            issuers::trust_list()?
        }
        None if backend.is_some() => bail!(
            "no trust list: the backend did not answer and this desk has no lists kept from an \
             earlier fetch (--cache DIR); give --trust FILE, or try again when the backend answers"
        ),
        None => bail!(
            "no trust list: give --backend URL (its lists), --trust FILE, or --cache DIR (lists \
             kept from an earlier fetch); --dev trusts the public fixture issuers, for tests only"
        ),
    };
    let mut v = Verifier::new(list);
    if let Some(s) = status {
        v = v.with_status_list(s);
    }
    Ok((v, warnings))
}

/// `eid verify`: exit 0 for a valid presentation, 1 for an invalid one.
pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    let mut lists = DeskVerifier::new(&args);
    if args.scan {
        return scan(&args, &mut lists);
    }
    let text = match (&args.text, &args.image) {
        (Some(t), _) => t.clone(),
        (None, Some(p)) => eid_core::present::decode_png(
            &std::fs::read(p).with_context(|| p.display().to_string())?,
        )?,
        (None, None) => bail!("--text or --image is needed"),
    };
    let verdict = check(&args, &mut lists, &text, now_s())?;
    print_verdict(&verdict, args.json)?;
    Ok(exit_code(verdict.valid))
}

/// `--scan`: one verdict line per scanned line of standard input, until it ends.
fn scan(args: &VerifyArgs, lists: &mut DeskVerifier<'_>) -> Result<ExitCode> {
    use std::io::BufRead as _;
    let s = &lists.sources;
    if s.trust.is_none() && s.backend.is_none() && s.cache.is_none() && !s.dev {
        // Nothing could ever give this desk a trust list: say so before the first scan.
        lists.get(now_s())?;
    }
    let mut all_valid = true;
    let mut scanned = false;
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading the scanner (standard input)")?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        scanned = true;
        match check(args, lists, text, now_s()) {
            Ok(v) if args.json => {
                all_valid &= v.valid;
                print_json_line(&verdict_json(&v))?;
            }
            Ok(v) => {
                all_valid &= v.valid;
                print_verdict(&v, false)?;
            }
            Err(e) => {
                all_valid = false;
                let error = crate::output::error_text(&e);
                if args.json {
                    print_json_line(&serde_json::json!({"valid": false, "error": error}))?;
                } else {
                    println!("ERROR {error}");
                }
            }
        }
    }
    Ok(exit_code(all_valid && scanned))
}

/// Checks one scanned text: an online token redeemed at the backend, or a QR offline.
fn check(args: &VerifyArgs, lists: &mut DeskVerifier<'_>, text: &str, now: u64) -> Result<Verdict> {
    let nonce = args.nonce.as_deref().map(nonce).transpose()?;
    let want = args.profile.as_deref().map(profile).transpose()?;
    if text.trim().starts_with(eid_core::present::TOKEN_PREFIX) {
        let (Some(url), Some(dir)) = (args.backend.as_deref(), args.verifier_dir.as_deref()) else {
            bail!("an online token: verify it with --backend URL --verifier-dir DIR");
        };
        let desk = desk::desk(dir)?;
        let client = client(url)?;
        let mut verdict = block_on(eid_core::client::redeem(&client, &desk, text, now))?
            .unwrap_or_else(|e| e.to_verdict(now));
        if let Some(w) = want {
            verdict.expect_profile(w);
        }
        return Ok(verdict);
    }
    let (v, warnings) = lists.get(now)?;
    let mut verdict = v.verify_offline(text, now, nonce.as_deref(), want);
    verdict.warnings.extend(warnings.iter().cloned());
    Ok(verdict)
}

/// How old the lists a desk fetched from its backend may grow before it fetches them again
/// (a desk that scans all day sees a revocation within this time).
const REFRESH_S: u64 = 300;

/// The desk's verifier: built when an offline code first needs it, and again once
/// [`REFRESH_S`] old when a backend gives the lists.
struct DeskVerifier<'a> {
    sources: TrustSources<'a>,
    built: Option<(Verifier, Vec<String>, u64)>,
}

impl<'a> DeskVerifier<'a> {
    fn new(args: &'a VerifyArgs) -> DeskVerifier<'a> {
        DeskVerifier {
            sources: TrustSources {
                trust: args.trust.as_deref(),
                backend: args.backend.as_deref(),
                cache: args.cache.as_deref(),
                dev: args.dev,
            },
            built: None,
        }
    }

    fn get(&mut self, now: u64) -> Result<(&Verifier, &[String])> {
        let stale = match &self.built {
            None => true,
            Some((_, _, at)) => {
                self.sources.backend.is_some() && now.saturating_sub(*at) >= REFRESH_S
            }
        };
        if stale {
            let (v, warnings) = verifier(&self.sources, now)?;
            self.built = Some((v, warnings, now));
        }
        let (v, warnings, _) = self.built.as_ref().context("the desk's verifier")?;
        Ok((v, warnings))
    }
}

/// A verdict as `eid verify` shows it (`--json`, and the text form's fields). Field order and
/// names are the output format.
#[derive(Serialize)]
struct VerdictJson<'a> {
    valid: bool,
    profile: Option<&'static str>,
    fields: serde_json::Value,
    reasons: Vec<String>,
    checked_at: u64,
    mode: &'static str,
    status_list_age_s: Option<u64>,
    warnings: &'a [String],
}

fn verdict_json(v: &Verdict) -> VerdictJson<'_> {
    VerdictJson {
        valid: v.valid,
        profile: v.profile.map(Profile::as_str),
        fields: v.fields.to_json(),
        reasons: v.reasons.iter().map(Reason::message).collect(),
        checked_at: v.checked_at,
        mode: v.mode.as_str(),
        status_list_age_s: v.status_list_age_s,
        warnings: &v.warnings,
    }
}

/// A verdict on standard output: JSON, or a line per field, reason and warning.
pub fn print_verdict(v: &Verdict, as_json: bool) -> Result<()> {
    let v = verdict_json(v);
    if as_json {
        return print_json(&v);
    }
    println!(
        "{} ({} {})",
        if v.valid { "VALID" } else { "INVALID" },
        v.mode,
        v.profile.unwrap_or("?")
    );
    if let Some(map) = v.fields.as_object() {
        for (k, val) in map {
            println!("  {k}: {val}");
        }
    }
    for r in &v.reasons {
        println!("  reason: {r}");
    }
    for w in v.warnings {
        println!("  warning: {w}");
    }
    Ok(())
}
