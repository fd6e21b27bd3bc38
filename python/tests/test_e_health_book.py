"""The e-health book (docs/adr/0051) read by an outside HL7 FHIR R4 model library: the `eid` CLI
seeds a wallet from the fixture issuers, shows the book and exports its Bundle
(`eid wallet fhir export`); fhir.resources (FHIR 4.0.1 models, pydantic) parses the file into
typed resources, and refuses the same bundle tampered with (an impossible date, a text where a
decimal belongs, a required element gone, an element R4 does not have, a resourceType that is
not a name).

Needs only the `eid` binary (EID_CLI); self-contained, so it also runs without the bindings:
`EID_CLI=target/debug/eid pytest --noconftest python/tests/test_e_health_book.py`."""

import copy
import datetime
import json
import os
import subprocess
from collections import Counter

import fhir.resources
import pytest
from fhir.resources.bundle import Bundle
from pydantic import ValidationError

PASSCODE = "864200"


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
def exported(tmp_path_factory):
    """(the book as `show --json` gives it, the export's report, the Bundle JSON file's data)."""
    tmp = tmp_path_factory.mktemp("ehb")
    wallet = str(tmp / "wallet")
    eid("fixtures", "seed-wallet", "--data-dir", wallet, "--passcode", PASSCODE)
    w = ["wallet", "--data-dir", wallet, "--passcode", PASSCODE]
    rows = json.loads(eid(*w, "list", "--json"))
    (book,) = [r for r in rows if r["kind"] == "e_health_book"]
    shown = json.loads(eid(*w, "show", book["id"], "--json"))
    out = tmp / "book.json"
    report = json.loads(eid(*w, "fhir", "export", book["id"], "--out", str(out), "--json"))
    with open(out, encoding="utf-8") as f:
        data = json.load(f)
    return shown, report, data


def test_the_library_is_fhir_r4():
    assert fhir.resources.__fhir_version__ == "4.0.1"


def test_the_e_health_book_is_a_valid_fhir_r4_bundle(exported):
    shown, report, data = exported
    assert shown["title"] == "Sổ sức khỏe điện tử"
    fields = shown["fields"]
    bundle = Bundle.parse_obj(data)
    assert bundle.type == "collection"
    resources = [e.resource for e in bundle.entry]
    counts = Counter(r.resource_type for r in resources)
    assert dict(counts) == report["resources"]
    assert counts["Patient"] == 1
    assert counts["Encounter"] >= 2
    assert counts["Observation"] >= 5 * counts["Encounter"]
    assert counts["AllergyIntolerance"] == fields["allergy_count"]
    assert report["data_elements"] >= 80
    # Typed by the library: the Patient is the holder.
    (patient,) = [r for r in resources if r.resource_type == "Patient"]
    assert patient.identifier[0].value == fields["id_number"]
    assert patient.birthDate == datetime.date.fromisoformat(fields["birth_date"])
    assert patient.name[0].text == shown["holder"]
    # Encounters run forward; the last is the summary's.
    encounters = [r for r in resources if r.resource_type == "Encounter"]
    for e in encounters:
        assert e.period.start <= e.period.end
    assert max(e.period.start.date() for e in encounters).isoformat() == fields["last_encounter"]
    # Code systems as the clerk's check wants them, read through the library's models.
    for r in resources:
        if r.resource_type == "Observation":
            assert all(c.system == "http://loinc.org" for c in r.code.coding)
            quantities = [r.valueQuantity] + [c.valueQuantity for c in r.component or []]
            for q in filter(None, quantities):
                assert q.system == "http://unitsofmeasure.org"
                assert q.value > 0
        if r.resource_type == "Condition":
            assert all(c.system == "http://hl7.org/fhir/sid/icd-10" for c in r.code.coding)
        if r.resource_type == "Immunization":
            assert r.vaccineCode.coding[0].system == "http://hl7.org/fhir/sid/cvx"
    # References resolve inside the bundle.
    urls = {e.fullUrl for e in bundle.entry}
    assert all(u.startswith("urn:uuid:") for u in urls)
    refs = [r.subject.reference for r in resources if getattr(r, "subject", None)]
    refs += [r.patient.reference for r in resources if getattr(r, "patient", None)]
    assert refs and set(refs) == {e.fullUrl for e in bundle.entry if e.resource is patient}
    # Round trip through the library keeps the data.
    again = json.loads(bundle.json())
    assert len(again["entry"]) == len(data["entry"])


def _index(data, resource_type):
    return next(i for i, e in enumerate(data["entry"]) if e["resource"]["resourceType"] == resource_type)


def _tampered(data, edit):
    b = copy.deepcopy(data)
    edit(b)
    return b


TAMPERINGS = {
    "impossible birth date": lambda b: b["entry"][_index(b, "Patient")]["resource"].update(
        birthDate="1990-02-30"
    ),
    "text for a decimal": lambda b: b["entry"][_index(b, "Observation")]["resource"]["component"][0][
        "valueQuantity"
    ].update(value="heavy"),
    "encounter without its class": lambda b: b["entry"][_index(b, "Encounter")]["resource"].pop("class"),
    "an element R4 does not have": lambda b: b["entry"][_index(b, "Patient")]["resource"].update(
        bloodGroup="A+"
    ),
    "resourceType not a name": lambda b: b["entry"][_index(b, "Patient")]["resource"].update(
        resourceType=5
    ),
    "impossible observation date": lambda b: b["entry"][_index(b, "Observation")]["resource"].update(
        effectiveDateTime="2025-13-01"
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_a_tampered_bundle_is_refused_by_the_library(exported, name):
    _, _, data = exported
    Bundle.parse_obj(data)  # the original passes
    with pytest.raises(ValidationError):
        Bundle.parse_obj(_tampered(data, TAMPERINGS[name]))
