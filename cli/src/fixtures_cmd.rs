//! `eid fixtures ...`: the synthetic population and test PKI.

use crate::output::print_json;
use clap::Subcommand;
use eid_fixtures::citizens::{self, Citizen};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum FixturesCommand {
    /// List the synthetic citizens (the first is the default of `--sim`).
    Citizens {
        #[arg(long)]
        json: bool,
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
    }
    Ok(ExitCode::SUCCESS)
}
