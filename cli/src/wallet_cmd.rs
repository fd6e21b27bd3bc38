//! `eid wallet --data-dir DIR ...`: the citizen's wallet on this computer, and
//! `eid fixtures seed-wallet`, which fills one from the fixture issuers without a backend.

use crate::output::print_json;
use clap::{Args, Subcommand};
use eid_core::account::AccountState;
use eid_core::account::lockout::{Clock, SystemClock};
use eid_core::account::passcode::Passcode;
use eid_core::chip::TransportLimits;
use eid_core::chip::document::{ChipDocument, read_document};
use eid_core::chip::pace::PacePassword;
use eid_core::chip::reader::ReadRequest;
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::sync::{BackendClient, RetryPolicy, SyncListener, SyncStage};
use eid_core::transactions::{self, Outcome, Transaction, TransactionKind};
use eid_core::wallet::{DocumentInfo, Wallet};
use eid_crypto::OsRng;
use eid_crypto::SecretKey;
use eid_fixtures::card::SimTransport;
use eid_fixtures::card::cccd::{self, CardOptions};
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
    /// The transaction log: every presentation and signature.
    Log {
        #[arg(long)]
        json: bool,
    },
    /// Account state, last sync and document count (no passcode needed).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Activate the level-2 account: SMS code, passcode, chip read, then a first sync.
    Activate {
        /// 12-digit ID number.
        #[arg(long)]
        id: String,
        /// Phone number registered for the ID.
        #[arg(long)]
        phone: String,
        /// Read the simulated card of the synthetic citizen with this ID.
        #[arg(long, conflicts_with = "pcsc", required_unless_present = "pcsc")]
        sim: bool,
        /// Read the card on a PC/SC desk reader (build with --features pcsc).
        #[arg(long)]
        pcsc: bool,
        /// PC/SC reader name (default: the first with a card).
        #[arg(long, requires = "pcsc")]
        reader: Option<String>,
        /// The card's 6-digit CAN for PACE (default: the last 6 digits of the ID number, as
        /// printed on the CCCD).
        #[arg(long, requires = "pcsc")]
        can: Option<String>,
        /// The SMS code (default: read from a development backend's outbox).
        #[arg(long)]
        code: Option<String>,
    },
    /// Pull documents, trust list and status list from the backend.
    Sync {
        #[arg(long)]
        json: bool,
    },
    /// Show a QR for a verifier: only the profile's fields, after the passcode.
    Present(crate::present_cmd::PresentArgs),
    /// Remote signing credential: enrol, list.
    #[command(subcommand)]
    Signing(crate::signing_cmd::SigningCommand),
    /// Sign a file with the remote signing key: a detached CMS signature (.p7s).
    Sign(crate::signing_cmd::SignArgs),
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

/// The desktop's software key store. There is no secure hardware on a desktop: the key file is
/// sealed under a key bound to this machine and directory (device binding, not secrecy: the
/// passcode is what protects the documents; see docs/adr/0006).
pub(crate) fn open_key_store(dir: &Path) -> Result<Arc<dyn KeyStore>, String> {
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

pub(crate) fn open_wallet(dir: &Path) -> Result<Wallet, String> {
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
    if let WalletCommand::Activate {
        id,
        phone,
        code,
        pcsc,
        reader,
        can,
        ..
    } = &args.command
    {
        let backend = args
            .backend
            .as_deref()
            .ok_or("--backend URL is needed to activate")?;
        let card = if *pcsc {
            Card::Pcsc {
                reader: reader.clone(),
                can: match can {
                    Some(c) => c.clone(),
                    None => id
                        .get(id.len().saturating_sub(6)..)
                        .unwrap_or_default()
                        .to_owned(),
                },
            }
        } else {
            Card::Sim
        };
        return activate(
            &w,
            backend,
            args.passcode.as_deref(),
            id,
            phone,
            code.as_deref(),
            &card,
        );
    }
    if !w.is_set_up().map_err(|e| e.to_string())? {
        return Err(format!(
            "no wallet in {} (create one with `eid fixtures seed-wallet` or `eid wallet activate`)",
            args.data_dir.display()
        ));
    }
    if let WalletCommand::Status { json } = args.command {
        return status(&w, json);
    }
    let pass = passcode(args.passcode.as_deref())?;
    w.unlock(&pass).map_err(|e| e.to_string())?;
    match args.command {
        WalletCommand::Present(p) => {
            return crate::present_cmd::present(&w, &pass, args.backend.as_deref(), &p);
        }
        WalletCommand::List { json } => {
            // One unreadable document does not hide the others: it is listed as damaged, by
            // id and kind only.
            let list = w.document_list().map_err(|e| e.to_string())?;
            let mut rows: Vec<_> = list.documents.iter().map(|d| row(&w, d)).collect();
            rows.extend(
                list.damaged
                    .iter()
                    .map(|d| json!({"id": d.id, "kind": d.kind, "status": "damaged"})),
            );
            if json {
                print_json(&rows)?;
            } else {
                for r in rows {
                    let s = |k: &str| r[k].as_str().unwrap_or("-").to_owned();
                    if s("status") == "damaged" {
                        println!("{}  {:<22} damaged: cannot be read", s("id"), s("kind"));
                        continue;
                    }
                    let (id, title, holder) = (s("id"), s("title"), s("holder"));
                    let (until, status) = (s("valid_until"), s("status"));
                    println!("{id}  {title:<22} {holder:<24} until {until:<10} {status}");
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
                let status = out["status"].as_str().unwrap_or("-");
                println!("{} — {} ({status})", info.title, info.holder);
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
        WalletCommand::Sync { json } => {
            let backend = args
                .backend
                .as_deref()
                .ok_or("--backend URL is needed to sync")?;
            let client = client(backend)?;
            let report = block_on(w.sync(&client, Some(&StderrSync), Some(&pass)))?
                .map_err(|e| e.to_string())?;
            if json {
                let state = w.sync_state().map_err(|e| e.to_string())?;
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
        }
        WalletCommand::Signing(command) => {
            return crate::signing_cmd::signing(&w, args.backend.as_deref(), command);
        }
        WalletCommand::Sign(sign) => {
            return crate::signing_cmd::sign(&w, args.backend.as_deref(), &pass, &sign);
        }
        WalletCommand::LockAccount | WalletCommand::UnlockAccount => {
            let backend = args
                .backend
                .as_deref()
                .ok_or("--backend URL is needed to lock or unlock the account")?;
            let client = client(backend)?;
            let status = if matches!(args.command, WalletCommand::LockAccount) {
                block_on(w.lock_account_remote(&client))?
            } else {
                block_on(w.unlock_account_remote(&client, &pass))?
            }
            .map_err(|e| e.to_string())?;
            println!("account {}: {:?}", status.account_id, status.state);
        }
        WalletCommand::ChangePasscode { new } => {
            let new = Passcode::new(&new).map_err(|e| e.to_string())?;
            if w.account_id().map_err(|e| e.to_string())?.is_some() {
                let backend = args.backend.as_deref().ok_or(
                    "--backend URL is needed: an activated wallet changes its passcode online",
                )?;
                let client = client(backend)?;
                block_on(w.change_passcode_online(&client, &pass, &new))?
                    .map_err(|e| e.to_string())?;
            } else {
                w.change_passcode(&pass, &new).map_err(|e| e.to_string())?;
            }
            println!("passcode changed");
        }
        WalletCommand::Status { .. } | WalletCommand::Activate { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn client(backend: &str) -> Result<BackendClient, String> {
    BackendClient::new(backend, RetryPolicy::default()).map_err(|e| e.to_string())
}

pub(crate) fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    eid_core::runtime::block_on(f).ok_or_else(|| "no async runtime could be started".to_owned())
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

fn status(w: &Wallet, json: bool) -> Result<ExitCode, String> {
    let state = w.state().map_err(|e| e.to_string())?;
    let sync = w.sync_state().map_err(|e| e.to_string())?;
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
        "documents": w.document_count().map_err(|e| e.to_string())?,
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

fn step(message: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("==> {message}");
    }
}

/// Where the activation reads the chip.
enum Card {
    /// The simulated card of the synthetic citizen with the ID number.
    Sim,
    /// A PC/SC reader, PACE with the CAN.
    Pcsc { reader: Option<String>, can: String },
}

/// Activation against a backend with the card of the citizen with `id`.
fn activate(
    w: &Wallet,
    backend: &str,
    given_passcode: Option<&str>,
    id: &str,
    phone: &str,
    code: Option<&str>,
    card: &Card,
) -> Result<ExitCode, String> {
    let pass = passcode(given_passcode)?;
    if w.is_set_up().map_err(|e| e.to_string())? {
        w.unlock(&pass).map_err(|e| e.to_string())?;
    } else {
        w.set_up(&pass).map_err(|e| e.to_string())?;
    }
    let client = client(backend)?;
    step("asking the backend for an SMS code");
    let pending = block_on(w.start_activation(&client, id, phone))?.map_err(|e| e.to_string())?;
    let code = match code {
        Some(c) => c.to_owned(),
        None => block_on(client.dev_latest_code(phone))?
            .map_err(|e| e.to_string())?
            .ok_or("no SMS code in the development outbox (is the backend in development mode?)")?,
    };
    step("reading the card's chip (hold it still)");
    let doc = match card {
        Card::Sim => read_sim_card(id, &pending.chip_challenge)?,
        Card::Pcsc { reader, can } => crate::chip_cmd::read_pcsc_for_activation(
            reader.as_deref(),
            can,
            &pending.chip_challenge,
        )?,
    };
    step("sending the chip evidence");
    let done = block_on(w.complete_activation(&client, &pending, &code, &doc, &pass))?;
    let (account_id, level) = done.map_err(|e| e.to_string())?;
    step("first sync");
    let report =
        block_on(w.sync(&client, Some(&StderrSync), Some(&pass)))?.map_err(|e| e.to_string())?;
    println!(
        "activated: account {account_id} at level {level}; {} documents synced",
        report.updated
    );
    Ok(ExitCode::SUCCESS)
}

/// The simulated CCCD of the synthetic citizen with this ID, read with the backend's challenge.
fn read_sim_card(id: &str, challenge: &[u8]) -> Result<ChipDocument, String> {
    read_sim_card_with(id, challenge, None)
}

/// [`read_sim_card`] with a progress listener.
pub(crate) fn read_sim_card_with(
    id: &str,
    challenge: &[u8],
    listener: Option<&dyn eid_core::chip::reader::ProgressListener>,
) -> Result<ChipDocument, String> {
    let citizen = citizens::by_id(id)
        .ok_or("no synthetic citizen has that ID number (only --sim cards exist here)")?;
    let card = cccd::card(&citizen, &CardOptions::default()).map_err(|e| e.to_string())?;
    let limits = TransportLimits {
        max_command: 65544,
        max_response: 65538,
        extended_length: true,
    };
    let link = SimTransport::new(card, limits);
    let key = PacePassword::Mrz(cccd::mrz_key(&citizen).map_err(|e| e.to_string())?);
    let mut request = ReadRequest::cccd(true);
    request.aa_challenge = Some(challenge.to_vec());
    let trust = cccd::trust_store().map_err(|e| e.to_string())?;
    read_document(link, key, &request, Some(&trust), &mut OsRng, listener)
        .map_err(|e| e.to_string())
}

/// Presentation credentials per profile a seeded wallet gets.
const PRESENTATION_BATCH: usize = 8;

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
    let (documents, presentations) =
        seed_into(&w, &passcode(Some(passcode_text))?, PRESENTATION_BATCH)?;
    println!(
        "wallet created in {} with {documents} documents and {presentations} presentation \
         credentials (account level 2)",
        data_dir.display(),
    );
    Ok(ExitCode::SUCCESS)
}

/// Sets up an empty wallet for the first synthetic citizen: passcode, level 2, fixture trust
/// list, the four documents and `per_profile` presentation credentials of each profile.
/// Returns (documents, presentation credentials).
pub(crate) fn seed_into(
    w: &Wallet,
    pass: &Passcode,
    per_profile: usize,
) -> Result<(usize, usize), String> {
    let citizen = citizens::citizens().remove(0);
    let device = w.set_up(pass).map_err(|e| e.to_string())?;
    w.activate(2).map_err(|e| e.to_string())?;
    w.set_trust_list(&issuers::trust_list().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let now = now_s();
    let issued = issuers::documents_for(&citizen, &device, now).map_err(|e| e.to_string())?;
    let kinds: Vec<String> = issued.iter().map(|(k, _)| k.as_str().to_owned()).collect();
    let credentials: Vec<Vec<u8>> = issued.into_iter().map(|(_, c)| c).collect();
    let infos = w.import(&credentials).map_err(|e| e.to_string())?;
    let presentations =
        issuers::stock_presentations(w, &citizen, per_profile, now).map_err(|e| e.to_string())?;
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
    Ok((infos.len(), presentations))
}
