"""Shared fixtures: the generated bindings, the test-only library, a software KeyStore, an
NFC link over the simulated card, and `eid serve` with an activated wallet."""

import asyncio
import os
import subprocess
import sys
import threading
import uuid

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.environ["EID_TESTING_DIR"])

import eid_testing  # noqa: E402
from eid_wallet import (  # noqa: E402
    Passcode,
    ApduTransport,
    ChipAccessKey,
    ChipReadOptions,
    EidError,
    HttpTransport,
    KeyStore,
    UrllibTransport,
    WalletConfig,
    WalletHandle,
    read_chip,
)


class CountingTransport(HttpTransport):
    """The platform transport, counting what went through it (no request content kept)."""

    def __init__(self):
        self.inner = UrllibTransport()
        self.exchanges = []
        self.failures = []

    def exchange(self, request):
        self.exchanges.append(request.method)
        try:
            return self.inner.exchange(request)
        except Exception as e:
            self.failures.append(type(e).__name__)
            raise


@pytest.fixture
def http():
    return CountingTransport()


class SoftwareKeyStore(KeyStore):
    """Keys in memory: what Android Keystore / the Secure Enclave do, in software."""

    def __init__(self):
        self._lock = threading.Lock()
        self._signing = {}
        self._wrapping = {}

    def create_signing_key(self, alias):
        with self._lock:
            if alias in self._signing:
                raise EidError.KeyAlreadyExists()
            key = ec.generate_private_key(ec.SECP256R1())
            self._signing[alias] = key
        return self._public(key)

    @staticmethod
    def _public(key):
        return key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def public_key(self, alias):
        key = self._signing.get(alias)
        return None if key is None else self._public(key)

    def sign(self, alias, message):
        key = self._signing.get(alias)
        if key is None:
            raise EidError.KeyNotFound()
        return key.sign(bytes(message), ec.ECDSA(hashes.SHA256()))

    def delete(self, alias):
        with self._lock:
            self._signing.pop(alias, None)
            self._wrapping.pop(alias, None)

    def attestation(self, alias):
        if alias not in self._signing:
            raise EidError.KeyNotFound()
        return None

    def wrap_key(self, alias, key):
        with self._lock:
            aes = self._wrapping.setdefault(alias, AESGCM(AESGCM.generate_key(bit_length=256)))
        nonce = os.urandom(12)
        return nonce + aes.encrypt(nonce, bytes(key), alias.encode())

    def unwrap_key(self, alias, wrapped):
        aes = self._wrapping.get(alias)
        if aes is None:
            raise EidError.KeyNotFound()
        wrapped = bytes(wrapped)
        try:
            return aes.decrypt(wrapped[:12], wrapped[12:], alias.encode())
        except InvalidTag:
            raise EidError.Crypto() from None


@pytest.fixture
def keys():
    return SoftwareKeyStore()


@pytest.fixture
def citizen():
    return eid_testing.sim_citizens(2)[1]


class SimLink(ApduTransport):
    """What an NFC link does, over the simulated card: a dropped link raises ChipLinkLost."""

    def __init__(self, card):
        self.card = card
        self.apdus = 0

    def transceive(self, command):
        self.apdus += 1
        try:
            return self.card.transceive(command)
        except eid_testing.SimError.LinkLost:
            raise EidError.ChipLinkLost() from None

    def max_transceive_length(self):
        return 65544

    def extended_length_supported(self):
        return True

    def reconnect(self):
        self.card.reconnect()


def mrz(c):
    return ChipAccessKey.MRZ(
        id_number=c.id_number, date_of_birth=c.date_of_birth, date_of_expiry=c.date_of_expiry
    )


@pytest.fixture(scope="session")
def backend(tmp_path_factory):
    """`eid serve` on SQLite in a temporary directory: (URL, admin token)."""
    db = tmp_path_factory.mktemp("backend") / "backend.db"
    token = str(uuid.uuid4())
    server = subprocess.Popen(
        [os.environ["EID_CLI"], "serve", "--dev", "--addr", "127.0.0.1:0", "--db", f"sqlite://{db}", "--log", "warn"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "EID_ADMIN_TOKEN": token},
        text=True,
    )
    url = None
    for line in server.stdout:
        if line.startswith("listening on "):
            url = line.removeprefix("listening on ").strip()
            break
    assert url and url.startswith("http://127.0.0.1:"), "eid serve did not start"
    yield url, token
    server.terminate()
    server.wait(timeout=10)


def activate(tmp_path, keys, backend_url, citizen, http=None):
    """A wallet activated (level 2) for `citizen` against `backend_url` through `http` (the
    platform transport), and synced."""
    http = http or UrllibTransport()
    w = WalletHandle.open(WalletConfig(data_dir=str(tmp_path), backend_url=backend_url), keys, http)
    w.set_up("123456")

    async def journey():
        pending = await w.start_activation(citizen.id_number, citizen.phone)
        link = SimLink(eid_testing.SimulatedCard(citizen.id_number, None))
        chip = await read_chip(
            link, mrz(citizen), ChipReadOptions(photo=False, aa_challenge=pending.chip_challenge), None, None
        )
        code = eid_testing.dev_sms_code(backend_url, citizen.phone)
        await w.complete_activation(pending, code, chip, Passcode("123456"))
        # With the passcode: presentation credentials need the citizen's consent (ADR 0017).
        await w.sync(None, Passcode("123456"))

    asyncio.run(journey())
    return w
