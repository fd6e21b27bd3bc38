//! The reader against the simulated chip: access control, block sizes, resume after link loss.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use eid_crypto::tlv;
use eid_fixtures::card::{ChipProfile, SimCard, SimTransport};
use eid_fixtures::drbg::Drbg;
use eid_icao::bac::MrzKey;
use eid_icao::lds::LdsFile;
use eid_icao::reader::{AccessControl, AccessKey, Progress, ProgressListener, Reader};
use eid_icao::{ChipError, TransportLimits};
use std::cell::RefCell;
use std::collections::BTreeMap;

fn files(photo_len: usize) -> BTreeMap<LdsFile, Vec<u8>> {
    let mut d = Drbg::new(b"reader-test", "files");
    BTreeMap::from([
        (
            LdsFile::DG1,
            tlv::encode(0x61, &tlv::encode(0x5F1F, &[b'I'; 90])),
        ),
        (LdsFile::DG2, tlv::encode(0x75, &d.bytes(photo_len))),
        (LdsFile::DG13, tlv::encode(0x6D, &d.bytes(700))),
        (LdsFile::Sod, tlv::encode(0x77, &d.bytes(1500))),
    ])
}

fn mrz() -> MrzKey {
    MrzKey::new("201234567", "900307", "300307").unwrap()
}

const WANT: [LdsFile; 4] = [LdsFile::DG1, LdsFile::DG13, LdsFile::Sod, LdsFile::DG2];

fn extended() -> TransportLimits {
    TransportLimits {
        max_command: 65544,
        max_response: 65538,
        extended_length: true,
    }
}

fn read(
    transport: SimTransport<SimCard>,
    key: MrzKey,
) -> Result<eid_icao::reader::RawRead, ChipError> {
    let mut rng = Drbg::new(b"reader-test", "terminal");
    let mut reader = Reader::new(transport, AccessKey::Mrz(key), &mut rng);
    reader.open()?;
    reader.read_files(&WANT)?;
    let stats = reader.stats();
    let raw = reader.finish()?;
    assert_eq!(raw.stats, stats);
    Ok(raw)
}

#[test]
fn reads_every_file_with_bac_in_few_round_trips() {
    let f = files(15_000);
    let card = SimCard::new(ChipProfile::EXTENDED, f.clone(), &mrz(), b"card");
    let raw = read(SimTransport::new(card, extended()), mrz()).unwrap();
    assert_eq!(raw.access_control, AccessControl::Bac);
    for w in WANT {
        assert_eq!(raw.files[&w], f[&w], "{w:?}");
    }
    // EF.CardAccess probe, SELECT, GET CHALLENGE, EXTERNAL AUTHENTICATE, one READ per file.
    assert!(raw.stats.apdu_count <= 8, "{:?}", raw.stats);
}

#[test]
fn short_apdus_and_large_offsets_work() {
    let f = files(40_000); // beyond offset 32767: READ BINARY B1
    let card = SimCard::new(ChipProfile::SHORT, f.clone(), &mrz(), b"card");
    let raw = read(SimTransport::new(card, TransportLimits::SHORT), mrz()).unwrap();
    assert_eq!(raw.files[&LdsFile::DG2], f[&LdsFile::DG2]);
    assert!(raw.stats.apdu_count > 40_000 / 231);

    let card = SimCard::new(ChipProfile::EXTENDED, f.clone(), &mrz(), b"card");
    let raw = read(SimTransport::new(card, extended()), mrz()).unwrap();
    assert_eq!(raw.files[&LdsFile::DG2], f[&LdsFile::DG2]);
}

#[test]
fn resumes_after_link_loss_without_rereading() {
    let f = files(30_000);
    let card = SimCard::new(ChipProfile::SHORT, f.clone(), &mrz(), b"card");
    let clean = read(SimTransport::new(card, TransportLimits::SHORT), mrz())
        .unwrap()
        .stats;
    let card = SimCard::new(ChipProfile::SHORT, f.clone(), &mrz(), b"card");
    let raw = read(
        SimTransport::new(card, TransportLimits::SHORT).drop_every(40),
        mrz(),
    )
    .unwrap();
    for w in WANT {
        assert_eq!(raw.files[&w], f[&w], "{w:?}");
    }
    assert!(raw.stats.resumes >= 3, "{:?}", raw.stats);
    // Each resume costs access control and one SELECT, never the bytes already read.
    assert!(
        raw.stats.apdu_count as f64 <= clean.apdu_count as f64 * 1.3,
        "{:?} vs {:?}",
        raw.stats,
        clean
    );
}

#[test]
fn wrong_mrz_is_access_denied() {
    let card = SimCard::new(ChipProfile::EXTENDED, files(100), &mrz(), b"card");
    let wrong = MrzKey::new("201234568", "900307", "300307").unwrap();
    let err = read(SimTransport::new(card, extended()), wrong).unwrap_err();
    assert_eq!(err, ChipError::AccessDenied);
}

#[test]
fn a_link_that_never_comes_back_fails_cleanly() {
    let card = SimCard::new(ChipProfile::SHORT, files(30_000), &mrz(), b"card");
    // Every APDU's answer is lost: no progress is possible.
    let err = read(
        SimTransport::new(card, TransportLimits::SHORT).drop_every(1),
        mrz(),
    )
    .unwrap_err();
    assert_eq!(err, ChipError::LinkLost);
}

struct Recorder(RefCell<Vec<Progress>>);

impl ProgressListener for Recorder {
    fn on_progress(&self, p: &Progress) {
        self.0.borrow_mut().push(*p);
    }
}

#[test]
fn progress_reports_bytes_of_each_file() {
    let card = SimCard::new(ChipProfile::SHORT, files(5_000), &mrz(), b"card");
    let rec = Recorder(RefCell::new(Vec::new()));
    let mut rng = Drbg::new(b"t", "t");
    let mut reader = Reader::new(
        SimTransport::new(card, TransportLimits::SHORT),
        AccessKey::Mrz(mrz()),
        &mut rng,
    )
    .with_listener(&rec);
    reader.open().unwrap();
    reader.read_files(&[LdsFile::DG2]).unwrap();
    reader.finish().unwrap();
    let events = rec.0.into_inner();
    let dg2: Vec<_> = events
        .iter()
        .filter(|p| p.file == Some(LdsFile::DG2) && p.bytes_read > 0)
        .collect();
    assert!(dg2.len() > 10);
    assert!(dg2.windows(2).all(|w| w[0].bytes_read < w[1].bytes_read));
    let last = dg2.last().unwrap();
    assert_eq!(Some(last.bytes_read), last.bytes_total);
    assert_eq!(events.last().unwrap().stage, eid_icao::reader::Stage::Done);
}
