//! `eid wallet --data-dir DIR ...`: the citizen's wallet on this computer, and
//! `eid fixtures seed-wallet`, which fills one from the fixture issuers without a backend.

use crate::output::print_json;
use clap::{Args, Subcommand};
use eid_core::account::lockout::{Clock, SystemClock};
use eid_core::account::passcode::Passcode;
use eid_core::chip::crypto::SecretKey;
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::transactions::{self, Outcome, Transaction, TransactionKind};
use eid_core::wallet::{DocumentInfo, Wallet};
use eid_fixtures::{citizens, issuers};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Options every wallet command shares.
#[derive(Args)]
pub struct WalletArgs {
    /// Directory holding the wallet (created when seeding).
    #[arg(long)]
    pub data_dir: PathBuf,
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
    /// The transaction log: every presentation and signature.
    Log {
        #[arg(long)]
        json: bool,
    },
    /// Account state and document count (no passcode needed).
    Status {
        #[arg(long)]
        json: bool,
    },
}

/// The desktop's software key store. There is no secure hardware on a desktop: the key file is
/// sealed under a key bound to this machine and directory (device binding, not secrecy: the
/// passcode is what protects the documents; see docs/adr/0006).
fn open_key_store(dir: &Path) -> Result<Arc<dyn KeyStore>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let machine = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let secret = Sha256::new()
        .chain_update(b"eid-cli software key store v1\0")
        .chain_update(machine.trim().as_bytes())
        .chain_update(b"\0")
        .chain_update(dir.as_os_str().as_encoded_bytes())
        .finalize();
    let keys = SoftwareKeyStore::open(&dir.join("keystore.bin"), &SecretKey::new(secret.to_vec()))
        .map_err(|e| format!("key store: {e} (was the wallet copied from another machine?)"))?;
    Ok(Arc::new(keys))
}

fn open_wallet(dir: &Path) -> Result<Wallet, String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
    Wallet::open(dir, open_key_store(dir)?, clock).map_err(|e| e.to_string())
}

/// The passcode from the option/environment, or a prompt when a person is at the terminal.
fn passcode(given: Option<&str>) -> Result<Passcode, String> {
    let text = match given {
        Some(p) => p.to_owned(),
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Passcode: ").map_err(|e| e.to_string())?
        }
        None => {
            return Err(
                "the passcode is needed: --passcode, EID_PASSCODE, or run on a terminal".into(),
            );
        }
    };
    Passcode::new(&text).map_err(|e| e.to_string())
}

fn now_s() -> u64 {
    (SystemClock::default().wall_ms() / 1000) as u64
}

fn row(w: &Wallet, d: &DocumentInfo) -> serde_json::Value {
    json!({
        "id": d.id,
        "kind": d.kind,
        "title": d.title,
        "holder": d.holder,
        "valid_until": d.valid_until,
        "status": w.status_of(d),
    })
}

pub fn run(args: WalletArgs) -> Result<ExitCode, String> {
    let w = open_wallet(&args.data_dir)?;
    if !w.is_set_up().map_err(|e| e.to_string())? {
        return Err(format!(
            "no wallet in {} (create one with `eid fixtures seed-wallet`)",
            args.data_dir.display()
        ));
    }
    if let WalletCommand::Status { json } = args.command {
        let state = w.state().map_err(|e| e.to_string())?;
        let report = json!({ "state": state, "data_dir": args.data_dir });
        if json {
            print_json(&report)?;
        } else {
            println!("{}", serde_json::to_string(&state).unwrap_or_default());
        }
        return Ok(ExitCode::SUCCESS);
    }
    w.unlock(&passcode(args.passcode.as_deref())?)
        .map_err(|e| e.to_string())?;
    match args.command {
        WalletCommand::List { json } => {
            let docs = w.documents().map_err(|e| e.to_string())?;
            let rows: Vec<_> = docs.iter().map(|d| row(&w, d)).collect();
            if json {
                print_json(&rows)?;
            } else {
                for r in rows {
                    let s = |k: &str| r[k].as_str().unwrap_or("-").to_owned();
                    println!(
                        "{}  {:<22} {:<24} until {:<10} {}",
                        s("id"),
                        s("title"),
                        s("holder"),
                        s("valid_until"),
                        s("status")
                    );
                }
            }
        }
        WalletCommand::Show { id, json } => {
            let (info, verified) = w.document(&id).map_err(|e| e.to_string())?;
            let mut out = row(&w, &info);
            out["issuer"] = json!(info.issuer);
            out["fields"] = verified.document.fields_json();
            if json {
                print_json(&out)?;
            } else {
                println!(
                    "{} — {} ({})",
                    info.title,
                    info.holder,
                    out["status"].as_str().unwrap_or("-")
                );
                println!("Issuer: {}", info.issuer);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&out["fields"]).unwrap_or_default()
                );
            }
        }
        WalletCommand::Log { json } => {
            let entries = w.transactions().map_err(|e| e.to_string())?;
            if json {
                print_json(&entries)?;
            } else if entries.is_empty() {
                println!("no transactions yet");
            } else {
                println!(
                    "{}",
                    transactions::export_json(&entries).map_err(|e| e.to_string())?
                );
            }
        }
        WalletCommand::Status { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `eid fixtures seed-wallet`: a wallet for the first synthetic citizen with the four fixture
/// documents, activated at level 2, without a backend.
pub fn seed(data_dir: &Path, passcode_text: &str) -> Result<ExitCode, String> {
    let w = open_wallet(data_dir)?;
    if w.is_set_up().map_err(|e| e.to_string())? {
        return Err(format!(
            "{} already holds a wallet; use an empty directory",
            data_dir.display()
        ));
    }
    let citizen = citizens::citizens().remove(0);
    let device = w
        .set_up(&passcode(Some(passcode_text))?)
        .map_err(|e| e.to_string())?;
    w.activate(2).map_err(|e| e.to_string())?;
    w.set_trust_list(&issuers::trust_list().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let now = now_s();
    let issued = issuers::documents_for(&citizen, &device, now).map_err(|e| e.to_string())?;
    let kinds: Vec<String> = issued.iter().map(|(k, _)| k.as_str().to_owned()).collect();
    let credentials: Vec<Vec<u8>> = issued.into_iter().map(|(_, c)| c).collect();
    let infos = w.import(&credentials).map_err(|e| e.to_string())?;
    w.record(&Transaction {
        at_ms: (now * 1000) as i64,
        kind: TransactionKind::Account,
        counterparty: "eid fixtures seed-wallet".into(),
        profile: "level-2 activation (fixture issuers, no backend)".into(),
        fields: kinds,
        outcome: Outcome::Success,
        detail: None,
    })
    .map_err(|e| e.to_string())?;
    println!(
        "wallet created in {} with {} documents (account level 2)",
        data_dir.display(),
        infos.len()
    );
    Ok(ExitCode::SUCCESS)
}
