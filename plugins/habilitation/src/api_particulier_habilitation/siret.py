"""SIRET numbers: 14 digits passing the Luhn check, with La Poste's exception.

La Poste's establishments all share the SIREN 356000000; their SIRETs do not pass Luhn and
are valid instead when the sum of their digits is a multiple of 5 (INSEE's rule, as DataPass
applies it).
"""

from __future__ import annotations

import re

_SHAPE = re.compile(r"[0-9]{14}", re.ASCII)
LA_POSTE_SIREN = "356000000"


def normalise(text: str) -> str:
    """What a person typed, without the spaces one copies from a letterhead."""
    return re.sub(r"\s+", "", text)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_valid_siret(text: str) -> bool:
    if not _SHAPE.fullmatch(text):
        return False
    if text.startswith(LA_POSTE_SIREN):
        return sum(int(char) for char in text) % 5 == 0
    return luhn_valid(text)
