//! `eid chip bench --sim`: round trips of our reader against a baseline reader on the same
//! simulated card in one run.
//!
//! The baseline reads the way many public readers do: BAC, then per file SELECT, a 4-byte header
//! read and 223-byte blocks, and on link loss it starts the whole read again from scratch.

use crate::card::EXTENDED;
use crate::output::print_json;
use anyhow::Result;
use eid_crypto::tlv;
use eid_fixtures::card::ChipProfile;
use eid_fixtures::card::cccd::{self, CardOptions, Faults};
use eid_fixtures::card::{SimCard, SimTransport};
use eid_fixtures::citizens;
use eid_fixtures::drbg::Drbg;
use eid_icao::apdu::{CommandApdu, ins, sw};
use eid_icao::bac::{self, MrzKey};
use eid_icao::lds::{EMRTD_AID, LdsFile};
use eid_icao::reader::{AccessKey, Reader};
use eid_icao::{Channel, ChipError, Stats, TransportLimits};
use serde::Serialize;
use serde_json::json;
use std::process::ExitCode;

/// Block size of the baseline: the classic 0xDF that fits any short secure-messaging response.
const BASELINE_BLOCK: usize = 0xDF;
/// How many times the baseline starts again before giving up.
const BASELINE_ATTEMPTS: u32 = 25;

#[derive(Debug, Serialize)]
pub struct Run {
    pub finished: bool,
    pub apdu_count: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub resumes: u64,
    pub file_bytes: usize,
}

impl Run {
    fn from_stats(stats: Stats, finished: bool, file_bytes: usize) -> Self {
        Run {
            finished,
            apdu_count: stats.apdu_count,
            bytes_sent: stats.bytes_sent,
            bytes_received: stats.bytes_received,
            resumes: stats.resumes,
            file_bytes,
        }
    }
}

/// Our reader over `transport`; counts APDUs on the link, including those whose answer was lost.
pub fn ours(transport: SimTransport<SimCard>, key: &MrzKey, files: &[LdsFile]) -> Run {
    let mut rng = Drbg::new(b"bench", "ours");
    let mut reader = Reader::new(transport, AccessKey::Mrz(key.clone()), &mut rng);
    let result = reader.open().and_then(|_| reader.read_files(files));
    let stats = reader.stats();
    match result.and_then(|()| reader.finish()) {
        Ok(raw) => Run::from_stats(stats, true, raw.files.values().map(Vec::len).sum()),
        Err(_) => Run::from_stats(stats, false, 0),
    }
}

/// The baseline reader over `transport`.
pub fn baseline(transport: SimTransport<SimCard>, key: &MrzKey, files: &[LdsFile]) -> Run {
    let mut channel = Channel::new(transport);
    let mut rng = Drbg::new(b"bench", "baseline");
    for attempt in 0..BASELINE_ATTEMPTS {
        if attempt > 0 && channel.reconnect().is_err() {
            break;
        }
        match baseline_attempt(&mut channel, key, files, &mut rng) {
            Ok(bytes) => return Run::from_stats(channel.stats, true, bytes),
            Err(ChipError::LinkLost) => continue,
            Err(_) => break,
        }
    }
    Run::from_stats(channel.stats, false, 0)
}

fn baseline_attempt(
    channel: &mut Channel<SimTransport<SimCard>>,
    key: &MrzKey,
    files: &[LdsFile],
    rng: &mut Drbg,
) -> Result<usize, ChipError> {
    channel.set_secure_messaging(None);
    let select = CommandApdu::new(0, ins::SELECT, 4, 0x0C).with_data(EMRTD_AID.to_vec());
    channel.send_plain(&select)?;
    bac::authenticate(channel, key, rng)?;
    let mut total = 0;
    for file in files {
        let sel =
            CommandApdu::new(0, ins::SELECT, 2, 0x0C).with_data(file.fid().to_be_bytes().to_vec());
        if channel.send(&sel)?.sw != sw::OK {
            continue;
        }
        let head = channel.send(&CommandApdu::new(0, ins::READ_BINARY, 0, 0).with_le(4))?;
        let len = tlv::read_header(&head.data)
            .ok()
            .and_then(|h| h.total_len())
            .ok_or(ChipError::Malformed {
                what: "file header",
            })?;
        let mut offset = head.data.len();
        while offset < len {
            let le = (len - offset).min(BASELINE_BLOCK);
            let cmd = CommandApdu::new(0, ins::READ_BINARY, (offset >> 8) as u8, offset as u8)
                .with_le(le);
            let r = channel.send(&cmd)?;
            if r.data.is_empty() {
                return Err(ChipError::Status {
                    command: "READ BINARY",
                    sw: r.sw,
                });
            }
            offset += r.data.len();
        }
        total += len;
    }
    Ok(total)
}

/// One scenario of the benchmark: both readers on fresh copies of the same card.
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub ours: Run,
    pub baseline: Run,
    /// ours / baseline APDU round trips (lower is better).
    pub round_trip_ratio: f64,
}

pub fn compare(
    make_card: &dyn Fn() -> Result<SimCard>,
    limits: TransportLimits,
    drop_every: Option<u64>,
    key: &MrzKey,
    files: &[LdsFile],
) -> Result<Comparison> {
    let link = |card| {
        let t = SimTransport::new(card, limits);
        match drop_every {
            Some(n) => t.drop_every(n),
            None => t,
        }
    };
    let ours = ours(link(make_card()?), key, files);
    let baseline = baseline(link(make_card()?), key, files);
    let round_trip_ratio = ours.apdu_count as f64 / baseline.apdu_count.max(1) as f64;
    Ok(Comparison {
        ours,
        baseline,
        round_trip_ratio,
    })
}

/// `eid chip bench --sim`: both readers on clean and lossy links, extended and short APDUs.
pub fn run() -> Result<ExitCode> {
    let citizen = citizens::citizens().remove(0);
    let key = cccd::mrz_key(&citizen)?;
    // BAC on both sides so the comparison is about reading, not about the access protocol.
    let options = |profile: ChipProfile| CardOptions {
        profile,
        pace: false,
        faults: Faults::default(),
        quirks: Vec::new(),
    };
    let files = [
        LdsFile::Com,
        LdsFile::Sod,
        LdsFile::DG1,
        LdsFile::DG2,
        LdsFile::DG13,
        LdsFile::DG14,
        LdsFile::DG15,
    ];
    let card = |profile: ChipProfile| {
        let c = citizen.clone();
        move || Ok(cccd::card(&c, &options(profile.clone()))?)
    };
    let ext = card(ChipProfile::EXTENDED);
    let short = card(ChipProfile::SHORT);
    let total: usize = cccd::personalise(&citizen, &options(ChipProfile::EXTENDED))?
        .iter()
        .filter(|(f, _)| files.contains(f))
        .map(|(_, b)| b.len())
        .sum();
    let ext_clean = compare(&ext, EXTENDED, None, &key, &files)?;
    let ext_drop = compare(&ext, EXTENDED, Some(40), &key, &files)?;
    let short_clean = compare(&short, TransportLimits::SHORT, None, &key, &files)?;
    let short_drop = compare(&short, TransportLimits::SHORT, Some(40), &key, &files)?;
    let ratio = |a: &Run, b: &Run| a.apdu_count as f64 / b.apdu_count.max(1) as f64;
    let report = json!({
        "card": {"files": files.iter().map(|f| f.name()).collect::<Vec<_>>(), "bytes": total, "access_control": "BAC"},
        "extended_length": {
            "clean": ext_clean,
            "drop_every_40": ext_drop,
            "ours_drop_vs_clean": ratio(&ext_drop.ours, &ext_clean.ours),
        },
        "short_apdus": {
            "clean": short_clean,
            "drop_every_40": short_drop,
            "ours_drop_vs_clean": ratio(&short_drop.ours, &short_clean.ours),
        },
        "targets": {
            "extended_clean_round_trip_ratio_max": 0.5,
            "ours_drop_vs_clean_max": 1.3,
        },
    });
    print_json(&report)?;
    Ok(ExitCode::SUCCESS)
}
