//! DG1 (MRZ) parsing over arbitrary bytes, as a DG1 file and as MRZ text: never panics, and every
//! accessor of a parsed MRZ is safe too.

use eid_icao::mrz::{self, Mrz};

fn exercise(m: &Mrz) {
    let _ = m.failed_checks();
    assert_eq!(m.checks_ok(), m.failed_checks().is_empty());
    let (width, count) = m.format.shape();
    let lines = m.lines();
    assert_eq!(lines.len(), count);
    assert!(lines.iter().all(|l| l.len() == width));
    let _ = m.is_cccd();
    if let Some(id) = m.cccd_id_number() {
        assert_eq!(id.len(), 12);
    }
    let _ = m.mrz_key();
    let _ = format!("{m:?}");
}

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(m) = mrz::parse(data) {
        exercise(&m);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = mrz::parse_text(&text) {
        exercise(&m);
        // The raw MRZ is the text without line breaks: it parses to the same MRZ.
        assert_eq!(mrz::parse_text(&m.raw).as_ref(), Ok(&m));
    }
}
