//! A synthetic citizen's simulated CCCD read end to end: access control, files, chip
//! authentication and passive authentication, with every fault knob of the simulated card.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use eid_fixtures::card::cccd::{self, CardOptions, Faults};
use eid_fixtures::card::{ChipProfile, SimTransport};
use eid_fixtures::citizens::{Citizen, citizens};
use eid_fixtures::drbg::Drbg;
use eid_icao::cccd::{CccdKey, CccdReadOptions, read_cccd};
use eid_icao::document::{AuthStatus, ChipDocument, read_document};
use eid_icao::lds::LdsFile;
use eid_icao::pa::{ChainStatus, DgHashStatus, PaStatus};
use eid_icao::pace::PacePassword;
use eid_icao::reader::{AccessControl, AccessKey, ReadRequest};
use eid_icao::{ChipError, NotGenuine, TransportLimits};

const EXTENDED: TransportLimits = TransportLimits {
    max_command: 65544,
    max_response: 65538,
    extended_length: true,
};

fn citizen() -> Citizen {
    citizens().remove(0)
}

fn read_with(
    options: CardOptions,
    key: AccessKey,
    drop_every: Option<u64>,
) -> Result<ChipDocument, ChipError> {
    let c = citizen();
    let limits = if options.profile.extended_length {
        EXTENDED
    } else {
        TransportLimits::SHORT
    };
    let mut link = SimTransport::new(cccd::card(&c, &options).unwrap(), limits);
    if let Some(n) = drop_every {
        link = link.drop_every(n);
    }
    let trust = cccd::trust_store().unwrap();
    let mut rng = Drbg::new(b"chip-document-test", "terminal");
    read_document(
        link,
        key,
        &ReadRequest::cccd(true),
        Some(&trust),
        &mut rng,
        None,
    )
}

/// Both checks proved: the data is the issuer's and the chip is genuine.
fn authentic(doc: &ChipDocument) -> bool {
    doc.passive_authentication.status == PaStatus::Valid
        && doc.chip_authentication.status == AuthStatus::Valid
}

fn mrz_key() -> AccessKey {
    PacePassword::Mrz(cccd::mrz_key(&citizen()).unwrap())
}

fn read(options: CardOptions) -> ChipDocument {
    read_with(options, mrz_key(), None).unwrap()
}

fn faults(f: Faults) -> CardOptions {
    CardOptions {
        faults: f,
        ..CardOptions::default()
    }
}

#[test]
fn genuine_card_reads_with_pace_and_passes_every_check() {
    let c = citizen();
    let doc = read(CardOptions::default());
    assert_eq!(doc.access_control, AccessControl::Pace);
    assert_eq!(
        doc.passive_authentication.status,
        PaStatus::Valid,
        "{}",
        doc.passive_authentication.reason
    );
    assert!(matches!(
        doc.passive_authentication.chain,
        ChainStatus::Trusted { .. }
    ));
    assert_eq!(
        doc.chip_authentication.status,
        AuthStatus::Valid,
        "{}",
        doc.chip_authentication.reason
    );
    assert_eq!(doc.chip_authentication.method, Some("CA"));
    assert!(authentic(&doc));
    assert_eq!(doc.mrz.cccd_id_number(), Some(c.id_number.as_str()));
    let dg13 = doc.dg13.as_ref().unwrap();
    assert_eq!(dg13.id_number(), Some(c.id_number.as_str()));
    assert_eq!(dg13.full_name(), Some(c.full_name.as_str()));
    assert_eq!(dg13.father_name(), Some(c.father_name.as_str()));
    let face = doc.face.as_ref().unwrap();
    assert!(face.image.starts_with(&[0xFF, 0xD8]), "a JPEG");
    for dg in [1, 2, 13, 14, 15] {
        assert!(doc.files.contains_key(&LdsFile::Dg(dg)), "DG{dg}");
    }
}

#[test]
fn bac_only_card_and_can_key() {
    let doc = read(CardOptions {
        pace: false,
        ..CardOptions::default()
    });
    assert_eq!(doc.access_control, AccessControl::Bac);
    assert!(authentic(&doc));
    let can = PacePassword::can(citizen().can()).unwrap();
    let doc = read_with(CardOptions::default(), can, None).unwrap();
    assert_eq!(doc.access_control, AccessControl::Pace);
    assert!(authentic(&doc));
    // A CAN cannot open a BAC-only card.
    let can = PacePassword::can(citizen().can()).unwrap();
    let err = read_with(
        CardOptions {
            pace: false,
            ..CardOptions::default()
        },
        can,
        None,
    )
    .unwrap_err();
    assert!(matches!(err, ChipError::Unsupported(_)), "{err:?}");
}

#[test]
fn wrong_mrz_or_can_is_access_denied_with_pace_and_bac() {
    let c = citizen();
    let wrong = || {
        PacePassword::Mrz(
            eid_icao::bac::MrzKey::for_cccd(&c.id_number, "010101", &c.expiry_date.yymmdd())
                .unwrap(),
        )
    };
    assert_eq!(
        read_with(CardOptions::default(), wrong(), None).unwrap_err(),
        ChipError::AccessDenied
    );
    let bac = CardOptions {
        pace: false,
        ..CardOptions::default()
    };
    assert_eq!(
        read_with(bac, wrong(), None).unwrap_err(),
        ChipError::AccessDenied
    );
    // Issue 14 item 4: with only a CAN, a wrong CAN says so (it was the MRZ wording before).
    let can = PacePassword::can("000000").unwrap();
    assert_eq!(
        read_with(CardOptions::default(), can, None).unwrap_err(),
        ChipError::WrongCan
    );
}

#[test]
fn altered_data_group_fails_passive_authentication_naming_it() {
    for dg in [1u8, 2, 13] {
        let doc = read(faults(Faults {
            tamper: Some(LdsFile::Dg(dg)),
            ..Faults::default()
        }));
        let pa = &doc.passive_authentication;
        assert_eq!(pa.status, PaStatus::Invalid, "DG{dg}");
        assert!(pa.reason.contains(&format!("DG{dg}")), "{}", pa.reason);
        let entry = pa.data_groups.iter().find(|r| r.dg == dg).unwrap();
        assert_eq!(entry.status, DgHashStatus::Mismatch);
        // The chip itself is genuine.
        assert_eq!(doc.chip_authentication.status, AuthStatus::Valid);
    }
    let doc = read(faults(Faults {
        tamper: Some(LdsFile::Sod),
        ..Faults::default()
    }));
    assert_eq!(doc.passive_authentication.status, PaStatus::Invalid);
    assert!(!doc.passive_authentication.signature_ok);
}

#[test]
fn sod_signed_by_untrusted_key_fails_the_chain() {
    let doc = read(faults(Faults {
        untrusted: true,
        ..Faults::default()
    }));
    assert_eq!(doc.passive_authentication.status, PaStatus::Invalid);
    assert_eq!(doc.passive_authentication.chain, ChainStatus::Untrusted);
    assert!(
        doc.passive_authentication.signature_ok,
        "the SOD is signed, just not by anyone trusted"
    );
}

#[test]
fn clone_passes_passive_but_fails_chip_authentication() {
    let doc = read(faults(Faults {
        clone: true,
        ..Faults::default()
    }));
    assert_eq!(doc.passive_authentication.status, PaStatus::Valid);
    assert_eq!(doc.chip_authentication.status, AuthStatus::Invalid);
    assert_eq!(doc.chip_authentication.method, Some("CA"));
    assert!(!authentic(&doc));
    // It still read everything after re-establishing access control.
    assert!(doc.face.is_some() && doc.dg13.is_some());
}

#[test]
fn clone_without_dg14_fails_active_authentication() {
    let c = citizen();
    let options = faults(Faults {
        clone: true,
        ..Faults::default()
    });
    let link = SimTransport::new(cccd::card(&c, &options).unwrap(), EXTENDED);
    let mut rng = Drbg::new(b"t", "t");
    let request = ReadRequest {
        files: vec![LdsFile::DG1, LdsFile::DG15, LdsFile::Sod],
        max_resumes: 3,
        aa_challenge: None,
    };
    let doc = read_document(link, mrz_key(), &request, None, &mut rng, None).unwrap();
    assert_eq!(doc.chip_authentication.method, Some("AA"));
    assert_eq!(doc.chip_authentication.status, AuthStatus::Invalid);
    let link = SimTransport::new(cccd::card(&c, &CardOptions::default()).unwrap(), EXTENDED);
    let doc = read_document(link, mrz_key(), &request, None, &mut rng, None).unwrap();
    assert_eq!(
        (
            doc.chip_authentication.method,
            doc.chip_authentication.status
        ),
        (Some("AA"), AuthStatus::Valid)
    );
    assert_eq!(
        doc.passive_authentication.status,
        PaStatus::NotChecked,
        "no trust store given"
    );
}

#[test]
fn short_apdus_and_link_drops_still_read_everything() {
    let short = CardOptions {
        profile: ChipProfile::SHORT,
        ..CardOptions::default()
    };
    let clean = read(short.clone());
    assert!(authentic(&clean));
    let dropped = read_with(short, mrz_key(), Some(40)).unwrap();
    assert!(authentic(&dropped));
    assert_eq!(dropped.files, clean.files);
    assert!(dropped.stats.resumes > 0);
    assert!(
        dropped.stats.apdu_count as f64 <= clean.stats.apdu_count as f64 * 1.3,
        "{:?} vs {:?}",
        dropped.stats,
        clean.stats
    );
}

#[test]
fn every_synthetic_citizen_reads() {
    for c in citizens() {
        let link = SimTransport::new(cccd::card(&c, &CardOptions::default()).unwrap(), EXTENDED);
        let trust = cccd::trust_store().unwrap();
        let mut rng = Drbg::new(b"t", "t");
        let key = PacePassword::Mrz(cccd::mrz_key(&c).unwrap());
        let doc = read_document(
            link,
            key,
            &ReadRequest::cccd(false),
            Some(&trust),
            &mut rng,
            None,
        )
        .unwrap();
        assert!(authentic(&doc));
        assert_eq!(doc.mrz.cccd_id_number(), Some(c.id_number.as_str()));
        assert!(doc.face.is_none(), "the photo is only read when asked for");
    }
}

#[test]
fn the_chip_signs_a_verifiers_challenge() {
    use eid_icao::aa::{self, AaOutcome};
    let c = citizen();
    let challenge = vec![1, 2, 3, 4, 5, 6, 7, 8];
    let mut request = ReadRequest::cccd(false);
    request.aa_challenge = Some(challenge.clone());
    for clone in [false, true] {
        let options = faults(Faults {
            clone,
            ..Faults::default()
        });
        let link = SimTransport::new(cccd::card(&c, &options).unwrap(), EXTENDED);
        let mut rng = Drbg::new(b"t", "t");
        let doc = read_document(link, mrz_key(), &request, None, &mut rng, None).unwrap();
        let signature = doc
            .aa_signature
            .as_ref()
            .expect("signature over the challenge");
        let key = aa::parse_dg15(&doc.files[&LdsFile::DG15]).unwrap();
        let outcome = aa::verify(&key, None, &challenge, signature).unwrap();
        assert_eq!(outcome == AaOutcome::Valid, !clone, "clone={clone}");
        let other = aa::verify(&key, None, &[9; 8], signature).unwrap();
        assert_ne!(other, AaOutcome::Valid, "bound to that challenge");
    }
}

#[test]
fn chips_that_answer_6cxx_are_read_too() {
    let short = CardOptions {
        profile: ChipProfile::SHORT,
        ..CardOptions::default()
    };
    let strict = CardOptions {
        profile: ChipProfile {
            strict_le: true,
            ..ChipProfile::SHORT
        },
        ..CardOptions::default()
    };
    let plain = read(short);
    let doc = read(strict);
    assert!(authentic(&doc));
    assert_eq!(
        doc.access_control,
        AccessControl::Pace,
        "EF.CardAccess still found"
    );
    assert_eq!(doc.files, plain.files);
    // DG1, DG14, DG15 and EF.CardAccess are shorter than one block: one 6Cxx and a re-read each.
    assert!(
        doc.stats.apdu_count > plain.stats.apdu_count,
        "{:?} vs {:?}",
        doc.stats,
        plain.stats
    );
    assert!(
        doc.stats.apdu_count <= plain.stats.apdu_count + 6,
        "{:?} vs {:?}",
        doc.stats,
        plain.stats
    );
}

/// The wallet's read (`read_cccd`, what the bindings call): the genuine-card rule refuses altered
/// data and cloned chips, lets checks that could not run pass, and a cancelled read is cancelled.
#[test]
fn the_wallet_read_refuses_cards_that_are_not_genuine() {
    use std::sync::atomic::AtomicBool;
    let c = citizen();
    let key = CccdKey::Mrz {
        id_number: c.id_number.clone(),
        date_of_birth: c.date_of_birth.yymmdd(),
        date_of_expiry: c.expiry_date.yymmdd(),
    };
    let options = CccdReadOptions {
        photo: false,
        aa_challenge: Some(vec![1, 2, 3, 4, 5, 6, 7, 8]),
    };
    let link = |f: Faults| SimTransport::new(cccd::card(&c, &faults(f)).unwrap(), EXTENDED);
    let go = AtomicBool::new(false);
    let doc = read_cccd(link(Faults::default()), &key, &options, None, &go).unwrap();
    // No CSCA on a phone: passive authentication is not checked, and that does not refuse.
    assert_eq!(doc.passive_authentication.status, PaStatus::NotChecked);
    assert_eq!(doc.chip_authentication.status, AuthStatus::Valid);
    assert!(doc.aa_signature.is_some() && doc.face.is_none());
    assert_eq!(doc.require_genuine(), Ok(()));

    let clone = Faults {
        clone: true,
        ..Faults::default()
    };
    let err = read_cccd(link(clone), &key, &options, None, &go).unwrap_err();
    assert!(
        matches!(&err, ChipError::NotGenuine(NotGenuine::Chip(_))),
        "{err:?}"
    );
    let altered = Faults {
        tamper: Some(LdsFile::DG13),
        ..Faults::default()
    };
    let err = read_cccd(link(altered), &key, &options, None, &go).unwrap_err();
    let ChipError::NotGenuine(NotGenuine::Data(reason)) = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("DG13"), "{reason}");

    let can = CccdKey::Can(c.can().to_owned());
    assert!(read_cccd(link(Faults::default()), &can, &options, None, &go).is_ok());
    let stop = AtomicBool::new(true);
    assert_eq!(
        read_cccd(link(Faults::default()), &key, &options, None, &stop).unwrap_err(),
        ChipError::Cancelled
    );
    let bad = CccdKey::Mrz {
        id_number: "123".into(),
        date_of_birth: "900101".into(),
        date_of_expiry: "300101".into(),
    };
    assert!(matches!(
        read_cccd(link(Faults::default()), &bad, &options, None, &go),
        Err(ChipError::InvalidInput(_))
    ));
}
