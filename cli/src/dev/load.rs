//! `eid load-prep`: the wallet side of `scripts/load.sh`. Activates every citizen of a synthetic
//! population (`eid serve --population N` seeded the backend with the same one) on fresh
//! in-memory wallets, several in flight, syncs each wallet once, and writes a wrk Lua script that
//! replays one device-signed `GET /v1/documents` per device (signatures are valid for the
//! backend's ±300 s window, longer than a load run). With `EID_IF_NONE_MATCH=1` in wrk's
//! environment the script sends each page's ETag, as a phone does after its first sync.

use crate::card::{EXTENDED, read_with};
use crate::context::{block_on, client, now_s};
use crate::output::print_json;
use anyhow::{Context as _, Result};
use eid_core::account::{KdfParams, Passcode};
use eid_core::api::{self, B64};
use eid_core::client::BackendClient;
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::platform::{Clock, SystemClock};
use eid_core::wallet::Wallet;
use eid_fixtures::card::SimTransport;
use eid_fixtures::card::cccd::{self, CardOptions};
use eid_fixtures::citizens::{self, Citizen};
use eid_icao::pace::PacePassword;
use eid_icao::reader::ReadRequest;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    backend: String,
    #[arg(long)]
    lua: PathBuf,
    /// Citizens to activate: the backend must have been seeded with at least as many
    /// (`eid serve --population N`).
    #[arg(long, default_value_t = eid_fixtures::citizens::POPULATION_SIZE)]
    population: usize,
    /// Activations in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

/// One activated device: the backend time its activation took and its wrk Lua entry.
struct Activated {
    backend_seconds: f64,
    lua_entry: String,
}

/// Activates `c` on a fresh wallet (timing the backend calls only), syncs it once and signs
/// the replayed request.
fn activate(client: &BackendClient, c: &Citizen) -> Result<Activated> {
    let activated = activate_wallet(client, c)?;
    let w = &activated.wallet;
    // The first sync, as the app does after activating: it also gives the page's ETag.
    block_on(w.sync(client, None, None))??;
    let etag = w.sync_state()?.etag.unwrap_or_default();
    let ts = now_s();
    // A GET may be sent again (the load tool replays it); only state changes consume nonces.
    let nonce = api::new_nonce();
    let sig = w.sign_with_device_key(&api::signing_input(
        "GET",
        api::paths::DOCUMENTS,
        ts,
        &nonce,
        b"",
    ))?;
    let sig = serde_json::to_value(B64(sig))?;
    let account = w.account_id()?.context("no account id")?;
    // ETags are quoted hex: escape the quotes for Lua.
    let etag = etag.replace('"', "\\\"");
    Ok(Activated {
        backend_seconds: activated.backend_seconds,
        lua_entry: format!(
            "  {{account = \"{account}\", ts = \"{ts}\", nonce = \"{nonce}\", sig = \"{}\", etag = \"{etag}\"}},",
            sig.as_str().unwrap_or_default()
        ),
    })
}

/// An activated wallet in a temporary directory (which lives as long as it does).
pub(crate) struct ActivatedWallet {
    pub wallet: Wallet,
    /// Seconds spent in backend calls (the simulated chip read excluded).
    pub backend_seconds: f64,
    _dir: tempfile::TempDir,
}

/// The passcode of the load runs' wallets.
pub(crate) const LOAD_PASSCODE: &str = "123456";

/// Activates `c` on a fresh in-memory wallet with its simulated card.
pub(crate) fn activate_wallet(client: &BackendClient, c: &Citizen) -> Result<ActivatedWallet> {
    let dir = tempfile::tempdir()?;
    let keys: Arc<dyn KeyStore> = Arc::new(SoftwareKeyStore::in_memory());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
    // The cheap Argon2 cost: the passcode is not what this measures.
    let w = Wallet::open(dir.path(), keys, clock)?.with_kdf(KdfParams::FAST_FOR_TESTS);
    let pass = Passcode::new(LOAD_PASSCODE)?;
    w.set_up(&pass)?;
    let t0 = Instant::now();
    let pending = block_on(w.start_activation(client, &c.id_number, &c.phone))??;
    let code = block_on(client.dev_latest_code(&c.phone))??.context("no code in the dev outbox")?;
    let mut backend_seconds = t0.elapsed().as_secs_f64();
    let card = cccd::card(c, &CardOptions::default())?;
    let mut request = ReadRequest::cccd(false);
    request.aa_challenge = Some(pending.chip_challenge.clone());
    let key = PacePassword::Mrz(cccd::mrz_key(c)?);
    let chip = read_with(SimTransport::new(card, EXTENDED), key, &request, None, None)?;
    let t1 = Instant::now();
    block_on(w.complete_activation(client, &pending, &code, &chip, &pass))??;
    backend_seconds += t1.elapsed().as_secs_f64();
    Ok(ActivatedWallet {
        wallet: w,
        backend_seconds,
        _dir: dir,
    })
}

/// The `q` quantile (0..=1) of sorted `values`, nearest rank.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `eid load-prep`: activates the population and writes the wrk script.
pub fn run(args: Args) -> Result<ExitCode> {
    let (lua_out, population, concurrency) = (&args.lua, args.population, args.concurrency);
    let client = client(&args.backend)?;
    let all = citizens::population(population);
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Result<Activated>>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..concurrency.max(1) {
            s.spawn(|| {
                while let Some(c) = all.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let r = activate(&client, c);
                    done.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut latencies = Vec::new();
    let mut entries = Vec::new();
    for r in done {
        let a = r?;
        latencies.push(a.backend_seconds * 1000.0);
        entries.push(a.lua_entry);
    }
    latencies.sort_by(f64::total_cmp);
    let lua = format!(
        "-- generated by `eid load-prep`: one signed GET /v1/documents per activated device\n\
         local reqs = {{\n{}\n}}\nlocal conditional = os.getenv(\"EID_IF_NONE_MATCH\") == \"1\"\n\
         local i = 0\nrequest = function()\n  i = i % #reqs + 1\n  local r = reqs[i]\n  \
         local h = {{[\"{}\"] = r.account, [\"{}\"] = r.ts, [\"{}\"] = r.nonce, [\"{}\"] = r.sig}}\n  \
         if conditional then h[\"If-None-Match\"] = r.etag end\n  \
         return wrk.format(\"GET\", \"{}\", h)\nend\n",
        entries.join("\n"),
        api::headers::ACCOUNT,
        api::headers::TIMESTAMP,
        api::headers::NONCE,
        api::headers::SIGNATURE,
        api::paths::DOCUMENTS,
    );
    std::fs::write(lua_out, lua)?;
    print_json(&json!({
        "activations": all.len(),
        "concurrency": concurrency.max(1),
        "wall_seconds": wall,
        "activations_per_s": all.len() as f64 / wall.max(1e-9),
        "p50_ms": quantile(&latencies, 0.50),
        "p99_ms": quantile(&latencies, 0.99),
        "note": "activations/s over wall time with the client's chip reads and first syncs on the same cores; p50/p99: backend calls (start, outbox, complete) per activation",
    }))?;
    Ok(ExitCode::SUCCESS)
}
