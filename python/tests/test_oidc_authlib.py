""""Log in with e-ID" (docs/adr/0042) with an outside OpenID Connect client as the relying party:
Authlib reads the hub's discovery document, builds the authorization URL with PKCE (S256) and a
nonce, exchanges the code with client_secret_basic and validates the ID token with its own
JWT/JWKS code (signature under the JWKS endpoint's key, iss, aud, nonce, exp). The citizen's
side is the `eid` wallet CLI answering the hub's OpenID4VP request.

Needs only the `eid` binary (EID_CLI); self-contained, so it also runs without the bindings:
`EID_CLI=target/debug/eid pytest --noconftest python/tests/test_oidc_authlib.py`."""

import json
import os
import secrets
import socket
import subprocess

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken, UserInfo
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ADMIN = "oidc-authlib-admin-token"
PASSCODE = "112233"


def eid(*args):
    out = subprocess.run(
        [os.environ["EID_CLI"], *args],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in ("EID_PASSCODE", "EID_BACKEND")},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """`eid serve --dev` on a fixed free port (its public URL, the OIDC issuer, is then real)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path_factory.mktemp("oidc") / "backend.db"
    server = subprocess.Popen(
        [os.environ["EID_CLI"], "serve", "--dev", "--addr", f"127.0.0.1:{port}",
         "--db", f"sqlite://{db}", "--log", "warn", "--admin-token", ADMIN],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = None
    for line in server.stdout:
        if line.startswith("listening on "):
            url = line.removeprefix("listening on ").strip()
            break
    assert url == f"http://127.0.0.1:{port}", "eid serve did not start"
    yield url
    server.terminate()
    server.wait(timeout=10)


def register_client(url, dns, redirect_uri):
    """A relying party registered with the hub and made an OIDC client: (client_id, secret)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    admin = {"Authorization": f"Bearer {ADMIN}"}
    r = requests.post(f"{url}/v1/admin/relying-parties", headers=admin, timeout=10, json={
        "legal_name": "Ngan hang Authlib",
        "registration_number": "0109999999",
        "dns_name": dns,
        "response_uris": [redirect_uri],
        "purposes": [{"name": "login"}, {"name": "ekyc"}],
        "public_key_pem": pem,
    })
    assert r.status_code == 200, r.text
    rp_id = r.json()["id"]
    r = requests.post(f"{url}/v1/admin/relying-parties/{rp_id}/oidc", headers=admin,
                      json={"redirect_uris": [redirect_uri]}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["client_id"], r.json()["client_secret"]


def test_authlib_logs_in_with_the_wallet_and_validates_the_id_token(tmp_path, hub, monkeypatch):
    # Authlib refuses plain-http OAuth unless told: the hub listens on loopback in this test.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    redirect_uri = "http://127.0.0.1:9/authlib/callback"
    client_id, client_secret = register_client(hub, "authlib.example.vn", redirect_uri)
    citizens = json.loads(eid("fixtures", "citizens", "--json"))
    person = citizens[2]
    wallet = ["wallet", "--data-dir", str(tmp_path / "wallet"), "--backend", hub,
              "--passcode", PASSCODE]
    eid(*wallet, "activate", "--id", person["id"], "--phone", person["phone"], "--sim")

    meta = requests.get(f"{hub}/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == hub
    jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())

    def login(scope):
        client = OAuth2Session(
            client_id, client_secret, scope=scope, redirect_uri=redirect_uri,
            code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic",
        )
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        auth_url, state = client.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        assert "code_challenge_method=S256" in auth_url
        # The hub's login page as JSON: the wallet's openid4vp:// request, the browser's poll.
        started = requests.get(auth_url, headers={"Accept": "application/json"}, timeout=10)
        assert started.status_code == 200, started.text
        started = started.json()
        assert requests.get(started["poll_uri"], timeout=10).json()["status"] == "waiting"
        shown = json.loads(eid(*wallet, "authorize", started["openid4vp_uri"], "--json"))
        assert shown["sent"] is True
        # The wallet showed the relying party behind the hub (docs/adr/0050), not only the hub.
        assert shown["on_behalf_of"]["legal_name"] == "Ngan hang Authlib"
        assert shown["on_behalf_of"]["client_id"] == "x509_san_dns:authlib.example.vn"
        assert shown["shown_as"] == "Ngan hang Authlib (via Cong dang nhap e-ID)"
        assert shown["purpose"] == ("login" if scope == "openid" else "ekyc")
        done = requests.get(started["poll_uri"], timeout=10).json()
        callback = done["redirect_uri"]
        assert callback.startswith(redirect_uri + "?")
        # Authlib checks the state it made and exchanges the code with the verifier.
        token = client.fetch_token(
            meta["token_endpoint"], authorization_response=callback, state=state,
            code_verifier=verifier,
        )
        claims = jwt.decode(
            token["id_token"], jwks, claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": meta["issuer"]}},
            claims_params={"nonce": nonce, "client_id": client_id},
        )
        claims.validate()
        assert claims["aud"] == client_id
        # The same code again: refused, nothing issued twice.
        code = dict(p.split("=", 1) for p in callback.split("?", 1)[1].split("&"))["code"]
        again = requests.post(meta["token_endpoint"], auth=(client_id, client_secret), timeout=10,
                              data={"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": redirect_uri, "code_verifier": verifier})
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        # UserInfo through Authlib's session (the Bearer access token it holds), OIDC Core §5.3:
        # the ID token's sub (§5.3.2) and the scope's claims.
        assert meta["userinfo_endpoint"] == f"{hub}/v1/oidc/userinfo"
        answer = client.get(meta["userinfo_endpoint"], timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Cache-Control"] == "no-store"
        info = UserInfo(answer.json())
        assert info["sub"] == claims["sub"]
        return claims, info

    first, info = login("openid")
    assert dict(info) == {"sub": first["sub"]}, "a login's UserInfo is the subject only"
    assert set(first) >= {"iss", "sub", "aud", "exp", "iat", "nonce"}
    assert "personal_administrative_number" not in first
    assert person["id"] not in json.dumps(dict(first))
    ekyc, info = login("openid ekyc")
    assert ekyc["sub"] == first["sub"], "one citizen, one subject at one relying party"
    assert ekyc["personal_administrative_number"] == person["id"]
    assert info["personal_administrative_number"] == person["id"]
    assert set(info) == {"sub", "family_name", "given_name", "birthdate",
                         "personal_administrative_number"}
    assert all(info[c] == ekyc[c] for c in info)

    # A token the hub never issued: 401 with RFC 6750's challenge, through Authlib too.
    bogus = OAuth2Session(client_id, token={"access_token": "bogus", "token_type": "Bearer"})
    refused = bogus.get(meta["userinfo_endpoint"], timeout=10)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]

    # A forged ID token (signed by another key) fails Authlib's check against the JWKS.
    other = JsonWebKey.generate_key("EC", "P-256", is_private=True)
    forged = jwt.encode({"alg": "ES256", "kid": jwks.keys[0].kid}, dict(first), other)
    with pytest.raises(Exception):
        jwt.decode(forged, jwks, claims_cls=CodeIDToken).validate()
