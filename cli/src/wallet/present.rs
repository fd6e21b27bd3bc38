//! `eid wallet ... present`: a QR for a verifier (offline, or an online token registered at the
//! backend), in the terminal and as PNG/SVG files.

use crate::context::{block_on, client};
use crate::output::{print_json, write_images};
use crate::values::{nonce, profile};
use anyhow::{Context as _, Result};
use clap::Args;
use eid_core::account::Passcode;
use eid_core::wallet::{Consent, PresentationOut, Wallet};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// The `--json` shape of a presentation.
fn presentation_json(out: &PresentationOut) -> serde_json::Value {
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

/// The dependant named by `--dependant`: its number in `eid wallet list` (1 = the youngest)
/// or its id.
fn dependant_id(w: &Wallet, given: &str) -> Result<String> {
    let dependants = w.dependants()?;
    let found = match given.parse::<usize>() {
        Ok(n) if given.len() < 4 => n.checked_sub(1).and_then(|i| dependants.get(i)),
        _ => dependants.iter().find(|d| d.id == given),
    };
    found
        .map(|d| d.id.clone())
        .with_context(|| format!("no dependant {given} in this wallet (see `eid wallet list`)"))
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
    /// Present a dependant's documents instead of your own (docs/adr/0055): the number
    /// `eid wallet list` shows (1 = the youngest) or the dependant's id.
    #[arg(long)]
    pub dependant: Option<String>,
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
) -> Result<ExitCode> {
    let profile = profile(&args.profile)?;
    let nonce = args.nonce.as_deref().map(nonce).transpose()?;
    let dependant = args
        .dependant
        .as_deref()
        .map(|d| dependant_id(w, d))
        .transpose()?;
    let out = if let Some(id) = &dependant {
        if args.online {
            anyhow::bail!("a dependant's documents are presented offline only");
        }
        w.present_of(
            profile,
            Some(id.as_str()),
            nonce.as_deref(),
            Consent::Passcode(pass),
            &args.to,
        )
    } else if args.online {
        let backend = backend.context("--backend URL is needed for an online token")?;
        let client = client(backend)?;
        block_on(w.present_online(&client, profile, pass, &args.to))?
    } else {
        w.present(profile, nonce.as_deref(), Consent::Passcode(pass), &args.to)
    }?;
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
