"""SIRET numbers: Luhn, and La Poste's establishments (SIREN 356000000) whose digits sum
to a multiple of 5."""

from __future__ import annotations

from api_particulier_habilitation.siret import is_valid_siret, luhn_valid, normalise
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
def test_la_poste_by_digit_sum(tail: str) -> None:
    siret = "356000000" + tail
    assert is_valid_siret(siret) == (sum(map(int, siret)) % 5 == 0)


def test_known_numbers() -> None:
    assert is_valid_siret("21750001600019")  # Ville de Paris
    assert is_valid_siret("35600000000047")  # La Poste: digits sum to 25
    assert not is_valid_siret("35600000000048")
    assert not is_valid_siret("2175000160001")
    assert not is_valid_siret("2175000160001A")
    assert normalise(" 217 500 016 00019 ") == "21750001600019"
