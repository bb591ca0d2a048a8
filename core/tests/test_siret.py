"""SIRET numbers: Luhn, and La Poste's establishments (SIREN 356000000), valid too when
their digits sum to a multiple of 5."""

from __future__ import annotations

import pytest
from api_particulier import is_valid_siret
from api_particulier.siret import luhn_valid
from hypothesis import given
from hypothesis import strategies as st

thirteen_digits = st.text("0123456789", min_size=13, max_size=13)


def with_luhn_key(head: str) -> str:
    for key in "0123456789":
        if luhn_valid(head + key):
            return head + key
    raise AssertionError("a Luhn key always exists")


@given(thirteen_digits.filter(lambda head: not head.startswith("356000000")))
def test_a_luhn_number_is_valid_and_any_single_change_breaks_it(head: str) -> None:
    siret = with_luhn_key(head)
    assert is_valid_siret(siret)
    for position in range(14):
        for digit in "0123456789":
            if digit != siret[position]:
                changed = siret[:position] + digit + siret[position + 1 :]
                if not changed.startswith("356000000"):
                    assert not is_valid_siret(changed)


@given(st.text("0123456789", min_size=5, max_size=5))
def test_la_poste_by_digit_sum_or_luhn(tail: str) -> None:
    siret = "356000000" + tail
    assert is_valid_siret(siret) == (sum(map(int, siret)) % 5 == 0 or luhn_valid(siret))


@pytest.mark.parametrize(
    "siret",
    [
        "13002526500013",  # a State administration
        "35600000000048",  # La Poste's head office: passes Luhn too
        "35600000049837",  # a La Poste establishment: digits add up to 45, Luhn fails
    ],
)
def test_valid(siret: str) -> None:
    assert is_valid_siret(siret)


@pytest.mark.parametrize(
    "siret",
    ["", "1300252650001", "130025265000130", "13002526500014", "35600000000049", "1300252650001a"],
)
def test_invalid(siret: str) -> None:
    assert not is_valid_siret(siret)


@given(st.text(alphabet="0123456789", min_size=14, max_size=14))
def test_rule_on_any_fourteen_digits(siret: str) -> None:
    la_poste = siret.startswith("356000000") and sum(map(int, siret)) % 5 == 0
    assert is_valid_siret(siret) == (luhn_valid(siret) or la_poste)


@given(st.text(max_size=40))
def test_anything_else_is_refused_quietly(text: str) -> None:
    if not (len(text) == 14 and text.isascii() and text.isdigit()):
        assert not is_valid_siret(text)
