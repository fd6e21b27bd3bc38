//! `eid`: the command-line face of the wallet core. The only crate that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod chip_bench;
mod chip_cmd;
mod fixtures_cmd;
mod load_cmd;
mod load_redeem_cmd;
mod output;
mod serve_cmd;
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
    },
    /// Load-test preparation (scripts/load-redeem.sh): a verifier, activated citizens and a wrk
    /// script redeeming unique online tokens once each.
    LoadPrepRedeem(load_redeem_cmd::Args),
    /// Run the reference backend (development mode unless --production).
    Serve(serve_cmd::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Chip(cmd) => chip_cmd::run(cmd),
        Command::Fixtures(cmd) => fixtures_cmd::run(cmd),
        Command::Wallet(args) => wallet_cmd::run(args),
        Command::LoadPrep { backend, lua } => load_cmd::run(&backend, &lua),
        Command::LoadPrepRedeem(args) => load_redeem_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("eid: {message}");
            ExitCode::FAILURE
        }
    }
}
