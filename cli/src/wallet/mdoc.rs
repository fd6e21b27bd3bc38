//! `eid wallet --data-dir D mdoc ...`: the mdocs the wallet holds (docs/adr/0031): `list` (per
//! docType, its validity and the unused single-use MSOs) and `export` (one MSO's IssuerSigned
//! CBOR, for outside tools; it counts as used).

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use eid_core::wallet::Wallet;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum MdocCommand {
    /// Per docType: validity of the newest MSO and how many unused MSOs are left.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Write one unused MSO's IssuerSigned (CBOR) to a file; it is marked used.
    Export {
        /// e.g. org.iso.18013.5.1.mDL, org.iso.23220.photoid.1, vn.gov.bhyt.1
        #[arg(long)]
        doctype: String,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(w: &Wallet, command: MdocCommand) -> Result<ExitCode> {
    match command {
        MdocCommand::List { json } => list(w, json),
        MdocCommand::Export { doctype, out } => export(w, &doctype, &out),
    }
}

fn list(w: &Wallet, json: bool) -> Result<ExitCode> {
    let stock = w.mdoc_stock()?;
    let rows: Vec<_> = stock
        .iter()
        .map(|s| {
            json!({
                "doctype": s.doc_type,
                "valid_from": s.valid_from,
                "valid_until": s.valid_until,
                "unused": s.unused,
            })
        })
        .collect();
    if json {
        crate::output::print_json(&rows)?;
    } else if stock.is_empty() {
        println!("no mdocs yet (sync with the passcode to get them)");
    } else {
        for s in &stock {
            let until = s
                .valid_until
                .map(|u| eid_core::credential::Date::from_unix(u).to_string())
                .unwrap_or_else(|| "-".into());
            println!("{:<26} until {until:<10} {} unused", s.doc_type, s.unused);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn export(w: &Wallet, doctype: &str, out: &std::path::Path) -> Result<ExitCode> {
    let Some(held) = w.take_mdoc(doctype)? else {
        bail!("no unused {doctype} MSO left: sync with the passcode to get a new batch");
    };
    std::fs::write(out, &held.bytes).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "{} bytes of IssuerSigned written to {}",
        held.bytes.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
