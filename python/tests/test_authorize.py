"""A relying party's OpenID4VP request through the bindings (issue 16, docs/adr/0061): a bank
registered with the hub (`eid rp register`) runs the reference relying party (`eid rp serve`);
the wallet shows its verified identity, purpose and claims, declines once, refuses a wrong
passcode, answers with the passcode, and the bank's server sees the verified claims. Through
the hub ("Log in with e-ID"), the answer carries the consent proof and the history the hub's
record. Claims outside a relying party's registered purpose are refused. One backend and one
bank for the module; every network exchange goes through the app's transport."""

import asyncio
import base64
import hashlib
import html
import json
import os
import re
import secrets
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from conftest import CountingTransport, activate
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from eid_wallet import DisclosureSource, EidError, Passcode, TransactionOutcome

import eid_testing

ADMIN = "authorize-ffi-admin-token"
BANK = "Ngan hang Python"
BANK_DNS = "pybank.example.vn"
SHOP = "Cua hang Python"
# The bank's "Log in with e-ID" callback (never called: the test reads the code off it).
CALLBACK = "http://127.0.0.1:9/bank/callback"
EKYC_CLAIMS = ["family_name", "given_name", "birthdate", "personal_administrative_number"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args):
    """A long-running `eid ARGS` and the URL of its "listening on" line."""
    proc = subprocess.Popen([os.environ["EID_CLI"], *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            env={k: v for k, v in os.environ.items() if not k.startswith("EID_")
                                 or k in ("EID_CLI", "EID_TESTING_DIR")})
    for line in proc.stdout:
        if line.startswith("listening on "):
            return proc, line.removeprefix("listening on ").strip()
    raise AssertionError(f"eid {args[0]} did not start")


def eid(*args):
    out = subprocess.run([os.environ["EID_CLI"], *args], capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items()
                              if k not in ("EID_PASSCODE", "EID_BACKEND", "EID_ADMIN_TOKEN")})
    assert out.returncode == 0, out.stderr
    return out.stdout


def relying_party(hub, tmp, name, number, dns, purpose, claims=None, more_uris=()):
    """Registers a relying party with `purpose` and starts its `eid rp serve` (asking for
    `claims`, default the eKYC ones): (process, base URL, registration id)."""
    port = free_port()
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem, pub_pem, cert = tmp / f"{dns}.key.pem", tmp / f"{dns}.pub.pem", tmp / f"{dns}.cert.pem"
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    pub_pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    record = eid("rp", "--backend", hub, "--admin-token", ADMIN, "register", "--name", name,
        "--registration-number", number, "--dns", dns,
        "--response-uri", f"http://127.0.0.1:{port}/response",
        *[a for u in more_uris for a in ("--response-uri", u)], "--purpose", purpose,
        "--key-pem", str(pub_pem), "--out-cert", str(cert))
    rp_id = json.loads(record)["id"]
    args = ["rp", "--backend", hub, "serve", "--addr", f"127.0.0.1:{port}", "--key", str(key_pem),
            "--cert", str(cert)]
    if claims:
        args += ["--claims", ",".join(claims)]
    proc, base = start(args)
    assert base == f"http://127.0.0.1:{port}"
    return proc, base, rp_id


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """`eid serve --dev` on a fixed free port (the hub's issuer is then its real URL), a bank
    registered for `ekyc` and a shop registered for `age_check` only that asks for eKYC claims
    anyway, both serving their pages: (hub URL, bank URL, shop URL, the bank's registration
    id)."""
    tmp = tmp_path_factory.mktemp("authorize")
    port = free_port()
    procs = []
    try:
        hub_proc, hub = start(["serve", "--dev", "--addr", f"127.0.0.1:{port}", "--db",
                               f"sqlite://{tmp / 'backend.db'}", "--log", "warn", "--admin-token", ADMIN])
        procs.append(hub_proc)
        assert hub == f"http://127.0.0.1:{port}"
        bank_proc, bank, bank_id = relying_party(hub, tmp, BANK, "0107777777", BANK_DNS, "ekyc",
                                               more_uris=[CALLBACK])
        procs.append(bank_proc)
        shop_proc, shop, _ = relying_party(hub, tmp, SHOP, "0108888888", "pyshop.example.vn", "age_check")
        procs.append(shop_proc)
        yield hub, bank, shop, bank_id
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


@pytest.fixture(scope="module")
def wallet(world, tmp_path_factory):
    """A wallet activated after the registrations (its first sync has the registry), with the
    transport it counts exchanges with."""
    hub, _, _, _ = world
    from conftest import SoftwareKeyStore
    http = CountingTransport()
    citizen = eid_testing.sim_citizens(2)[1]
    w = activate(tmp_path_factory.mktemp("wallet"), SoftwareKeyStore(), hub, citizen, http)
    return w, http, citizen


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def page_request(base):
    """A new session of the relying party's page: (openid4vp URI, state)."""
    with urllib.request.urlopen(base + "/", timeout=10) as r:
        page = r.read().decode()
    uri = re.search(r'data-openid4vp-uri="([^"]*)"', page).group(1)
    state = re.search(r'data-state="([^"]*)"', page).group(1)
    return html.unescape(uri), html.unescape(state)


def test_a_bank_is_shown_declined_then_answered_with_the_passcode(world, wallet):
    _, bank, _, _ = world
    w, http, citizen = wallet
    uri, state = page_request(bank)
    before = len(http.exchanges)
    request = asyncio.run(w.authorize_request(uri))
    assert http.exchanges[before:] == ["GET"], "the request object, by reference, through the app's transport"
    v = request.view()
    assert (v.legal_name, v.registration_number) == (BANK, "0107777777")
    assert v.client_id == f"x509_san_dns:{BANK_DNS}"
    assert v.certificate_dns_names == [BANK_DNS]
    assert v.shown_as == BANK and v.on_behalf_of is None
    assert v.purpose == "ekyc"
    assert not v.via_hub
    assert v.response_uri == f"{bank}/response"
    assert [c.path for c in v.claims] == EKYC_CLAIMS
    assert [c.label_en for c in v.claims] == ["Family name", "Given names", "Date of birth", "ID number"]
    assert v.claims[3].label_vi == "Số định danh cá nhân"
    assert {c.format for c in v.claims} == {"dc+sd-jwt"}
    assert citizen.id_number not in repr(request)

    # Declined: the bank gets access_denied, nothing is disclosed, the request is spent.
    declined = asyncio.run(w.authorize_decline(request))
    assert not declined.disclosed and declined.claims == []
    assert declined.sent_to == f"{bank}/response"
    assert get_json(f"{bank}/result/{state}")["status"] == "refused"
    assert request.is_spent()
    with pytest.raises(EidError.InvalidInput):
        asyncio.run(w.authorize_answer(request, Passcode("123456")))
    assert w.disclosure_history() == []
    last = w.transactions()[-1]
    assert last.outcome == TransactionOutcome.REFUSED and last.detail == "declined by the citizen"

    # A wrong passcode: refused, nothing sent, the request still open.
    uri, state = page_request(bank)
    request = asyncio.run(w.authorize_request(uri))
    before = len(http.exchanges)
    with pytest.raises(EidError.WrongPasscode):
        asyncio.run(w.authorize_answer(request, Passcode("000000")))
    assert http.exchanges[before:] == []
    assert not request.is_spent()
    assert get_json(f"{bank}/result/{state}")["status"] == "waiting"
    assert w.disclosure_history() == []

    # The passcode: exactly the shown claims, verified by the bank.
    t0 = int(time.time() * 1000)
    sent = asyncio.run(w.authorize_answer(request, Passcode("123456")))
    assert sent.disclosed and sent.claims == EKYC_CLAIMS
    assert sent.redirect_uri == f"{bank}/"
    result = get_json(f"{bank}/result/{state}")
    assert result["status"] == "verified", result
    assert result["claims"]["personal_administrative_number"] == citizen.id_number
    assert set(result["claims"]) == set(EKYC_CLAIMS)
    assert request.is_spent()

    [entry] = w.disclosure_history()
    assert entry.source == DisclosureSource.WALLET and entry.via is None
    assert BANK in entry.relying_party and entry.purpose == "ekyc"
    assert entry.claims == EKYC_CLAIMS
    assert t0 - 1000 <= entry.at_ms <= int(time.time() * 1000)
    assert citizen.id_number not in repr(entry) and BANK not in repr(entry)
    assert http.failures == []


def test_claims_outside_the_registered_purpose_are_refused(world, wallet):
    _, _, shop, _ = world
    w, _, _ = wallet
    uri, state = page_request(shop)
    with pytest.raises(EidError.RequestRefused) as refused:
        asyncio.run(w.authorize_request(uri))
    assert "outside the relying party's registered scope" in str(refused.value), refused.value
    assert get_json(f"{shop}/result/{state}")["status"] == "waiting"
    last = w.transactions()[-1]
    assert last.outcome == TransactionOutcome.REFUSED
    assert all(SHOP not in d.relying_party for d in w.disclosure_history())


def oidc_client(hub, rp_id, redirect_uri):
    """The bank made a "Log in with e-ID" client: (client_id, secret)."""
    out = json.loads(eid("rp", "--backend", hub, "--admin-token", ADMIN, "oidc-client", "--id", rp_id,
                         "--redirect-uri", redirect_uri))
    return out["client_id"], out["client_secret"]


def test_through_the_hub_the_answer_carries_the_consent_and_the_history_the_hubs_record(world, wallet):
    hub, _, _, bank_id = world
    w, _, citizen = wallet
    redirect_uri = CALLBACK
    client_id, secret = oidc_client(hub, bank_id, redirect_uri)
    meta = get_json(f"{hub}/.well-known/openid-configuration")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "scope": "openid ekyc", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256"})
    req = urllib.request.Request(f"{meta['authorization_endpoint']}?{query}",
                                 headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        started = json.load(r)

    request = asyncio.run(w.authorize_request(started["openid4vp_uri"]))
    v = request.view()
    assert v.via_hub
    assert v.on_behalf_of is not None and v.on_behalf_of.legal_name == BANK
    assert v.on_behalf_of.client_id == f"x509_san_dns:{BANK_DNS}"
    assert v.shown_as.startswith(f"{BANK} (via ")
    assert v.purpose == "ekyc"
    assert v.response_uri.startswith(hub)

    # A wrong passcode: the wallet refuses it before the hub sees an answer.
    with pytest.raises(EidError.WrongPasscode):
        asyncio.run(w.authorize_answer(request, Passcode("000000")))
    assert get_json(started["poll_uri"])["status"] == "waiting"

    sent = asyncio.run(w.authorize_answer(request, Passcode("123456")))
    assert sent.disclosed
    done = get_json(started["poll_uri"])
    callback = done["redirect_uri"]
    assert callback.startswith(redirect_uri + "?")
    code = urllib.parse.parse_qs(callback.split("?", 1)[1])["code"][0]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token_req = urllib.request.Request(
        meta["token_endpoint"], method="POST",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        data=urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                     "redirect_uri": redirect_uri, "code_verifier": verifier}).encode())
    with urllib.request.urlopen(token_req, timeout=10) as r:
        token = json.load(r)
    info_req = urllib.request.Request(meta["userinfo_endpoint"],
                                      headers={"Authorization": f"Bearer {token['access_token']}"})
    with urllib.request.urlopen(info_req, timeout=10) as r:
        info = json.load(r)
    assert info["personal_administrative_number"] == citizen.id_number

    # After a sync, the hub's record stands for the login.
    asyncio.run(w.sync(None, None))
    hub_entries = [d for d in w.disclosure_history() if d.source == DisclosureSource.HUB]
    assert len(hub_entries) == 1, w.disclosure_history()
    [entry] = hub_entries
    assert entry.relying_party == BANK and entry.via == "oidc" and entry.purpose == "ekyc"
    assert entry.client_id == f"x509_san_dns:{BANK_DNS}"
    assert "personal_administrative_number" in entry.claims
