//! `eid fixtures ...`: the synthetic population and test PKI.

use crate::output::print_json;
use clap::Subcommand;
use eid_fixtures::card::cccd::{self, CardOptions};
use eid_fixtures::citizens::{self, Citizen};
use eid_fixtures::pki::TestPki;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

#[derive(Subcommand)]
pub enum FixturesCommand {
    /// List the synthetic citizens (the first is the default of `--sim`).
    Citizens {
        #[arg(long)]
        json: bool,
    },
    /// Create a wallet for the first synthetic citizen holding the fixture issuers' identity
    /// card, driving licence, BHYT card and health record (no backend needed).
    SeedWallet {
        #[arg(long)]
        data_dir: std::path::PathBuf,
        #[arg(long, default_value = "123456")]
        passcode: String,
    },
    /// Print the test CSCA certificate (PEM) that signs the simulated cards' document signers.
    Csca,
    /// Plug a citizen's simulated CCCD into the vsmartcard virtual PC/SC reader (vpcd) and
    /// serve it until stopped, so `eid chip read --pcsc` reads it like a card on a desk reader.
    VpcdCard {
        /// vpcd address: port 35963 is reader "Virtual PCD 00 00", 35964 "Virtual PCD 00 01".
        #[arg(long, default_value = "127.0.0.1:35963")]
        addr: String,
        /// The citizen whose card it is (default: the first).
        #[arg(long)]
        id: Option<String>,
        /// A chip without PACE (BAC only).
        #[arg(long)]
        bac_only: bool,
    },
}

#[derive(Serialize)]
struct CitizenRow<'a> {
    id: &'a str,
    full_name: &'a str,
    dob: String,
    expiry: String,
    can: &'a str,
    phone: &'a str,
}

impl<'a> From<&'a Citizen> for CitizenRow<'a> {
    fn from(c: &'a Citizen) -> Self {
        CitizenRow {
            id: &c.id_number,
            full_name: &c.full_name,
            dob: c.date_of_birth.yymmdd(),
            expiry: c.expiry_date.yymmdd(),
            can: c.can(),
            phone: &c.phone,
        }
    }
}

pub fn run(cmd: FixturesCommand) -> Result<ExitCode, String> {
    match cmd {
        FixturesCommand::Citizens { json } => {
            let all = citizens::citizens();
            let rows: Vec<CitizenRow<'_>> = all.iter().map(CitizenRow::from).collect();
            if json {
                print_json(&rows)?;
            } else {
                println!("ID            NAME                      DOB     EXPIRY  CAN     PHONE");
                for r in rows {
                    println!(
                        "{:<12}  {:<24}  {:<6}  {:<6}  {:<6}  {}",
                        r.id, r.full_name, r.dob, r.expiry, r.can, r.phone
                    );
                }
            }
        }
        FixturesCommand::SeedWallet { data_dir, passcode } => {
            return crate::wallet_cmd::seed(&data_dir, &passcode);
        }
        FixturesCommand::Csca => {
            let pki = TestPki::new().map_err(|e| e.to_string())?;
            print!("{}", pki.csca.pem().map_err(|e| e.to_string())?);
        }
        FixturesCommand::VpcdCard { addr, id, bac_only } => {
            let all = citizens::citizens();
            let citizen = match id {
                Some(id) => all
                    .iter()
                    .find(|c| c.id_number == id)
                    .ok_or("no synthetic citizen has that ID")?,
                None => &all[0],
            };
            let options = CardOptions {
                pace: !bac_only,
                ..CardOptions::default()
            };
            let mut card = cccd::card(citizen, &options).map_err(|e| e.to_string())?;
            eprintln!("eid: serving the simulated CCCD to vpcd at {addr} (stop with Ctrl-C)");
            // Runs until the process is stopped.
            let never = AtomicBool::new(false);
            eid_fixtures::vpcd::serve(&mut card, &addr, &never)
                .map_err(|e| format!("vpcd: {e}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
