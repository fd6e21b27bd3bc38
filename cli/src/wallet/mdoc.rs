//! `eid wallet --data-dir D mdoc ...`: the mdocs the wallet holds (docs/adr/0031): `list` (per
//! docType, its validity and the unused single-use MSOs), `export` (one MSO's IssuerSigned
//! CBOR, for outside tools; it counts as used) and `present` (one ISO 18013-5 session with a
//! reader over NFC-through-vpcd or the TCP stand-in for BLE, docs/adr/0032).

use crate::context::now_s;
use crate::mdoc::hold::{self, HolderTransport};
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use eid_core::mdoc::{Decision, PresentationRequest, SessionEnd};
use eid_core::wallet::{Wallet, WalletMdocs, shown_again};
use serde_json::json;
use std::io::IsTerminal;
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
    /// Wait for one reader (engagement printed, and as PNG), show its request, answer after
    /// consent: the passcode given, and on a terminal a yes to the elements shown.
    Present {
        #[command(flatten)]
        transport: HolderTransport,
        /// Decline whatever is asked (the reader gets a session termination, no data).
        #[arg(long)]
        decline: bool,
        /// Refuse a reader that does not authenticate with a certificate of a reader CA in the
        /// synced trust list: the session ends, nothing is shown or disclosed, the refusal is
        /// logged.
        #[arg(long)]
        require_reader_auth: bool,
        /// Authenticate the device by MAC (ISO 18013-5 §9.1.3.5, EMacKey from the mdoc's device
        /// key and the reader's ephemeral key) instead of a signature: the CLI wallet's keys are
        /// software-held.
        #[arg(long)]
        device_mac: bool,
    },
}

pub fn run(w: &Wallet, command: MdocCommand) -> Result<ExitCode> {
    match command {
        MdocCommand::List { json } => list(w, json),
        MdocCommand::Export { doctype, out } => export(w, &doctype, &out),
        MdocCommand::Present {
            transport,
            decline,
            require_reader_auth,
            device_mac,
        } => present(w, &transport, decline, require_reader_auth, device_mac),
    }
}

fn present(
    w: &Wallet,
    transport: &HolderTransport,
    decline: bool,
    require_reader_auth: bool,
    device_mac: bool,
) -> Result<ExitCode> {
    let mut source = WalletMdocs::new(w);
    let policy = source.policy(now_s(), require_reader_auth, device_mac)?;
    let mut seen = None;
    let mut consent = |r: &PresentationRequest| {
        hold::show(r);
        let decision = if decline || !confirmed() {
            Decision::Decline
        } else {
            Decision::Accept
        };
        eprintln!("answer: {decision:?}");
        seen = Some((r.clone(), decision));
        decision
    };
    let end = hold::serve(transport, policy, &mut source, &mut consent)?;
    if let Some((request, decision)) = seen {
        for doc_type in shown_again(&request) {
            eprintln!(
                "note: no unused {doc_type} MSO was left, one already shown was shown again: sync to refill"
            );
        }
        source.record(&request, decision)?;
    } else if let Some(SessionEnd::ReaderRefused(why)) = end {
        eprintln!("refused: the reader did not authenticate ({why}); nothing was disclosed");
        source.record_refused(why)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// On a terminal the citizen says yes to the elements shown; without one the passcode given
/// on the command line is the consent.
fn confirmed() -> bool {
    if !std::io::stdin().is_terminal() {
        return true;
    }
    eprint!("share these? [y/N] ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).is_ok() && line.trim().eq_ignore_ascii_case("y")
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
