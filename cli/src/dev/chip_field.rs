//! `eid chip field --sim`: first-tap success over a simulated population of cards and phones.
//!
//! Each card is a synthetic citizen's CCCD with a random mix of the quirks real chips show
//! (issue 14), read as the wallet reads at activation (no photo, up to 20 automatic resumes)
//! over a link that drops with a per-APDU probability drawn per card. Everything is drawn from
//! the fixtures' DRBG: the same seed gives the same report.

use crate::card::EXTENDED;
use crate::output::print_json;
use anyhow::{Result, bail};
use clap::Args;
use eid_fixtures::card::cccd::{self, CardOptions};
use eid_fixtures::card::{ChipProfile, Quirk, SimTransport};
use eid_fixtures::citizens;
use eid_fixtures::drbg::Drbg;
use eid_icao::TransportLimits;
use eid_icao::bac::MrzKey;
use eid_icao::document::read_document;
use eid_icao::pace::PacePassword;
use eid_icao::reader::{AccessKey, ReadRequest};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::ExitCode;

/// The mix, in parts per thousand of cards (each line drawn independently):
const MIX_HELP: &str = "\
Each card is drawn independently (per mille of cards):
  key typed: MRZ data 700, CAN 300; a typo in it 10 (unreadable: access denied)
  link: extended length 600, short APDUs only 400
  per-APDU drop probability: none 600, up to 1% 250, 1-5% 100, 5-15% 50
  quirks, each independently: plain-errors 40, plain-errors-end-session 30,
  plain-errors-count-ssc 30, session-lost-6982 30, no-do99 50, long-do87 50,
  no-dg14 50, no-dg15 50, no-dg13 30, no-dg2 30, no-com 50, no-card-access 150, select-mf-6d00 100,
  card-access-in-applet 30, card-access-6982 30, pace-refused-6982 20,
  pace-refused-6a80 20, pace-fails-6300 20, no-sfi-6a86 30, no-sfi-6b00 20,
  no-extended-length 50, no-le-zero 30, one max-response-{223,231,255,1024} 100
A card is readable when the key is right and opens it: MRZ data always (BAC), a CAN only
when the card offers working PACE. Each card is read as the wallet reads at activation (DG14,
DG1, DG13, DG15, EF.SOD, no photo) with up to 20 automatic resumes: \"one tap\" is a read that
completes without the citizen doing anything, resumes included. Modelled time: 25 ms per APDU
plus the bytes at 106 kbit/s.";

const QUIRK_PER_MILLE: [(Quirk, u64); 22] = [
    (Quirk::PlainErrors, 40),
    (Quirk::PlainErrorsEndSession, 30),
    (Quirk::PlainErrorsCountSsc, 30),
    (Quirk::SessionLost6982, 30),
    (Quirk::NoDo99, 50),
    (Quirk::LongDo87, 50),
    (Quirk::NoDg14, 50),
    (Quirk::NoDg15, 50),
    (Quirk::NoDg13, 30),
    (Quirk::NoDg2, 30),
    (Quirk::NoCom, 50),
    (Quirk::NoCardAccess, 150),
    (Quirk::SelectMf6d00, 100),
    (Quirk::CardAccessInApplet, 30),
    (Quirk::CardAccess6982, 30),
    (Quirk::PaceRefused6982, 20),
    (Quirk::PaceRefused6a80, 20),
    (Quirk::PaceFails6300, 20),
    (Quirk::NoSfi6a86, 30),
    (Quirk::NoSfi6b00, 20),
    (Quirk::NoExtendedLength, 50),
    (Quirk::NoLeZero, 30),
];

const MAX_RESPONSE_QUIRKS: [Quirk; 4] = [
    Quirk::MaxResponse223,
    Quirk::MaxResponse231,
    Quirk::MaxResponse255,
    Quirk::MaxResponse1024,
];

/// The one-tap target over readable cards.
const TARGET_ONE_TAP: f64 = 0.99;

#[derive(Args)]
#[command(after_help = MIX_HELP)]
pub struct FieldArgs {
    /// Simulated cards (the only ones that can be drawn at will).
    #[arg(long, required = true)]
    sim: bool,
    /// How many cards to read.
    #[arg(long, default_value_t = 1000)]
    cards: u32,
    /// Seed of the draw: the same seed gives the same cards, links and report.
    #[arg(long, default_value = "field")]
    seed: String,
    #[arg(long)]
    json: bool,
}

/// One card of the population.
struct Draw {
    citizen: usize,
    can: bool,
    typo: bool,
    extended: bool,
    drop_probability: f64,
    quirks: Vec<Quirk>,
}

fn per_mille(rng: &mut Drbg, n: u64) -> bool {
    rng.below(1000) < n
}

fn draw(rng: &mut Drbg, citizens: usize) -> Draw {
    let citizen = rng.below(citizens as u64) as usize;
    let can = per_mille(rng, 300);
    let typo = per_mille(rng, 10);
    let extended = per_mille(rng, 600);
    let band = rng.below(1000);
    let uniform =
        |rng: &mut Drbg, lo: f64, hi: f64| lo + (hi - lo) * rng.below(1_000_000) as f64 / 1e6;
    let drop_probability = match band {
        0..600 => 0.0,
        600..850 => uniform(rng, 0.0, 0.01),
        850..950 => uniform(rng, 0.01, 0.05),
        _ => uniform(rng, 0.05, 0.15),
    };
    let mut quirks: Vec<Quirk> = QUIRK_PER_MILLE
        .iter()
        .filter(|(_, n)| per_mille(rng, *n))
        .map(|(q, _)| *q)
        .collect();
    if per_mille(rng, 100) {
        quirks.push(*rng.pick(&MAX_RESPONSE_QUIRKS));
    }
    Draw {
        citizen,
        can,
        typo,
        extended,
        drop_probability,
        quirks,
    }
}

impl Draw {
    /// Whether the right key can open this card at all.
    fn readable(&self) -> bool {
        let pace_works = !self.quirks.iter().any(|q| {
            matches!(
                q,
                Quirk::NoCardAccess
                    | Quirk::PaceRefused6982
                    | Quirk::PaceRefused6a80
                    | Quirk::PaceFails6300
            )
        });
        !self.typo && (!self.can || pace_works)
    }
}

/// Words that tell a citizen what to do next.
fn says_what_to_do(message: &str) -> bool {
    ["check", "use the", "enter", "hold the card", "try again"]
        .iter()
        .any(|w| message.contains(w))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// ms for a read: 25 ms per APDU, and the bytes at 106 kbit/s (ISO 14443 base rate).
fn modelled_ms(apdus: u64, bytes: u64) -> f64 {
    apdus as f64 * 25.0 + bytes as f64 * 8.0 / 106.0
}

#[derive(Default)]
struct Failure {
    count: u64,
    readable: u64,
}

pub fn run(args: &FieldArgs) -> Result<ExitCode> {
    if args.cards == 0 {
        bail!("--cards must be at least 1");
    }
    let all = citizens::citizens();
    let trust = cccd::trust_store()?;
    let mut rng = Drbg::new(args.seed.as_bytes(), "chip-field");
    let (mut readable, mut one_tap, mut resumed) = (0u64, 0u64, 0u64);
    let mut failures: BTreeMap<(String, String), Failure> = BTreeMap::new();
    let (mut apdus, mut times) = (Vec::new(), Vec::new());
    for n in 0..args.cards {
        let d = draw(&mut rng, all.len());
        let citizen = &all[d.citizen];
        let options = CardOptions {
            profile: if d.extended {
                ChipProfile::EXTENDED
            } else {
                ChipProfile::SHORT
            },
            quirks: d.quirks.clone(),
            ..CardOptions::default()
        };
        let limits = if d.extended {
            EXTENDED
        } else {
            TransportLimits::SHORT
        };
        let card = cccd::card(citizen, &options)?;
        let link = SimTransport::new(card, limits)
            .random_drops(d.drop_probability, format!("{}/{n}", args.seed).as_bytes());
        let key: AccessKey = match (d.can, d.typo) {
            (true, false) => PacePassword::can(citizen.can())?,
            (true, true) => PacePassword::can("000000")?,
            (false, typo) => {
                let dob = if typo {
                    "010101".to_owned()
                } else {
                    citizen.date_of_birth.yymmdd()
                };
                PacePassword::Mrz(MrzKey::for_cccd(
                    &citizen.id_number,
                    &dob,
                    &citizen.expiry_date.yymmdd(),
                )?)
            }
        };
        let mut read_rng = Drbg::new(format!("{}/{n}", args.seed).as_bytes(), "terminal");
        let result = read_document(
            link,
            key.clone(),
            &ReadRequest::cccd(false),
            Some(&trust),
            &mut read_rng,
            None,
        )
        .and_then(|doc| {
            doc.require_genuine()
                .map_err(eid_icao::ChipError::NotGenuine)?;
            Ok(doc)
        });
        readable += u64::from(d.readable());
        match result {
            Ok(doc) => {
                one_tap += 1;
                resumed += u64::from(doc.stats.resumes > 0);
                apdus.push(doc.stats.apdu_count as f64);
                times.push(modelled_ms(
                    doc.stats.apdu_count,
                    doc.stats.bytes_sent + doc.stats.bytes_received,
                ));
            }
            Err(e) => {
                let category = category(&e);
                let entry = failures
                    .entry((category.to_owned(), e.to_string()))
                    .or_default();
                entry.count += 1;
                entry.readable += u64::from(d.readable());
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let cards = u64::from(args.cards);
    let unreadable = cards - readable;
    let readable_failed: u64 = failures.values().map(|f| f.readable).sum();
    let one_tap_readable = readable - readable_failed;
    let share = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    let unreadable_failed: u64 = failures.values().map(|f| f.count - f.readable).sum();
    let advised: u64 = failures
        .iter()
        .filter(|((_, m), _)| says_what_to_do(m))
        .map(|(_, f)| f.count - f.readable)
        .sum();
    let one_tap_share = share(one_tap_readable, readable);
    let advice_share = share(advised, unreadable);
    let target_met =
        one_tap_share >= TARGET_ONE_TAP && unreadable_failed == unreadable && advised == unreadable;
    let report = json!({
        "cards": cards,
        "seed": args.seed,
        "readable": readable,
        "unreadable": unreadable,
        "one_tap": {"count": one_tap_readable, "share_of_readable": one_tap_share},
        "needed_resume": {"count": resumed, "share_of_read": share(resumed, one_tap)},
        "failures": failures.iter().map(|((category, message), f)| json!({
            "category": category,
            "message": message,
            "count": f.count,
            "of_readable_cards": f.readable,
            "says_what_to_do": says_what_to_do(message),
        })).collect::<Vec<_>>(),
        "unreadable_failing_with_advice_share": advice_share,
        "apdus_mean": if apdus.is_empty() { 0.0 } else { apdus.iter().sum::<f64>() / apdus.len() as f64 },
        "modelled_ms": {"p50": percentile(&times, 0.5), "p95": percentile(&times, 0.95)},
        "target": {"one_tap_share_of_readable_min": TARGET_ONE_TAP, "unreadable_with_advice_share": 1.0},
        "target_met": target_met,
    });
    if args.json {
        print_json(&report)?;
    } else {
        print_table(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn category(e: &eid_icao::ChipError) -> &'static str {
    use eid_icao::ChipError as E;
    match e {
        E::AccessDenied | E::WrongCan => "access_denied",
        E::LinkLost | E::Transport(_) => "link_lost",
        E::Unsupported(_) | E::NotEmrtd => "unsupported",
        E::NotGenuine(_) => "not_genuine",
        E::SecureMessaging(_) => "secure_messaging",
        E::Status { .. } | E::Malformed { .. } => "card_error",
        E::InvalidInput(_) | E::Cancelled => "other",
    }
}

fn print_table(r: &Value) {
    let pct = |v: &Value| format!("{:.1} %", v.as_f64().unwrap_or(0.0) * 100.0);
    println!(
        "cards {} (seed {}): readable {}, unreadable {}",
        r["cards"], r["seed"], r["readable"], r["unreadable"]
    );
    println!(
        "read in one tap:   {} of the readable ({})",
        pct(&r["one_tap"]["share_of_readable"]),
        r["one_tap"]["count"]
    );
    println!(
        "needed a resume:   {} of the cards read ({})",
        pct(&r["needed_resume"]["share_of_read"]),
        r["needed_resume"]["count"]
    );
    println!(
        "APDUs (mean):      {:.1}",
        r["apdus_mean"].as_f64().unwrap_or(0.0)
    );
    println!(
        "modelled time:     p50 {:.0} ms, p95 {:.0} ms",
        r["modelled_ms"]["p50"].as_f64().unwrap_or(0.0),
        r["modelled_ms"]["p95"].as_f64().unwrap_or(0.0)
    );
    println!("failures:");
    for f in r["failures"].as_array().into_iter().flatten() {
        println!(
            "  {:>4}  {:<16} {}",
            f["count"],
            f["category"].as_str().unwrap_or("-"),
            f["message"].as_str().unwrap_or("-")
        );
    }
    println!("target met:        {}", r["target_met"]);
}
