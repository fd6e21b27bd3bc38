"""Shared fixtures: the generated bindings, the test-only library, a software KeyStore."""

import os
import sys
import threading

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.environ["EID_TESTING_DIR"])

import eid_testing  # noqa: E402
from eid_wallet import EidError, KeyStore  # noqa: E402


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
