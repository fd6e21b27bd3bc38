//! Real-world (specimen) eMRTD data, not made by this project: the German BSI TR-03105-5
//! reference data set ("Erika Mustermann", HJP Consulting test PKI) and the ETSI TR 103 200
//! ePassport prototype platform data. Our DG1, DG2, DG14, DG15 and SOD parsers and passive
//! authentication accept them as a desk reader would accept the real documents; every check is
//! also shown to fail on an altered copy. Sources and terms: tests/data/real_world/README.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eid_crypto::hash::HashAlgorithm;
use eid_crypto::trust::TrustStore;
use eid_icao::aa::{AaPublicKey, parse_dg15};
use eid_icao::dg2::{self, ImageFormat};
use eid_icao::mrz::{self, MrzFormat};
use eid_icao::pa::{self, ChainStatus, DgHashStatus, PaStatus};
use eid_icao::security_info::{KeyAgreement, SecurityInfo, SecurityInfos};
use eid_icao::sod;
use eid_icao::symmetric::Cipher;
use std::collections::BTreeMap;

mod bsi {
    pub const SOD: &[u8] = include_bytes!("data/real_world/bsi_tr03105_5/EF_SOD.bin");
    pub const DG1: &[u8] = include_bytes!("data/real_world/bsi_tr03105_5/DG1.bin");
    pub const DG2: &[u8] = include_bytes!("data/real_world/bsi_tr03105_5/DG2.bin");
    pub const DG14: &[u8] = include_bytes!("data/real_world/bsi_tr03105_5/DG14.bin");
    pub const DG15: &[u8] = include_bytes!("data/real_world/bsi_tr03105_5/DG15.bin");
}

/// The 2008 BSI/Bundesdruckerei test passport: SHA-1 hashes, an ECDSA-with-SHA1 DSC on
/// brainpoolP224r1 (explicit parameters), the same DG1 as ETSI's and the same face as BSI's.
mod bsi2008 {
    pub const SOD: &[u8] = include_bytes!("data/real_world/bsi_2008/EF_SOD.bin");
    pub const COM: &[u8] = include_bytes!("data/real_world/bsi_2008/EF_COM.bin");
    pub const DG1: &[u8] = include_bytes!("data/real_world/bsi_2008/DG1.bin");
    pub const DG2: &[u8] = super::bsi::DG2;
    pub const DG3: &[u8] = include_bytes!("data/real_world/bsi_2008/DG3.bin");
    pub const DG14: &[u8] = include_bytes!("data/real_world/bsi_2008/DG14.bin");
    pub const DG15: &[u8] = include_bytes!("data/real_world/bsi_2008/DG15.bin");
}

mod etsi {
    pub const SOD: &[u8] = include_bytes!("data/real_world/etsi_tr103200/EF_SOD.bin");
    pub const DG1: &[u8] = include_bytes!("data/real_world/etsi_tr103200/DG1.bin");
    pub const DG14: &[u8] = include_bytes!("data/real_world/etsi_tr103200/DG14.bin");
    pub const DG15: &[u8] = include_bytes!("data/real_world/etsi_tr103200/DG15.bin");
    /// The ETSI prototype carries the BSI reference face: its SOD lists the same DG2 hash.
    pub const DG2: &[u8] = super::bsi::DG2;
}

fn dgs(list: &[(u8, &[u8])]) -> BTreeMap<u8, Vec<u8>> {
    list.iter().map(|(n, b)| (*n, b.to_vec())).collect()
}

/// Passive authentication of a real SOD without its country's CSCA: every data group read
/// matches, the messageDigest and the DSC's RSASSA-PSS signature hold, and the result stays
/// `not_checked` (never `valid`) because nobody vouched for the DSC.
fn assert_genuine_without_csca(sod_bytes: &[u8], read: &BTreeMap<u8, Vec<u8>>, dsc_cn: &str) {
    let sod = sod::parse(sod_bytes).unwrap();
    assert_eq!(sod.hash_algorithm, HashAlgorithm::Sha256);
    let r = pa::verify(&sod, read, None);
    assert!(
        r.data_groups
            .iter()
            .all(|d| d.status == DgHashStatus::Match),
        "{:?}",
        r.data_groups
    );
    assert_eq!(
        r.data_groups.iter().map(|d| d.dg).collect::<Vec<_>>(),
        read.keys().copied().collect::<Vec<_>>()
    );
    assert!(r.message_digest_ok, "{}", r.reason);
    assert!(r.signature_ok, "{}", r.reason);
    assert!(
        r.signature_algorithm.to_lowercase().contains("pss"),
        "{}",
        r.signature_algorithm
    );
    assert_eq!(r.status, PaStatus::NotChecked, "{}", r.reason);
    assert_eq!(r.chain, ChainStatus::NotChecked);
    let dsc = r.dsc.as_ref().unwrap();
    assert!(dsc.subject.contains(dsc_cn), "{}", dsc.subject);
    assert!(
        !dsc.valid_now,
        "the specimen DSC expired long ago (it signs only at issuance)"
    );

    // With a trust store that lacks the issuing CSCA the chain is refused.
    let r = pa::verify(&sod, read, Some(&TrustStore::new()));
    assert_eq!(r.status, PaStatus::Invalid);
    assert_eq!(r.chain, ChainStatus::Untrusted);

    // One byte of any data group changed: that data group, and only it, mismatches.
    for dg in read.keys() {
        let mut altered = read.clone();
        let bytes = altered.get_mut(dg).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        let r = pa::verify(&sod, &altered, None);
        assert_eq!(r.status, PaStatus::Invalid, "DG{dg} altered");
        for d in &r.data_groups {
            let want = if d.dg == *dg {
                DgHashStatus::Mismatch
            } else {
                DgHashStatus::Match
            };
            assert_eq!(d.status, want, "DG{} with DG{dg} altered", d.dg);
        }
        assert!(r.reason.contains(&format!("DG{dg}")), "{}", r.reason);
    }

    // The signature's last byte changed: the SOD no longer verifies.
    let mut forged = sod;
    let last = forged.signer.signature.len() - 1;
    forged.signer.signature[last] ^= 0x01;
    let r = pa::verify(&forged, read, None);
    assert!(!r.signature_ok);
    assert_eq!(r.status, PaStatus::Invalid, "{}", r.reason);
}

#[test]
fn bsi_reference_passport_passes_passive_authentication() {
    let sod = sod::parse(bsi::SOD).unwrap();
    // DG1, DG2, DG3, DG4 (fingerprints and iris behind terminal authentication), DG14.
    assert_eq!(
        sod.data_group_hashes.keys().copied().collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 14]
    );
    assert_eq!(sod.version, 0);
    assert_eq!(sod.certificates.len(), 1);
    let read = dgs(&[(1, bsi::DG1), (2, bsi::DG2), (14, bsi::DG14)]);
    assert_genuine_without_csca(bsi::SOD, &read, "HJP PB DS");
    // DG15 of the reference set is not covered by this SOD.
    let r = pa::verify(&sod, &dgs(&[(15, bsi::DG15)]), None);
    assert_eq!(r.data_groups[0].status, DgHashStatus::NotInSod);
    assert_eq!(r.status, PaStatus::Invalid);
}

#[test]
fn etsi_prototype_passport_passes_passive_authentication() {
    let sod = sod::parse(etsi::SOD).unwrap();
    assert_eq!(
        sod.data_group_hashes.keys().copied().collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 14, 15]
    );
    let read = dgs(&[
        (1, etsi::DG1),
        (2, etsi::DG2),
        (14, etsi::DG14),
        (15, etsi::DG15),
    ]);
    assert_genuine_without_csca(etsi::SOD, &read, "ETSI DS");
}

#[test]
fn real_sods_survive_every_truncation_without_panicking() {
    for sod_bytes in [bsi::SOD, etsi::SOD] {
        for n in 0..sod_bytes.len() {
            assert!(sod::parse(&sod_bytes[..n]).is_err(), "prefix of {n} bytes");
        }
    }
}

#[test]
fn dg1_of_the_reference_passports_is_a_td3_mrz_with_valid_check_digits() {
    for (dg1, expiry) in [(bsi::DG1, "231031"), (etsi::DG1, "131031")] {
        let m = mrz::parse(dg1).unwrap();
        assert_eq!(m.format, MrzFormat::Td3);
        assert!(m.checks_ok(), "{:?}", m.failed_checks());
        assert_eq!(m.document_code, "P");
        assert_eq!(m.issuing_state, "D");
        assert_eq!(m.nationality, "D");
        assert_eq!(m.document_number, "C11T002JM");
        assert_eq!(m.date_of_birth, "960812");
        assert_eq!(m.date_of_expiry, expiry);
        assert_eq!(m.sex, "F");
        assert_eq!(m.primary_identifier, "MUSTERMANN");
        assert_eq!(m.secondary_identifier, "ERIKA");
        assert!(!m.is_cccd());
        assert_eq!(m.lines().len(), 2);
        // The MRZ key for BAC comes from the same fields.
        assert!(m.mrz_key().is_ok());
    }
    // One changed digit of the date of birth fails its check digit (and the composite).
    let mut altered = bsi::DG1.to_vec();
    let pos = altered.windows(6).position(|w| w == b"960812").unwrap();
    altered[pos + 5] = b'3';
    let m = mrz::parse(&altered).unwrap();
    assert!(!m.checks_ok());
}

#[test]
fn dg2_of_the_reference_passport_is_one_jpeg2000_face() {
    let d = dg2::parse(bsi::DG2).unwrap();
    assert_eq!(d.faces.len(), 1);
    let f = &d.faces[0];
    assert_eq!(f.format, ImageFormat::Jpeg2000);
    assert_eq!(f.image_data_type, 1);
    assert_eq!(f.face_image_type, 1, "full frontal");
    assert_eq!((f.width, f.height), (337, 449));
    // The JP2 signature box opens the image, which runs to the end of the data group.
    assert!(
        f.image
            .starts_with(&[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20])
    );
    assert!(bsi::DG2.ends_with(&f.image));
    assert_eq!(f.header.format_owner, Some(0x0101));
    assert_eq!(f.header.format_type, Some(0x0008));
    for n in [0, 10, 100, bsi::DG2.len() / 2, bsi::DG2.len() - 1] {
        assert!(dg2::parse(&bsi::DG2[..n]).is_err(), "prefix of {n} bytes");
    }
}

#[test]
fn dg14_of_the_reference_passports_announces_chip_authentication() {
    for dg14 in [bsi::DG14, etsi::DG14] {
        let infos = SecurityInfos::parse_dg14(dg14).unwrap();
        // ChipAuthenticationPublicKeyInfo, ChipAuthenticationInfo, TerminalAuthenticationInfo.
        assert_eq!(infos.entries.len(), 3, "{:?}", infos.entries);
        let ca: Vec<_> = infos.chip_authentication().collect();
        assert_eq!(ca.len(), 1);
        assert_eq!(ca[0].algorithm(), Some((KeyAgreement::Ecdh, Cipher::Tdes)));
        assert_eq!(ca[0].version, 1);
        let keys: Vec<_> = infos.chip_authentication_keys().collect();
        assert_eq!(keys.len(), 1);
        // Terminal authentication is not ours to run: kept, not misread.
        assert!(infos.entries.iter().any(|e| matches!(
            e,
            SecurityInfo::Unknown { protocol: Some(p), .. } if p.to_string() == "0.4.0.127.0.7.2.2.2"
        )));
        assert!(infos.pace().next().is_none());
        assert!(infos.active_authentication().is_none());
    }
}

#[test]
fn dg15_of_the_reference_passports_is_an_rsa_1024_key() {
    for dg15 in [bsi::DG15, etsi::DG15] {
        match parse_dg15(dg15).unwrap() {
            AaPublicKey::Rsa { modulus, exponent } => {
                assert_eq!(modulus.len(), 128, "1024-bit modulus");
                assert_eq!(exponent, vec![0x01, 0x00, 0x01]);
            }
            other => panic!("expected RSA, got {other:?}"),
        }
    }
    assert_ne!(
        parse_dg15(bsi::DG15).unwrap(),
        parse_dg15(etsi::DG15).unwrap()
    );
    assert!(parse_dg15(&bsi::DG15[..bsi::DG15.len() - 1]).is_err());
}

#[test]
fn bsi_2008_passport_hashes_match_and_its_p224_signature_is_reported_unchecked() {
    let sod = sod::parse(bsi2008::SOD).unwrap();
    assert_eq!(sod.hash_algorithm, HashAlgorithm::Sha1);
    assert_eq!(
        sod.data_group_hashes.keys().copied().collect::<Vec<_>>(),
        vec![1, 2, 3, 14]
    );
    let read = dgs(&[
        (1, bsi2008::DG1),
        (2, bsi2008::DG2),
        (3, bsi2008::DG3),
        (14, bsi2008::DG14),
    ]);
    let r = pa::verify(&sod, &read, None);
    assert!(
        r.data_groups
            .iter()
            .all(|d| d.status == DgHashStatus::Match),
        "{:?}",
        r.data_groups
    );
    assert!(r.message_digest_ok);
    // The DSC's key is on brainpoolP224r1, which our signature check does not support: the
    // verdict says so and is never `valid` (nor `invalid`, which would call a genuine SOD forged).
    assert!(!r.signature_ok);
    assert_eq!(r.status, PaStatus::NotChecked, "{}", r.reason);
    assert!(r.reason.contains("not supported"), "{}", r.reason);
    // EF.COM lists exactly the data groups the SOD covers: DG1, DG2, DG3, DG14 (tag list 5C).
    let tags = eid_crypto::tlv::read_exact(bsi2008::COM, 0x60).unwrap();
    let list = tags.children().find(0x5C).unwrap().unwrap();
    assert_eq!(list.value, &[0x61, 0x75, 0x63, 0x6E]);
    let m = mrz::parse(bsi2008::DG1).unwrap();
    assert!(m.checks_ok());
    assert_eq!(
        SecurityInfos::parse_dg14(bsi2008::DG14)
            .unwrap()
            .entries
            .len(),
        3
    );
}

/// Finding (issue 14): this test passport's DG15 encodes its RSA modulus as a DER INTEGER
/// without the leading 00 byte (so, read strictly, a negative number), as some early chips do.
/// JMRTD reads the key, and so do we (`aa::rsa_public_key` reads the INTEGERs as unsigned).
#[test]
fn dg15_with_an_unpadded_rsa_modulus_is_read() {
    match parse_dg15(bsi2008::DG15).unwrap() {
        AaPublicKey::Rsa { modulus, exponent } => {
            assert_eq!(modulus.len(), 128);
            assert_eq!(exponent, vec![0x01, 0x00, 0x01]);
        }
        other => panic!("expected RSA, got {other:?}"),
    }
}
