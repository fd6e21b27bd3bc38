"""Wallet open, set up, unlock, lock and wrong passcodes through the bindings."""

import pytest
from eid_wallet import AccountStatus, EidError, UrllibTransport, WalletConfig, WalletHandle


def open_wallet(tmp_path, keys, http=None):
    # Nothing listens on port 9: no test here reaches the backend.
    config = WalletConfig(data_dir=str(tmp_path), backend_url="http://127.0.0.1:9")
    return WalletHandle.open(config, keys, http or UrllibTransport())


def test_set_up_unlock_lock_and_wrong_passcode(tmp_path, keys):
    w = open_wallet(tmp_path, keys)
    assert not w.is_set_up()
    with pytest.raises(EidError.NotSetUp):
        w.unlock("123456")
    device_key = w.set_up("123456")
    assert len(device_key) == 65 and device_key[0] == 4
    assert w.is_unlocked()
    assert w.documents() == []
    assert w.state() == AccountStatus.NOT_ACTIVATED()
    w.lock()
    assert not w.is_unlocked()
    with pytest.raises(EidError.WrongPasscode) as wrong:
        w.unlock("654321")
    assert wrong.value.attempts_left == 4
    with pytest.raises(EidError.InvalidInput):
        w.unlock("12ab")
    w.unlock("123456")
    assert w.is_unlocked()

    # Reopened with the same key store, the same passcode opens it.
    w.lock()
    again = open_wallet(tmp_path, keys)
    assert again.is_set_up()
    again.unlock("123456")
    assert again.document_count() == 0


def test_five_wrong_passcodes_lock_the_account(tmp_path, keys):
    w = open_wallet(tmp_path, keys)
    w.set_up("123456")
    w.lock()
    left = []
    for _ in range(4):
        with pytest.raises(EidError.WrongPasscode) as e:
            w.unlock("000000")
        left.append(e.value.attempts_left)
    assert left == [4, 3, 2, 1]
    with pytest.raises(EidError.Locked) as locked:
        w.unlock("000000")
    assert locked.value.remaining_ms > 0
    # The right passcode is refused too while the lock runs.
    with pytest.raises(EidError.Locked):
        w.unlock("123456")


def test_sync_without_a_backend_is_a_network_error(tmp_path, keys, http):
    import asyncio

    w = open_wallet(tmp_path, keys, http)
    w.set_up("123456")
    with pytest.raises(EidError.InvalidInput):
        asyncio.run(w.sync(None, None))  # not activated yet
    assert http.exchanges == []
    with pytest.raises(EidError.Network):
        asyncio.run(w.start_activation("001099012345", "0912345678"))
    # A refused connection never sent the POST: all 4 attempts were made.
    assert http.exchanges == ["POST"] * 4
    assert http.failures == ["NotSent"] * 4


def test_kind_declarations_let_an_app_render_any_kind():
    import json
    import unicodedata

    from eid_wallet import kind_declaration_json, kind_declarations_json

    kinds = json.loads(kind_declarations_json())
    assert [k["name"] for k in kinds] == [
        "identity",
        "driving_licence",
        "health_insurance",
        "health_record",
        "vehicle_registration",
        "vaccination",
        "judicial_record",
        "birth_certificate",
        "marriage_certificate",
        "social_insurance_book",
        "residence",
        "tax_info",
        "e_health_book",
    ]
    # Kinds are machine names, never a closed enum: one this library was not built with has
    # no built-in declaration (a wallet knows it from its synced kind list, docs/adr/0060).
    assert kind_declaration_json("fishing_licence") is None
    marriage = json.loads(kind_declaration_json("marriage_certificate"))
    assert marriage == kinds[8]
    assert marriage["label_vi"] == "Giấy chứng nhận kết hôn"
    assert [f["label_vi"] for f in marriage["fields"]][3:5] == ["Chồng", "Vợ"]
    vehicle = json.loads(kind_declaration_json("vehicle_registration"))
    assert vehicle == kinds[4]
    assert vehicle["label_vi"] == "Giấy chứng nhận đăng ký xe"
    assert [f["name"] for f in vehicle["fields"]][:2] == ["number", "plate"]
    identity = json.loads(kind_declaration_json("identity"))
    assert identity == kinds[0]
    assert identity["label_vi"] == "Thẻ căn cước"
    assert identity["issuer"]["name_vi"] == "Bộ Công an"
    assert [f["name"] for f in identity["fields"]][:4] == [
        "id_number",
        "full_name",
        "birth_date",
        "sex",
    ]
    sex = identity["fields"][3]
    assert sex["type"]["kind"] == "enum"
    assert [v["label_vi"] for v in sex["type"]["values"]] == ["Nam", "Nữ"]

    def labels(fields):
        for f in fields:
            yield f["label_vi"]
            yield f["label_en"]
            inner = f["type"].get("fields") or f["type"].get("items") or []
            yield from labels(inner)

    for kind in kinds:
        for label in [kind["label_vi"], kind["label_en"], *labels(kind["fields"])]:
            assert label.strip() and unicodedata.is_normalized("NFC", label), label
