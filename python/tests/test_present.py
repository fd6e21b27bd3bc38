"""Present a QR from an activated wallet and verify it with a Verifier built from the backend's
trust list and status list (fetched here as a desk app would, then given as bytes)."""

import base64
import json
import urllib.request

import eid_testing
import pytest
from conftest import activate
from eid_wallet import Consent, EidError, Passcode, Profile, Verifier, verdict_reason_message


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def lists(backend):
    url, _ = backend
    trust = b64(fetch(url + "/v1/trust-list")["issuers"])
    status = b64(fetch(url + "/v1/status-list")["signed"])
    return trust, status


def test_present_and_verify_offline_round_trip_and_tamper(tmp_path, keys, backend, lists):
    url, _ = backend
    citizen = eid_testing.sim_citizens(8)[7]
    w = activate(tmp_path, keys, url, citizen)
    trust, status = lists
    verifier = Verifier(trust, status)

    preview = w.presentation_preview(Profile.AIRPORT)
    assert {f.name: f.value for f in preview}["full_name"] == citizen.full_name

    nonce = bytes(range(16))
    qr = w.present(Profile.AIRPORT, Consent.PASSCODE(passcode=Passcode("123456")), nonce)
    assert qr.text.startswith("VN1:") and not qr.online
    assert len(qr.modules) == qr.size * qr.size and qr.size == 17 + 4 * qr.qr_version

    v = verifier.verify_offline(qr.text, nonce, Profile.AIRPORT)
    assert v.valid, v.reasons
    assert v.profile == Profile.AIRPORT and not v.online
    assert [f.name for f in v.fields] == [f.name for f in preview]
    assert {f.name: f.value for f in v.fields}["id_number"] == citizen.id_number
    assert v.status_list_age_s is not None and v.reasons == []

    i = len(qr.text) // 2
    tampered = qr.text[:i] + ("A" if qr.text[i] != "A" else "B") + qr.text[i + 1 :]
    bad = verifier.verify_offline(tampered, nonce, Profile.AIRPORT)
    assert not bad.valid and bad.reasons and bad.fields == []

    wrong_nonce = verifier.verify_offline(qr.text, bytes(16), None)
    assert not wrong_nonce.valid
    assert any("nonce" in verdict_reason_message(r) for r in wrong_nonce.reasons)

    # Without a status list revocation is not checked, and the verdict says so.
    unchecked = Verifier(trust, None).verify_offline(qr.text, nonce, None)
    assert unchecked.valid and unchecked.status_list_age_s is None
    assert any("status list" in w for w in unchecked.warnings)


def test_verifier_refuses_lists_that_do_not_decode_or_verify(lists):
    trust, status = lists
    with pytest.raises(EidError.InvalidInput):
        Verifier(b"\x01\x02", None)
    forged = bytearray(status)
    forged[-1] ^= 1  # the last byte of the COSE signature
    with pytest.raises(EidError.Crypto):
        Verifier(trust, bytes(forged))


def test_present_needs_the_passcode(tmp_path, keys, backend):
    url, _ = backend
    w = activate(tmp_path, keys, url, eid_testing.sim_citizens(7)[6])
    w.lock()
    with pytest.raises(EidError.WrongPasscode) as wrong:
        w.present(Profile.AGE_OVER18, Consent.PASSCODE(passcode=Passcode("000000")), None)
    assert wrong.value.attempts_left == 4
    assert not w.is_unlocked()
    qr = w.present(Profile.AGE_OVER18, Consent.PASSCODE(passcode=Passcode("123456")), None)
    assert [f.name for f in qr.fields] == ["age_over_18"]


def test_a_passcode_never_prints_its_digits():
    consent = Consent.PASSCODE(passcode=Passcode("135790"))
    for shown in (str(consent), repr(consent), str(consent.passcode), repr(consent.passcode), f"{consent}"):
        assert "135790" not in shown and "1357" not in shown, shown
    assert str(consent.passcode) == "Passcode(******)"
    with pytest.raises(EidError.InvalidInput):
        Passcode("12345")
