//! Issue 14: every card behaviour seen in the wild, one simulated-card quirk and one test each,
//! read end to end (access control, files, chip authentication, passive authentication).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use eid_fixtures::card::cccd::{self, CardOptions, Faults};
use eid_fixtures::card::{ChipProfile, Quirk, SimCard, SimTransport};
use eid_fixtures::citizens::{Citizen, citizens};
use eid_fixtures::drbg::Drbg;
use eid_icao::document::{AuthStatus, ChipDocument, read_document};
use eid_icao::lds::LdsFile;
use eid_icao::pa::PaStatus;
use eid_icao::pace::PacePassword;
use eid_icao::reader::{AccessControl, AccessKey, ReadRequest};
use eid_icao::{ApduTransport, ChipError, TransportError, TransportLimits};
use std::cell::RefCell;
use std::rc::Rc;

const EXTENDED: TransportLimits = TransportLimits {
    max_command: 65544,
    max_response: 65538,
    extended_length: true,
};

/// The link, shared so the test can look at the card after the read.
#[derive(Clone)]
struct Shared(Rc<RefCell<SimTransport<SimCard>>>);

impl ApduTransport for Shared {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0.borrow_mut().transmit(command)
    }
    fn limits(&self) -> TransportLimits {
        self.0.borrow().limits()
    }
    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.0.borrow_mut().reconnect()
    }
}

fn citizen() -> Citizen {
    citizens().remove(0)
}

fn mrz() -> AccessKey {
    PacePassword::Mrz(cccd::mrz_key(&citizen()).unwrap())
}

fn can() -> AccessKey {
    PacePassword::can(citizen().can()).unwrap()
}

/// Every file a wallet or desk asks for, EF.COM and the photo included.
fn request() -> ReadRequest {
    let mut r = ReadRequest::cccd(true);
    r.files.push(LdsFile::Com);
    r
}

struct Outcome {
    doc: Result<ChipDocument, ChipError>,
    pace_attempts: u64,
    reconnects: u64,
}

fn read_card(
    options: &CardOptions,
    key: AccessKey,
    link: impl Fn(SimTransport<SimCard>) -> SimTransport<SimCard>,
) -> Outcome {
    let limits = if options.profile.extended_length {
        EXTENDED
    } else {
        TransportLimits::SHORT
    };
    let card = cccd::card(&citizen(), options).unwrap();
    let shared = Shared(Rc::new(RefCell::new(link(SimTransport::new(card, limits)))));
    let trust = cccd::trust_store().unwrap();
    let mut rng = Drbg::new(b"quirks-test", "terminal");
    let doc = read_document(
        shared.clone(),
        key,
        &request(),
        Some(&trust),
        &mut rng,
        None,
    );
    let t = shared.0.borrow();
    Outcome {
        doc,
        pace_attempts: t.card().quirks().pace_attempts,
        reconnects: t.reconnects,
    }
}

fn with(quirks: &[Quirk]) -> CardOptions {
    CardOptions {
        quirks: quirks.to_vec(),
        ..CardOptions::default()
    }
}

fn read(quirks: &[Quirk], key: AccessKey) -> Outcome {
    read_card(&with(quirks), key, |t| t)
}

/// The card was read completely and both checks proved it genuine.
fn assert_authentic(doc: &ChipDocument, what: &str) {
    assert_eq!(
        doc.passive_authentication.status,
        PaStatus::Valid,
        "{what}: {}",
        doc.passive_authentication.reason
    );
    assert_eq!(
        doc.chip_authentication.status,
        AuthStatus::Valid,
        "{what}: {}",
        doc.chip_authentication.reason
    );
}

/// The same files, compared by name first so a failure says which one differs.
fn assert_same_files(a: &ChipDocument, b: &ChipDocument, what: &str) {
    let names = |d: &ChipDocument| d.files.keys().map(|f| f.name()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{what}");
    for (f, bytes) in &a.files {
        assert!(
            b.files.get(f) == Some(bytes),
            "{what}: {} differs",
            f.name()
        );
    }
}

/// The files of the card read without any quirk.
fn textbook() -> ChipDocument {
    read(&[], mrz()).doc.unwrap()
}

/// Item 1 (the independent emulator's finding) and item 8: a chip answers errors under secure
/// messaging with a plain status word. Absent DG13/DG15 give 6A82, no short EF identifiers
/// 6A86: each is read as that status, in the three ways chips handle the session after it.
#[test]
fn plain_error_answers_under_secure_messaging_keep_the_read_going() {
    for variant in [
        Quirk::PlainErrors,
        Quirk::PlainErrorsEndSession,
        Quirk::PlainErrorsCountSsc,
    ] {
        let o = read(&[variant, Quirk::NoDg13, Quirk::NoDg15], mrz());
        let doc = o.doc.unwrap_or_else(|e| panic!("{variant}: {e}"));
        assert_authentic(&doc, variant.name());
        assert_eq!(doc.access_control, AccessControl::Pace);
        assert!(doc.absent_files.contains(&LdsFile::DG13), "{variant}");
        assert!(doc.absent_files.contains(&LdsFile::DG15), "{variant}");
        assert!(doc.files.contains_key(&LdsFile::DG2), "{variant}");
        assert_eq!(
            o.pace_attempts,
            if variant == Quirk::PlainErrors { 1 } else { 3 },
            "{variant}: a new session after each error that ended one"
        );
        let o = read(&[variant, Quirk::NoSfi6a86], mrz());
        assert_same_files(&o.doc.unwrap(), &textbook(), &format!("{variant} + no SFI"));
    }
}

#[test]
fn protected_responses_without_do99_are_read() {
    let doc = read(&[Quirk::NoDo99], mrz()).doc.unwrap();
    assert_authentic(&doc, "no-do99");
    assert_same_files(&doc, &textbook(), "");
}

#[test]
fn do87_with_long_length_and_padding_indicator_is_read() {
    let doc = read(&[Quirk::LongDo87], mrz()).doc.unwrap();
    assert_authentic(&doc, "long-do87");
    assert_same_files(&doc, &textbook(), "");
}

/// Item 2: a card issued without an optional file reads completely, and says so.
#[test]
fn absent_optional_files_complete_the_read() {
    for (quirk, file) in [
        (Quirk::NoDg13, LdsFile::DG13),
        (Quirk::NoDg2, LdsFile::DG2),
        (Quirk::NoCom, LdsFile::Com),
        (Quirk::NoDg15, LdsFile::DG15),
    ] {
        let doc = read(&[quirk], mrz()).doc.unwrap();
        assert_authentic(&doc, quirk.name());
        assert_eq!(doc.absent_files, vec![file], "{quirk}");
        assert!(!doc.files.contains_key(&file));
    }
    // No DG14: active authentication (DG15) proves the chip instead.
    let doc = read(&[Quirk::NoDg14], mrz()).doc.unwrap();
    assert_eq!(doc.passive_authentication.status, PaStatus::Valid);
    assert_eq!(
        (
            doc.chip_authentication.method,
            doc.chip_authentication.status
        ),
        (Some("AA"), AuthStatus::Valid)
    );
    // A BAC-only card without DG14 and DG15 is a normal card: not supported, with the reason.
    let o = read(&[Quirk::NoCardAccess, Quirk::NoDg14, Quirk::NoDg15], mrz());
    let doc = o.doc.unwrap();
    assert_eq!(doc.access_control, AccessControl::Bac);
    assert_eq!(doc.passive_authentication.status, PaStatus::Valid);
    assert_eq!(doc.chip_authentication.status, AuthStatus::NotSupported);
    assert!(
        doc.chip_authentication
            .reason
            .contains("neither DG14 nor DG15"),
        "{}",
        doc.chip_authentication.reason
    );
    assert_eq!(doc.require_genuine(), Ok(()));
    assert_eq!(o.pace_attempts, 0);
}

/// Item 2's other side: a chip that says DG14 and DG15 are absent while its SOD lists them is
/// hiding its keys (a clone avoiding chip and active authentication), and is refused.
#[test]
fn a_chip_hiding_files_its_sod_lists_is_refused() {
    let c = citizen();
    let clone = CardOptions {
        faults: Faults {
            clone: true,
            ..Faults::default()
        },
        ..CardOptions::default()
    };
    let card = cccd::card(&c, &clone)
        .unwrap()
        .with_quirks(&[Quirk::NoDg14, Quirk::NoDg15]);
    let trust = cccd::trust_store().unwrap();
    let mut rng = Drbg::new(b"t", "t");
    let doc = read_document(
        SimTransport::new(card, EXTENDED),
        mrz(),
        &request(),
        Some(&trust),
        &mut rng,
        None,
    )
    .unwrap();
    assert_eq!(doc.chip_authentication.status, AuthStatus::Invalid);
    assert!(
        doc.chip_authentication.reason.contains("DG14, DG15"),
        "{}",
        doc.chip_authentication.reason
    );
    assert!(doc.require_genuine().is_err());
    // Hiding DG13 refuses the data.
    let card = cccd::card(&c, &CardOptions::default())
        .unwrap()
        .with_quirks(&[Quirk::NoDg13]);
    let doc = read_document(
        SimTransport::new(card, EXTENDED),
        mrz(),
        &request(),
        Some(&trust),
        &mut rng,
        None,
    )
    .unwrap();
    assert_eq!(doc.passive_authentication.status, PaStatus::Invalid);
    assert!(doc.passive_authentication.reason.contains("DG13"));
    // Every ICAO chip has EF.SOD: one without it withholds the issuer's proof.
    let mut files = cccd::personalise(&c, &CardOptions::default()).unwrap();
    files.remove(&LdsFile::Sod);
    let key = cccd::mrz_key(&c).unwrap();
    let card = SimCard::new(ChipProfile::EXTENDED, files, &key, b"no-sod");
    let without_keys = ReadRequest {
        files: vec![LdsFile::DG1, LdsFile::DG13, LdsFile::Sod],
        max_resumes: 3,
        aa_challenge: None,
    };
    let doc = read_document(
        SimTransport::new(card, EXTENDED),
        mrz(),
        &without_keys,
        None,
        &mut rng,
        None,
    )
    .unwrap();
    assert_eq!(doc.passive_authentication.status, PaStatus::Invalid);
    assert!(doc.passive_authentication.reason.contains("no EF.SOD"));
    assert!(doc.require_genuine().is_err());
}

/// Item 3: the master file cannot be selected (reported for Vietnamese CCCD cards).
#[test]
fn select_of_the_master_file_answered_6d00() {
    for key in [mrz(), can()] {
        let doc = read(&[Quirk::SelectMf6d00], key).doc.unwrap();
        assert_eq!(doc.access_control, AccessControl::Pace);
        assert_authentic(&doc, "select-mf-6d00");
    }
}

/// Item 3: EF.CardAccess only inside the application. With a CAN (PACE is the only way) the
/// reader finds it there; with MRZ data BAC opens the card without that extra round trip.
#[test]
fn card_access_only_inside_the_application() {
    let doc = read(&[Quirk::CardAccessInApplet], can()).doc.unwrap();
    assert_eq!(doc.access_control, AccessControl::Pace);
    assert_authentic(&doc, "card-access-in-applet, CAN");
    let doc = read(&[Quirk::CardAccessInApplet, Quirk::NoSfi6a86], can())
        .doc
        .unwrap();
    assert_eq!(
        doc.access_control,
        AccessControl::Pace,
        "SELECT P1=02 inside the applet"
    );
    let o = read(&[Quirk::CardAccessInApplet], mrz());
    let doc = o.doc.unwrap();
    assert_eq!(doc.access_control, AccessControl::Bac);
    assert_authentic(&doc, "card-access-in-applet, MRZ");
    assert_eq!(o.pace_attempts, 0);
}

/// Item 3: EF.CardAccess answered 6982 before PACE.
#[test]
fn card_access_refused_before_pace() {
    let o = read(&[Quirk::CardAccess6982], mrz());
    let doc = o.doc.unwrap();
    assert_eq!(doc.access_control, AccessControl::Bac);
    assert_authentic(&doc, "card-access-6982, MRZ");
    assert_eq!(o.pace_attempts, 0);
    // With only a CAN: one PACE attempt with the CCCD's parameters.
    let o = read(&[Quirk::CardAccess6982], can());
    assert_eq!(o.doc.unwrap().access_control, AccessControl::Pace);
    assert_eq!(o.pace_attempts, 1);
}

/// Item 4: PACE refused or failing. With MRZ data: BAC once, on the re-selected application
/// with a fresh session; with only a CAN: an error that says what to do. One PACE attempt.
#[test]
fn pace_refused_or_failing_falls_back_to_bac_once() {
    for quirk in [
        Quirk::PaceRefused6982,
        Quirk::PaceRefused6a80,
        Quirk::PaceFails6300,
    ] {
        let o = read(&[quirk], mrz());
        let doc = o.doc.unwrap_or_else(|e| panic!("{quirk}: {e}"));
        assert_eq!(doc.access_control, AccessControl::Bac, "{quirk}");
        assert_authentic(&doc, quirk.name());
        assert_eq!(o.pace_attempts, 1, "{quirk}");
        let o = read(&[quirk], can());
        let err = o.doc.unwrap_err();
        let text = err.to_string();
        match quirk {
            Quirk::PaceFails6300 => {
                assert_eq!(err, ChipError::WrongCan);
                assert!(text.contains("card access number (CAN)"), "{text}");
            }
            _ => assert!(text.contains("enter the ID number"), "{quirk}: {text}"),
        }
        assert_eq!(o.pace_attempts, 1, "{quirk}: never a blind retry");
    }
    // A resume after the fallback goes straight to BAC, also when the link drops during BAC
    // (PACE failing costs 5 APDUs: the 7th, GET CHALLENGE, is lost).
    for n in [7, 9] {
        let o = read_card(&with(&[Quirk::PaceFails6300]), mrz(), |t| t.drop_every(n));
        assert_eq!(o.doc.unwrap().access_control, AccessControl::Bac);
        assert!(o.reconnects > 0);
        assert_eq!(o.pace_attempts, 1, "drop every {n}");
    }
}

/// Item 4: a wrong CAN is one PACE attempt and a clear error; a wrong MRZ is refused by BAC too.
#[test]
fn wrong_can_is_one_attempt_and_a_clear_error() {
    let o = read(&[], PacePassword::can("000000").unwrap());
    let err = o.doc.unwrap_err();
    assert_eq!(err, ChipError::WrongCan);
    let message = err.to_string();
    assert!(message.contains("card access number (CAN)"), "{message}");
    assert_eq!(o.pace_attempts, 1);
    let c = citizen();
    let wrong = PacePassword::Mrz(
        eid_icao::bac::MrzKey::for_cccd(&c.id_number, "010101", &c.expiry_date.yymmdd()).unwrap(),
    );
    let o = read(&[], wrong);
    assert_eq!(o.doc.unwrap_err(), ChipError::AccessDenied);
    assert_eq!(o.pace_attempts, 1);
}

/// Item 5: no short EF identifiers: SELECT by file identifier, then read.
#[test]
fn cards_without_short_ef_identifiers_are_read_by_fid() {
    let plain = textbook();
    for quirk in [Quirk::NoSfi6a86, Quirk::NoSfi6b00] {
        let doc = read(&[quirk], mrz()).doc.unwrap();
        assert_eq!(
            doc.access_control,
            AccessControl::Pace,
            "{quirk}: EF.CardAccess found by FID"
        );
        assert_authentic(&doc, quirk.name());
        assert_same_files(&doc, &plain, quirk.name());
        // One refused SFI read, then a SELECT per file.
        assert!(
            doc.stats.apdu_count <= plain.stats.apdu_count + 10,
            "{quirk}: {:?}",
            doc.stats
        );
    }
}

/// Item 6: cards that refuse extended length or Le=00, and small response buffers.
#[test]
fn length_limits_are_learnt_not_fatal() {
    let plain = textbook();
    let short = read_card(
        &CardOptions {
            profile: ChipProfile::SHORT,
            ..CardOptions::default()
        },
        mrz(),
        |t| t,
    )
    .doc
    .unwrap();
    for quirk in [
        Quirk::NoExtendedLength,
        Quirk::NoLeZero,
        Quirk::MaxResponse223,
        Quirk::MaxResponse231,
        Quirk::MaxResponse255,
        Quirk::MaxResponse1024,
    ] {
        // The reader's link carries extended length: the card's limits are learnt from its
        // answers (6700, or fewer bytes than asked).
        let doc = read(&[quirk], mrz())
            .doc
            .unwrap_or_else(|e| panic!("{quirk}: {e}"));
        assert_authentic(&doc, quirk.name());
        assert_same_files(&doc, &plain, quirk.name());
        let budget = match quirk {
            Quirk::MaxResponse1024 => plain.stats.apdu_count + 20,
            Quirk::NoLeZero => plain.stats.apdu_count + 2,
            // Smaller blocks than a short APDU carries: proportionally more reads.
            _ => short.stats.apdu_count * 3 / 2,
        };
        assert!(
            doc.stats.apdu_count <= budget,
            "{quirk}: {:?} (budget {budget})",
            doc.stats
        );
    }
    // Le=00 is what a short link asks for first (EF.CardAccess before secure messaging): one
    // refusal, then Le=DF.
    let short_le = CardOptions {
        profile: ChipProfile::SHORT,
        quirks: vec![Quirk::NoLeZero],
        ..CardOptions::default()
    };
    let doc = read_card(&short_le, mrz(), |t| t).doc.unwrap();
    assert_eq!(doc.access_control, AccessControl::Pace);
    assert_same_files(&doc, &short, "no-le-zero, short link");
    assert!(
        doc.stats.apdu_count == short.stats.apdu_count + 1,
        "{:?} vs {:?}",
        doc.stats,
        short.stats
    );
}

/// Item 10: link faults on top of every quirk: the read still completes, resuming from the
/// last byte read (no file is read twice: the APDU count stays near the clean one).
#[test]
fn link_faults_on_top_of_every_quirk() {
    for quirk in Quirk::ALL {
        let options = with(&[quirk]);
        let clean = read_card(&options, mrz(), |t| t);
        let clean = clean.doc.unwrap_or_else(|e| panic!("{quirk}: {e}"));
        let o = read_card(&options, mrz(), |t| {
            t.random_drops(0.03, quirk.name().as_bytes())
        });
        let doc = o.doc.unwrap_or_else(|e| panic!("{quirk} with drops: {e}"));
        assert_same_files(&doc, &clean, quirk.name());
        assert_eq!(
            doc.chip_authentication.status, clean.chip_authentication.status,
            "{quirk}"
        );
        assert!(
            doc.stats.apdu_count <= clean.stats.apdu_count * 2 + 40,
            "{quirk}: {:?} vs {:?}",
            doc.stats,
            clean.stats
        );
    }
    // Drops every 7 APDUs on a card with small buffers and no SFI: many resumes, one read.
    let options = CardOptions {
        quirks: vec![
            Quirk::MaxResponse223,
            Quirk::NoSfi6b00,
            Quirk::PlainErrors,
            Quirk::NoDg13,
        ],
        ..CardOptions::default()
    };
    let clean = read_card(&options, mrz(), |t| t).doc.unwrap();
    let o = read_card(&options, mrz(), |t| t.drop_every(23));
    let doc = o.doc.unwrap();
    assert_same_files(&doc, &clean, "drops every 23");
    assert!(doc.stats.resumes >= 3, "{:?}", doc.stats);
}

/// Every quirk has a stable, unique kebab-case name that parses back.
#[test]
fn quirk_names_are_stable_and_unique() {
    let names: std::collections::BTreeSet<&str> = Quirk::ALL.iter().map(|q| q.name()).collect();
    assert_eq!(names.len(), Quirk::ALL.len());
    for q in Quirk::ALL {
        assert_eq!(Quirk::from_name(q.name()), Some(q));
        assert!(
            q.name()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
        assert!(!q.describe().is_empty());
    }
    assert_eq!(Quirk::from_name("plain-errors"), Some(Quirk::PlainErrors));
}

/// Item 1: a chip that forgets its session between reads answers 6982 without secure
/// messaging; the reader opens a new session and reads on from where it was (a read refused
/// again at the same place after a new session is an error, not a loop).
#[test]
fn a_chip_that_forgets_its_session_is_read_on_a_new_one() {
    let short = CardOptions {
        profile: ChipProfile::SHORT,
        quirks: vec![Quirk::SessionLost6982],
        ..CardOptions::default()
    };
    let o = read_card(&short, mrz(), |t| t);
    let doc = o.doc.unwrap();
    assert_authentic(&doc, "session-lost-6982");
    assert!(o.pace_attempts >= 2, "a new session: {}", o.pace_attempts);
    let clean = read_card(
        &CardOptions {
            profile: ChipProfile::SHORT,
            ..CardOptions::default()
        },
        mrz(),
        |t| t,
    );
    assert_same_files(&doc, &clean.doc.unwrap(), "session-lost-6982");
}

/// The other half: a file still refused (6982) at the same place on a new session is closed to
/// us. One new session, then a clear error; never a loop of sessions.
#[test]
fn a_file_refused_again_on_a_new_session_is_an_error() {
    /// Answers every protected READ BINARY of DG13 (SFI 13) with a plain 6982.
    struct ClosedDg13(Shared);
    impl ApduTransport for ClosedDg13 {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            if let [cla, 0xB0, 0x8D, ..] = command
                && cla & 0x0C == 0x0C
            {
                return Ok(vec![0x69, 0x82]);
            }
            self.0.transmit(command)
        }
        fn limits(&self) -> TransportLimits {
            self.0.limits()
        }
        fn reconnect(&mut self) -> Result<(), TransportError> {
            self.0.reconnect()
        }
    }
    let card = cccd::card(&citizen(), &CardOptions::default()).unwrap();
    let shared = Shared(Rc::new(RefCell::new(SimTransport::new(card, EXTENDED))));
    let mut rng = Drbg::new(b"t", "t");
    let err = read_document(
        ClosedDg13(shared.clone()),
        mrz(),
        &request(),
        None,
        &mut rng,
        None,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ChipError::Status {
            command: "READ BINARY (access to the file refused)",
            sw: 0x6982
        }
    );
    assert_eq!(shared.0.borrow().card().quirks().pace_attempts, 2);
}
