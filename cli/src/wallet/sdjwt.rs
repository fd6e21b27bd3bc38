//! `eid wallet --data-dir D sdjwt ...`: the SD-JWT VCs the wallet holds (docs/adr/0035):
//! `list` (per `vct`, the newest one's `exp`, the unused single-use credentials and their status
//! in the last JWT status list) and `export` (one issued SD-JWT VC with every disclosure,
//! `~`-terminated, no KB-JWT, for outside tools; it counts as used).

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use eid_core::sdjwt::{INVALID, SUSPENDED};
use eid_core::wallet::Wallet;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum SdJwtCommand {
    /// Per vct: how many unused SD-JWT VCs are left, until when, and their status.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Write one unused SD-JWT VC (issued form, every disclosure) to a file; it is marked used.
    Export {
        /// e.g. urn:eudi:pid:vn:1
        #[arg(long)]
        vct: String,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(w: &Wallet, command: SdJwtCommand) -> Result<ExitCode> {
    match command {
        SdJwtCommand::List { json } => list(w, json),
        SdJwtCommand::Export { vct, out } => export(w, &vct, &out),
    }
}

fn status_name(status: Option<u8>) -> &'static str {
    match status {
        None => "unknown",
        Some(0) => "valid",
        Some(INVALID) => "invalid",
        Some(SUSPENDED) => "suspended",
        Some(_) => "other",
    }
}

fn list(w: &Wallet, json: bool) -> Result<ExitCode> {
    let stock = w.sdjwt_stock()?;
    if json {
        let rows: Vec<_> = stock
            .iter()
            .map(|s| {
                json!({
                    "vct": s.vct,
                    "valid_until": s.valid_until,
                    "unused": s.unused,
                    "status": status_name(s.status),
                })
            })
            .collect();
        crate::output::print_json(&rows)?;
    } else if stock.is_empty() {
        println!("no SD-JWT VCs yet (sync with the passcode to get them)");
    } else {
        for s in &stock {
            let until = s
                .valid_until
                .map(|u| eid_core::credential::Date::from_unix(u).to_string())
                .unwrap_or_else(|| "-".into());
            println!(
                "{:<20} until {until:<10} {} unused, {}",
                s.vct,
                s.unused,
                status_name(s.status)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn export(w: &Wallet, vct: &str, out: &std::path::Path) -> Result<ExitCode> {
    let Some(held) = w.take_sdjwt(vct)? else {
        bail!("no unused {vct} SD-JWT VC left: sync with the passcode to get a new batch");
    };
    std::fs::write(out, held.issued.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "SD-JWT VC with {} disclosures written to {}",
        held.sd_jwt.disclosures.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
