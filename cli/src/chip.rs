//! `eid chip ...`: read a CCCD (simulated or on a PC/SC reader), parse the printed QR; `eid chip
//! bench` runs from `dev/chip_bench.rs`.

use crate::card::{EXTENDED, open_pcsc, read_with};
use crate::output::print_json;
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use eid_fixtures::card::cccd::{self, CardOptions, Faults};
use eid_fixtures::card::{ChipProfile, Quirk, SimTransport};
use eid_fixtures::citizens::{self, Citizen};
use eid_icao::TransportLimits;
use eid_icao::bac::MrzKey;
use eid_icao::csca;
use eid_icao::document::ChipDocument;
use eid_icao::lds::LdsFile;
use eid_icao::pace::PacePassword;
use eid_icao::reader::{AccessKey, Progress, ProgressListener, ReadRequest, Stage};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ChipCommand {
    /// Read a CCCD chip and check it (passive and chip/active authentication).
    Read(Box<ReadArgs>),
    /// Compare our reader's round trips with a 223-byte-block baseline on the simulated card.
    Bench {
        /// Run on the simulated card (the only card the benchmark can reset at will).
        #[arg(long, required = true)]
        sim: bool,
    },
    /// List the behaviours of real chips the simulated card can imitate (`--sim-quirk NAME`).
    Quirks {
        #[arg(long)]
        json: bool,
    },
    /// First-tap success in the field: read N simulated cards with a random mix of quirks over
    /// links that drop, and report one-tap reads, resumes, failures and modelled time.
    Field(crate::dev::chip_field::FieldArgs),
    /// Parse the QR printed on the front of a CCCD (unsigned).
    ParseQr {
        text: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TamperTarget {
    Dg1,
    Dg2,
    Dg13,
    Sod,
}

#[derive(Args)]
pub struct ReadArgs {
    /// Read the simulated card of a synthetic citizen (the first one unless --id names another).
    #[arg(long, conflicts_with = "pcsc", required_unless_present = "pcsc")]
    sim: bool,
    /// Read a card on a PC/SC desk reader (build with --features pcsc).
    #[arg(long)]
    pcsc: bool,
    /// PC/SC reader name (default: the first reader with a card).
    #[arg(long, requires = "pcsc")]
    reader: Option<String>,
    /// 12-digit ID number (the BAC document number is its last 9 digits).
    #[arg(long, conflicts_with = "doc_number")]
    id: Option<String>,
    /// Document number as in the MRZ (instead of --id).
    #[arg(long)]
    doc_number: Option<String>,
    /// Date of birth, YYMMDD.
    #[arg(long)]
    dob: Option<String>,
    /// Expiry date, YYMMDD.
    #[arg(long)]
    expiry: Option<String>,
    /// Card access number (PACE); for a CCCD the last 6 digits of the ID number.
    #[arg(long, conflicts_with_all = ["doc_number", "dob", "expiry"])]
    can: Option<String>,
    /// Also read the photo (DG2, the largest file).
    #[arg(long)]
    photo: bool,
    /// Save the photo to this file (implies --photo).
    #[arg(long)]
    save_photo: Option<PathBuf>,
    /// CSCA certificates (PEM/DER) or ICAO master lists to check the document signer against.
    /// With --sim and none given, the test CSCA of the fixtures is trusted.
    #[arg(long)]
    trust: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
    /// Include link statistics (APDUs, bytes, resumes).
    #[arg(long)]
    stats: bool,
    /// Simulated card: drop the link after every N APDUs.
    #[arg(long, requires = "sim")]
    sim_drop_every: Option<u64>,
    /// Simulated card: alter a byte of this file after the SOD was signed.
    #[arg(long, value_enum, requires = "sim")]
    sim_tamper: Option<TamperTarget>,
    /// Simulated card: SOD signed by a document signer nobody trusts.
    #[arg(long, requires = "sim")]
    sim_untrusted: bool,
    /// Simulated card: a clone (same data, no chip/active authentication private keys).
    #[arg(long, requires = "sim")]
    sim_clone: bool,
    /// Simulated card and reader: short APDUs only.
    #[arg(long, requires = "sim")]
    sim_short_apdus: bool,
    /// Simulated card: no PACE in EF.CardAccess (BAC only, like older chips).
    #[arg(long, requires = "sim")]
    sim_bac_only: bool,
    /// Simulated card: behave like chips in the wild (repeatable; `eid chip quirks` lists them).
    #[arg(long, requires = "sim", value_name = "NAME", value_parser = parse_quirk)]
    sim_quirk: Vec<Quirk>,
}

fn parse_quirk(name: &str) -> Result<Quirk, String> {
    name.parse()
}

pub fn run(cmd: ChipCommand) -> Result<ExitCode> {
    match cmd {
        ChipCommand::Read(args) => read(&args),
        ChipCommand::Bench { .. } => crate::dev::chip_bench::run(),
        ChipCommand::Quirks { json } => quirks(json),
        ChipCommand::Field(args) => crate::dev::chip_field::run(&args),
        ChipCommand::ParseQr { text, json } => parse_qr(&text, json),
    }
}

fn access_key(args: &ReadArgs, sim_citizen: Option<&Citizen>) -> Result<AccessKey> {
    if let Some(can) = &args.can {
        return Ok(PacePassword::can(can)?);
    }
    let given = args.id.is_some()
        || args.doc_number.is_some()
        || args.dob.is_some()
        || args.expiry.is_some();
    if !given {
        if let Some(c) = sim_citizen {
            return Ok(PacePassword::Mrz(cccd::mrz_key(c)?));
        }
        bail!("give --id (or --doc-number) with --dob and --expiry, or --can");
    }
    let (Some(dob), Some(expiry)) = (&args.dob, &args.expiry) else {
        bail!("--dob and --expiry (YYMMDD) are needed with --id or --doc-number");
    };
    let key = match (&args.id, &args.doc_number) {
        (Some(id), _) => MrzKey::for_cccd(id, dob, expiry),
        (None, Some(doc)) => MrzKey::new(doc, dob, expiry),
        (None, None) => bail!("give --id or --doc-number"),
    };
    Ok(PacePassword::Mrz(key?))
}

fn sim_options(args: &ReadArgs) -> CardOptions {
    let tamper = args.sim_tamper.map(|t| match t {
        TamperTarget::Dg1 => LdsFile::DG1,
        TamperTarget::Dg2 => LdsFile::DG2,
        TamperTarget::Dg13 => LdsFile::DG13,
        TamperTarget::Sod => LdsFile::Sod,
    });
    CardOptions {
        profile: if args.sim_short_apdus {
            ChipProfile::SHORT
        } else {
            ChipProfile::EXTENDED
        },
        pace: !args.sim_bac_only,
        faults: Faults {
            tamper,
            untrusted: args.sim_untrusted,
            clone: args.sim_clone,
        },
        quirks: args.sim_quirk.clone(),
    }
}

/// `eid chip quirks`: one line per behaviour.
fn quirks(json: bool) -> Result<ExitCode> {
    if json {
        let list: Vec<Value> = Quirk::ALL
            .iter()
            .map(|q| json!({"name": q.name(), "description": q.describe()}))
            .collect();
        print_json(&list)?;
    } else {
        for q in Quirk::ALL {
            println!("{:<26} {}", q.name(), q.describe());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Shows progress on standard error when it is a terminal (not in JSON mode).
struct StderrProgress;

impl ProgressListener for StderrProgress {
    fn on_progress(&self, p: &Progress) {
        let file = p.file.map(LdsFile::name).unwrap_or_default();
        match (p.stage, p.bytes_total) {
            (Stage::Reading, Some(total)) => {
                eprintln!("  reading {file}: {}/{total} bytes", p.bytes_read)
            }
            (Stage::Reading, None) => eprintln!("  reading {file}"),
            (Stage::Resuming, _) => eprintln!("  link lost: reconnecting and resuming {file}"),
            (Stage::Done, _) => {}
            (stage, _) => eprintln!(
                "  {}",
                serde_json::to_string(&stage)
                    .unwrap_or_default()
                    .trim_matches('"')
            ),
        }
    }
}

fn read(args: &ReadArgs) -> Result<ExitCode> {
    let mut request = ReadRequest::cccd(args.photo || args.save_photo.is_some());
    request.max_resumes = 50;
    let listener = StderrProgress;
    // Progress is for people watching a terminal; scripts get clean output.
    let interactive = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let listener: Option<&dyn ProgressListener> = if interactive { Some(&listener) } else { None };
    let mut trust = if args.trust.is_empty() {
        None
    } else {
        Some(csca::from_files(&args.trust).context("trust store")?)
    };
    let doc = if args.sim {
        let all = citizens::citizens();
        let citizen = args
            .id
            .as_deref()
            .and_then(|id| all.iter().find(|c| c.id_number == id))
            .unwrap_or(&all[0]);
        let key = access_key(args, Some(citizen))?;
        let card = cccd::card(citizen, &sim_options(args))?;
        let limits = if args.sim_short_apdus {
            TransportLimits::SHORT
        } else {
            EXTENDED
        };
        let mut link = SimTransport::new(card, limits);
        if let Some(n) = args.sim_drop_every {
            link = link.drop_every(n);
        }
        if trust.is_none() {
            trust = Some(cccd::trust_store()?);
        }
        read_with(link, key, &request, trust.as_ref(), listener)?
    } else {
        let key = access_key(args, None)?;
        read_with(
            open_pcsc(args.reader.as_deref())?,
            key,
            &request,
            trust.as_ref(),
            listener,
        )?
    };
    if let (Some(path), Some(face)) = (&args.save_photo, &doc.face) {
        std::fs::write(path, &face.image)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let report = report(&doc, args.stats);
    if args.json {
        print_json(&report)?;
    } else {
        print_human(&doc, &report);
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON report: verdicts are data, so an invalid card still gives exit code 0.
fn report(doc: &ChipDocument, stats: bool) -> Value {
    let dg13 = doc.dg13.as_ref().map(|d| {
        let fields: Map<String, Value> = d
            .fields
            .iter()
            .map(|(n, values)| {
                let name = eid_icao::dg13::field_name(*n)
                    .map_or_else(|| format!("field_{n}"), str::to_owned);
                let value = match values.as_slice() {
                    [one] => json!(one),
                    many => json!(many),
                };
                (name, value)
            })
            .collect();
        Value::Object(fields)
    });
    let mut out = json!({
        "access_control": doc.access_control,
        "mrz": doc.mrz.lines().join("\n"),
        "mrz_check_digits_ok": doc.mrz.checks_ok(),
        "document_expired": doc.is_expired_on(eid_icao::document::today()),
        "dg13": dg13,
        "photo": doc.face.as_ref().map(|f| json!({
            "format": format!("{:?}", f.format).to_lowercase(),
            "width": f.width,
            "height": f.height,
            "bytes": f.image.len(),
        })),
        "passive_authentication": {
            "status": doc.passive_authentication.status,
            "reason": doc.passive_authentication.reason,
            "data_groups": doc.passive_authentication.data_groups,
            "chain": doc.passive_authentication.chain,
            "signature_algorithm": doc.passive_authentication.signature_algorithm,
        },
        "chip_authentication": doc.chip_authentication,
        "absent_files": doc.absent_files.iter().map(|f| f.name()).collect::<Vec<_>>(),
    });
    if stats {
        out["stats"] = json!(doc.stats);
    }
    out
}

fn print_human(doc: &ChipDocument, report: &Value) {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    println!("Access control:  {}", s(&report["access_control"]));
    if let Some(d) = &doc.dg13 {
        println!("Full name:       {}", d.full_name().unwrap_or("-"));
        println!("ID number:       {}", d.id_number().unwrap_or("-"));
        println!("Date of birth:   {}", d.date_of_birth().unwrap_or("-"));
        println!("Sex:             {}", d.sex().unwrap_or("-"));
        println!("Residence:       {}", d.place_of_residence().unwrap_or("-"));
        println!("Valid until:     {}", d.expiry_date().unwrap_or("-"));
    }
    println!("MRZ:\n  {}", doc.mrz.lines().join("\n  "));
    if doc.is_expired_on(eid_icao::document::today()) {
        println!("Document:        EXPIRED");
    }
    if let Some(f) = &doc.face {
        println!(
            "Photo:           {:?} {}x{}, {} bytes",
            f.format,
            f.width,
            f.height,
            f.image.len()
        );
    }
    let pa = &report["passive_authentication"];
    println!(
        "Passive auth:    {} ({})",
        s(&pa["status"]),
        s(&pa["reason"])
    );
    let ca = &report["chip_authentication"];
    println!(
        "Chip auth:       {} {} ({})",
        s(&ca["status"]),
        s(&ca["method"]),
        s(&ca["reason"])
    );
    if !doc.absent_files.is_empty() {
        let names: Vec<String> = doc.absent_files.iter().map(|f| f.name()).collect();
        println!("Not on the chip:  {}", names.join(", "));
    }
    if let Some(st) = report.get("stats") {
        println!("Link:            {st}");
    }
}

fn parse_qr(text: &str, json: bool) -> Result<ExitCode> {
    let qr = eid_icao::card_qr::parse(text)?;
    if json {
        print_json(&qr)?;
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
