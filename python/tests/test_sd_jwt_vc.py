"""The identity's SD-JWT VC checked by an implementation we did not write: the OpenWallet
Foundation's `sd-jwt` (PyPI) verifies what `eid wallet sdjwt export` writes after activation
against `eid serve --dev` (docs/adr/0035). The issuer key is the x5c leaf, accepted only when
`cryptography` finds it signed by a certificate of the backend's published trust list."""

import json
import os
import subprocess
import urllib.request
from base64 import b64decode, urlsafe_b64decode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

PID_VCT = "urn:eudi:pid:vn:1"


def eid(*args):
    out = subprocess.run([os.environ["EID_CLI"], *args], capture_output=True, text=True, env={
        k: v for k, v in os.environ.items() if k not in ("EID_PASSCODE", "EID_BACKEND")})
    assert out.returncode == 0, out.stderr
    return out.stdout


def certificates_in(data: bytes):
    """Every DER certificate found verbatim in `data` (the trust list's CBOR holds them as
    byte strings): no CBOR reader of ours needed."""
    found = []
    i = data.find(b"\x30\x82")
    while i >= 0:
        length = 4 + int.from_bytes(data[i + 2:i + 4], "big")
        try:
            found.append(x509.load_der_x509_certificate(data[i:i + length]))
        except ValueError:
            pass
        i = data.find(b"\x30\x82", i + 1)
    return found


def test_the_exported_pid_verifies_with_the_openwallet_sd_jwt_library(tmp_path, backend):
    url, _ = backend
    citizen = json.loads(eid("fixtures", "citizens", "--json"))[1]
    wallet = ["wallet", "--data-dir", str(tmp_path / "w"), "--backend", url, "--passcode", "112233"]
    eid(*wallet, "activate", "--id", citizen["id"], "--phone", citizen["phone"], "--sim")
    rows = json.loads(eid(*wallet, "sdjwt", "list", "--json"))
    assert [(r["vct"], r["unused"]) for r in rows] == [(PID_VCT, 8)]
    out = tmp_path / "pid.sd-jwt"
    eid(*wallet, "sdjwt", "export", "--vct", PID_VCT, "--out", str(out))
    issued = out.read_text()
    assert issued.endswith("~")

    with urllib.request.urlopen(url + "/v1/trust-list") as r:
        trust_list = json.load(r)
    issuers_b64 = trust_list["issuers"]  # base64url, no padding (the API's B64)
    anchors = certificates_in(urlsafe_b64decode(issuers_b64 + "=" * (-len(issuers_b64) % 4)))
    assert anchors
    seen = {}

    def issuer_key(iss, header):
        assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256"
        leaf = x509.load_der_x509_certificate(b64decode(header["x5c"][0]))
        # Chained to the trust list: issued by one of its certificates.
        issuers = [a for a in anchors if a.subject == leaf.issuer]
        assert issuers, "x5c leaf not under the trust list"
        leaf.verify_directly_issued_by(issuers[0])
        seen["iss"] = iss
        pem = leaf.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return JWK.from_pem(pem)

    claims = SDJWTVerifier(issued, issuer_key).get_verified_payload()
    assert seen["iss"] == claims["iss"]
    assert claims["vct"] == PID_VCT
    assert claims["personal_administrative_number"] == citizen["id"]
    assert claims["nationalities"] == ["VN"]
    assert claims["address"]["country"] == "VN"
    assert set(claims["age_equal_or_over"]) == {"16", "18", "21", "65"}
    assert claims["cnf"]["jwk"]["crv"] == "P-256"
    assert claims["status"]["status_list"]["uri"].endswith("/v1/status-list/jwt")
    assert "_sd" not in json.dumps(claims)
    # One byte of the signed payload changed: the library refuses it.
    jwt, rest = issued.split("~", 1)
    head, payload, sig = jwt.split(".")
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    with pytest.raises(Exception):
        SDJWTVerifier(".".join([head, flipped, sig]) + "~" + rest, issuer_key)
