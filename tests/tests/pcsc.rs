//! The PC/SC transport against a card in the vsmartcard virtual reader, through a real pcscd:
//! test card → `eid_fixtures::vpcd::serve` → TCP → vpcd driver → pcscd → libpcsclite →
//! `PcscTransport`.
//!
//! Needs pcscd running with the vpcd driver (`scripts/pcsc-env.sh`, started by
//! `scripts/test.sh`). Without the virtual reader the test passes with a note, unless
//! `EID_PCSC_TEST=1`, when it fails.
#![cfg(feature = "pcsc")]
// The helpers below are test code too (the workspace allows these inside #[test] functions only).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use eid_fixtures::card::SmartCard;
use eid_fixtures::vpcd;
use eid_icao::apdu::CommandApdu;
use eid_icao::pcsc::{PcscTransport, list_readers};
use eid_icao::{ApduTransport, TransportError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// ATR of a contactless card as a PC/SC reader builds it (3B 8n 80 01 <historical> TCK), with
/// card capabilities 73 80 21 C0: the third byte announces extended Lc/Le (and chaining).
const ATR_EXTENDED: &[u8] = &[0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x80, 0x21, 0xC0, 0x96];
/// The same without extended length (third capability byte 80: chaining only).
const ATR_SHORT: &[u8] = &[0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x80, 0x21, 0x80, 0xD6];

const INS_ECHO: u8 = 0xEE;

#[derive(Default)]
struct Counters {
    power_on: AtomicUsize,
    power_off: AtomicUsize,
    apdus: AtomicUsize,
}

/// A tiny card: SELECT answers 9000, GET CHALLENGE 8 fresh bytes, READ BINARY Le bytes, ECHO its
/// data. Counts power cycles and APDUs.
struct TestCard {
    atr: &'static [u8],
    counters: Arc<Counters>,
    challenge: u8,
}

impl TestCard {
    fn new(atr: &'static [u8]) -> (Self, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        let card = TestCard {
            atr,
            counters: Arc::clone(&counters),
            challenge: 0,
        };
        (card, counters)
    }
}

impl SmartCard for TestCard {
    fn atr(&self) -> Vec<u8> {
        self.atr.to_vec()
    }
    fn power_on(&mut self) {
        self.counters.power_on.fetch_add(1, Ordering::SeqCst);
    }
    fn power_off(&mut self) {
        self.counters.power_off.fetch_add(1, Ordering::SeqCst);
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.counters.apdus.fetch_add(1, Ordering::SeqCst);
        let Ok(cmd) = CommandApdu::parse(apdu) else {
            return vec![0x67, 0x00];
        };
        let mut out = match cmd.ins {
            0xA4 => Vec::new(),
            0x84 => {
                self.challenge = self.challenge.wrapping_add(1);
                (0..8u8)
                    .map(|i| i.wrapping_mul(31) ^ self.challenge)
                    .collect()
            }
            // Largest data that fits vpcd's 16-bit message length with the status word.
            0xB0 => vec![0x5A; cmd.le.unwrap_or(0).min(0xFFFF - 2)],
            INS_ECHO => cmd.data,
            _ => return vec![0x6D, 0x00],
        };
        out.extend_from_slice(&[0x90, 0x00]);
        out
    }
}

/// A running bridge; `stop` pulls the card out of the virtual reader and gives it back.
struct Bridge {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<TestCard>,
}

impl Bridge {
    fn insert(mut card: TestCard) -> Bridge {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            vpcd::serve(&mut card, vpcd::DEFAULT_ADDR, &flag).unwrap();
            card
        });
        Bridge { stop, thread }
    }

    fn remove(self) -> TestCard {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}

/// The first virtual reader ("Virtual PCD 00 00", the one on TCP 35963), if pcscd has it.
fn vpcd_reader() -> Option<String> {
    let readers = match list_readers() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("PC/SC not available: {e}");
            return None;
        }
    };
    readers.into_iter().find(|r| r.starts_with("Virtual PCD"))
}

/// pcscd polls the virtual reader a few times a second: wait for it to see the card.
fn open_when_present(reader: &str, allow_extended: bool) -> PcscTransport {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match PcscTransport::open(Some(reader), allow_extended) {
            Ok(t) => return t.with_reconnect_timeout(Duration::from_secs(3)),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("card never showed up in {reader}: {e}"),
        }
    }
}

fn sw(resp: &[u8]) -> u16 {
    u16::from_be_bytes([resp[resp.len() - 2], resp[resp.len() - 1]])
}

/// Sends SELECT until the transport reports the loss of the card (at most a few seconds: pcscd
/// notices a vanished virtual card at its next poll).
fn first_error_after_removal(t: &mut PcscTransport) -> TransportError {
    let select = [0x00, 0xA4, 0x04, 0x0C, 0x02, 0xA0, 0x00];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match t.transmit(&select) {
            Ok(_) => thread::sleep(Duration::from_millis(50)),
            Err(e) => return e,
        }
    }
    panic!("the card was removed but the transport kept answering");
}

#[test]
fn pcsc_transport_through_the_virtual_reader() {
    let Some(reader) = vpcd_reader() else {
        if std::env::var("EID_PCSC_TEST").as_deref() == Ok("1") {
            panic!(
                "EID_PCSC_TEST=1 but no vpcd reader: start pcscd with scripts/pcsc-env.sh \
                 (pcsc_start)"
            );
        }
        eprintln!("skipped: no vpcd reader (set EID_PCSC_TEST=1 to make this an error)");
        return;
    };

    // 1. A card that announces extended length.
    let (card, counters) = TestCard::new(ATR_EXTENDED);
    let bridge = Bridge::insert(card);
    let mut t = open_when_present(&reader, true);
    assert_eq!(t.atr(), ATR_EXTENDED);
    assert!(t.limits().extended_length, "{:?}", t.limits());
    assert!(counters.power_on.load(Ordering::SeqCst) >= 1);

    let select = CommandApdu::new(0, 0xA4, 4, 0x0C).with_data(vec![0xA0, 0, 0, 2, 0x47, 0x10, 1]);
    assert_eq!(t.transmit(&select.to_bytes()).unwrap(), [0x90, 0x00]);
    let challenge = CommandApdu::new(0, 0x84, 0, 0).with_le(8).to_bytes();
    let c1 = t.transmit(&challenge).unwrap();
    let c2 = t.transmit(&challenge).unwrap();
    assert_eq!((c1.len(), sw(&c1)), (10, 0x9000));
    assert_ne!(c1, c2, "two challenges must differ");

    // Extended Lc and Le both ways: 3000 bytes out, 3000 back, and a 60000-byte read.
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let echo = CommandApdu::new(0, INS_ECHO, 0, 0)
        .with_data(data.clone())
        .with_le(65536);
    assert!(echo.needs_extended());
    let r = t.transmit(&echo.to_bytes()).unwrap();
    assert_eq!((&r[..r.len() - 2], sw(&r)), (&data[..], 0x9000));
    let read = CommandApdu::new(0, 0xB0, 0, 0).with_le(60000).to_bytes();
    let r = t.transmit(&read).unwrap();
    assert_eq!((r.len(), sw(&r)), (60002, 0x9000));

    // 2. The card leaves: the bridge closes its socket. The transport reports a lost link.
    let card = bridge.remove();
    assert_eq!(first_error_after_removal(&mut t), TransportError::LinkLost);
    assert_eq!(
        t.transmit(&select.to_bytes()),
        Err(TransportError::LinkLost)
    );
    let powered = counters.power_on.load(Ordering::SeqCst);
    assert!(counters.power_off.load(Ordering::SeqCst) >= 1);

    // ...and comes back: reconnect waits for it and the card has been powered up again.
    let bridge = Bridge::insert(card);
    t.reconnect().unwrap();
    assert!(counters.power_on.load(Ordering::SeqCst) > powered);
    assert_eq!(t.transmit(&select.to_bytes()).unwrap(), [0x90, 0x00]);
    assert!(t.limits().extended_length);

    // 3. Another card, short APDUs only: the limits follow the new ATR. (The new card goes in
    // only once the old one is seen gone: a swap between two polls of pcscd would go unnoticed
    // by vpcd, unlike with a physical card.)
    bridge.remove();
    assert_eq!(first_error_after_removal(&mut t), TransportError::LinkLost);
    let (short_card, short_counters) = TestCard::new(ATR_SHORT);
    let bridge = Bridge::insert(short_card);
    t.reconnect().unwrap();
    assert_eq!(t.atr(), ATR_SHORT);
    assert!(!t.limits().extended_length);
    assert!(matches!(
        t.transmit(&echo.to_bytes()),
        Err(TransportError::Other(_))
    ));
    let r = t.transmit(&challenge).unwrap();
    assert_eq!((r.len(), sw(&r)), (10, 0x9000));
    let r = t
        .transmit(&CommandApdu::new(0, 0xB0, 0, 0).with_le(256).to_bytes())
        .unwrap();
    assert_eq!(r.len(), 258);
    assert!(short_counters.apdus.load(Ordering::SeqCst) >= 2);

    // The caller may refuse extended length even when the card offers it.
    bridge.remove();
    assert_eq!(first_error_after_removal(&mut t), TransportError::LinkLost);
    let (card, _) = TestCard::new(ATR_EXTENDED);
    let bridge = Bridge::insert(card);
    drop(t);
    let mut t = open_when_present(&reader, false);
    assert!(!t.limits().extended_length);
    assert_eq!(t.transmit(&select.to_bytes()).unwrap(), [0x90, 0x00]);

    // 4. No card comes back: reconnect gives up after its timeout.
    bridge.remove();
    assert_eq!(first_error_after_removal(&mut t), TransportError::LinkLost);
    let started = Instant::now();
    assert!(matches!(t.reconnect(), Err(TransportError::NoCard(_))));
    assert!(started.elapsed() < Duration::from_secs(6));
}
