//! `eid demo`: the whole journey on this computer, each step timed. The backend runs in-process
//! on loopback with a temporary SQLite database; a wallet is activated with the simulated CCCD
//! of the first synthetic citizen, syncs, shows the airport QR (terminal + PNG) and the clinic
//! QR, and a verifier checks each with the backend's trust and status lists.

use crate::card::read_sim_card;
use crate::context::{block_on, client, now_s, open_wallet};
use crate::output::{error_text, write_images};
use crate::verify::{TrustSources, print_verdict, verifier};
use anyhow::{Context as _, Result, bail};
use eid_backend::{App, Config};
use eid_core::account::Passcode;
use eid_core::present::Profile;
use eid_core::wallet::{Consent, Wallet};
use eid_crypto::{OsRng, Rng};
use eid_fixtures::citizens;
use eid_icao::reader::{Progress, ProgressListener, Stage};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const PASSCODE: &str = "147258";

/// Prints a step and how long it took.
fn timed<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    print!("==> {name} ... ");
    let _ = std::io::stdout().flush();
    let t = Instant::now();
    let out = f();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    match &out {
        Ok(_) => println!("ok ({ms:.0} ms)"),
        Err(e) => println!("FAILED after {ms:.0} ms: {}", error_text(e)),
    }
    out
}

/// Chip read progress on one line.
struct ChipProgress;

impl ProgressListener for ChipProgress {
    fn on_progress(&self, p: &Progress) {
        let what = match p.stage {
            Stage::AccessControl => "access control".to_owned(),
            Stage::Reading => format!(
                "reading {} {}/{} bytes",
                p.file.map(|f| format!("{f:?}")).unwrap_or_default(),
                p.bytes_read,
                p.bytes_total.map_or("?".to_owned(), |t| t.to_string())
            ),
            Stage::ChipAuthentication => "chip authentication".to_owned(),
            Stage::ActiveAuthentication => "active authentication".to_owned(),
            Stage::Resuming => "link lost, resuming".to_owned(),
            Stage::Done => "done".to_owned(),
        };
        print!(
            "\r    chip: file {}/{} {what:<40}",
            p.files_done, p.files_total
        );
        if p.stage == Stage::Done {
            println!();
        }
        let _ = std::io::stdout().flush();
    }
}

/// The backend on a loopback port, in the core's runtime, until the process ends.
fn start_backend(dir: &Path) -> Result<String> {
    let db = format!("sqlite://{}", dir.join("backend.db").display());
    block_on(async {
        let app = App::open(Config::development(db))
            .await
            .context("backend")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("listen")?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = app.serve(listener, std::future::pending::<()>()).await;
        });
        Ok::<_, anyhow::Error>(format!("http://{addr}"))
    })?
}

fn present_and_verify(
    w: &Wallet,
    pass: &Passcode,
    backend: &str,
    profile: Profile,
    desk: &str,
    out_dir: &Path,
    terminal: bool,
) -> Result<()> {
    // The desk shows a fresh nonce; the QR must carry it back.
    let mut nonce = [0u8; 16];
    OsRng.fill(&mut nonce);
    let shown = timed(
        &format!("present the {profile} QR (passcode, then sign)"),
        || Ok(w.present(profile, Some(&nonce), Consent::Passcode(pass), desk)?),
    )?;
    let png: PathBuf = out_dir.join(format!("{profile}.png"));
    write_images(&shown.qr, Some(&png), None)?;
    println!(
        "    {} bytes, QR version {} ECC {}, valid {} s, saved as {}",
        shown.payload_bytes,
        shown.qr.version,
        shown.qr.ecc,
        shown.expires_at.saturating_sub(now_s()),
        png.display()
    );
    if terminal {
        print!("{}", shown.qr.to_terminal());
    }
    let now = now_s();
    let (verifier, warnings) = timed("verifier: fetch trust list and status list", || {
        let sources = TrustSources {
            trust: None,
            backend: Some(backend),
            cache: None,
            dev: false,
        };
        verifier(&sources, now)
    })?;
    if !warnings.is_empty() {
        bail!("{}", warnings.join("; "));
    }
    let text = timed(&format!("{desk}: scan the PNG"), || {
        Ok(eid_core::present::decode_png(
            &std::fs::read(&png).with_context(|| png.display().to_string())?,
        )?)
    })?;
    let verdict = timed(&format!("{desk}: verify offline"), || {
        Ok(verifier.verify_offline(&text, now, Some(&nonce), Some(profile)))
    })?;
    print_verdict(&verdict, false)?;
    if !verdict.valid {
        bail!("the {profile} QR was refused");
    }
    Ok(())
}

/// `eid demo`: every step timed; exit 0 when both QR codes were accepted.
pub fn run(no_qr: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let out_dir = std::env::temp_dir().join("eid-demo");
    std::fs::create_dir_all(&out_dir).with_context(|| out_dir.display().to_string())?;
    let citizen = citizens::citizens().remove(0);
    println!("eid demo: a synthetic citizen activates the e-ID wallet, then shows QR codes.");
    let backend = timed("start the backend (in-process, temporary SQLite)", || {
        start_backend(dir.path())
    })?;
    println!("    listening on {backend}");
    let client = client(&backend)?;
    let w = open_wallet(&dir.path().join("wallet"))?;
    let pass = Passcode::new(PASSCODE)?;
    timed("set up the wallet with a 6-digit passcode", || {
        w.set_up(&pass)?;
        Ok(())
    })?;
    let pending = timed("activation: ID number + phone, SMS code sent", || {
        Ok(block_on(w.start_activation(
            &client,
            &citizen.id_number,
            &citizen.phone,
        ))??)
    })?;
    let code = timed("read the SMS code (development outbox)", || {
        block_on(client.dev_latest_code(&citizen.phone))??.context("no SMS code")
    })?;
    let chip = timed("read the CCCD chip over NFC (simulated card)", || {
        println!();
        read_sim_card(
            &citizen.id_number,
            &pending.chip_challenge,
            Some(&ChipProgress),
        )
    })?;
    let (_, level) = timed(
        "complete activation (chip evidence checked by the backend)",
        || {
            Ok(block_on(w.complete_activation(
                &client, &pending, &code, &chip, &pass,
            ))??)
        },
    )?;
    println!("    account active at level {level}");
    let report = timed(
        "sync documents, trust list, status list, presentation credentials (passcode)",
        || Ok(block_on(w.sync(&client, None, Some(&pass)))??),
    )?;
    println!("    {} documents", report.updated);
    let terminal = !no_qr;
    present_and_verify(
        &w,
        &pass,
        &backend,
        Profile::Airport,
        "airport check-in",
        &out_dir,
        terminal,
    )?;
    present_and_verify(
        &w,
        &pass,
        &backend,
        Profile::Clinic,
        "clinic reception",
        &out_dir,
        terminal,
    )?;
    println!(
        "demo finished in {:.1} s; QR images in {}",
        started.elapsed().as_secs_f64(),
        out_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
