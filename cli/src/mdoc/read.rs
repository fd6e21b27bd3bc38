//! `eid mdoc read`: the verifier desk's side of ISO/IEC 18013-5 over NFC (a phone on a PC/SC
//! reader, `--pcsc`) or the TCP stand-in for BLE (`--engagement 'mdoc:...' --tcp ADDR`); both
//! (`--pcsc --tcp ADDR`): engaged by NFC, retrieving over the stand-in when the phone's
//! handover names BLE peripheral server mode.

use crate::context::now_s;
use crate::mdoc::desk_cache::MdocDeskCache;
use crate::mdoc::desk_trust::{DeskTrust, Sources};
use crate::mdoc::reader_cert::DeskReader;
use crate::output::{exit_code, print_json, print_json_line};
use anyhow::{Context as _, Result, bail};
use eid_core::mdoc::transport::ble::{BleEndpoint, BleMode, BleRole, ble_options, uuid_text};
use eid_core::mdoc::transport::gatt_session::run_reader;
use eid_core::mdoc::transport::ndef::NfcHandover;
use eid_core::mdoc::transport::tcp::TcpGatt;
use eid_core::mdoc::{
    DeviceEngagement, MdocVerdict, ReaderError, ReaderOutcome, ReaderSession, ReaderSigner,
    StatusListCache,
};
use eid_crypto::trust::TrustStore;
use eid_fixtures::mdoc::{MdocFixtures, PHOTOID, items_request, primary_namespace};
use serde_json::{Map, json};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct ReadArgs {
    /// NFC through a PC/SC reader (the phone or test holder on the reader).
    #[arg(long, conflicts_with = "engagement")]
    pcsc: bool,
    /// The PC/SC reader's name (default: the first one holding a card; with `--wait`, the
    /// first one attached).
    #[arg(long, requires = "pcsc")]
    reader: Option<String>,
    /// Wait up to this many seconds for the phone to be held to the reader (0: it must be
    /// there already).
    #[arg(long, default_value_t = 0, requires = "pcsc")]
    wait: u64,
    /// The holder's QR engagement (`mdoc:` URI).
    #[arg(long, requires = "tcp")]
    engagement: Option<String>,
    /// Address of the holder's TCP stand-in for BLE: with --engagement (QR), or with --pcsc
    /// (the NFC handover offers BLE peripheral server mode, negotiated handover included; the
    /// desk reads over NFC when the phone names no BLE).
    #[arg(long)]
    tcp: Option<String>,
    /// Elements to ask for, comma-separated: `identifier` (in the docType's namespace) or
    /// `namespace/identifier`.
    #[arg(long, value_delimiter = ',', required = true)]
    elements: Vec<String>,
    /// The docType asked for.
    #[arg(long, default_value = PHOTOID)]
    doctype: String,
    /// PEM file of the IACA certificates to trust (this, --backend or --dev is needed).
    #[arg(long)]
    trust: Option<PathBuf>,
    /// Trust the IACAs (and, unless --csca, the CSCAs) of this backend's trust list
    /// (`GET /v1/trust-list`).
    #[arg(long, conflicts_with = "trust")]
    backend: Option<String>,
    /// Keep what the desk fetches in this directory (the backend's trust list, each status
    /// list), and use it when the network does not answer: a kept status list counts until it
    /// expires (its `exp`), and its age is said on standard error.
    #[arg(long, conflicts_with = "status_list")]
    cache: Option<PathBuf>,
    /// A development desk: what is not given is the public fixture's (the IACA, the reader key
    /// and certificate, the CSCA, and with neither --trust nor --backend the fixture MSOs'
    /// status list). Anyone can sign with those keys: for tests only (docs/adr/0077).
    #[arg(long)]
    dev: bool,
    /// Do not sign the request (no reader authentication).
    #[arg(long, conflicts_with_all = ["reader_key", "reader_cert"])]
    no_reader_auth: bool,
    /// The desk's reader key (PKCS#8 PEM, from `eid mdoc reader-cert`); needed for reader
    /// authentication unless --dev (the fixture reader's).
    #[arg(long, requires = "reader_cert")]
    reader_key: Option<PathBuf>,
    /// The desk's reader authentication certificate (PEM) for `--reader-key`.
    #[arg(long, requires = "reader_key")]
    reader_cert: Option<PathBuf>,
    /// Save the session for an outside ISO/IEC 18013-5 verifier in this directory (created,
    /// mode 0700): `device-response.cbor`, `session-transcript.cbor` (SessionTranscriptBytes)
    /// and `e-reader-key.cose` (the reader's ephemeral private COSE_Key, to check a device
    /// MAC). The response holds the citizen's disclosed data: for tests and interoperability
    /// checks, not for a desk's daily work. TCP only.
    #[arg(long, conflicts_with = "pcsc")]
    save_response: Option<PathBuf>,
    /// A Token Status List (CWT) fetched earlier, for a desk without network: checked like a
    /// fetched one (signed under a trusted IACA, its `sub` the URI the MSO names, not
    /// expired). Default: each MSO's list is fetched from the URI it names (with --dev and no
    /// --trust or --backend, the fixture MSOs' list); a list that cannot be had makes the
    /// answer not valid ("status list unavailable").
    #[arg(long)]
    status_list: Option<PathBuf>,
    /// PEM file of the CSCA certificates to check disclosed DTC data (`org.iso.23220.dtc.1`
    /// SOD and data groups) against, as at a border: ICAO passive authentication. Default: the
    /// CSCAs of --backend's trust list, the fixture CSCA with --dev and no --trust, otherwise
    /// none (hashes and the SOD signature are still checked; the chain is reported as not
    /// checked).
    #[arg(long)]
    csca: Option<PathBuf>,
    /// With --pcsc: read this many phones one after another, as a desk does all day (0: until
    /// stopped). Each verdict is one line (JSON Lines with --json); the status lists fetched
    /// are kept while fresh; between phones the desk waits for the one it read to be taken
    /// away, then for the next (each up to --wait seconds; 0: without limit). A phone that
    /// cannot be read is reported (`{"valid": false, "error": ...}`) and the desk goes on.
    /// Exit 0 when every answer was valid.
    #[arg(long, default_value_t = 1, requires = "pcsc")]
    count: u32,
    #[arg(long)]
    json: bool,
}

/// Writes `reader`'s finished session into `dir` (see `--save-response`).
fn save_response(reader: &ReaderSession, dir: &std::path::Path) -> Result<()> {
    let Some(h) = reader.handover() else {
        bail!("the holder sent no DeviceResponse: nothing to save");
    };
    crate::output::private_dir(dir)?;
    for (name, bytes) in [
        ("device-response.cbor", h.device_response.as_slice()),
        (
            "session-transcript.cbor",
            h.session_transcript_bytes.as_slice(),
        ),
        ("e-reader-key.cose", h.e_reader_private_cose_key.as_slice()),
    ] {
        crate::output::write_private(&dir.join(name), bytes)?;
    }
    Ok(())
}

pub fn run(args: ReadArgs) -> Result<ExitCode> {
    let f = MdocFixtures::new()?;
    let kept = args.cache.as_deref().map(MdocDeskCache::new);
    let anchors = DeskTrust::load(
        &Sources {
            trust: args.trust.as_deref(),
            backend: args.backend.as_deref(),
            cache: kept.as_ref(),
            csca: args.csca.as_deref(),
            dev: args.dev,
        },
        &f,
    )?;
    let trust = &anchors.iacas;
    let ids: Vec<&str> = args.elements.iter().map(String::as_str).collect();
    let items = [items_request(&args.doctype, &ids)];
    let desk = match (&args.reader_key, &args.reader_cert) {
        (Some(key), Some(cert)) => Some(DeskReader::load(key, cert)?),
        _ if args.dev || args.no_reader_auth => None,
        _ => bail!(
            "no reader key: give --reader-key and --reader-cert (`eid mdoc reader-cert`), or \
             --no-reader-auth; --dev signs with the public fixture reader key, for tests only"
        ),
    };
    let mut sign = |tbs: &[u8]| match &desk {
        Some(d) => d.sign(tbs),
        None => f.reader.sign(tbs),
    };
    let certificate = desk.as_ref().map_or(f.reader.certificate.as_slice(), |d| {
        d.certificate.as_slice()
    });
    let mut signer = (!args.no_reader_auth).then_some(ReaderSigner {
        certificate,
        sign: &mut sign,
    });
    let reader_authenticated = signer.is_some();
    // One cache for every phone a desk reads: a list fetched is kept while fresh.
    let mut lists = StatusListCache::new();
    let saved = saved_status_list(&args, &f, &anchors, now_s())?;
    let mut judge = |tapped: Tapped, now: u64| {
        let checked = Checked {
            saved: saved.as_deref(),
            kept: kept.as_ref(),
            asked: &items,
            anchors: &anchors,
            reader_authenticated,
        };
        checked.verdict(&mut lists, tapped, now)
    };
    if args.pcsc && args.count != 1 {
        return desk_loop(&args, &items, &mut signer, trust, &mut judge);
    }
    let now = now_s();
    let tapped = if args.pcsc {
        read_pcsc(
            &args,
            &items,
            signer,
            trust,
            now,
            Duration::from_secs(args.wait),
        )?
    } else {
        let (Some(uri), Some(addr)) = (&args.engagement, &args.tcp) else {
            bail!("give --pcsc, or --engagement and --tcp");
        };
        let engagement = DeviceEngagement::from_uri(uri.trim())
            .context("the engagement (the holder's QR code)")?;
        if !matches!(
            ble_options(&engagement.retrieval_methods),
            Some((Some(_), _))
        ) {
            bail!(
                "the engagement offers no BLE peripheral server mode (which the TCP link stands in for)"
            );
        }
        // QR handover: null (§9.1.5.1).
        let (outcome, reader) = read_stand_in(
            engagement,
            ciborium::Value::Null,
            addr,
            &items,
            signer,
            trust,
            now,
        )?;
        if let Some(dir) = &args.save_response {
            save_response(&reader, dir)?;
        }
        Tapped {
            outcome,
            handover: None,
            by_ble: true,
        }
    };
    let (out, valid) = judge(tapped, now);
    show(&args, &out, false)?;
    Ok(exit_code(valid))
}

/// A desk reading phone after phone (`--count`): each verdict on its own line, the phone taken
/// away before the next is awaited. Ends after `--count` phones, or when none came within
/// `--wait`; a phone that could not be read is reported and the desk goes on.
#[cfg(feature = "pcsc")]
fn desk_loop(
    args: &ReadArgs,
    items: &[eid_core::mdoc::ItemsRequest],
    signer: &mut Option<ReaderSigner<'_>>,
    trust: &TrustStore,
    judge: &mut dyn FnMut(Tapped, u64) -> (serde_json::Value, bool),
) -> Result<ExitCode> {
    // `--wait 0` in a desk that reads many: wait for each next phone without limit.
    const A_DAY: Duration = Duration::from_secs(24 * 3600);
    let wait = match args.wait {
        0 => A_DAY,
        s => Duration::from_secs(s),
    };
    let mut all_valid = true;
    let mut read = 0u32;
    loop {
        eprintln!("hold the next phone to the reader");
        let now = now_s();
        let this_phone = signer.as_mut().map(|s| ReaderSigner {
            certificate: s.certificate,
            sign: &mut *s.sign,
        });
        let verdict = match read_pcsc(args, items, this_phone, trust, now, wait) {
            Err(e) if e.downcast_ref::<NoPhone>().is_some() => return Err(e),
            tapped => tapped.map(|t| judge(t, now)),
        };
        let out = match verdict {
            Ok((out, valid)) => {
                all_valid &= valid;
                out
            }
            Err(e) => {
                all_valid = false;
                let error = crate::output::error_text(&e);
                eprintln!("that phone could not be read: {error}");
                json!({"valid": false, "error": error})
            }
        };
        show(args, &out, true)?;
        read += 1;
        if args.count != 0 && read >= args.count {
            return Ok(exit_code(all_valid));
        }
        eprintln!("take the phone away from the reader");
        while !eid_icao::pcsc::wait_until_empty(args.reader.as_deref(), A_DAY)? {}
    }
}

#[cfg(not(feature = "pcsc"))]
fn desk_loop(
    _: &ReadArgs,
    _: &[eid_core::mdoc::ItemsRequest],
    _: &mut Option<ReaderSigner<'_>>,
    _: &TrustStore,
    _: &mut dyn FnMut(Tapped, u64) -> (serde_json::Value, bool),
) -> Result<ExitCode> {
    bail!("this eid was built without PC/SC (cargo feature `pcsc`)")
}

/// No phone came to the reader within the wait: the one error that ends a desk's loop.
#[cfg(feature = "pcsc")]
#[derive(Debug)]
struct NoPhone(u64);

#[cfg(feature = "pcsc")]
impl std::fmt::Display for NoPhone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no phone held to the reader within {} s", self.0)
    }
}

#[cfg(feature = "pcsc")]
impl std::error::Error for NoPhone {}

/// What one answer is checked with: the request, the desk's anchors, whether it signed.
struct Checked<'a> {
    /// `--status-list`, or the fixture MSOs' list of a development desk.
    saved: Option<&'a [u8]>,
    kept: Option<&'a MdocDeskCache>,
    asked: &'a [eid_core::mdoc::ItemsRequest],
    anchors: &'a DeskTrust,
    reader_authenticated: bool,
}

impl Checked<'_> {
    /// The verdict on one reading (status lists through `lists`, the DTC's passive
    /// authentication) as the JSON the desk prints, and whether it is valid.
    fn verdict(
        &self,
        lists: &mut StatusListCache,
        tapped: Tapped,
        now: u64,
    ) -> (serde_json::Value, bool) {
        let outcome = check_status(
            self.saved,
            self.kept,
            lists,
            tapped.outcome,
            self.anchors,
            now,
        );
        let cscas = self.anchors.cscas.as_ref();
        // What passive authentication says of disclosed DTC data (null: none disclosed).
        let dtc = eid_core::mdoc::dtc_of(&outcome, cscas).map_or(
            serde_json::Value::Null,
            |pa| json!({"status": pa.status, "reason": pa.reason}),
        );
        let outcome = eid_core::mdoc::check_dtc(outcome, cscas);
        let how = json!({
            "handover": tapped.handover.as_ref().map(handover_json),
            "retrieval": if tapped.by_ble { "ble-tcp" } else { "nfc" },
        });
        report(self.asked, outcome, self.reader_authenticated, dtc, how)
    }
}

/// What a reading gave: the outcome, the NFC handover it engaged by (none: QR), and whether
/// the data came over the TCP stand-in for BLE.
struct Tapped {
    outcome: ReaderOutcome,
    handover: Option<NfcHandover>,
    by_ble: bool,
}

/// The NFC handover as the desk saw it: static or negotiated, the carriers the phone named.
fn handover_json(h: &NfcHandover) -> serde_json::Value {
    json!({
        "negotiated": h.negotiated,
        "nfc": h.nfc.is_some(),
        "ble": h.ble.map(|b| json!({
            "peripheral_server": b.peripheral_server,
            "central_client": b.central_client,
            "uuid": b.uuid.as_ref().map(uuid_text),
        })),
    })
}

/// A session over the TCP stand-in for BLE peripheral server mode at `addr`, engaged with
/// `engagement` and the transcript's `handover`.
fn read_stand_in(
    engagement: DeviceEngagement,
    handover: ciborium::Value,
    addr: &str,
    items: &[eid_core::mdoc::ItemsRequest],
    signer: Option<ReaderSigner<'_>>,
    trust: &TrustStore,
    now: u64,
) -> Result<(ReaderOutcome, ReaderSession)> {
    let key_bytes = engagement.e_device_key_bytes.clone();
    let mut reader = ReaderSession::generate(&mut eid_crypto::OsRng, engagement, handover)?;
    let establishment = reader.establish(items, signer).map_err(reader_err)?;
    let stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    let mut link = TcpGatt::new(stream);
    let endpoint = BleEndpoint::new(BleMode::PeripheralServer, BleRole::Reader, &key_bytes);
    let outcome = run_reader(&mut link, endpoint, &mut reader, &establishment, trust, now)?;
    Ok((outcome, reader))
}

/// The outcome with every MSO's status checked (ISO 18013-5 leaves revocation to the issuer's
/// scheme: ours is the Token Status List the MSO names, docs/adr/0031).
fn check_status(
    saved: Option<&[u8]>,
    kept: Option<&MdocDeskCache>,
    lists: &mut StatusListCache,
    outcome: ReaderOutcome,
    anchors: &DeskTrust,
    now: u64,
) -> ReaderOutcome {
    let http = eid_core::client::UreqTransport::new();
    lists.check_outcome(outcome, &anchors.iacas, now, |uri| match saved {
        Some(bytes) => Ok(bytes.to_vec()),
        None => fetch_or_kept(&http, kept, uri, &anchors.iacas, now),
    })
}

/// The status list the desk was given instead of fetching: `--status-list`, or in a
/// development desk without `--trust` or `--backend`, the fixture MSOs' own list. Read once,
/// for every phone the desk reads.
fn saved_status_list(
    args: &ReadArgs,
    f: &MdocFixtures,
    anchors: &DeskTrust,
    now: u64,
) -> Result<Option<Vec<u8>>> {
    Ok(match &args.status_list {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        None if anchors.fixture => Some(f.status_list_cwt(now)?),
        None => None,
    })
}

/// The status list at `uri`, fetched (and with `--cache` kept once it verifies, so a broken
/// answer never replaces a good copy), or when the network does not answer, the copy this desk
/// kept. A copy that cannot be written is said on standard error: the fetched list still counts.
fn fetch_or_kept(
    http: &eid_core::client::UreqTransport,
    kept: Option<&MdocDeskCache>,
    uri: &str,
    iacas: &TrustStore,
    now: u64,
) -> Result<Vec<u8>> {
    use eid_core::client::FetchError;
    let fetched = eid_core::client::fetch_status_list_cwt(http, uri).map_err(|e| match e {
        FetchError::Unreachable => anyhow::anyhow!("no answer"),
        FetchError::Status(code) => anyhow::anyhow!("HTTP {code}"),
    });
    match (fetched, kept) {
        (Ok(cwt), Some(c)) => {
            if eid_core::mdoc::verify_status_list_cwt(&cwt, uri, iacas, now).is_ok()
                && let Err(e) = c.store_status(uri, &cwt)
            {
                eprintln!(
                    "the status list was not kept: {}",
                    crate::output::error_text(&e)
                );
            }
            Ok(cwt)
        }
        (Ok(cwt), None) => Ok(cwt),
        (Err(e), Some(c)) => match c.load_status(uri)? {
            Some((cwt, age)) => {
                eprintln!(
                    "the status list did not come ({e}): the copy this desk kept, fetched {age} s ago"
                );
                Ok(cwt)
            }
            None => Err(e),
        },
        (Err(e), None) => Err(e),
    }
}

fn reader_err(e: ReaderError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

#[cfg(feature = "pcsc")]
fn read_pcsc(
    args: &ReadArgs,
    items: &[eid_core::mdoc::ItemsRequest],
    signer: Option<ReaderSigner<'_>>,
    trust: &TrustStore,
    now: u64,
    wait: Duration,
) -> Result<Tapped> {
    use eid_core::mdoc::transport::nfc::NfcError;
    use eid_icao::TransportError;
    use eid_icao::pcsc::PcscTransport;
    use std::time::Instant;
    let mut signer = signer;
    let waits = !wait.is_zero();
    if waits && args.count == 1 {
        eprintln!(
            "hold the phone to the reader (waiting up to {} s)",
            wait.as_secs()
        );
    }
    let deadline = Instant::now() + wait;
    let waited_s = wait.as_secs();
    let mut wait = wait;
    loop {
        let mut t = match PcscTransport::open_waiting(args.reader.as_deref(), true, wait) {
            Err(TransportError::NoCard(_)) if waits && Instant::now() >= deadline => {
                return Err(NoPhone(waited_s).into());
            }
            opened => opened?,
        };
        let this_try = signer.as_mut().map(|s| ReaderSigner {
            certificate: s.certificate,
            sign: &mut *s.sign,
        });
        match read_tap(&mut t, args, items, this_try, trust, now) {
            // The phone moved away (or the reader still showed the one before it): a desk that
            // waits reads it again when it is back.
            Err(e)
                if e.downcast_ref::<NfcError>()
                    == Some(&NfcError::Transport(TransportError::LinkLost))
                    && waits
                    && Instant::now() < deadline =>
            {
                eprintln!("the phone moved away; hold it to the reader again");
                wait = deadline.saturating_duration_since(Instant::now());
            }
            read => return read,
        }
    }
}

/// One phone on the reader: the engagement by NFC (offering BLE peripheral server mode with
/// `--tcp`), then the data over the stand-in when the phone named that mode, else over NFC.
#[cfg(feature = "pcsc")]
fn read_tap(
    t: &mut dyn eid_icao::ApduTransport,
    args: &ReadArgs,
    items: &[eid_core::mdoc::ItemsRequest],
    signer: Option<ReaderSigner<'_>>,
    trust: &TrustStore,
    now: u64,
) -> Result<Tapped> {
    use eid_core::mdoc::transport::ble::random_service_uuid;
    use eid_core::mdoc::transport::carrier::BleCarrier;
    use eid_core::mdoc::transport::nfc::{ApduCount, read_engaged, read_engagement};
    let offer = args.tcp.as_ref().map(|_| BleCarrier {
        peripheral_server: true,
        central_client: false,
        uuid: Some(random_service_uuid()),
    });
    if let Some(uuid) = offer.and_then(|o| o.uuid) {
        eprintln!(
            "offering BLE peripheral server mode (service {}) besides NFC, should the phone negotiate",
            uuid_text(&uuid)
        );
    }
    let handover = read_engagement(t, &mut eid_crypto::OsRng, offer, &mut ApduCount::default())?;
    let peripheral = handover
        .ble
        .and_then(|b| b.options())
        .is_some_and(|(p, _)| p.is_some());
    if let (Some(addr), true) = (&args.tcp, peripheral) {
        eprintln!(
            "the phone named BLE peripheral server mode: reading over the stand-in at {addr}"
        );
        let (outcome, _) = read_stand_in(
            handover.engagement.clone(),
            handover.handover.clone(),
            addr,
            items,
            signer,
            trust,
            now,
        )?;
        return Ok(Tapped {
            outcome,
            handover: Some(handover),
            by_ble: true,
        });
    }
    let read = read_engaged(
        t,
        &mut eid_crypto::OsRng,
        handover,
        items,
        signer,
        trust,
        now,
    )?;
    Ok(Tapped {
        outcome: read.outcome,
        handover: Some(read.handover),
        by_ble: false,
    })
}

#[cfg(not(feature = "pcsc"))]
fn read_pcsc(
    _: &ReadArgs,
    _: &[eid_core::mdoc::ItemsRequest],
    _: Option<ReaderSigner<'_>>,
    _: &TrustStore,
    _: u64,
    _: Duration,
) -> Result<Tapped> {
    bail!("this eid was built without PC/SC (cargo feature `pcsc`)")
}

/// The verdict as the desk prints it (JSON), and whether it is valid.
fn report(
    asked: &[eid_core::mdoc::ItemsRequest],
    outcome: ReaderOutcome,
    reader_authenticated: bool,
    dtc: serde_json::Value,
    how: serde_json::Value,
) -> (serde_json::Value, bool) {
    // How the device authenticated (ISO 18013-5 §9.1.3): a MAC or a signature.
    let device_mac = match &outcome {
        ReaderOutcome::Response(Ok(docs)) => {
            Some(!docs.is_empty() && docs.iter().all(|d| d.device_mac))
        }
        _ => None,
    };
    let v = MdocVerdict::from_outcome(outcome, asked, reader_authenticated);
    // Elements of the docType's own namespace by identifier, others qualified.
    let name = |namespace: &str, identifier: &str| {
        if namespace == primary_namespace(&v.doc_type) {
            identifier.to_owned()
        } else {
            format!("{namespace}/{identifier}")
        }
    };
    let mut elements = Map::new();
    for e in &v.elements {
        elements.insert(name(&e.namespace, &e.identifier), e.value.clone());
    }
    let not_returned: Vec<String> = v
        .not_returned
        .iter()
        .map(|e| name(&e.namespace, &e.identifier))
        .collect();
    let valid = v.valid;
    let out = json!({
        "valid": v.valid,
        "doctype": v.doc_type,
        "elements": elements,
        "reasons": v.reasons,
        "reader_authenticated": v.reader_authenticated,
        "not_returned": not_returned,
        "device_mac": device_mac,
        "dtc_passive_authentication": dtc,
        "handover": how["handover"],
        "retrieval": how["retrieval"],
    });
    (out, valid)
}

/// One verdict on standard output: JSON (one line each in a desk's loop), or lines for a
/// person; a reading that failed in a loop has only `valid` and `error`.
fn show(args: &ReadArgs, out: &serde_json::Value, one_line: bool) -> Result<()> {
    if args.json {
        if one_line {
            return print_json_line(out);
        }
        return print_json(out);
    }
    let valid = out["valid"] == true;
    println!("{}", if valid { "VALID" } else { "NOT VALID" });
    for (k, v) in out["elements"].as_object().into_iter().flatten() {
        let shown = match v {
            serde_json::Value::String(s) if s.len() > 60 => {
                format!("<{} base64 chars>", s.len())
            }
            other => other.to_string(),
        };
        println!("  {k}: {shown}");
    }
    for n in out["not_returned"].as_array().into_iter().flatten() {
        println!("  not returned: {}", n.as_str().unwrap_or_default());
    }
    for r in out["reasons"].as_array().into_iter().flatten() {
        println!("  reason: {}", r.as_str().unwrap_or_default());
    }
    if let Some(e) = out["error"].as_str() {
        println!("  error: {e}");
    }
    Ok(())
}
