//! `eid wallet ... activate`: the level-2 account from an SMS code, the passcode and a chip read
//! (a synthetic citizen's simulated card or a card on a PC/SC reader), then a first sync.

use super::StderrSync;
use crate::card::{read_pcsc_for_activation, read_sim_card};
use crate::context::{block_on, client, passcode};
use anyhow::{Context as _, Result};
use clap::Args;
use eid_core::wallet::Wallet;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Args)]
pub struct ActivateArgs {
    /// 12-digit ID number.
    #[arg(long)]
    pub id: String,
    /// Phone number registered for the ID.
    #[arg(long)]
    pub phone: String,
    /// Read the simulated card of the synthetic citizen with this ID.
    #[arg(long, conflicts_with = "pcsc", required_unless_present = "pcsc")]
    pub sim: bool,
    /// Read the card on a PC/SC desk reader (build with --features pcsc).
    #[arg(long)]
    pub pcsc: bool,
    /// PC/SC reader name (default: the first with a card).
    #[arg(long, requires = "pcsc")]
    pub reader: Option<String>,
    /// The card's 6-digit CAN for PACE (default: the last 6 digits of the ID number, as
    /// printed on the CCCD).
    #[arg(long, requires = "pcsc")]
    pub can: Option<String>,
    /// The SMS code (default: read from a development backend's outbox).
    #[arg(long)]
    pub code: Option<String>,
}

fn step(message: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("==> {message}");
    }
}

/// Activation against a backend with the card of the citizen with `args.id`.
pub fn run(
    w: &Wallet,
    backend: Option<&str>,
    given_passcode: Option<&str>,
    args: &ActivateArgs,
) -> Result<ExitCode> {
    let backend = backend.context("--backend URL is needed to activate")?;
    let (id, phone) = (args.id.as_str(), args.phone.as_str());
    let pass = passcode(given_passcode)?;
    if w.is_set_up()? {
        w.unlock(&pass)?;
    } else {
        w.set_up(&pass)?;
    }
    let client = client(backend)?;
    step("asking the backend for an SMS code");
    let pending = block_on(w.start_activation(&client, id, phone))??;
    let code = match &args.code {
        Some(c) => c.clone(),
        None => block_on(client.dev_latest_code(phone))??.context(
            "no SMS code in the development outbox (is the backend in development mode?)",
        )?,
    };
    step("reading the card's chip (hold it still)");
    let doc = if args.pcsc {
        // The CAN is printed on the CCCD: the last 6 digits of the ID number.
        let can = match &args.can {
            Some(c) => c.clone(),
            None => id
                .get(id.len().saturating_sub(6)..)
                .unwrap_or_default()
                .to_owned(),
        };
        read_pcsc_for_activation(args.reader.as_deref(), &can, &pending.chip_challenge)?
    } else {
        read_sim_card(id, &pending.chip_challenge, None)?
    };
    step("sending the chip evidence");
    let (account_id, level) =
        block_on(w.complete_activation(&client, &pending, &code, &doc, &pass))??;
    step("first sync");
    let report = block_on(w.sync(&client, Some(&StderrSync), Some(&pass)))??;
    println!(
        "activated: account {account_id} at level {level}; {} documents synced",
        report.updated
    );
    Ok(ExitCode::SUCCESS)
}
