//! `eid load-activate`: the activation figure of issue 17, measured without the client's chip
//! simulation on the measured cores (`scripts/load-activation.sh`). Every citizen's wallet is set
//! up and its chip read (PACE, secure messaging, passive and chip authentication) before the
//! clock starts; the timed part is what a phone and the backend do at activation: start, the SMS
//! code, the chip's active-authentication answer to the backend's challenge (computed with the
//! fixture card's key, `cccd::active_authentication_signature`) and complete with the passcode
//! registered as consent. With `--server-pid`, the backend's CPU time over the timed part is read
//! from /proc, so the figure says what bounds the rate: CPU per activation against the cores.

use super::load::{LOAD_PASSCODE, quantile};
use crate::card::{EXTENDED, read_with};
use crate::context::{block_on, client};
use crate::output::print_json;
use anyhow::{Context as _, Result, anyhow};
use eid_core::account::{KdfParams, Passcode};
use eid_core::client::BackendClient;
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::platform::{Clock, SystemClock};
use eid_core::wallet::Wallet;
use eid_fixtures::card::SimTransport;
use eid_fixtures::card::cccd::{self, CardOptions};
use eid_fixtures::citizens::{self, Citizen};
use eid_icao::document::ChipDocument;
use eid_icao::pace::PacePassword;
use eid_icao::reader::ReadRequest;
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    backend: String,
    /// Citizens to activate: the backend must have been seeded with at least as many
    /// (`eid serve --population N`).
    #[arg(long, default_value_t = 200)]
    population: usize,
    /// Activations in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The backend's process id: its CPU time over the timed part is reported per activation.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// A wallet set up and its citizen's chip read, ready to activate.
struct Ready<'a> {
    citizen: &'a Citizen,
    wallet: Wallet,
    chip: ChipDocument,
    _dir: tempfile::TempDir,
}

fn prepare(c: &Citizen) -> Result<Ready<'_>> {
    let dir = tempfile::tempdir()?;
    let keys: Arc<dyn KeyStore> = Arc::new(SoftwareKeyStore::in_memory());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
    // The cheap Argon2 cost: the passcode's KDF is the phone's work, not what this measures.
    let wallet = Wallet::open(dir.path(), keys, clock)?.with_kdf(KdfParams::FAST_FOR_TESTS);
    wallet.set_up(&Passcode::new(LOAD_PASSCODE)?)?;
    let card = cccd::card(c, &CardOptions::default())?;
    let key = PacePassword::Mrz(cccd::mrz_key(c)?);
    let chip = read_with(
        SimTransport::new(card, EXTENDED),
        key,
        &ReadRequest::cccd(false),
        None,
        None,
    )?;
    Ok(Ready {
        citizen: c,
        wallet,
        chip,
        _dir: dir,
    })
}

/// One timed activation: milliseconds from start to completion.
fn activate(client: &BackendClient, mut r: Ready<'_>) -> Result<f64> {
    let pass = Passcode::new(LOAD_PASSCODE)?;
    let c = r.citizen;
    let t0 = Instant::now();
    let pending = block_on(r.wallet.start_activation(client, &c.id_number, &c.phone))??;
    let code = block_on(client.dev_latest_code(&c.phone))??.context("no code in the dev outbox")?;
    r.chip.aa_signature = Some(
        cccd::active_authentication_signature(c, &pending.chip_challenge)
            .ok_or_else(|| anyhow!("the fixture card did not sign the challenge"))?,
    );
    block_on(
        r.wallet
            .complete_activation(client, &pending, &code, &r.chip, &pass),
    )??;
    Ok(t0.elapsed().as_secs_f64() * 1000.0)
}

/// utime + stime of process `pid` in seconds (/proc/PID/stat, fields 14 and 15).
pub(crate) fn cpu_seconds(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("/proc/{pid}/stat: unexpected format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields
            .get(i)
            .ok_or_else(|| anyhow!("/proc/{pid}/stat: too short"))?
            .parse::<f64>()?)
    };
    // After ")": field 3 is index 0, so utime (14) is 11 and stime (15) is 12.
    Ok((ticks(11)? + ticks(12)?) / clock_ticks_per_second())
}

/// sysconf(_SC_CLK_TCK), from `getconf` (100 on Linux unless built otherwise).
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

pub fn run(args: Args) -> Result<ExitCode> {
    let client = client(&args.backend)?;
    let all = citizens::population(args.population);
    let prep_started = Instant::now();
    let ready: Vec<Ready<'_>> = all.iter().map(prepare).collect::<Result<_>>()?;
    let prep_seconds = prep_started.elapsed().as_secs_f64();
    let queue = Mutex::new(ready.into_iter());
    let latencies: Mutex<Vec<f64>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let server_pid = args.server_pid.map(|p| p.to_string());
    let server_before = server_pid.as_deref().map(cpu_seconds).transpose()?;
    let client_before = cpu_seconds("self")?;
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..args.concurrency.max(1) {
            s.spawn(|| {
                loop {
                    let Some(r) = queue.lock().unwrap_or_else(|p| p.into_inner()).next() else {
                        break;
                    };
                    match activate(&client, r) {
                        Ok(ms) => latencies.lock().unwrap_or_else(|p| p.into_inner()).push(ms),
                        Err(e) => errors
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(e.to_string()),
                    }
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let client_cpu = cpu_seconds("self")? - client_before;
    let server_cpu = match (&server_pid, server_before) {
        (Some(pid), Some(before)) => Some(cpu_seconds(pid)? - before),
        _ => None,
    };
    let errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = errors.first() {
        return Err(anyhow!(
            "{} activations failed; the first: {e}",
            errors.len()
        ));
    }
    let mut latencies = latencies.into_inner().unwrap_or_else(|p| p.into_inner());
    latencies.sort_by(f64::total_cmp);
    let n = latencies.len().max(1) as f64;
    let per = |cpu: f64| cpu * 1000.0 / n;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
    print_json(&json!({
        "activations": latencies.len(),
        "concurrency": args.concurrency.max(1),
        "wall_seconds": wall,
        "activations_per_s": latencies.len() as f64 / wall.max(1e-9),
        "p50_ms": quantile(&latencies, 0.50),
        "p99_ms": quantile(&latencies, 0.99),
        "server_cpu_ms_per_activation": server_cpu.map(per),
        "client_cpu_ms_per_activation": per(client_cpu),
        "cores": cores,
        "cpu_bound_activations_per_s": server_cpu
            .map(|s| cores * 1000.0 / (per(s) + per(client_cpu)).max(1e-9)),
        "untimed_preparation_seconds": prep_seconds,
        "note": "chip reads and wallet set-up before the clock; timed: start, SMS code, active authentication over the backend's challenge, complete (consent registration included); cpu_bound: the rate the cores allow at the measured server + client CPU per activation",
    }))?;
    Ok(ExitCode::SUCCESS)
}
