"""A kind this library was not built with reaches the app as data (docs/adr/0060): `eid serve`
declares a fishing licence (`fixtures/kinds/fishing_licence.json`) and issues one at sync; the
app lists it by its machine name and renders it through the FFI from the declaration only."""

import json
import os
import pathlib
import subprocess
import uuid

import pytest
from conftest import activate

from eid_wallet import kind_declaration_json

KIND = "fishing_licence"
DECLARATION = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "kinds" / "fishing_licence.json"


@pytest.fixture
def backend_with_kind(tmp_path, citizen):
    """`eid serve --dev --kinds FILE` with one fishing licence for `citizen`: the URL."""
    kinds = tmp_path / "kinds.json"
    kinds.write_text(
        json.dumps(
            [
                {
                    "declaration": json.loads(DECLARATION.read_text(encoding="utf-8")),
                    "documents": [
                        {
                            "id_number": citizen.id_number,
                            "doc": {
                                "licence_number": "0042/2026/GPKTTS",
                                "holder_name": citizen.full_name,
                                "id_number": citizen.id_number,
                                "vessel_number": "KG-91234-TS",
                                "fishing_area": "inshore",
                                "issue_date": "2026-03-02",
                                "valid_until": "2031-03-01",
                            },
                        }
                    ],
                }
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    db = tmp_path / "backend.db"
    server = subprocess.Popen(
        [
            os.environ["EID_CLI"], "serve", "--dev", "--addr", "127.0.0.1:0", "--db", f"sqlite://{db}",
            "--log", "warn", "--kinds", str(kinds),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "EID_ADMIN_TOKEN": str(uuid.uuid4())},
        text=True,
    )
    url = None
    for line in server.stdout:
        if line.startswith("listening on "):
            url = line.removeprefix("listening on ").strip()
            break
    assert url and url.startswith("http://127.0.0.1:"), "eid serve did not start"
    yield url
    server.terminate()
    server.wait(timeout=10)


def test_an_unknown_kind_is_listed_and_rendered_from_its_declaration(tmp_path, keys, citizen, backend_with_kind):
    # The library has no declaration of its own for this kind.
    assert kind_declaration_json(KIND) is None
    w = activate(tmp_path / "wallet", keys, backend_with_kind, citizen)

    # Listed by its machine name (a string, not an enum), summarised by the declaration.
    docs = w.documents()
    licence = next(d for d in docs if d.kind == KIND)
    assert licence.title == "Giấy phép khai thác thủy sản"
    assert licence.holder == citizen.full_name
    assert licence.valid_until == "2031-03-01"
    assert {d.kind for d in docs} >= {"identity", "driving_licence", KIND}

    # The declaration the wallet synced and verified: what the app renders the kind from.
    declaration = json.loads(w.kind_declaration_json(KIND))
    expected = json.loads(DECLARATION.read_text(encoding="utf-8"))
    # As declared (the wallet's JSON spells out the defaults: `required`, empty rules).
    shape = lambda d: [(f["name"], f["label_vi"], f["label_en"], f["type"], [r["rule"] for r in f.get("rules", [])]) for f in d["fields"]]  # noqa: E731
    assert shape(declaration) == shape(expected)
    assert (declaration["name"], declaration["issuer"]) == (KIND, expected["issuer"])
    assert declaration["label_en"] == "Fishing licence"
    assert w.kind_declaration_json("no_such_kind") is None

    # The fields labelled, in declaration order, rendered with no code for the kind.
    fields = w.document_fields(licence.id)
    assert [f.name for f in fields] == [f["name"] for f in declaration["fields"]]
    by_name = {f.name: f for f in fields}
    assert by_name["vessel_number"].label_vi == "Số đăng ký tàu cá"
    assert by_name["vessel_number"].label_en == "Fishing vessel registration"
    assert json.loads(by_name["vessel_number"].value_json) == "KG-91234-TS"
    assert by_name["fishing_area"].field_type == "enum"
    assert by_name["fishing_area"].value_label_vi == "Vùng lộng"
    assert by_name["fishing_area"].value_label_en == "Inshore waters"
    assert by_name["valid_until"].field_type == "date"
    assert json.loads(by_name["valid_until"].value_json) == "2031-03-01"
    detail = w.document(licence.id)
    assert detail.info.kind == KIND
    assert json.loads(detail.fields_json)["licence_number"] == "0042/2026/GPKTTS"
