//! `eid wallet --data-dir DIR ...`: the citizen's wallet on this computer. This file holds the
//! options, the dispatch and the account commands (list, show, history, log, status, sync, lock,
//! change passcode); activation, presentation, signing and each export have a file each.

mod activate;
mod authorize;
mod fhir;
mod mdoc;
mod present;
mod sdjwt;
mod signing;
mod submit;

use crate::context::{block_on, client, open_wallet, passcode};
use crate::output::print_json;
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use eid_core::account::AccountState;
use eid_core::account::Passcode;
use eid_core::platform::{SyncListener, SyncStage};
use eid_core::transactions;
use eid_core::wallet::{DisclosureSource, DocumentInfo, Wallet};
use serde_json::json;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options every wallet command shares.
#[derive(Args)]
pub struct WalletArgs {
    /// Directory holding the wallet (created when seeding or activating).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Backend base URL (for activate and sync), e.g. http://127.0.0.1:8088
    #[arg(long, env = "EID_BACKEND")]
    pub backend: Option<String>,
    /// The 6-digit passcode (or EID_PASSCODE; otherwise asked on the terminal).
    #[arg(long, env = "EID_PASSCODE", hide_env_values = true)]
    pub passcode: Option<String>,
    #[command(subcommand)]
    pub command: WalletCommand,
}

#[derive(Subcommand)]
pub enum WalletCommand {
    /// The documents: id, kind, title, holder, valid until, status.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One document with all its fields.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// What changed in a document and when (lịch sử thay đổi), newest first: the fields the
    /// issuer changed in each new version (licence points, a renewed card), old → new.
    History {
        /// The document's id (as `list` shows it).
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// The transaction log: every presentation and signature.
    Log {
        #[arg(long)]
        json: bool,
    },
    /// What was disclosed to whom: the hub's records of the flows it mediated ("Log in with
    /// e-ID", synced) merged with the wallet's own presentations; names, never values.
    Disclosures {
        #[arg(long)]
        json: bool,
    },
    /// Account state, last sync and document count (no passcode needed).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Activate the level-2 account: SMS code, passcode, chip read, then a first sync.
    Activate(activate::ActivateArgs),
    /// Pull documents, trust list and status list from the backend.
    Sync {
        #[arg(long)]
        json: bool,
    },
    /// Answer a relying party's OpenID4VP request (openid4vp:// URI): shows who asks, why and
    /// which claims; sends them after consent (the passcode), or `access_denied` with --decline.
    Authorize(authorize::AuthorizeArgs),
    /// Show a QR for a verifier: only the profile's fields, after the passcode.
    Present(present::PresentArgs),
    /// Remote signing credential: enrol, list.
    #[command(subcommand)]
    Signing(signing::SigningCommand),
    /// ISO 18013-5 mdocs held: list, export.
    #[command(subcommand)]
    Mdoc(mdoc::MdocCommand),
    /// SD-JWT VCs held (the identity as a PID): list, export.
    #[command(subcommand)]
    Sdjwt(sdjwt::SdJwtCommand),
    /// HL7 FHIR R4 Bundles held (the e-health book, the health record): export.
    #[command(subcommand)]
    Fhir(fhir::FhirCommand),
    /// Sign a file with the remote signing key: a detached CMS signature (.p7s).
    Sign(signing::SignArgs),
    /// Submit a record or change for the authority to verify (a vaccination given abroad, a
    /// temporary residence), with attachments: prints the submission's id and state.
    Submit(submit::SubmitArgs),
    /// The submissions sent: state (pending, verified, rejected), the clerk's reason, kind, when.
    Submissions {
        #[arg(long)]
        json: bool,
    },
    /// Lock the account at the backend (lost phone: the device key alone may).
    LockAccount,
    /// Unlock the account at the backend (needs the passcode: the citizen's consent).
    UnlockAccount,
    /// Change the passcode (an activated wallet changes it at the backend too).
    ChangePasscode {
        /// The new 6-digit passcode (or EID_NEW_PASSCODE).
        #[arg(long, env = "EID_NEW_PASSCODE", hide_env_values = true)]
        new: String,
    },
}

fn row(w: &Wallet, d: &DocumentInfo) -> serde_json::Value {
    json!({
        "id": d.id,
        "kind": d.kind,
        "title": d.title,
        "holder": d.holder,
        "valid_until": d.valid_until,
        "status": w.status_of(d),
        // Whose document: the holder's own (null) or a dependant's (docs/adr/0055).
        "dependant": d.dependant.as_ref().map(|c| json!({
            "id": c.id,
            "name": c.name,
            "birth_date": c.birth_date,
        })),
    })
}

pub fn run(args: WalletArgs) -> Result<ExitCode> {
    let w = open_wallet(&args.data_dir)?;
    if let WalletCommand::Activate(activate) = &args.command {
        return activate::run(
            &w,
            args.backend.as_deref(),
            args.passcode.as_deref(),
            activate,
        );
    }
    if !w.is_set_up()? {
        bail!(
            "no wallet in {} (create one with `eid fixtures seed-wallet` or `eid wallet activate`)",
            args.data_dir.display()
        );
    }
    if let WalletCommand::Status { json } = args.command {
        return status(&w, json);
    }
    let pass = passcode(args.passcode.as_deref())?;
    w.unlock(&pass)?;
    let backend = args.backend.as_deref();
    match args.command {
        WalletCommand::Present(p) => present::present(&w, &pass, backend, &p),
        WalletCommand::Authorize(a) => authorize::run(&w, &pass, backend, &a),
        WalletCommand::List { json } => list(&w, json),
        WalletCommand::Show { id, json } => show(&w, &id, json),
        WalletCommand::History { id, json } => history(&w, &id, json),
        WalletCommand::Log { json } => log(&w, json),
        WalletCommand::Disclosures { json } => disclosures(&w, json),
        WalletCommand::Sync { json } => sync(&w, &pass, backend, json),
        WalletCommand::Signing(command) => signing::signing(&w, backend, command),
        WalletCommand::Mdoc(command) => mdoc::run(&w, command),
        WalletCommand::Sdjwt(command) => sdjwt::run(&w, command),
        WalletCommand::Fhir(command) => fhir::run(&w, command),
        WalletCommand::Sign(sign) => signing::sign(&w, backend, &pass, &sign),
        WalletCommand::Submit(s) => submit::submit(&w, &pass, backend, &s),
        WalletCommand::Submissions { json } => submit::submissions(&w, backend, json),
        WalletCommand::LockAccount => lock(&w, None, backend),
        WalletCommand::UnlockAccount => lock(&w, Some(&pass), backend),
        WalletCommand::ChangePasscode { new } => change_passcode(&w, &pass, &new, backend),
        WalletCommand::Status { .. } | WalletCommand::Activate(_) => Ok(ExitCode::SUCCESS),
    }
}

/// The documents; one unreadable document does not hide the others: it is listed as damaged,
/// by id and kind only.
fn list(w: &Wallet, json: bool) -> Result<ExitCode> {
    let list = w.document_list()?;
    // Grouped by person: the holder's own first, then each dependant's, youngest first.
    let dependants = w.dependants()?;
    let group = |d: &DocumentInfo| {
        d.dependant.as_ref().map_or(0, |c| {
            1 + dependants
                .iter()
                .position(|x| x.id == c.id)
                .unwrap_or(dependants.len())
        })
    };
    let mut documents: Vec<&DocumentInfo> = list.documents.iter().collect();
    documents.sort_by_key(|d| group(d));
    let mut rows: Vec<_> = documents.iter().map(|d| row(w, d)).collect();
    rows.extend(
        list.damaged
            .iter()
            .map(|d| json!({"id": d.id, "kind": d.kind, "status": "damaged"})),
    );
    if json {
        print_json(&rows)?;
    } else {
        let mut shown_group = None;
        for r in rows {
            let s = |k: &str| r[k].as_str().unwrap_or("-").to_owned();
            let person = r["dependant"]["id"].as_str().map(str::to_owned);
            if person.is_some() && person != shown_group {
                let n = dependants
                    .iter()
                    .position(|x| Some(&x.id) == person.as_ref())
                    .map_or(0, |i| i + 1);
                println!(
                    "— dependant {n}: {} (born {}), present with --dependant {n}",
                    r["dependant"]["name"].as_str().unwrap_or("-"),
                    r["dependant"]["birth_date"].as_str().unwrap_or("-"),
                );
                shown_group = person;
            }
            if s("status") == "damaged" {
                println!("{}  {:<22} damaged: cannot be read", s("id"), s("kind"));
                continue;
            }
            let (id, title, holder) = (s("id"), s("title"), s("holder"));
            let (until, status) = (s("valid_until"), s("status"));
            println!("{id}  {title:<22} {holder:<24} until {until:<10} {status}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One document with all its fields.
fn show(w: &Wallet, id: &str, json: bool) -> Result<ExitCode> {
    // Any kind: a built-in one, or one known only from the backend's kind list (ADR 0060).
    let view = w.document_view(id)?;
    let info = &view.info;
    let mut out = row(w, info);
    out["issuer"] = json!(info.issuer);
    out["title_en"] = json!(view.title_en);
    out["fields"] = view.fields_json;
    // The same fields labelled, in the order of the kind's declaration (credential/kinds/).
    let labelled = view.labelled_fields;
    out["labelled_fields"] = serde_json::to_value(&labelled)?;
    if json {
        print_json(&out)?;
    } else {
        let status = out["status"].as_str().unwrap_or("-");
        println!("{} — {} ({status})", info.title, info.holder);
        println!("Issuer: {}", info.issuer);
        print_labelled(&out["labelled_fields"], 0);
    }
    Ok(ExitCode::SUCCESS)
}

/// `Label: value` lines; an object's or a list item's fields indented below its label.
fn print_labelled(fields: &serde_json::Value, depth: usize) {
    let pad = "  ".repeat(depth);
    for f in fields.as_array().into_iter().flatten() {
        let label = f["label_vi"].as_str().unwrap_or("-");
        match f["type"].as_str() {
            Some("object") => {
                println!("{pad}{label}:");
                print_labelled(&f["value"], depth + 1);
            }
            Some("list") => {
                println!("{pad}{label}:");
                for item in f["value"].as_array().into_iter().flatten() {
                    print_labelled(item, depth + 1);
                    println!();
                }
            }
            _ => {
                let value = match (&f["value_label_vi"], &f["value"]) {
                    (serde_json::Value::String(l), _) => l.clone(),
                    (_, serde_json::Value::String(s)) if s.len() > 200 => {
                        format!("({} characters)", s.chars().count())
                    }
                    (_, serde_json::Value::String(s)) => s.clone(),
                    (_, v) => v.to_string(),
                };
                println!("{pad}{label}: {value}");
            }
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` of Unix milliseconds.
pub(crate) fn utc(ms: i64) -> String {
    let secs = u64::try_from(ms / 1000).unwrap_or(0);
    let rest = secs % 86_400;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        eid_core::credential::Date::from_unix(secs),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// A document's history (docs/adr/0056), newest first, with both labels.
fn history(w: &Wallet, id: &str, json: bool) -> Result<ExitCode> {
    let entries = w.history(id)?;
    if json {
        let rows: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({
                    "at_ms": e.at_ms,
                    "at": utc(e.at_ms),
                    "kind": e.kind,
                    "document_id": e.document_id,
                    "previous_id": e.previous_id,
                    "issued_at": e.issued_at,
                    "changes": e.changes,
                })
            })
            .collect();
        print_json(&rows)?;
    } else if entries.is_empty() {
        println!("no changes since this document arrived (chưa có thay đổi)");
    } else {
        for e in &entries {
            println!("{}  {}", utc(e.at_ms), e.kind.title());
            for c in &e.changes {
                println!(
                    "  {} ({}): {} → {}",
                    c.label_vi,
                    c.label_en,
                    c.old.as_deref().unwrap_or("-"),
                    c.new.as_deref().unwrap_or("-")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The transaction log.
fn log(w: &Wallet, json: bool) -> Result<ExitCode> {
    let entries = w.transactions()?;
    if json {
        print_json(&entries)?;
    } else if entries.is_empty() {
        println!("no transactions yet");
    } else {
        println!("{}", transactions::export_json(&entries)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn disclosures(w: &Wallet, json: bool) -> Result<ExitCode> {
    let entries: Vec<_> = w
        .disclosures()?
        .into_iter()
        .map(|d| {
            json!({
                "at_ms": d.at_ms,
                "relying_party": d.relying_party,
                "client_id": d.client_id,
                "via": d.via,
                "purpose": d.purpose,
                "claims": d.claims,
                "source": match d.source {
                    DisclosureSource::Hub => "hub",
                    DisclosureSource::Wallet => "wallet",
                },
            })
        })
        .collect();
    if json {
        print_json(&entries)?;
    } else if entries.is_empty() {
        println!("nothing disclosed yet");
    } else {
        for e in &entries {
            println!(
                "{}  {}  {}  [{}]",
                e["at_ms"], e["relying_party"], e["purpose"], e["claims"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Documents, trust list and status list from the backend.
fn sync(w: &Wallet, pass: &Passcode, backend: Option<&str>, json: bool) -> Result<ExitCode> {
    let client = client(backend.context("--backend URL is needed to sync")?)?;
    let report = block_on(w.sync(&client, Some(&StderrSync), Some(pass)))??;
    if json {
        let state = w.sync_state()?;
        print_json(&json!({ "report": report, "state": state }))?;
    } else if report.revoked {
        println!(
            "this device's account was revoked (activated on another device): documents removed"
        );
    } else {
        let note = if report.unchanged {
            " (nothing new)"
        } else {
            ""
        };
        println!(
            "synced: {} updated, {} removed{note}",
            report.updated, report.removed
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Locks the account at the backend, or unlocks it with the passcode (`unlock_with`).
fn lock(w: &Wallet, unlock_with: Option<&Passcode>, backend: Option<&str>) -> Result<ExitCode> {
    let backend = backend.context("--backend URL is needed to lock or unlock the account")?;
    let client = client(backend)?;
    let status = match unlock_with {
        None => block_on(w.lock_account_remote(&client))?,
        Some(pass) => block_on(w.unlock_account_remote(&client, pass))?,
    }?;
    println!("account {}: {:?}", status.account_id, status.state);
    Ok(ExitCode::SUCCESS)
}

/// A new passcode: at the backend too once the wallet is activated.
fn change_passcode(
    w: &Wallet,
    pass: &Passcode,
    new: &str,
    backend: Option<&str>,
) -> Result<ExitCode> {
    let new = Passcode::new(new)?;
    if w.account_id()?.is_some() {
        let backend = backend
            .context("--backend URL is needed: an activated wallet changes its passcode online")?;
        let client = client(backend)?;
        block_on(w.change_passcode_online(&client, pass, &new))??;
    } else {
        w.change_passcode(pass, &new)?;
    }
    println!("passcode changed");
    Ok(ExitCode::SUCCESS)
}

/// Sync progress on a terminal.
struct StderrSync;

impl SyncListener for StderrSync {
    fn on_sync(&self, stage: SyncStage) {
        if std::io::stderr().is_terminal() && stage != SyncStage::Done {
            let name = serde_json::to_string(&stage).unwrap_or_default();
            eprintln!("  sync: {}", name.trim_matches('"'));
        }
    }
}

fn status(w: &Wallet, json: bool) -> Result<ExitCode> {
    let state = w.state()?;
    let sync = w.sync_state()?;
    let (state_name, level) = match state {
        AccountState::NotActivated => ("not_activated", None),
        AccountState::Active { level } => ("active", Some(level)),
        AccountState::Locked { level, .. } => ("locked", Some(level)),
        AccountState::Revoked => ("revoked", None),
    };
    let report = json!({
        "state": state_name,
        "level": level,
        "last_sync": sync.last_synced_ms,
        "last_sync_error": sync.last_error,
        "documents": w.document_count()?,
    });
    if json {
        print_json(&report)?;
    } else {
        let level = level.map(|l| format!(" (level {l})")).unwrap_or_default();
        println!("account: {state_name}{level}");
        println!("documents: {}", report["documents"]);
        let last = sync
            .last_synced_ms
            .map_or("never".to_owned(), |ms| format!("{ms} (Unix ms)"));
        println!("last sync: {last}");
        if let Some(e) = sync.last_error {
            println!("last sync error: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
