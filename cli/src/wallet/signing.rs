//! `eid wallet ... signing enrol|list` and `eid wallet ... sign --file FILE --out SIG.p7s`:
//! the citizen's remote signing key (issue 6).

use crate::context::{block_on, client};
use crate::output::print_json;
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use eid_core::account::Passcode;
use eid_core::signing::{SigningCredential, SigningRequest};
use eid_core::wallet::Wallet;
use serde_json::json;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum SigningCommand {
    /// Get the account's remote signing certificate (created on first call).
    Enrol {
        #[arg(long)]
        json: bool,
    },
    /// The account's signing credentials.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct SignArgs {
    /// The file to sign.
    #[arg(long)]
    pub file: PathBuf,
    /// Where to write the detached CMS signature (DER).
    #[arg(long)]
    pub out: PathBuf,
    /// Who asked for the signature (shown and logged).
    #[arg(long, default_value = "eid command line")]
    pub relying_party: String,
}

fn row(c: &SigningCredential) -> serde_json::Value {
    json!({
        "credential_id": c.credential_id,
        "subject": c.subject,
        "status": c.status,
        "valid_from": c.valid_from,
        "valid_to": c.valid_to,
    })
}

fn backend(url: Option<&str>) -> Result<eid_core::client::BackendClient> {
    client(url.context("--backend URL is needed for remote signing")?)
}

pub fn signing(w: &Wallet, url: Option<&str>, command: SigningCommand) -> Result<ExitCode> {
    let api = backend(url)?;
    let (credentials, json) = match command {
        SigningCommand::Enrol { json } => (vec![block_on(w.signing_enrol(&api))??], json),
        SigningCommand::List { json } => (block_on(w.signing_credentials(&api))??, json),
    };
    let rows: Vec<_> = credentials.iter().map(row).collect();
    if json {
        print_json(&rows)?;
    } else if rows.is_empty() {
        println!("no signing credential (enrol with `signing enrol`)");
    } else {
        for c in &credentials {
            println!("{}  {}  {}", c.credential_id, c.status, c.subject);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn sign(
    w: &Wallet,
    url: Option<&str>,
    passcode: &Passcode,
    args: &SignArgs,
) -> Result<ExitCode> {
    let api = backend(url)?;
    let content = std::fs::read(&args.file).with_context(|| args.file.display().to_string())?;
    let request = SigningRequest {
        file_name: args
            .file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        content,
        relying_party: args.relying_party.clone(),
    };
    // The consent the phone would show; the passcode given is the citizen's yes.
    let consent = block_on(w.signing_consent(&api, &request))??;
    if std::io::stderr().is_terminal() {
        eprintln!("Signing {} ({} bytes)", consent.file_name, consent.size);
        eprintln!("  SHA-256: {}", consent.sha256_hex);
        eprintln!("  for:     {}", consent.relying_party);
        eprintln!("  as:      {}", consent.signer);
    }
    let signed = block_on(w.sign(&api, &request, passcode))??;
    std::fs::write(&args.out, &signed.cms).with_context(|| args.out.display().to_string())?;
    println!(
        "signed {} (sha256 {}): {}",
        consent.file_name,
        consent.sha256_hex,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
