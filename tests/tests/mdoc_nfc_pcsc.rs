//! ISO/IEC 18013-5 NFC data retrieval through a real pcscd: the holder (NfcHolder, the phone in
//! HCE mode) plugged into the vsmartcard virtual reader as a card (`eid_fixtures::vpcd::serve`),
//! read by `eid_core::mdoc::transport::nfc::read_mdoc` over `PcscTransport`, as a desk reader
//! would read a phone: Type 4 Tag handover, SELECT, extended ENVELOPE, GET RESPONSE.
//!
//! Needs pcscd with the vpcd driver (`scripts/pcsc-env.sh`, started by `scripts/test.sh`). Uses
//! the second virtual reader ("Virtual PCD 00 01", TCP 35964) so it never meets the first
//! reader's tests. Without it the test passes with a note, unless `EID_PCSC_TEST=1`.
#![cfg(feature = "pcsc")]
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use eid_core::mdoc::transport::nfc::{NfcHolder, read_mdoc};
use eid_core::mdoc::{
    Decision, HolderPolicy, PresentationRequest, ReaderOutcome, ReaderSigner, ephemeral_key,
};
use eid_fixtures::mdoc::{BHYT, MDL, MdocFixtures, NOW, PHOTOID, request_presets};
use eid_fixtures::mdoc_card::MdocCard;
use eid_fixtures::vpcd;
use eid_icao::ApduTransport;
use eid_icao::pcsc::{PcscTransport, list_readers};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const VPCD_SECOND: &str = "127.0.0.1:35964";

fn second_vpcd_reader() -> Option<String> {
    let readers = match list_readers() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("PC/SC not available: {e}");
            return None;
        }
    };
    readers
        .into_iter()
        .find(|r| r.starts_with("Virtual PCD") && r.ends_with("01"))
}

fn open_when_present(reader: &str) -> PcscTransport {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match PcscTransport::open(Some(reader), true) {
            Ok(t) => return t,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("the holder never showed up in {reader}: {e}"),
        }
    }
}

/// A deterministic random source (keys the same every run).
fn rng(seed: u8) -> eid_fixtures::drbg::Drbg {
    eid_fixtures::drbg::Drbg::new(&[seed], "mdoc nfc pcsc")
}

fn key(seed: u8) -> eid_crypto::SecretKey {
    ephemeral_key(&mut rng(seed)).unwrap().0
}

#[test]
fn a_desk_reader_reads_the_phone_through_pcscd_and_vpcd() {
    let Some(reader) = second_vpcd_reader() else {
        if std::env::var("EID_PCSC_TEST").as_deref() == Ok("1") {
            panic!(
                "EID_PCSC_TEST=1 but no second vpcd reader: start pcscd with scripts/pcsc-env.sh"
            );
        }
        eprintln!("skipped: no vpcd reader (set EID_PCSC_TEST=1 to make this an error)");
        return;
    };
    let f = MdocFixtures::new().unwrap();
    let iacas = f.iacas().unwrap();
    let cas = f.reader.cas().unwrap();
    let mut wallet = f.wallet;
    let presets = request_presets();
    let mut asked = 0usize;
    let mut consent = |r: &PresentationRequest| {
        asked += 1;
        assert!(r.reader.is_some(), "the reader authenticated");
        Decision::Accept
    };
    let policy = HolderPolicy {
        reader_cas: Some(std::borrow::Cow::Borrowed(&cas)),
        reader_crl: None,
        require_reader_auth: true,
        now: NOW,
        device_mac: false,
    };
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        let (wallet, consent, stop) = (&mut wallet, &mut consent, &stop);
        let bridge = s.spawn(move || {
            // The holder lives on the card's thread, as the HCE service does on a phone.
            let holder = NfcHolder::new(key(1), policy, wallet, consent).unwrap();
            let mut card = MdocCard { holder };
            vpcd::serve(&mut card, VPCD_SECOND, stop).unwrap();
            card.holder.apdus
        });
        let mut t = open_when_present(&reader);
        assert!(
            t.limits().extended_length,
            "the holder's ATR announces extended length"
        );
        // Every docType in one session: the licence (with the portrait: several KB in one
        // extended response), the PhotoID's airport request and the BHYT card's clinic request.
        let items: Vec<_> = ["licence", "airport", "clinic"]
            .iter()
            .map(|name| presets.iter().find(|(n, _)| n == name).unwrap().1.clone())
            .collect();
        let mut sign = |tbs: &[u8]| f.reader.sign(tbs);
        let signer = ReaderSigner {
            certificate: &f.reader.certificate,
            sign: &mut sign,
        };
        let read = read_mdoc(&mut t, &mut rng(2), &items, Some(signer), &iacas, NOW);
        stop.store(true, Ordering::SeqCst);
        let apdus_seen = bridge.join().unwrap();
        let read = read.unwrap();
        let ReaderOutcome::Response(Ok(docs)) = &read.outcome else {
            panic!("{:?}", read.outcome)
        };
        let doc_types: Vec<&str> = docs.iter().map(|d| d.doc_type.as_str()).collect();
        assert_eq!(doc_types, [MDL, PHOTOID, BHYT]);
        for (doc, asked) in docs.iter().zip(&items) {
            assert_eq!(doc.elements.len(), asked.elements.len(), "{}", doc.doc_type);
        }
        assert!(read.response_bytes > 2000);
        assert_eq!(
            read.apdus.0, apdus_seen,
            "every APDU went through pcscd to the holder"
        );
        assert!(read.apdus.0 <= 10);
    });
    assert_eq!(asked, 1);
}
