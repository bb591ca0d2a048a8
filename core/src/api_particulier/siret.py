"""SIRET numbers: the establishment numbers administrations are known by (a consent
``recipient``, an access request's organisation)."""

from __future__ import annotations

# La Poste's establishments share SIREN 356000000 and are too many for the Luhn key to
# number them all: INSEE documents that their SIRET digits add up to a multiple of 5 instead.
LA_POSTE_SIREN = "356000000"


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_valid_siret(value: str) -> bool:
    """14 ASCII digits whose Luhn key holds, or a La Poste SIRET whose digit sum is a
    multiple of 5 (La Poste's head office, 35600000000048, passes Luhn too)."""
    if len(value) != 14 or not value.isascii() or not value.isdigit():
        return False
    if luhn_valid(value):
        return True
    return value.startswith(LA_POSTE_SIREN) and sum(ord(c) - 48 for c in value) % 5 == 0
