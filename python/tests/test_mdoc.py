"""ISO 18013-5 through the bindings: an activated wallet presents its mdocs to a reader in the
same process. The GATT link and the NFC link are Python objects that only move bytes (what the
Android and CoreBluetooth glue do); the protocol, chunking and checks are the library's."""

import asyncio
import base64
import json
import os
import subprocess
import urllib.request

import eid_testing
import pytest
from conftest import activate
from eid_wallet import (
    ApduTransport,
    EidError,
    MdocBleMode,
    MdocBleOptions,
    MdocBleReader,
    MdocCharacteristic,
    MdocConsent,
    MdocDecision,
    MdocGattLink,
    MdocNfcDeactivation,
    MdocPresentationState,
    MdocReadRequest,
    MdocReaderAuth,
    MdocReaderAuthError,
    MdocRequestedElement,
    MdocStatusLists,
    MdocTap,
    PassiveAuthStatus,
    TransactionKind,
    TransactionOutcome,
    UrllibTransport,
    mdoc_characteristic_uuid,
    mdoc_read_nfc,
    mdoc_tap,
)

MDL = "org.iso.18013.5.1.mDL"
MDL_NS = "org.iso.18013.5.1"
PHOTO_ID = "org.iso.23220.photoid.1"
PHOTO_ID_NS = "org.iso.23220.1"


def b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def iacas(backend):
    url, _ = backend
    with urllib.request.urlopen(url + "/v1/trust-list", timeout=10) as r:
        listed = json.load(r)["iaca"]
    assert len(listed) == 1
    return [b64(c) for c in listed]


@pytest.fixture(scope="module")
def wallet(tmp_path_factory, backend):
    from conftest import SoftwareKeyStore

    url, _ = backend
    citizen = eid_testing.sim_citizens(6)[5]
    return activate(tmp_path_factory.mktemp("mdoc-wallet"), SoftwareKeyStore(), url, citizen), citizen


class Consent(MdocConsent):
    """The citizen: records what was shown and answers `decision`."""

    def __init__(self, decision):
        self.decision = decision
        self.shown = []

    def decide(self, request):
        self.shown.append(request)
        return self.decision


def request(doc_type, ns, ids, retain=False):
    return MdocReadRequest(
        doc_type=doc_type,
        elements=[MdocRequestedElement(namespace=ns, identifier=i, intent_to_retain=retain) for i in ids],
    )


class MemoryLink(MdocGattLink):
    """One side's end of an in-memory GATT connection: a send is the peer's `on_value`
    (synchronously, as the harshest platform would), values are checked against the MTU."""

    def __init__(self, mtu, counts):
        self._mtu = mtu
        self.peer = None
        self.ident = None
        self.counts = counts
        self.closed = False

    def mtu(self):
        return self._mtu

    def send(self, characteristic, value):
        if self.closed:
            raise EidError.Mdoc(reason="link closed")
        assert len(value) <= self._mtu - 3
        self.counts.append(len(value))
        self.peer.on_value(characteristic, value)

    def read(self, characteristic):
        assert characteristic == MdocCharacteristic.IDENT
        return self.ident

    def disconnect(self):
        if not self.closed:
            self.closed = True
            self.peer.on_disconnected()


def ble_round_trip(holder, reader, mode, mtu=185):
    """Connects holder and reader in `mode` and returns the reader's verdict."""
    counts = []
    to_reader = MemoryLink(mtu, counts)  # the holder's link: sends reach the reader
    to_holder = MemoryLink(mtu, counts)  # the reader's link: sends reach the holder
    to_reader.peer, to_holder.peer = reader, holder
    if mode == MdocBleMode.PERIPHERAL_SERVER:
        # The reader connects to the holder's server: it writes State start and the request.
        holder.connected(to_reader, mode)
        reader.connected(to_holder, mode)
    else:
        # The holder connects to the reader's server, reads Ident, writes State start.
        to_reader.ident = reader.ident()
        reader.connected(to_holder, mode)
        holder.connected(to_reader, mode)
    return reader.verdict(), counts


@pytest.mark.parametrize("mode", [MdocBleMode.PERIPHERAL_SERVER, MdocBleMode.CENTRAL_CLIENT])
def test_ble_round_trip_in_both_modes_shares_only_the_asked_elements(wallet, iacas, mode):
    w, citizen = wallet
    before = len(w.transactions())
    consent = Consent(MdocDecision.ACCEPT)
    holder = w.mdoc_present_qr(MdocBleOptions(peripheral_server=True, central_client=True), consent)
    uri = holder.qr_uri()
    assert uri.startswith("mdoc:")
    asked = ["family_name", "given_name", "birth_date", "resident_address", "document_number", "sex"]
    reader = MdocBleReader(uri, request(PHOTO_ID, PHOTO_ID_NS, asked, retain=True), iacas, None)
    assert reader.peripheral_server_uuid() == holder.peripheral_server_uuid()
    assert reader.central_client_uuid() == holder.central_client_uuid()
    assert reader.peripheral_server_uuid() != reader.central_client_uuid()

    verdict, counts = ble_round_trip(holder, reader, mode, mtu=64)
    assert verdict is not None and verdict.valid, verdict
    assert verdict.doc_type == PHOTO_ID and verdict.reasons == []
    got = {(e.namespace, e.identifier): json.loads(e.value_json) for e in verdict.elements}
    assert set(got) == {(PHOTO_ID_NS, i) for i in asked}
    assert got[(PHOTO_ID_NS, "document_number")] == citizen.id_number
    # Request and response crossed in many chunks of at most MTU - 3: chunking is the library's.
    assert len(counts) > 10 and max(counts) <= 61
    assert holder.state() == MdocPresentationState.SHARED()

    # The citizen saw the request: unauthenticated reader, every element with intent to retain.
    [shown] = consent.shown
    assert shown.reader is None
    [doc] = shown.documents
    assert doc.doc_type == PHOTO_ID and doc.held
    assert [e.identifier for e in doc.elements] == asked
    assert all(e.intent_to_retain for e in doc.elements)

    log = w.transactions()
    assert len(log) == before + 1
    entry = max((t for t in log if t.profile == "mdoc"), key=lambda t: t.at_ms)
    assert entry.kind == TransactionKind.PRESENTATION and entry.profile == "mdoc"
    assert entry.outcome == TransactionOutcome.SUCCESS
    assert entry.counterparty == "unauthenticated reader"
    assert sorted(entry.fields) == sorted(f"{PHOTO_ID}/{PHOTO_ID_NS}/{i}" for i in asked)


def test_what_the_wallet_does_not_hold_is_shown_not_sent_and_named_not_returned(wallet, iacas):
    # The PhotoID holds no eye colour, and the wallet holds no EU PID: the citizen is shown
    # both, the reader's valid verdict names them not returned, the log lists what was sent.
    w, _ = wallet
    consent = Consent(MdocDecision.ACCEPT)
    holder = w.mdoc_present_qr(MdocBleOptions(peripheral_server=True, central_client=False), consent)
    # age_over_20 is not issued either: every synthetic citizen is over 21, so age_over_21
    # (true) answers it (ISO 18013-5 §7.2.5), and the citizen is shown that it is sent instead.
    asked = ["family_name", "eye_colour", "age_over_20"]
    reader = MdocBleReader(holder.qr_uri(), request(PHOTO_ID, PHOTO_ID_NS, asked), iacas, None)
    verdict, _ = ble_round_trip(holder, reader, MdocBleMode.PERIPHERAL_SERVER)
    assert verdict.valid, verdict
    got = {e.identifier: json.loads(e.value_json) for e in verdict.elements}
    assert set(got) == {"family_name", "age_over_21"} and got["age_over_21"] is True
    assert [(n.namespace, n.identifier) for n in verdict.not_returned] == [(PHOTO_ID_NS, "eye_colour")]
    [shown] = consent.shown
    [doc] = shown.documents
    assert doc.held and [e.identifier for e in doc.not_held] == ["eye_colour"]
    assert [(n.requested, n.sent) for n in doc.nearest_age] == [("age_over_20", "age_over_21")]
    entry = max((t for t in w.transactions() if t.profile == "mdoc"), key=lambda t: t.at_ms)
    assert entry.outcome == TransactionOutcome.SUCCESS
    assert entry.fields == [f"{PHOTO_ID}/{PHOTO_ID_NS}/family_name", f"{PHOTO_ID}/{PHOTO_ID_NS}/age_over_21"]

    # A docType the wallet does not hold: nothing is returned, and the verdict says which.
    consent = Consent(MdocDecision.ACCEPT)
    holder = w.mdoc_present_qr(MdocBleOptions(peripheral_server=True, central_client=False), consent)
    pid = "eu.europa.ec.eudi.pid.1"
    reader = MdocBleReader(holder.qr_uri(), request(pid, "eu.europa.ec.eudi.pid.1", ["family_name"]), iacas, None)
    verdict, _ = ble_round_trip(holder, reader, MdocBleMode.PERIPHERAL_SERVER)
    assert not verdict.valid and verdict.not_returned == []
    assert verdict.reasons == [f"the holder returned none of the documents asked for ({pid})"]
    assert not consent.shown[0].documents[0].held


def test_ble_decline_gives_the_reader_nothing(wallet, iacas):
    w, _ = wallet
    before = len(w.transactions())
    holder = w.mdoc_present_qr(MdocBleOptions(peripheral_server=True, central_client=False), Consent(MdocDecision.DECLINE))
    assert holder.central_client_uuid() is None
    reader = MdocBleReader(holder.qr_uri(), request(MDL, MDL_NS, ["family_name", "driving_privileges"]), iacas, None)
    verdict, _ = ble_round_trip(holder, reader, MdocBleMode.PERIPHERAL_SERVER, mtu=23)
    assert not verdict.valid and verdict.elements == []
    assert any("without a response" in r for r in verdict.reasons), verdict.reasons
    assert holder.state() == MdocPresentationState.DECLINED()
    log = w.transactions()
    assert len(log) == before + 1
    assert any(t.profile == "mdoc" and t.outcome == TransactionOutcome.REFUSED for t in log)
    # A mode the engagement does not offer is refused.
    with pytest.raises(EidError.InvalidInput):
        holder.connected(MemoryLink(185, []), MdocBleMode.CENTRAL_CLIENT)


def test_ble_wrong_reader_ident_is_refused(wallet, iacas):
    w, _ = wallet
    consent = Consent(MdocDecision.ACCEPT)
    holder = w.mdoc_present_qr(MdocBleOptions(peripheral_server=False, central_client=True), consent)
    link = MemoryLink(185, [])
    link.ident = bytes(16)
    link.peer = MdocBleReader(holder.qr_uri(), request(MDL, MDL_NS, ["family_name"]), iacas, None)
    with pytest.raises(EidError.Mdoc):
        holder.connected(link, MdocBleMode.CENTRAL_CLIENT)
    assert link.closed and consent.shown == []


def reader_certificate(keys, alias):
    """A self-signed reader certificate for a key of `keys` (no wallet trusts its CA)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    keys.create_signing_key(alias)
    key = keys._signing[alias]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test reader desk")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_a_signed_request_is_reader_authenticated_and_shown_as_untrusted(wallet, iacas):
    from conftest import SoftwareKeyStore

    w, _ = wallet
    keys = SoftwareKeyStore()
    auth = MdocReaderAuth(reader_certificate(keys, "reader"), keys, "reader")
    consent = Consent(MdocDecision.ACCEPT)
    holder = w.mdoc_present_qr(MdocBleOptions(peripheral_server=True, central_client=False), consent)
    reader = MdocBleReader(holder.qr_uri(), request(PHOTO_ID, PHOTO_ID_NS, ["family_name"]), iacas, auth)
    verdict, _ = ble_round_trip(holder, reader, MdocBleMode.PERIPHERAL_SERVER)
    assert verdict.valid and verdict.reader_authenticated, verdict
    # A self-made reader certificate, not from the reader CA the wallet synced: shown as not
    # authenticated, and why.
    [shown] = consent.shown
    assert shown.reader is None and shown.reader_auth_error == MdocReaderAuthError.UNTRUSTED
    # A key the store does not hold: the request cannot be signed.
    with pytest.raises(EidError.Mdoc):
        MdocBleReader(holder.qr_uri(), request(PHOTO_ID, PHOTO_ID_NS, ["family_name"]), iacas,
                      MdocReaderAuth(reader_certificate(keys, "other"), SoftwareKeyStore(), "other"))


def test_a_reader_certified_by_the_backend_reader_ca_is_shown_with_its_name(wallet, iacas, backend):
    """ADR 0040: the desk's key stays in its key store; the backend's reader CA certifies the
    public key (admin call); the wallet, which synced that reader CA, shows the reader by name."""
    from conftest import SoftwareKeyStore

    url, token = backend
    w, _ = wallet
    keys = SoftwareKeyStore()
    public = keys.create_signing_key("desk")
    body = json.dumps({
        "name": "Quay an ninh T1",
        "public_key": base64.urlsafe_b64encode(public).decode().rstrip("="),
    }).encode()
    req = urllib.request.Request(url + "/v1/admin/reader-certificates", data=body, method="POST",
                                 headers={"content-type": "application/json",
                                          "authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        issued = json.load(r)
    auth = MdocReaderAuth(b64(issued["certificate"]), keys, "desk")
    consent = Consent(MdocDecision.ACCEPT)
    holder = w.mdoc_present_qr(MdocBleOptions(peripheral_server=True, central_client=False), consent)
    reader = MdocBleReader(holder.qr_uri(), request(PHOTO_ID, PHOTO_ID_NS, ["family_name"]), iacas, auth)
    verdict, _ = ble_round_trip(holder, reader, MdocBleMode.PERIPHERAL_SERVER)
    assert verdict.valid and verdict.reader_authenticated, verdict
    [shown] = consent.shown
    assert shown.reader_auth_error is None
    assert shown.reader is not None and shown.reader.subject == "CN=Quay an ninh T1,C=VN"
    entry = max((t for t in w.transactions() if t.profile == "mdoc"), key=lambda t: t.at_ms)
    assert entry.counterparty == "CN=Quay an ninh T1,C=VN"


def test_characteristic_uuids_are_the_standard_ones():
    assert mdoc_characteristic_uuid(MdocBleMode.PERIPHERAL_SERVER, MdocCharacteristic.STATE) == (
        "00000001-a123-48ce-896b-4c76973373e6"
    )
    assert mdoc_characteristic_uuid(MdocBleMode.CENTRAL_CLIENT, MdocCharacteristic.IDENT) == (
        "00000008-a123-48ce-896b-4c76973373e6"
    )
    assert mdoc_characteristic_uuid(MdocBleMode.PERIPHERAL_SERVER, MdocCharacteristic.IDENT) is None


class Hce(ApduTransport):
    """The reader's NFC link: every command APDU handed to the holder's `process_apdu`, as the
    phone's HCE service does; `short` forces short APDUs (chaining and GET RESPONSE)."""

    def __init__(self, holder, short=False):
        self.holder = holder
        self.short = short
        self.apdus = []

    def transceive(self, command):
        self.apdus.append(bytes(command))
        return self.holder.process_apdu(command)

    def max_transceive_length(self):
        return 261 if self.short else 65544

    def extended_length_supported(self):
        return not self.short

    def reconnect(self):
        pass


@pytest.mark.parametrize("short", [False, True])
def test_nfc_reader_apdus_go_to_process_apdu(wallet, iacas, short):
    w, _ = wallet
    before = len(w.transactions())
    consent = Consent(MdocDecision.ACCEPT)
    holder = w.mdoc_present_nfc(consent)
    assert holder.state() == MdocPresentationState.WAITING()
    link = Hce(holder, short)
    asked = ["family_name", "birth_date", "resident_address"]
    verdict = asyncio.run(mdoc_read_nfc(link, request(PHOTO_ID, PHOTO_ID_NS, asked), iacas, None))
    assert verdict.valid, verdict.reasons
    assert {e.identifier for e in verdict.elements} == set(asked)
    # SELECT of the NDEF application first, then the mdoc application, then ENVELOPEs.
    assert link.apdus[0][:5] == bytes([0x00, 0xA4, 0x04, 0x00, 0x07])
    assert bytes.fromhex("A0000002480400") in b"".join(a for a in link.apdus if a[1] == 0xA4)
    assert any(a[1] == 0xC3 for a in link.apdus)
    if short:
        assert any(a[1] == 0xC0 for a in link.apdus), "GET RESPONSE for a long answer"
    assert holder.state() == MdocPresentationState.SHARED()
    assert len(consent.shown) == 1
    assert len(w.transactions()) == before + 1


@pytest.mark.parametrize("negotiated", [False, True])
def test_a_tap_hands_over_to_ble_in_central_client_mode(wallet, iacas, negotiated):
    """ISO 18013-5 §8.2.2.1: the holder's NFC handover names BLE in both modes before NFC; the
    reader takes central client mode only (it runs the GATT server), so the tap hands over to
    BLE in that mode, with the holder's UUID (static) or the reader's (negotiated), and the
    answer verifies only under the NFC transcript."""
    w, _ = wallet
    before = len(w.transactions())
    consent = Consent(MdocDecision.ACCEPT)
    holder = w.mdoc_present_nfc(consent, MdocBleOptions(peripheral_server=True, central_client=True), negotiated)
    ble = holder.ble()
    link = Hce(holder)
    asked = ["family_name", "birth_date"]
    central_only = MdocBleOptions(peripheral_server=False, central_client=True)
    tap = asyncio.run(mdoc_tap(link, central_only, request(PHOTO_ID, PHOTO_ID_NS, asked), iacas, None))
    assert isinstance(tap, MdocTap.OVER_BLE), tap
    reader = tap.reader
    # The citizen takes the phone away: the HCE link drops, the BLE carrier holds.
    holder.on_deactivated(MdocNfcDeactivation.LINK_LOSS)
    assert reader.peripheral_server_uuid() is None
    assert reader.central_client_uuid() == ble.central_client_uuid() is not None
    if negotiated:
        # The holder chose the one mode the reader offered.
        assert ble.peripheral_server_uuid() is None
    assert not any(a[1] == 0xC3 for a in link.apdus), "no ENVELOPE: the data goes over BLE"
    verdict, _ = ble_round_trip(ble, reader, MdocBleMode.CENTRAL_CLIENT)
    assert verdict is not None and verdict.valid, verdict
    assert {e.identifier for e in verdict.elements} == set(asked)
    assert holder.state() == MdocPresentationState.SHARED()
    assert len(consent.shown) == 1
    assert len(w.transactions()) == before + 1


def test_a_desk_checks_each_mso_status_online_or_from_a_saved_list(tmp_path, backend, iacas):
    """The Token Status List each MSO names: fetched through the app's transport and kept while
    fresh, or saved earlier for a desk without network. A revoked MSO is not valid."""
    from conftest import SoftwareKeyStore

    url, _ = backend
    citizen = eid_testing.sim_citizens(7)[6]
    w = activate(tmp_path / "phone-1", SoftwareKeyStore(), url, citizen)
    asked = request(PHOTO_ID, PHOTO_ID_NS, ["family_name"])

    def read(status):
        holder = w.mdoc_present_nfc(Consent(MdocDecision.ACCEPT))
        return asyncio.run(mdoc_read_nfc(Hce(holder), asked, iacas, None, status))

    with urllib.request.urlopen(url + "/v1/status-list/cwt", timeout=10) as r:
        before = r.read()
    desk = MdocStatusLists.online(UrllibTransport())
    verdict = read(desk)
    assert verdict.valid, verdict.reasons
    assert verdict.dtc_passive_authentication is None  # no DTC element asked for
    # The DTC (the chip's SOD and DG1): ICAO passive authentication under the test CSCA.
    pem = subprocess.run([os.environ["EID_CLI"], "fixtures", "csca"], capture_output=True, text=True, check=True).stdout
    csca = base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----")))
    dtc = request(PHOTO_ID, "org.iso.23220.dtc.1", ["sod", "dg1"])
    holder = w.mdoc_present_nfc(Consent(MdocDecision.ACCEPT))
    verdict = asyncio.run(mdoc_read_nfc(Hce(holder), dtc, iacas, None, desk, [csca]))
    assert verdict.valid, verdict.reasons
    assert verdict.dtc_passive_authentication == PassiveAuthStatus.VALID
    # The citizen activates another phone: the first phone's MSOs are revoked.
    activate(tmp_path / "phone-2", SoftwareKeyStore(), url, citizen)
    verdict = read(MdocStatusLists.online(UrllibTransport()))
    assert not verdict.valid and verdict.elements == []
    assert verdict.reasons == ["MSO revoked"]
    # Over BLE too (the check runs where the answer arrives).
    holder = w.mdoc_present_qr(MdocBleOptions(peripheral_server=True, central_client=False), Consent(MdocDecision.ACCEPT))
    reader = MdocBleReader(holder.qr_uri(), asked, iacas, None, MdocStatusLists.online(UrllibTransport()))
    verdict, _ = ble_round_trip(holder, reader, MdocBleMode.PERIPHERAL_SERVER)
    assert verdict.reasons == ["MSO revoked"]
    # The desk's own object answers from what it fetched while that is fresh; a list saved
    # before the revocation still says valid (an offline desk trusts its copy); none matching
    # the MSO's URI: the status is unknown.
    assert read(desk).valid
    assert read(MdocStatusLists.saved([before])).valid
    verdict = read(MdocStatusLists.saved([]))
    assert verdict.reasons == ["status list unavailable or invalid"]
    # Without lists, revocation is not checked (the verdict says what the MSO alone proves).
    assert read(None).valid


def test_a_spent_batch_is_shown_again_and_the_citizen_is_told(tmp_path, backend, iacas):
    """Eight presentations without a sync spend the PhotoID batch; the ninth still answers, with
    the MSO used last: the consent screen is told (`shown_before`: readers can link the two),
    and so is the log. Before, the wallet said "not held" and answered nothing."""
    from conftest import SoftwareKeyStore

    url, _ = backend
    w = activate(tmp_path / "phone", SoftwareKeyStore(), url, eid_testing.sim_citizens(5)[4])
    asked = request(PHOTO_ID, PHOTO_ID_NS, ["family_name"])
    shown_before = []
    for _ in range(9):
        consent = Consent(MdocDecision.ACCEPT)
        holder = w.mdoc_present_nfc(consent)
        verdict = asyncio.run(mdoc_read_nfc(Hce(holder), asked, iacas, None))
        assert verdict.valid, verdict.reasons
        (document,) = consent.shown[0].documents
        assert document.held
        shown_before.append(document.shown_before)
    assert shown_before == [False] * 8 + [True]
    details = [t.detail or "" for t in w.transactions() if t.profile == "mdoc"]
    assert sum("shown again" in d for d in details) == 1, details


def test_nfc_decline_and_deactivation(wallet, iacas):
    w, _ = wallet
    holder = w.mdoc_present_nfc(Consent(MdocDecision.DECLINE))
    # A field loss mid-way: the selection is gone (ENVELOPE refused), the engagement stays.
    assert bytes(holder.process_apdu(bytes.fromhex("00A4040007A0000002480400")))[-2:] == b"\x90\x00"
    holder.on_deactivated(MdocNfcDeactivation.LINK_LOSS)
    assert bytes(holder.process_apdu(bytes.fromhex("00C3000002530000")))[-2:] == b"\x69\x82"
    verdict = asyncio.run(mdoc_read_nfc(Hce(holder), request(MDL, MDL_NS, ["family_name"]), iacas, None))
    assert not verdict.valid and verdict.elements == []
    assert holder.state() == MdocPresentationState.DECLINED()
    # Garbage never panics.
    assert len(bytes(holder.process_apdu(b"\x00"))) == 2


def test_presenting_needs_an_unlocked_wallet(wallet):
    w, _ = wallet
    w.lock()
    try:
        with pytest.raises(EidError.NotUnlocked):
            w.mdoc_present_nfc(Consent(MdocDecision.ACCEPT))
    finally:
        w.unlock("123456")
