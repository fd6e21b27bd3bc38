//! `eid qr-sizes` (payload bytes and QR version of every profile) and `eid qr-bench` (offline
//! verification time against the bare signature checks it contains, presentations per second).

use crate::context::{now_s, open_wallet};
use crate::fixtures::seed_into;
use crate::output::print_json;
use anyhow::{Result, bail};
use eid_core::account::Passcode;
use eid_core::present::Profile;
use eid_core::verify::Verifier;
use eid_core::wallet::Consent;
use eid_fixtures::issuers;
use serde_json::json;
use std::process::ExitCode;

/// `eid qr-sizes`: payload bytes, text length and QR version at ECC M of every profile, from a
/// fixture wallet (first synthetic citizen), with a verifier nonce and without.
pub fn sizes(json_out: bool) -> Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let w = open_wallet(dir.path())?;
    let pass = Passcode::new("147258")?;
    seed_into(&w, &pass, 2)?;
    let mut rows = Vec::new();
    for profile in Profile::ALL {
        for nonce in [None, Some(&[7u8; 16][..])] {
            let out = w.present(profile, nonce, Consent::Passcode(&pass), "eid qr-sizes")?;
            rows.push(json!({
                "profile": profile.as_str(),
                "nonce": nonce.is_some(),
                "payload_bytes": out.payload_bytes,
                "text_chars": out.text.len(),
                "qr_version": out.qr.version,
                "ecc": out.qr.ecc,
                "modules": out.qr.width,
            }));
        }
    }
    if json_out {
        print_json(&rows)?;
    } else {
        println!("| profile | verifier nonce | payload bytes | text chars | QR version (ECC M) |");
        println!("|---|---|---|---|---|");
        for r in &rows {
            println!(
                "| {} | {} | {} | {} | {} ({}×{}) |",
                r["profile"].as_str().unwrap_or("?"),
                if r["nonce"].as_bool().unwrap_or(false) {
                    "16 B"
                } else {
                    "none"
                },
                r["payload_bytes"],
                r["text_chars"],
                r["qr_version"],
                r["modules"],
                r["modules"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `eid qr-bench`: offline verification of an airport QR against the two bare ES256
/// verifications it contains (issuer, device), measured in the same run, and presentations
/// built per second on a fixture wallet (consent by biometric, so Argon2id is not measured).
pub fn bench(iterations: usize) -> Result<ExitCode> {
    use eid_core::present::{Presentation, QrPayload};
    use std::time::Instant;
    let iterations = iterations.max(10);
    let dir = tempfile::tempdir()?;
    let w = open_wallet(dir.path())?;
    let pass = Passcode::new("147258")?;
    seed_into(&w, &pass, 8)?;
    // The consent is measured apart from the presentation: biometric (a key-store unwrap here)
    // instead of Argon2id, which the citizen pays once per QR whatever the format.
    w.enable_biometric(&pass)?;
    let out = w.present(
        Profile::Airport,
        None,
        Consent::Passcode(&pass),
        "eid qr-bench",
    )?;
    let now = now_s();
    let v = Verifier::new(issuers::trust_list()?);
    // The bare verifications: the issuer's over its COSE Sig_structure, the device's over the
    // presentation's signing input, with the keys and messages prepared beforehand.
    let Ok(QrPayload::Offline(p)) = QrPayload::parse(&out.text) else {
        bail!("the presentation does not parse");
    };
    let bare = eid_core::present::bare_verifications(&p.credential, v.trust())?;
    let device_input = Presentation::signing_input(&p.credential, p.created_at, None);
    let device_key =
        eid_core::present::verify_presentation_credential(&p.credential, v.trust(), now)?
            .device_key;
    let (mut full, mut base) = (Vec::new(), Vec::new());
    for _ in 0..iterations {
        let t = Instant::now();
        let verdict = v.verify_offline(&out.text, now, None, None);
        full.push(t.elapsed().as_secs_f64() * 1e6);
        if !verdict.valid {
            let reasons: Vec<String> = verdict.reasons.iter().map(|r| r.message()).collect();
            bail!("benchmark QR refused: {reasons:?}");
        }
        let t = Instant::now();
        let ok = bare() && eid_crypto::es256::verify_raw(&device_key, &device_input, &p.signature);
        base.push(t.elapsed().as_secs_f64() * 1e6);
        if !ok {
            bail!("bare verification failed");
        }
    }
    let (full, base) = (median(full), median(base));
    // Presentations: each uses a credential (reused once the batch is spent, which costs the same).
    let n = iterations.min(200);
    let t = Instant::now();
    for _ in 0..n {
        w.present(Profile::Airport, None, Consent::Biometric, "eid qr-bench")?;
    }
    let per_s = n as f64 / t.elapsed().as_secs_f64();
    print_json(&json!({
        "iterations": iterations,
        "offline_verify_us_median": (full * 10.0).round() / 10.0,
        "bare_signature_verifications_us_median": (base * 10.0).round() / 10.0,
        "ratio": (full / base * 100.0).round() / 100.0,
        "presentations_per_s": per_s.round(),
        "presentations_measured": n,
    }))?;
    Ok(ExitCode::SUCCESS)
}
