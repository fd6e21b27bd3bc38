//! `eid fixtures ...`: the synthetic population and test PKI, and `eid fixtures seed-wallet`,
//! which fills a wallet from the fixture issuers without a backend.

use crate::context::{now_s, open_wallet, passcode};
use crate::output::print_json;
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use eid_core::account::Passcode;
use eid_core::transactions::{Outcome, Transaction, TransactionKind};
use eid_core::wallet::Wallet;
use eid_fixtures::card::Quirk;
use eid_fixtures::card::cccd::{self, CardOptions};
use eid_fixtures::card::sim::ChipProfile;
use eid_fixtures::citizens::{self, Citizen};
use eid_fixtures::issuers;
use eid_fixtures::pki::TestPki;
use serde::Serialize;
use std::path::Path;
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
    /// Print the fixture IACA certificate (PEM) under which the fixture mdocs' document signer
    /// is certified: `eid mdoc read --trust` for them without `--dev`.
    Iaca,
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
        /// Behave like chips in the wild (repeatable; `eid chip quirks` lists them), so other
        /// readers over PC/SC meet the same behaviours as ours.
        #[arg(long, value_name = "NAME", value_parser = |s: &str| s.parse::<Quirk>())]
        quirk: Vec<Quirk>,
        /// A chip without extended length: short APDUs, responses of at most 258 bytes.
        #[arg(long)]
        short_apdus: bool,
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
    /// The MRZ (DG1) forms: sex `M`/`F`, surname and given names as printed in the MRZ (`<` for
    /// spaces), so an independent reader can compare DG1 with the citizen.
    sex: String,
    mrz_surname: &'a str,
    mrz_given_names: &'a str,
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
            sex: c.sex.mrz().to_string(),
            mrz_surname: &c.mrz_surname,
            mrz_given_names: &c.mrz_given_names,
        }
    }
}

pub fn run(cmd: FixturesCommand) -> Result<ExitCode> {
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
            return seed(&data_dir, &passcode);
        }
        FixturesCommand::Csca => {
            let pki = TestPki::new()?;
            print!("{}", pki.csca.pem()?);
        }
        FixturesCommand::Iaca => {
            print!("{}", eid_fixtures::mdoc::MdocFixtures::new()?.iaca.pem()?);
        }
        FixturesCommand::VpcdCard {
            addr,
            id,
            bac_only,
            quirk,
            short_apdus,
        } => {
            let all = citizens::citizens();
            let citizen = match id {
                Some(id) => all
                    .iter()
                    .find(|c| c.id_number == id)
                    .context("no synthetic citizen has that ID")?,
                None => &all[0],
            };
            let options = CardOptions {
                pace: !bac_only,
                quirks: quirk,
                profile: if short_apdus {
                    ChipProfile::SHORT
                } else {
                    ChipProfile::EXTENDED
                },
                ..CardOptions::default()
            };
            let mut card = cccd::card(citizen, &options)?;
            eprintln!("eid: serving the simulated CCCD to vpcd at {addr} (stop with Ctrl-C)");
            // Runs until the process is stopped.
            let never = AtomicBool::new(false);
            eid_fixtures::vpcd::serve(&mut card, &addr, &never).context("vpcd")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Presentation credentials per profile a seeded wallet gets.
const PRESENTATION_BATCH: usize = 8;

/// `eid fixtures seed-wallet`: a wallet for the first synthetic citizen with the fixture
/// documents, activated at level 2, without a backend.
fn seed(data_dir: &Path, passcode_text: &str) -> Result<ExitCode> {
    let w = open_wallet(data_dir)?;
    if w.is_set_up()? {
        bail!(
            "{} already holds a wallet; use an empty directory",
            data_dir.display()
        );
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
/// list, one document of each kind and `per_profile` presentation credentials of each profile.
/// Returns (documents, presentation credentials).
pub fn seed_into(w: &Wallet, pass: &Passcode, per_profile: usize) -> Result<(usize, usize)> {
    let citizen = citizens::citizens().remove(0);
    let device = w.set_up(pass)?;
    w.activate(2)?;
    w.set_trust_list(&issuers::trust_list()?)?;
    let now = now_s();
    let issued = issuers::documents_for(&citizen, &device, now)?;
    let kinds: Vec<String> = issued.iter().map(|(k, _)| k.as_str().to_owned()).collect();
    let credentials: Vec<Vec<u8>> = issued.into_iter().map(|(_, c)| c).collect();
    let infos = w.import(&credentials)?;
    let presentations = issuers::stock_presentations(w, &citizen, per_profile, now)?;
    w.record(&Transaction {
        at_ms: (now * 1000) as i64,
        kind: TransactionKind::Account,
        counterparty: "eid fixtures seed-wallet".into(),
        profile: "level-2 activation (fixture issuers, no backend)".into(),
        fields: kinds,
        outcome: Outcome::Success,
        detail: None,
    })?;
    Ok((infos.len(), presentations))
}
