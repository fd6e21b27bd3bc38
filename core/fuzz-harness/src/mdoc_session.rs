//! ISO/IEC 18013-5 sessions with a hostile peer. The citizen's phone answers any reader that
//! comes near (BLE, NFC), and a desk reads any phone held to it, so both state machines take
//! arbitrary bytes here, with the fixture wallet and the fixture reader on the honest side:
//!
//! - 0: the holder's [`HolderSession`] takes raw messages (on P-256 or P-384);
//! - 1: the holder takes a DeviceRequest that is correctly encrypted, so the request parser,
//!   reader authentication and the answer run: arbitrary bytes, or a real request (signed or
//!   not) with a few bytes changed; the answer is opened and checked by our reader, and whatever
//!   it verifies must have been asked for;
//! - 2: a reader the holder trusts signs a request built from the input (the wallet's own
//!   element names mixed with arbitrary ones); the holder must see it as authenticated, must
//!   disclose exactly the held elements asked for, and the reader must verify the answer;
//! - 3: the holder as an NFC card ([`NfcHolder`]) takes arbitrary APDUs, offering static or
//!   negotiated handover, NFC alone or BLE too;
//! - 4: the holder over BLE ([`BleHolder`]) takes arbitrary GATT values in both modes;
//! - 5: the reader's whole NFC reading ([`read_mdoc`]) against a card that is the real holder
//!   (static or negotiated handover, NFC alone or BLE too) for its first APDUs and arbitrary
//!   afterwards;
//! - 6: the reader over BLE ([`BleReader`]) takes arbitrary GATT values.
//!
//! None may panic or loop without end.

use ciborium::Value;
use eid_core::mdoc::transport::ble::{
    BleEndpoint, BleError, BleMode, BleRole, Characteristic, GattLink, ble_ident, chunks,
};
use eid_core::mdoc::transport::ble_session::{BleHolder, BleReader, HolderParty};
use eid_core::mdoc::transport::carrier::{BleCarrier, Carrier};
use eid_core::mdoc::transport::nfc::{HOLDER_LIMITS, NfcHolder, read_mdoc};
use eid_core::mdoc::{
    CoseCurve, Decision, DeviceRequest, HolderPolicy, HolderSession, HolderStep, ItemsRequest,
    MdocSource, ReaderContext, ReaderOutcome, ReaderSession, ReaderSigner, RequestedElement, Role,
    SessionCipher, SessionData, SessionEstablishment, SessionKeys, SessionTranscript, Tagged24,
    check_device_response, key_pair,
};
use eid_crypto::trust::TrustStore;
use eid_fixtures::mdoc::{BHYT, MDL, MdocFixtures, NOW, PHOTOID, request_presets};
use eid_icao::{ApduTransport, TransportError, TransportLimits};
use std::borrow::Cow;
use std::sync::{Mutex, OnceLock};

/// The fixtures, made once: issuing them takes longer than thousands of inputs.
struct World {
    fx: MdocFixtures,
    iacas: TrustStore,
    reader_cas: TrustStore,
    /// (docType, namespace, identifier) of every element the wallet holds.
    held: Vec<(String, String, String)>,
}

fn world() -> &'static Mutex<World> {
    static WORLD: OnceLock<Mutex<World>> = OnceLock::new();
    WORLD.get_or_init(|| {
        let fx = MdocFixtures::new().expect("fixtures");
        let iacas = fx.iacas().expect("iacas");
        let reader_cas = fx.reader.cas().expect("reader CA");
        let mut held = Vec::new();
        for m in &fx.wallet.mdocs {
            for (ns, items) in &m.issuer_signed.namespaces {
                for i in items {
                    held.push((
                        m.doc_type.to_owned(),
                        ns.clone(),
                        i.element_identifier.clone(),
                    ));
                }
            }
        }
        Mutex::new(World {
            fx,
            iacas,
            reader_cas,
            held,
        })
    })
}

/// The input, read front to back.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// A piece with a two-byte length in front (cut at the end of the input); `None` at the end.
    fn chunk(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([self.byte(), self.byte()]));
        let (piece, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        Some(piece)
    }

    fn text(&mut self) -> String {
        String::from_utf8_lossy(self.chunk().unwrap_or_default()).into_owned()
    }
}

/// A deterministic random source (fuzzing must replay).
struct Counter(u64);

impl eid_crypto::Rng for Counter {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            *b = (self.0 >> 33) as u8;
        }
    }
}

fn curve(flag: u8) -> CoseCurve {
    if flag & 1 == 0 {
        CoseCurve::P256
    } else {
        CoseCurve::P384
    }
}

fn holder(curve: CoseCurve) -> HolderSession {
    let (private, _) = key_pair(curve, &mut Counter(7)).expect("EDeviceKey");
    HolderSession::qr_on(curve, private, vec![]).expect("holder session")
}

fn policy(flags: u8, reader_cas: &TrustStore) -> HolderPolicy<'_> {
    HolderPolicy {
        reader_cas: (flags & 2 != 0).then_some(Cow::Borrowed(reader_cas)),
        reader_crl: None,
        require_reader_auth: flags & 4 != 0,
        now: NOW,
        device_mac: flags & 8 != 0,
    }
}

fn decision(flags: u8) -> Decision {
    if flags & 16 == 0 {
        Decision::Accept
    } else {
        Decision::Decline
    }
}

fn holder_raw(input: &mut Input<'_>, w: &mut World) {
    let flags = input.byte();
    let mut session = holder(curve(flags));
    let policy = policy(flags, &w.reader_cas);
    while let Some(message) = input.chunk() {
        if let Ok(HolderStep::Request(_)) = session.receive(message, &policy, &w.fx.wallet) {
            let _ = session.decide(decision(flags), &mut w.fx.wallet);
        }
    }
}

/// The reader's end of a session with `session`, built from public parts so a test can seal any
/// plaintext: (EReaderKey private, transcript, reader's cipher, EReaderKeyBytes, EReaderKey).
fn reader_end(
    session: &HolderSession,
) -> (
    eid_crypto::SecretKey,
    SessionTranscript,
    SessionCipher,
    Tagged24,
    eid_core::mdoc::CoseKey,
) {
    let device_key = &session.engagement().e_device_key;
    let (private, public) = key_pair(device_key.curve(), &mut Counter(11)).expect("EReaderKey");
    let key_bytes = Tagged24::of(&public.to_cose());
    let transcript = SessionTranscript::new(
        session.engagement().encoded(),
        key_bytes.clone(),
        Value::Null,
    );
    let keys = SessionKeys::derive(&private, device_key, &transcript.bytes()).expect("keys");
    (
        private,
        transcript,
        SessionCipher::new(keys, Role::Reader),
        key_bytes,
        public,
    )
}

/// Every verified element was asked for in `request`.
fn assert_only_requested(request: &[ItemsRequest], docs: &[eid_core::mdoc::VerifiedDocument]) {
    for d in docs {
        for (ns, id, _) in &d.elements {
            assert!(
                request.iter().any(|r| r.doc_type == d.doc_type
                    && r.elements
                        .iter()
                        .any(|e| &e.namespace == ns && &e.identifier == id)),
                "{} {ns} {id} disclosed without being asked for",
                d.doc_type
            );
        }
    }
}

/// An honest DeviceRequest from `reader` (signed by the trusted reader's key when `signed`) for a
/// request built from the input, then changed by up to eight edits from the input (replace,
/// insert or delete one byte): random bytes rarely make a DeviceRequest, edits of a real one
/// reach every check. Also the honest ItemsRequests.
fn edited_request(
    input: &mut Input<'_>,
    w: &World,
    reader: &ReaderSession,
    signed: bool,
) -> (Vec<u8>, Vec<ItemsRequest>) {
    let honest = built_request(input, &w.held);
    let key = &w.fx.reader;
    let mut sign = |tbs: &[u8]| key.sign(tbs);
    let signer = signed.then(|| ReaderSigner {
        certificate: &key.certificate,
        sign: &mut sign,
    });
    let mut bytes = reader.device_request(&honest, signer).expect("request");
    for _ in 0..8 {
        let Some(&[hi, lo, op, value]) = input.chunk() else {
            break;
        };
        let at = usize::from(u16::from_be_bytes([hi, lo])) % (bytes.len() + 1);
        match op % 3 {
            0 if at < bytes.len() => bytes[at] = value,
            1 => bytes.insert(at, value),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    (bytes, honest)
}

fn holder_sealed(input: &mut Input<'_>, w: &mut World) {
    let flags = input.byte();
    let mut session = holder(curve(flags));
    let policy = policy(flags, &w.reader_cas);
    let (private, transcript, mut cipher, key_bytes, public) = reader_end(&session);
    let (plain, honest) = if flags & 32 != 0 {
        // The same EReaderKey, so the same transcript: its readerAuth is what the holder checks.
        let reader = ReaderSession::new(private.clone(), session.engagement().clone(), Value::Null)
            .expect("reader session");
        assert_eq!(reader.transcript(), &transcript);
        let (bytes, honest) = edited_request(input, w, &reader, flags & 64 != 0);
        (bytes, Some(honest))
    } else {
        (input.chunk().unwrap_or_default().to_vec(), None)
    };
    let plain = plain.as_slice();
    let establishment = SessionEstablishment {
        e_reader_key_bytes: key_bytes,
        e_reader_key: public,
        data: cipher.encrypt(plain).expect("seal"),
    }
    .encode();
    let Ok(HolderStep::Request(shown)) = session.receive(&establishment, &policy, &w.fx.wallet)
    else {
        return;
    };
    // A reader shown as authenticated signed every ItemsRequest as it arrived: an edit inside
    // one never passes.
    if let (Some(reader), Some(honest)) = (&shown.reader, &honest) {
        assert_eq!(reader.certificate, w.fx.reader.certificate);
        for d in DeviceRequest::parse(plain)
            .expect("shown, so parsed")
            .doc_requests
        {
            assert!(
                honest.iter().any(|h| h.bytes == d.items.bytes),
                "an edited ItemsRequest passed reader authentication"
            );
        }
    }
    let Ok(answer) = session.decide(decision(flags), &mut w.fx.wallet) else {
        return;
    };
    let asked: Vec<ItemsRequest> = DeviceRequest::parse(plain)
        .expect("the holder accepted it")
        .doc_requests
        .into_iter()
        .map(|d| d.items)
        .collect();
    if let Ok(SessionData {
        data: Some(sealed), ..
    }) = SessionData::parse(&answer)
    {
        let response = cipher.decrypt(&sealed).expect("the holder's answer opens");
        let ctx = ReaderContext {
            transcript: &transcript,
            iacas: &w.iacas,
            now: NOW,
            e_reader_private: Some(&private),
        };
        if let Ok(docs) = check_device_response(&response, &ctx) {
            assert_only_requested(&asked, &docs);
        }
    }
    // Whatever the reader sends after the answer.
    while let Some(more) = input.chunk() {
        let message = SessionData {
            data: Some(cipher.encrypt(more).expect("seal")),
            status: None,
        };
        let _ = session.receive(&message.encode(), &policy, &w.fx.wallet);
    }
}

/// A request from the input: docTypes and elements mostly the wallet's own.
fn built_request(input: &mut Input<'_>, held: &[(String, String, String)]) -> Vec<ItemsRequest> {
    let mut docs = Vec::new();
    for _ in 0..(input.byte() % 3 + 1) {
        let doc_type = match input.byte() % 5 {
            0 | 1 => PHOTOID.to_owned(),
            2 => MDL.to_owned(),
            3 => BHYT.to_owned(),
            _ => input.text(),
        };
        let mut elements = Vec::new();
        for _ in 0..(input.byte() % 8) {
            let pick = input.byte();
            let (namespace, identifier) = if pick < 224 {
                let (_, ns, id) = &held[usize::from(pick) % held.len()];
                (ns.clone(), id.clone())
            } else {
                (input.text(), input.text())
            };
            elements.push(RequestedElement {
                namespace,
                identifier,
                intent_to_retain: pick & 1 == 1,
            });
        }
        docs.push(ItemsRequest::new(&doc_type, elements));
    }
    docs
}

fn authenticated_round_trip(input: &mut Input<'_>, w: &mut World) {
    let flags = input.byte() | 2 | 4; // reader CAs known, reader authentication required
    let accept = flags & 16 == 0;
    let mut session = holder(curve(flags));
    let items = built_request(input, &w.held);
    let World {
        fx,
        iacas,
        reader_cas,
        held,
    } = w;
    let policy = policy(flags, reader_cas);
    let mut reader =
        ReaderSession::generate(&mut Counter(3), session.engagement().clone(), Value::Null)
            .expect("reader session");
    let reader_key = &fx.reader;
    let mut sign = |tbs: &[u8]| reader_key.sign(tbs);
    let signer = ReaderSigner {
        certificate: &reader_key.certificate,
        sign: &mut sign,
    };
    let establishment = reader.establish(&items, Some(signer)).expect("request");
    let step = session
        .receive(&establishment, &policy, &fx.wallet)
        .expect("first message");
    let HolderStep::Request(shown) = step else {
        panic!("a signed request from a trusted reader was not shown: {step:?}");
    };
    assert!(
        shown.reader.is_some(),
        "trusted reader not authenticated: {:?}",
        shown.reader_auth_error
    );
    let answer = session
        .decide(decision(flags), &mut fx.wallet)
        .expect("answer");
    let outcome = reader
        .receive(&answer, iacas, NOW)
        .expect("reader opens the answer");
    let asked = |doc_type: &str, ns: &str, id: &str| {
        items.iter().any(|r| {
            r.doc_type == doc_type
                && r.elements
                    .iter()
                    .any(|e| e.namespace == ns && e.identifier == id)
        })
    };
    let expected: Vec<_> = held.iter().filter(|(d, n, i)| asked(d, n, i)).collect();
    match outcome {
        ReaderOutcome::Ended { status } => {
            assert!(
                !accept,
                "accepted, yet the session ended with status {status}"
            );
        }
        ReaderOutcome::Response(Ok(docs)) => {
            assert!(accept, "declined, yet answered");
            assert_only_requested(&items, &docs);
            for (d, n, i) in &expected {
                assert!(
                    docs.iter().any(|v| &v.doc_type == d
                        && v.elements.iter().any(|(ns, id, _)| ns == n && id == i)),
                    "{d} {n} {i} was asked for and held, yet not disclosed"
                );
            }
            let mac = flags & 8 != 0 && curve(flags) == CoseCurve::P256;
            assert!(
                docs.iter().all(|d| d.device_mac == mac),
                "device MAC is {mac}"
            );
        }
        ReaderOutcome::Response(Err(e)) => {
            // Only an answer without a document (nothing held was asked for) may fail.
            assert!(
                expected.is_empty()
                    && !items
                        .iter()
                        .any(|r| fx.wallet.issuer_signed(&r.doc_type).is_some()),
                "our reader refused our holder's answer: {e:?}"
            );
        }
    }
}

fn nfc_holder(input: &mut Input<'_>, w: &mut World) {
    let flags = input.byte();
    let (private, _) = key_pair(CoseCurve::P256, &mut Counter(5)).expect("EDeviceKey");
    let World { fx, reader_cas, .. } = w;
    let nfc = NfcHolder::new(
        private,
        policy(flags, reader_cas),
        &mut fx.wallet,
        move |_: &_| decision(flags),
    )
    .expect("NFC holder");
    let nfc = if flags & 32 != 0 {
        nfc.negotiated()
    } else {
        nfc
    };
    // Flag 64: BLE offered too, so a Handover Request's BLE record is read and chosen from.
    let mut nfc = if flags & 64 != 0 {
        nfc.offering(&with_ble()).expect("carriers")
    } else {
        nfc
    };
    while let Some(apdu) = input.chunk() {
        match apdu.first() {
            Some(0xFF) => nfc.field_reset(),
            _ => {
                let r = nfc.process_apdu(apdu);
                assert!(r.len() >= 2, "a response without a status word");
            }
        }
    }
}

/// The carriers of a holder offering BLE in both modes, then NFC.
fn with_ble() -> [Carrier; 2] {
    [
        Carrier::Ble(BleCarrier {
            peripheral_server: true,
            central_client: true,
            uuid: Some([0x42; 16]),
        }),
        Carrier::Nfc(HOLDER_LIMITS),
    ]
}

/// A GATT link that drops what is sent; reading Ident gives `ident`.
struct Sink {
    mtu: usize,
    ident: [u8; 16],
}

impl GattLink for Sink {
    fn mtu(&self) -> usize {
        self.mtu
    }
    fn send(&mut self, _: Characteristic, value: &[u8]) -> Result<(), BleError> {
        assert!(value.len() <= self.mtu - 3, "a value larger than MTU - 3");
        Ok(())
    }
    fn read(&mut self, _: Characteristic) -> Result<Vec<u8>, BleError> {
        Ok(self.ident.to_vec())
    }
    fn disconnect(&mut self) {}
}

fn characteristic(b: u8) -> Characteristic {
    match b % 4 {
        0 => Characteristic::State,
        1 => Characteristic::Client2Server,
        2 => Characteristic::Server2Client,
        _ => Characteristic::Ident,
    }
}

fn mode(b: u8) -> BleMode {
    if b & 1 == 0 {
        BleMode::PeripheralServer
    } else {
        BleMode::CentralClient
    }
}

/// Flags: bit 5 the curve, bit 6 the mode, bit 7 an honest reader first starts and sends its
/// request; the rest of the input is values (first byte: the characteristic; an empty value:
/// the link drops).
fn ble_holder(input: &mut Input<'_>, w: &mut World) {
    let flags = input.byte();
    let mtu = 23 + usize::from(input.byte()) * 2;
    let mut session = holder(curve(flags >> 5));
    let ble_mode = mode(flags >> 6);
    let mut ble = BleHolder::new(ble_mode, &session);
    let World { fx, reader_cas, .. } = w;
    let policy = policy(flags, reader_cas);
    let mut consent = |_: &_| decision(flags);
    let ident = if flags & 1 == 0 {
        ble_ident(session.e_device_key_bytes())
    } else {
        [0; 16]
    };
    let mut link = Sink { mtu, ident };
    let _ = ble.connected(&mut link);
    let mut values: Vec<(Characteristic, Vec<u8>)> = Vec::new();
    if flags & 128 != 0 {
        let mut reader =
            ReaderSession::generate(&mut Counter(3), session.engagement().clone(), Value::Null)
                .expect("reader session");
        let presets = request_presets();
        let establishment = reader
            .establish(std::slice::from_ref(&presets[0].1), None)
            .expect("request");
        let incoming = if ble_mode == BleMode::PeripheralServer {
            values.push((Characteristic::State, vec![1]));
            Characteristic::Client2Server
        } else {
            Characteristic::Server2Client
        };
        for c in chunks(&establishment, mtu.min(515)).expect("chunks") {
            values.push((incoming, c));
        }
    }
    while let Some(value) = input.chunk() {
        match value.split_first() {
            Some((&which, v)) => values.push((characteristic(which), v.to_vec())),
            None => values.push((Characteristic::Ident, Vec::new())),
        }
    }
    for (c, value) in values {
        if c == Characteristic::Ident && value.is_empty() {
            let _ = ble.on_disconnected(&mut session);
            continue;
        }
        let party = HolderParty {
            session: &mut session,
            policy: &policy,
            source: &mut fx.wallet,
            consent: &mut consent,
        };
        let _ = ble.on_value(&mut link, party, c, &value);
    }
}

/// A card that is the real holder for its first `honest` APDUs, then answers from the input.
struct Turncoat<'h, 'i, 'a> {
    holder: NfcHolder<'h>,
    honest: usize,
    answers: &'i mut Input<'a>,
    limits: TransportLimits,
    sent: usize,
}

impl ApduTransport for Turncoat<'_, '_, '_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent += 1;
        assert!(self.sent < 100_000, "the reader does not stop");
        if self.sent <= self.honest {
            return Ok(self.holder.process_apdu(command));
        }
        self.answers
            .chunk()
            .map(<[u8]>::to_vec)
            .ok_or(TransportError::LinkLost)
    }
    fn limits(&self) -> TransportLimits {
        self.limits
    }
    fn reconnect(&mut self) -> Result<(), TransportError> {
        Err(TransportError::LinkLost)
    }
    /// A TNEP waiting time: not waited here, but the reader must cap what a tag asks for.
    fn pause(&mut self, duration: std::time::Duration) {
        assert!(
            duration <= std::time::Duration::from_secs(5),
            "the reader waits {duration:?} because a tag asked"
        );
    }
}

fn nfc_reader(input: &mut Input<'_>, w: &mut World) {
    let flags = input.byte();
    let honest = usize::from(input.byte() % 16);
    let (private, _) = key_pair(CoseCurve::P256, &mut Counter(5)).expect("EDeviceKey");
    let World { fx, iacas, .. } = w;
    let presets = request_presets();
    let (_, items) = &presets[usize::from(flags >> 4) % presets.len()];
    let quiet = HolderPolicy {
        reader_cas: None,
        reader_crl: None,
        require_reader_auth: false,
        now: NOW,
        device_mac: false,
    };
    let holder = NfcHolder::new(private, quiet, &mut fx.wallet, |_: &_| Decision::Accept)
        .expect("NFC holder");
    let holder = if flags & 2 != 0 {
        holder.negotiated()
    } else {
        holder
    };
    // Flag 4: the phone offers BLE too; the desk reads over NFC all the same.
    let holder = if flags & 4 != 0 {
        holder.offering(&with_ble()).expect("carriers")
    } else {
        holder
    };
    let mut card = Turncoat {
        holder,
        honest,
        answers: input,
        limits: if flags & 1 == 0 {
            TransportLimits::SHORT
        } else {
            TransportLimits {
                max_command: 65_544,
                max_response: 65_538,
                extended_length: true,
            }
        },
        sent: 0,
    };
    let _ = read_mdoc(
        &mut card,
        &mut Counter(9),
        std::slice::from_ref(items),
        None,
        iacas,
        NOW,
    );
}

fn ble_reader(input: &mut Input<'_>, w: &mut World) {
    let flags = input.byte();
    let mtu = 23 + usize::from(input.byte()) * 2;
    let session = holder(curve(flags));
    let mut reader =
        ReaderSession::generate(&mut Counter(3), session.engagement().clone(), Value::Null)
            .expect("reader session");
    let presets = request_presets();
    let (_, items) = &presets[usize::from(flags >> 4) % presets.len()];
    let establishment = reader
        .establish(std::slice::from_ref(items), None)
        .expect("request");
    let endpoint = BleEndpoint::new(
        mode(flags >> 1),
        BleRole::Reader,
        session.e_device_key_bytes(),
    );
    let mut ble = BleReader::new(endpoint, establishment);
    let mut link = Sink {
        mtu,
        ident: [0; 16],
    };
    let _ = ble.connected(&mut link);
    while let Some(value) = input.chunk() {
        let Some((&which, value)) = value.split_first() else {
            let _ = ble.on_disconnected();
            continue;
        };
        let _ = ble.on_value(
            &mut link,
            &mut reader,
            &w.iacas,
            NOW,
            characteristic(which),
            value,
        );
    }
}

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let mut input = Input(data);
    let mut w = world().lock().unwrap_or_else(|e| e.into_inner());
    match input.byte() % 7 {
        0 => holder_raw(&mut input, &mut w),
        1 => holder_sealed(&mut input, &mut w),
        2 => authenticated_round_trip(&mut input, &mut w),
        3 => nfc_holder(&mut input, &mut w),
        4 => ble_holder(&mut input, &mut w),
        5 => nfc_reader(&mut input, &mut w),
        _ => ble_reader(&mut input, &mut w),
    }
}
