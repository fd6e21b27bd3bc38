//! Measures the store on a realistic wallet: 1,000 documents (~300-byte summary, ~3 KB body).
//!
//! `cargo run --release -p eid-core --example store_bench` prints one JSON object with medians in
//! microseconds: opening the store plus listing every summary (the app's start screen; unwrapping
//! the data key from the KeyStore is excluded, it is the platform's cost), and one `document(id)`
//! (read + decrypt of summary and body).

// An example's job is to print its measurements.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::Instant;

use eid_core::store::{NewDocument, Store};
use eid_crypto::{OsRng, Rng, SecretKey};

const DOCUMENTS: usize = 1_000;
const SUMMARY_LEN: usize = 300;
const BODY_LEN: usize = 3_000;
const REPETITIONS: usize = 25;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

fn micros(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e6
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("wallet.db");
    let mut key = vec![0u8; 32];
    OsRng.fill(&mut key);
    let data_key = SecretKey::new(key);

    // Synthetic records: JSON-ish filler of the sizes a CCCD summary and body have.
    let ids: Vec<String> = (0..DOCUMENTS).map(|i| format!("doc-{i:05}")).collect();
    let summaries: Vec<Vec<u8>> = (0..DOCUMENTS)
        .map(|i| format!("{{\"n\":{i},\"f\":\"{}\"}}", "s".repeat(SUMMARY_LEN - 16)).into_bytes())
        .collect();
    let bodies: Vec<Vec<u8>> = (0..DOCUMENTS)
        .map(|i| (0..BODY_LEN).map(|j| ((i + j) % 251) as u8).collect())
        .collect();
    let fill_start = Instant::now();
    {
        let store = Store::open(&path, data_key.clone())?;
        let items: Vec<NewDocument<'_>> = (0..DOCUMENTS)
            .map(|i| NewDocument {
                id: &ids[i],
                kind: "cccd",
                summary: &summaries[i],
                body: &bodies[i],
            })
            .collect();
        store.put_documents(&items)?;
    }
    let fill_us = micros(fill_start);
    let db_bytes = std::fs::metadata(&path)?.len();

    let (mut open_list, mut open_only, mut list_only) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..REPETITIONS {
        let start = Instant::now();
        let store = Store::open(&path, data_key.clone())?;
        let opened = micros(start);
        let list_start = Instant::now();
        let list = store.list_summaries()?;
        list_only.push(micros(list_start));
        open_list.push(micros(start));
        open_only.push(opened);
        if list.len() != DOCUMENTS {
            return Err("listing lost documents".into());
        }
        drop(store);
    }

    // Baseline in the same run: the same rows read by plain SQLite, nothing decrypted, so the
    // ratio shows what sealing costs on this machine whatever its speed.
    let mut baseline = Vec::new();
    for _ in 0..REPETITIONS {
        let start = Instant::now();
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut stmt = conn.prepare("SELECT id, kind, summary FROM documents ORDER BY id")?;
        let rows: Vec<(String, String, Vec<u8>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        baseline.push(micros(start));
        if rows.len() != DOCUMENTS {
            return Err("baseline lost rows".into());
        }
    }

    let store = Store::open(&path, data_key)?;
    let mut per_document = Vec::with_capacity(DOCUMENTS);
    for id in &ids {
        let start = Instant::now();
        let doc = store.document(id)?;
        per_document.push(micros(start));
        if doc.map(|d| d.body.len()) != Some(BODY_LEN) {
            return Err("a document did not round-trip".into());
        }
    }

    println!(
        "{{\"documents\":{DOCUMENTS},\"summary_bytes\":{SUMMARY_LEN},\"body_bytes\":{BODY_LEN},\
         \"repetitions\":{REPETITIONS},\"db_bytes\":{db_bytes},\"fill_one_tx_us\":{fill_us:.0},\
         \"open_plus_list_median_us\":{:.0},\"open_median_us\":{:.0},\"list_median_us\":{:.0},\
         \"document_median_us\":{:.1},\"baseline_plain_open_list_median_us\":{:.0},\
         \"sealed_vs_plain_ratio\":{:.2}}}",
        median(open_list.clone()),
        median(open_only),
        median(list_only),
        median(per_document),
        median(baseline.clone()),
        median(open_list) / median(baseline).max(1.0),
    );
    Ok(())
}
