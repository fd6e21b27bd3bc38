//! `eid`: the command-line face of the wallet core. The only crate that prints.
//!
//! This file parses the arguments and hands each command to its module: one file (or folder)
//! per command family, the shared `context` (runtime, clock, key store, wallet, backend client,
//! passcode), `card` and `output` below them, measurements and load preparation in `dev/`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod authority;
mod card;
mod chip;
mod context;
mod demo;
mod dev;
mod fixtures;
mod host;
mod mdoc;
mod output;
mod rp;
mod rp_serve;
mod server;
mod values;
mod verify;
mod wallet;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "eid",
    version,
    about = "e-ID wallet core: CCCD chip reader, fixtures, wallet"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read and check a CCCD chip, or parse the printed QR.
    #[command(subcommand)]
    Chip(chip::ChipCommand),
    /// Synthetic test data.
    #[command(subcommand)]
    Fixtures(fixtures::FixturesCommand),
    /// The citizen's wallet: documents, account state, transaction log.
    Wallet(wallet::WalletArgs),
    /// ISO/IEC 18013-5 mdoc reading (a verifier desk) and the size/time table.
    #[command(subcommand)]
    Mdoc(mdoc::MdocCommand),
    /// Developer tools (`eid dev mdoc-holder`).
    #[command(subcommand)]
    Dev(dev::DevCommand),
    /// Load-test preparation (scripts/load.sh): activate the synthetic citizens and write a wrk
    /// script of device-signed sync requests.
    LoadPrep(dev::load::Args),
    /// Load-test preparation (scripts/load-redeem.sh): a verifier, activated citizens and a wrk
    /// script redeeming unique online tokens once each.
    LoadPrepRedeem(dev::load_redeem::Args),
    /// Load measurement (scripts/load-activation.sh): activations with the chips read
    /// beforehand, with the backend's CPU per activation.
    LoadActivate(dev::load_activate::Args),
    /// Load measurement (scripts/load-hub.sh): "Log in with e-ID" logins or eKYC chip checks.
    #[command(hide = true)]
    LoadHub(dev::load_hub::Args),
    /// The backend's own keys: list, rotate (ADR 0018).
    Keys(server::keys::KeysArgs),
    /// Run the reference backend (production-safe unless --dev: needs EID_KEK).
    Serve(server::serve::ServeArgs),
    /// The relying-party hub (admin): register a relying party, list them, the metering report.
    Rp(rp::RpArgs),
    /// A verifier desk: register its key with the backend (for online tokens).
    Verifier(verify::desk::VerifierArgs),
    /// Check a presentation QR as a verifier (exit 0 valid, 1 invalid).
    Verify(verify::VerifyArgs),
    /// A hotel's or hospital's desk: register it, check guests in (accommodation notices).
    Host(host::HostArgs),
    /// An issuing authority's clerk: the queue of citizen-entered data (submissions), verify
    /// or reject with a reason (admin token; issue 18, docs/adr/0057).
    Authority(authority::AuthorityArgs),
    /// The whole journey, timed: backend, activation with a simulated CCCD, sync, airport and
    /// clinic QR codes verified.
    Demo {
        /// Do not draw the QR codes in the terminal.
        #[arg(long)]
        no_qr: bool,
    },
    /// Payload bytes and QR version of every presentation profile.
    QrSizes {
        #[arg(long)]
        json: bool,
    },
    /// Offline verification time against the bare signature checks it contains, and
    /// presentations built per second.
    QrBench {
        #[arg(long, default_value_t = 2000)]
        iterations: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Chip(cmd) => chip::run(cmd),
        Command::Fixtures(cmd) => fixtures::run(cmd),
        Command::Wallet(args) => wallet::run(args),
        Command::Mdoc(cmd) => mdoc::run(cmd),
        Command::Dev(cmd) => dev::run(cmd),
        Command::LoadPrep(args) => dev::load::run(args),
        Command::LoadPrepRedeem(args) => dev::load_redeem::run(args),
        Command::LoadActivate(args) => dev::load_activate::run(args),
        Command::LoadHub(args) => dev::load_hub::run(args),
        Command::Keys(args) => server::keys::run(args),
        Command::Serve(args) => server::serve::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Verifier(args) => verify::desk::run(args),
        Command::Host(args) => host::run(args),
        Command::Authority(args) => authority::run(args),
        Command::Rp(args) => rp::run(args),
        Command::Demo { no_qr } => demo::run(no_qr),
        Command::QrSizes { json } => dev::qr::sizes(json),
        Command::QrBench { iterations } => dev::qr::bench(iterations),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("eid: {}", output::error_text(&error));
            ExitCode::FAILURE
        }
    }
}
