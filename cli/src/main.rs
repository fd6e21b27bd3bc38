//! `eid`: the command-line face of the wallet core. The only crate that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod chip_bench;
mod chip_cmd;
mod demo_cmd;
mod desk_cache;
mod fixtures_cmd;
mod keys_cmd;
mod load_cmd;
mod load_redeem_cmd;
mod output;
mod present_cmd;
mod serve_cmd;
mod serve_limits;
mod signing_cmd;
mod verifier_cmd;
mod wallet_cmd;

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
    Chip(chip_cmd::ChipCommand),
    /// Synthetic test data.
    #[command(subcommand)]
    Fixtures(fixtures_cmd::FixturesCommand),
    /// The citizen's wallet: documents, account state, transaction log.
    Wallet(wallet_cmd::WalletArgs),
    /// Load-test preparation (scripts/load.sh): activate the synthetic citizens and write a wrk
    /// script of device-signed sync requests.
    LoadPrep {
        #[arg(long)]
        backend: String,
        #[arg(long)]
        lua: std::path::PathBuf,
        /// Citizens to activate: the backend must have been seeded with at least as many
        /// (`eid serve --population N`).
        #[arg(long, default_value_t = eid_fixtures::citizens::POPULATION_SIZE)]
        population: usize,
        /// Activations in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Load-test preparation (scripts/load-redeem.sh): a verifier, activated citizens and a wrk
    /// script redeeming unique online tokens once each.
    LoadPrepRedeem(load_redeem_cmd::Args),
    /// The backend's own keys: list, rotate (ADR 0018).
    Keys(keys_cmd::KeysArgs),
    /// Run the reference backend (production-safe unless --dev: needs EID_KEK).
    Serve(serve_cmd::ServeArgs),
    /// A verifier desk: register its key with the backend (for online tokens).
    Verifier(verifier_cmd::VerifierArgs),
    /// Check a presentation QR as a verifier (exit 0 valid, 1 invalid).
    Verify(present_cmd::VerifyArgs),
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
        Command::Chip(cmd) => chip_cmd::run(cmd),
        Command::Fixtures(cmd) => fixtures_cmd::run(cmd),
        Command::Wallet(args) => wallet_cmd::run(args),
        Command::LoadPrep {
            backend,
            lua,
            population,
            concurrency,
        } => load_cmd::run(&backend, &lua, population, concurrency),
        Command::LoadPrepRedeem(args) => load_redeem_cmd::run(args),
        Command::Keys(args) => keys_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Verify(args) => present_cmd::verify(args),
        Command::Verifier(args) => verifier_cmd::run(args),
        Command::Demo { no_qr } => demo_cmd::run(no_qr),
        Command::QrSizes { json } => present_cmd::sizes(json),
        Command::QrBench { iterations } => present_cmd::bench(iterations),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("eid: {message}");
            ExitCode::FAILURE
        }
    }
}
