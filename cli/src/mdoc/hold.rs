//! The holder's side of an ISO/IEC 18013-5 presentation on this computer, shared by
//! `eid wallet mdoc present` (the wallet's stored MSOs) and `eid dev mdoc-holder` (the fixture
//! mdocs): over the TCP stand-in for BLE (`--tcp ADDR`: prints the `mdoc:` engagement as the
//! first line of standard output, optionally as a PNG, waits for one reader) or as an NFC card
//! in the vsmartcard virtual reader (`--nfc-vpcd`: the phone in HCE mode on a desk reader). Both
//! together: NFC engagement whose handover names BLE peripheral server mode (the TCP link
//! standing in for it) before NFC, and the reader retrieves over either.

use anyhow::{Context as _, Result, bail};
use eid_core::mdoc::transport::ble::{
    BleEndpoint, BleError, BleMode, BleRole, random_service_uuid, retrieval_method, uuid_text,
};
use eid_core::mdoc::transport::carrier::{BleCarrier, Carrier};
use eid_core::mdoc::transport::gatt_session::serve_holder;
use eid_core::mdoc::transport::nfc::{HOLDER_ATR, HOLDER_LIMITS, NfcHolder};
use eid_core::mdoc::transport::tcp::TcpGatt;
use eid_core::mdoc::{
    Decision, HolderPolicy, HolderSession, MdocSource, PresentationRequest, SessionEnd,
    ephemeral_key,
};
use eid_core::present::QrImage;
use eid_fixtures::card::SmartCard;
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How the holder meets the reader.
#[derive(clap::Args)]
pub struct HolderTransport {
    /// Be a card in the vpcd virtual reader (NFC engagement by static handover). With --tcp,
    /// the handover names BLE peripheral server mode first (the TCP link standing in for it),
    /// then NFC: the reader retrieves over either.
    #[arg(long)]
    nfc_vpcd: bool,
    /// With --nfc-vpcd: offer negotiated handover instead (the reader writes a Handover
    /// Request over TNEP before it reads the Handover Select).
    #[arg(long, requires = "nfc_vpcd")]
    negotiated: bool,
    /// vpcd's address (its first reader listens on 35963, the second on 35964).
    #[arg(long, default_value = eid_fixtures::vpcd::DEFAULT_ADDR, requires = "nfc_vpcd")]
    vpcd: String,
    /// Listen here for the reader (the TCP stand-in for BLE peripheral server mode); port 0
    /// picks a free one (printed on standard error). Engaged by QR, or by NFC with --nfc-vpcd.
    #[arg(long)]
    tcp: Option<String>,
    /// Also write the engagement QR code as a PNG (TCP mode).
    #[arg(long)]
    qr_png: Option<PathBuf>,
}

/// Shows the request on standard error: the reader (authenticated, with its certificate's
/// subject, or not and why) and each element asked for.
pub fn show(r: &PresentationRequest) {
    let who = match (&r.reader, &r.reader_auth_error) {
        (Some(i), _) => format!("{} (reader authenticated)", i.subject),
        (None, Some(why)) => format!("an unauthenticated reader ({why})"),
        (None, None) => "an unauthenticated reader".to_owned(),
    };
    eprintln!("request from {who}:");
    for d in &r.documents {
        let held = match (d.held, d.shown_before) {
            (false, _) => " (not held)",
            (true, true) => " (shown before: the two presentations can be linked)",
            (true, false) => "",
        };
        for e in &d.elements {
            let retain = if e.intent_to_retain {
                " (will be retained)"
            } else {
                ""
            };
            let nearest = d
                .nearest_age
                .iter()
                .find(|n| n.namespace == e.namespace && n.requested == e.identifier);
            let missing = match nearest {
                Some(n) => format!(" (answered with {}: sent instead)", n.sent),
                None if d.not_held.contains(e) => " (not in your document: not sent)".to_owned(),
                None => String::new(),
            };
            eprintln!(
                "  {} {}/{}{retain}{held}{missing}",
                d.doc_type, e.namespace, e.identifier
            );
        }
    }
}

/// Serves one reader: engagement, the request shown and answered by `consent`, the response.
/// Returns why the session ended when it ended without an answer (e.g. a refused reader).
pub fn serve(
    t: &HolderTransport,
    policy: HolderPolicy<'_>,
    source: &mut (dyn MdocSource + Send),
    consent: &mut (dyn FnMut(&PresentationRequest) -> Decision + Send),
) -> Result<Option<SessionEnd>> {
    let (e_device, _) = ephemeral_key(&mut eid_crypto::OsRng)?;
    if t.nfc_vpcd {
        return serve_nfc(t, NfcHolder::new(e_device, policy, source, consent)?);
    }
    let Some(addr) = t.tcp.as_deref() else {
        bail!("give --tcp ADDR or --nfc-vpcd");
    };
    let listener = TcpListener::bind(addr).with_context(|| format!("listening on {addr}"))?;
    let mut session = HolderSession::qr(
        e_device,
        vec![retrieval_method(Some(random_service_uuid()), None)],
    )?;
    let uri = session.qr_uri();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{uri}")?;
        out.flush()?;
    }
    if let Some(path) = &t.qr_png {
        std::fs::write(path, QrImage::encode(&uri)?.to_png(6)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!("listening on {}", listener.local_addr()?);
    let (stream, _) = listener.accept()?;
    let mut link = TcpGatt::new(stream);
    let endpoint = BleEndpoint::new(
        BleMode::PeripheralServer,
        BleRole::Holder,
        session.e_device_key_bytes(),
    );
    let outcome = serve_holder(&mut link, endpoint, &mut session, &policy, source, consent)?;
    if let Some(end) = outcome.end {
        eprintln!("session ended: {end:?}");
    }
    Ok(outcome.end)
}

/// The holder as a card in vpcd until its session is over; with `--tcp`, also the TCP stand-in
/// for the BLE peripheral server mode its handover names.
fn serve_nfc(t: &HolderTransport, holder: NfcHolder<'_>) -> Result<Option<SessionEnd>> {
    let holder = if t.negotiated {
        holder.negotiated()
    } else {
        holder
    };
    let listener = match t.tcp.as_deref() {
        Some(addr) => {
            Some(TcpListener::bind(addr).with_context(|| format!("listening on {addr}"))?)
        }
        None => None,
    };
    let (holder, ble) = match &listener {
        Some(l) => {
            let ble = BleCarrier {
                peripheral_server: true,
                central_client: false,
                uuid: Some(random_service_uuid()),
            };
            let carriers = [Carrier::Ble(ble), Carrier::Nfc(HOLDER_LIMITS)];
            let shown = format!(
                ", BLE peripheral server mode first (service {}; the TCP link at {} stands in for it), then NFC",
                uuid_text(&ble.uuid.unwrap_or_default()),
                l.local_addr()?
            );
            (holder.offering(&carriers)?, shown)
        }
        None => (holder, String::new()),
    };
    eprintln!(
        "holder in the virtual reader at {} (NFC engagement, {} handover{ble}); waiting for a reader",
        t.vpcd,
        if t.negotiated { "negotiated" } else { "static" }
    );
    let holder = Mutex::new(holder);
    let finished = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let ble_end = Mutex::new(None);
    let mut card = SharedCard {
        holder: &holder,
        finished: &finished,
    };
    std::thread::scope(|s| {
        s.spawn(|| leave_after_session(&finished, &stop));
        if let Some(l) = &listener {
            s.spawn(|| {
                let end = serve_stand_in(l, &holder, &stop);
                if let Ok(mut e) = ble_end.lock() {
                    *e = end;
                }
                finished.store(true, Ordering::SeqCst);
            });
        }
        let served = eid_fixtures::vpcd::serve(&mut card, &t.vpcd, &stop);
        stop.store(true, Ordering::SeqCst);
        served
    })?;
    let by_ble = ble_end.lock().ok().and_then(|mut e| e.take());
    let end = match by_ble {
        Some(served) => served.context("the reader on the BLE stand-in")?,
        None => holder.lock().ok().and_then(|h| h.last_end),
    };
    if let Some(end) = &end {
        eprintln!("session ended: {end:?}");
    }
    Ok(end)
}

/// Waits (until `stop`) for a reader on the TCP stand-in for BLE and serves it the NFC-engaged
/// session; once a reader came, `Some` with why the session ended without an answer.
fn serve_stand_in(
    listener: &TcpListener,
    holder: &Mutex<NfcHolder<'_>>,
    stop: &AtomicBool,
) -> Option<Result<Option<SessionEnd>, BleError>> {
    listener.set_nonblocking(true).ok()?;
    let stream = loop {
        if stop.load(Ordering::SeqCst) {
            return None;
        }
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => return None,
        }
    };
    stream.set_nonblocking(false).ok()?;
    eprintln!("a reader came by the BLE stand-in");
    let mut holder = holder.lock().ok()?;
    let endpoint = BleEndpoint::new(
        BleMode::PeripheralServer,
        BleRole::Holder,
        holder.session().e_device_key_bytes(),
    );
    let party = holder.party();
    let served = serve_holder(
        &mut TcpGatt::new(stream),
        endpoint,
        party.session,
        party.policy,
        party.source,
        party.consent,
    );
    Some(served.map(|outcome| outcome.end))
}

/// How long the card stays in the reader after its session: the reader disconnects right after
/// the termination, and pcscd resets the card then. A card pulled during that reset leaves the
/// reader looking occupied to pcscd for minutes, and the next phone is not seen.
const LINGER: Duration = Duration::from_millis(500);

/// The holder as a card, shared with the BLE stand-in; marks when its session is over.
struct SharedCard<'c, 'a> {
    holder: &'c Mutex<NfcHolder<'a>>,
    finished: &'c AtomicBool,
}

/// Sets `stop` (the card leaves the reader) [`LINGER`] after `finished`, or returns as soon as
/// `stop` is set otherwise.
fn leave_after_session(finished: &AtomicBool, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        if finished.load(Ordering::SeqCst) {
            std::thread::sleep(LINGER);
            stop.store(true, Ordering::SeqCst);
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl SmartCard for SharedCard<'_, '_> {
    fn atr(&self) -> Vec<u8> {
        HOLDER_ATR.to_vec()
    }
    fn power_on(&mut self) {
        if let Ok(mut h) = self.holder.lock() {
            h.field_reset();
        }
    }
    fn power_off(&mut self) {
        self.power_on();
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Ok(mut h) = self.holder.lock() else {
            return vec![0x6F, 0x00];
        };
        let r = h.process_apdu(apdu);
        if h.session().is_finished() {
            self.finished.store(true, Ordering::SeqCst);
        }
        r
    }
}
