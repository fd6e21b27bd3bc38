//! `eid`: the command-line face of the wallet core. The only crate that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod fixtures_cmd;
mod output;

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
    Chip(ChipCommand),
    /// Synthetic test data.
    #[command(subcommand)]
    Fixtures(fixtures_cmd::FixturesCommand),
}

#[derive(Subcommand)]
enum ChipCommand {
    /// Parse the QR printed on the front of a CCCD (unsigned).
    ParseQr {
        text: String,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Chip(ChipCommand::ParseQr { text, json }) => parse_qr(&text, json),
        Command::Fixtures(cmd) => fixtures_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("eid: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_qr(text: &str, json: bool) -> Result<ExitCode, String> {
    let qr = eid_core::chip::card_qr::parse(text).map_err(|e| e.to_string())?;
    if json {
        output::print_json(&qr)?;
    } else {
        println!("ID number:     {}", qr.id_number);
        println!(
            "Old ID (CMND): {}",
            qr.old_id_number.as_deref().unwrap_or("-")
        );
        println!("Full name:     {}", qr.full_name);
        println!("Date of birth: {}", qr.date_of_birth.iso());
        println!("Sex:           {}", qr.sex);
        println!("Address:       {}", qr.address);
        println!("Issued:        {}", qr.issue_date.iso());
        println!(
            "Signed:        no (the printed QR carries no signature; read the chip to verify)"
        );
    }
    Ok(ExitCode::SUCCESS)
}
