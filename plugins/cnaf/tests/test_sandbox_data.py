"""The shipped fictional data set covers the cases integrators need to try."""

from __future__ import annotations

import re

import msgspec
import pytest
from api_particulier import SubjectNotFound
from api_particulier_cnaf.households import Household, households
from api_particulier_cnaf.magic import MAGIC_ALLOCATAIRE
from api_particulier_cnaf.models import CompositionFamiliale
from api_particulier_cnaf.parser import parse_answer
from api_particulier_cnaf.sandbox import SandboxBackend
from api_particulier_cnaf.simulator import wire

ALL = list(households().values())


def test_at_least_twenty_households_with_valid_identifiers() -> None:
    assert len(ALL) >= 20
    for household in ALL:
        assert re.fullmatch(r"\d{5,7}", household.numeroAllocataire)
        assert re.fullmatch(r"\d{5}", household.codePostal)
        assert household.numeroAllocataire != MAGIC_ALLOCATAIRE
        assert household.description


@pytest.mark.parametrize("household", ALL, ids=lambda h: h.numeroAllocataire)
def test_every_body_has_the_contract_shape(household: Household) -> None:
    msgspec.convert(household.body, CompositionFamiliale)
    assert 1 <= len(household.body["allocataires"]) <= 2
    assert all(value for value in household.body["adresse"].values())
    # The simulator's wire form parses back to the same body: both backends agree.
    raw, content_type = wire.mtom(wire.success_envelope(household.body))
    assert parse_answer(raw, content_type) == household.body


def test_the_required_situations_are_present() -> None:
    bodies = [h.body for h in ALL]
    assert any(len(b["allocataires"]) == 1 and b["enfants"] for b in bodies)  # single parent
    assert any(len(b["allocataires"]) == 2 for b in bodies)  # couple
    assert any(not b["enfants"] for b in bodies)  # no child
    assert any(len(b["enfants"]) == 4 for b in bodies)  # four children
    assert any(
        b["quotientFamilial"] is None and b["mois"] is None and b["annee"] is None for b in bodies
    )
    assert any(b["quotientFamilial"] == 0 for b in bodies)
    assert any(len(b["adresse"]) == 7 for b in bodies)  # all seven lines
    assert any(len(b["adresse"]) < 5 for b in bodies)  # blank lines omitted
    names = [p["nomPrenom"] for b in bodies for p in b["allocataires"] + b["enfants"]]
    assert any(re.search(r"[ÉÈÊËÀÂÎÏÔÖÛÜÇÑ]", name) for name in names)
    assert any("&" in line for b in bodies for line in b["adresse"].values())
    assert any(h.numeroAllocataire.startswith("0") for h in ALL)


@pytest.mark.anyio
async def test_the_historic_household_and_an_unknown_one() -> None:
    backend = SandboxBackend()
    body = await backend.lookup("2345678", "75001")
    assert len(body["allocataires"]) == 2 and len(body["enfants"]) == 2
    # The backend hands out copies: changing one answer does not change the next.
    body["enfants"].clear()
    assert len((await backend.lookup("2345678", "75001"))["enfants"]) == 2
    with pytest.raises(SubjectNotFound):
        await backend.lookup("2345678", "75002")
