//! `eid host`: a hotel's or hospital's desk for accommodation notices (docs/adr/0048).
//! `register` makes and registers the host's key like a verifier desk's, for the
//! `accommodation` profile; `checkin` checks the guest's QR with the verifier (the backend's
//! trust and status lists), records the stay at the backend and prints the checked receipt.

use crate::context::{block_on, client, now_s};
use crate::output::print_json;
use crate::verify::{TrustSources, desk, verifier};
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use eid_core::api::B64;
use eid_core::client::{CheckInError, Stay, check_in};
use eid_core::credential::Date;
use eid_core::present::Profile;
use eid_core::verify::Reason;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct HostArgs {
    /// Directory of this host's key store and registration (default: the current directory).
    #[arg(long, global = true, default_value = ".")]
    pub dir: PathBuf,
    #[arg(long, global = true, env = "EID_BACKEND")]
    pub backend: Option<String>,
    #[command(subcommand)]
    pub command: HostCommand,
}

#[derive(Subcommand)]
pub enum HostCommand {
    /// Create this host's key and register it for the accommodation profile (admin token).
    Register {
        #[arg(long, env = "EID_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        /// The host's name guests see in their log, e.g. "Khách sạn Sen, Hoàn Kiếm".
        #[arg(long)]
        name: String,
    },
    /// Check a guest in: verify the accommodation QR, record the stay, print the receipt
    /// (exit 0 recorded, 1 not).
    Checkin {
        /// The scanned text.
        #[arg(long, conflicts_with = "image", required_unless_present = "image")]
        text: Option<String>,
        /// A PNG image with the QR code.
        #[arg(long)]
        image: Option<PathBuf>,
        /// Check-in date (YYYY-MM-DD); default today (UTC).
        #[arg(long)]
        check_in: Option<String>,
        /// Nights of the stay.
        #[arg(
            long,
            conflicts_with = "check_out",
            required_unless_present = "check_out"
        )]
        nights: Option<u32>,
        /// Check-out date (YYYY-MM-DD).
        #[arg(long)]
        check_out: Option<String>,
        /// Keep the lists fetched from the backend here (see `eid verify --cache`).
        #[arg(long)]
        cache: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn date(s: &str) -> Result<Date> {
    Date::parse_iso(s).with_context(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

pub fn run(args: HostArgs) -> Result<ExitCode> {
    let Some(backend) = args.backend.as_deref() else {
        bail!("--backend URL is needed");
    };
    match args.command {
        HostCommand::Register { admin_token, name } => desk::register(
            &args.dir,
            backend,
            &admin_token,
            name,
            vec![Profile::Accommodation.as_str().to_owned()],
        ),
        HostCommand::Checkin {
            text,
            image,
            check_in: first,
            nights,
            check_out,
            cache,
            json,
        } => {
            let text = match (text, image) {
                (Some(t), _) => t,
                (None, Some(p)) => eid_core::present::decode_png(
                    &std::fs::read(&p).with_context(|| p.display().to_string())?,
                )?,
                (None, None) => bail!("--text or --image is needed"),
            };
            let now = now_s();
            let first = match first {
                Some(d) => date(&d)?,
                None => Date::from_unix(now),
            };
            let last = match (nights, check_out) {
                (Some(n), _) => Date::from_unix_days(first.unix_days() + i64::from(n))
                    .context("--nights is too large")?,
                (None, Some(d)) => date(&d)?,
                (None, None) => bail!("--nights or --check-out is needed"),
            };
            let host = desk::desk(&args.dir)?;
            let sources = TrustSources {
                trust: None,
                backend: Some(backend),
                cache: cache.as_deref(),
                dev: false,
            };
            let (v, warnings) = verifier(&sources, now)?;
            let stay = Stay {
                check_in: first,
                check_out: last,
            };
            let client = client(backend)?;
            let outcome = block_on(check_in(&client, &v, &host, &text, stay, now))?;
            print(outcome, &warnings, json)
        }
    }
}

/// The outcome on standard output: JSON, or lines for the desk.
fn print(
    outcome: Result<eid_core::client::CheckIn, CheckInError>,
    warnings: &[String],
    as_json: bool,
) -> Result<ExitCode> {
    match outcome {
        Ok(c) => {
            let s = &c.receipt.statement;
            let out = json!({
                "recorded": true,
                "receipt_id": s.receipt_id,
                "host_id": s.host_id,
                "host_name": s.host_name,
                "check_in": s.check_in,
                "check_out": s.check_out,
                "recorded_at": s.recorded_at,
                "guest": c.verdict.fields.to_json(),
                "receipt": B64(c.signed),
                "warnings": warnings,
            });
            if as_json {
                print_json(&out)?;
            } else {
                println!("RECORDED receipt {} ({})", s.receipt_id, s.host_name);
                println!("  stay: {} to {}", s.check_in, s.check_out);
                if let Some(map) = out["guest"].as_object() {
                    for (k, v) in map {
                        println!("  {k}: {v}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let reasons: Vec<String> = match &e {
                CheckInError::Refused(v) => v.reasons.iter().map(Reason::message).collect(),
                _ => Vec::new(),
            };
            if as_json {
                print_json(&json!({
                    "recorded": false,
                    "error": e.code(),
                    "message": e.to_string(),
                    "reasons": reasons,
                    "warnings": warnings,
                }))?;
            } else {
                println!("NOT RECORDED: {e}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
