"""The online calls through the platform transport (UrllibTransport): a desk fetches the lists,
registers and redeems an online token once; the wallet enrols and signs at the backend."""

import asyncio
import hashlib

import eid_testing
import pytest
from conftest import activate
from eid_wallet import Consent, EidError, Passcode, Profile, SigningRequest, TransactionKind, Verifier, VerifierDesk


def test_fetch_register_and_redeem_once_through_the_app_transport(tmp_path, keys, backend, http):
    url, admin = backend
    citizen = eid_testing.sim_citizens(3)[2]
    w = activate(tmp_path / "wallet", keys, url, citizen, http)
    assert http.failures == []
    activation_and_sync = len(http.exchanges)
    assert activation_and_sync >= 5, http.exchanges  # start, complete, lists, documents

    async def desk_journey():
        verifier = await Verifier.fetch(url, http)
        assert http.exchanges[activation_and_sync:] == ["GET", "GET"]  # trust and status lists
        qr = w.present(Profile.AIRPORT, Consent.PASSCODE(passcode=Passcode("123456")), None)
        assert verifier.verify_offline(qr.text, None, Profile.AIRPORT).valid

        with pytest.raises(EidError.Backend):
            await VerifierDesk.register(url, type(keys)(), "not-the-token", "desk", [Profile.AIRPORT], http)
        desk_keys = type(keys)()
        desk = await VerifierDesk.register(url, desk_keys, admin, "Noi Bai T2", [Profile.AIRPORT], http)
        # Registered at the backend with the passcode before it is shown (ADR 0017).
        token = await w.present_online(Profile.AIRPORT, Passcode("123456"))
        verdict = await desk.redeem(token.text)
        assert verdict.valid and verdict.online, verdict.reasons
        assert {f.name: f.value for f in verdict.fields}["full_name"] == citizen.full_name
        reopened = VerifierDesk.open(url, desk_keys, desk.verifier_id(), http)
        with pytest.raises(EidError.TokenUsed):
            await reopened.redeem(token.text)

    asyncio.run(desk_journey())
    assert http.failures == []


def test_enrol_and_sign_through_the_app_transport(tmp_path, keys, backend, http):
    url, _ = backend
    citizen = eid_testing.sim_citizens(4)[3]
    w = activate(tmp_path, keys, url, citizen, http)
    content = "Tờ khai đăng ký thường trú".encode()

    async def sign():
        before = len(http.exchanges)
        credential = await w.signing_enrol()
        assert credential.status == "enabled"
        assert len(http.exchanges) > before
        return await w.sign(SigningRequest(file_name="to-khai.pdf", content=content, relying_party="UBND"), "123456")

    signed = asyncio.run(sign())
    assert signed.consent.sha256_hex == hashlib.sha256(content).hexdigest()
    assert signed.cms[0] == 0x30 and len(signed.cms) > 500
    assert http.failures == []


def test_unreachable_backend_is_a_network_error_for_verifiers(http):
    with pytest.raises(EidError.Network):
        asyncio.run(Verifier.fetch("http://127.0.0.1:9", http))
    assert http.failures and set(http.failures) == {"NotSent"}


def test_a_host_checks_a_guest_in_and_the_guest_sees_the_notice(tmp_path, keys, backend, http):
    """A hotel's desk (docs/adr/0048): the guest's accommodation QR checked and recorded, the
    receipt checked; an airport QR and a desk that is not a host are refused; the guest's log
    shows the notice after sync."""
    import datetime

    url, admin = backend
    citizen = eid_testing.sim_citizens(1)[0]
    w = activate(tmp_path / "wallet", keys, url, citizen, http)
    today = datetime.date.today()
    stay = (today.isoformat(), (today + datetime.timedelta(days=2)).isoformat())

    async def hotel():
        verifier = await Verifier.fetch(url, http)
        host = await VerifierDesk.register(url, type(keys)(), admin, "Khách sạn Sen", [Profile.ACCOMMODATION], http)
        consent = Consent.PASSCODE(passcode=Passcode("123456"))
        airport = w.present(Profile.AIRPORT, consent, None)
        with pytest.raises(EidError.Presentation):
            await host.check_in(verifier, airport.text, *stay)
        qr = w.present(Profile.ACCOMMODATION, consent, None)
        desk = await VerifierDesk.register(url, type(keys)(), admin, "Noi Bai T2", [Profile.AIRPORT], http)
        with pytest.raises(EidError.Backend) as refused:
            await desk.check_in(verifier, qr.text, *stay)
        assert refused.value.code == "not_allowed"
        receipt = await host.check_in(verifier, qr.text, *stay)
        assert (receipt.host_name, receipt.check_in, receipt.check_out) == ("Khách sạn Sen", *stay)
        fields = {f.name: f.value for f in receipt.guest.fields}
        assert sorted(fields) == ["date_of_birth", "full_name", "id_number", "place_of_residence"]
        assert fields["id_number"] == citizen.id_number
        again = await host.check_in(verifier, qr.text, *stay)
        assert again.signed == receipt.signed
        await w.sync(None, None)
        return receipt

    receipt = asyncio.run(hotel())
    notices = [t for t in w.transactions() if t.kind == TransactionKind.ACCOMMODATION]
    assert len(notices) == 1 and notices[0].counterparty == "Khách sạn Sen"
    assert receipt.receipt_id in notices[0].detail
