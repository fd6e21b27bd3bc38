"""A chip read through the bindings: a Python ApduTransport carries the simulated card's APDUs."""

import asyncio

import eid_testing
import pytest
from conftest import SimLink, mrz
from eid_wallet import (
    ChipAccessKey,
    ChipAuthStatus,
    ChipReadCancel,
    ChipReadListener,
    ChipReadOptions,
    ChipStage,
    EidError,
    PassiveAuthStatus,
    read_chip,
)


class Stages(ChipReadListener):
    def __init__(self):
        self.seen = []

    def on_progress(self, progress):
        self.seen.append(progress.stage)


def test_reads_the_card_through_a_python_transport_and_resumes_after_drops(citizen):
    card = eid_testing.SimulatedCard(citizen.id_number, 15)
    link, stages = SimLink(card), Stages()
    read = asyncio.run(
        read_chip(link, mrz(citizen), ChipReadOptions(photo=False, aa_challenge=None), stages, None)
    )
    s = read.summary()
    assert s.id_number == citizen.id_number
    assert s.full_name == citizen.full_name
    assert s.chip_authentication == ChipAuthStatus.VALID
    assert s.passive_authentication != PassiveAuthStatus.INVALID
    assert card.reconnects() > 0 and s.resumes == card.reconnects()
    assert s.apdu_count <= link.apdus
    assert stages.seen[-1] == ChipStage.DONE
    assert ChipStage.RESUMING in stages.seen


def test_wrong_can_is_chip_wrong_can(citizen):
    card = eid_testing.SimulatedCard(citizen.id_number, None)
    with pytest.raises(EidError.ChipWrongCan):
        asyncio.run(
            read_chip(
                SimLink(card),
                ChipAccessKey.CAN(can="000000"),
                ChipReadOptions(photo=False, aa_challenge=None),
                None,
                None,
            )
        )


def test_wrong_access_key_is_chip_access_denied(citizen):
    card = eid_testing.SimulatedCard(citizen.id_number, None)
    wrong = ChipAccessKey.MRZ(
        id_number=citizen.id_number, date_of_birth="000101", date_of_expiry=citizen.date_of_expiry
    )
    with pytest.raises(EidError.ChipAccessDenied):
        asyncio.run(read_chip(SimLink(card), wrong, ChipReadOptions(photo=False, aa_challenge=None), None, None))


def test_cancelled_read_stops_before_the_card_is_read(citizen):
    link = SimLink(eid_testing.SimulatedCard(citizen.id_number, None))
    cancel = ChipReadCancel()
    cancel.cancel()
    with pytest.raises(EidError.Cancelled):
        asyncio.run(
            read_chip(link, mrz(citizen), ChipReadOptions(photo=False, aa_challenge=None), None, cancel)
        )
    assert link.apdus == 0
