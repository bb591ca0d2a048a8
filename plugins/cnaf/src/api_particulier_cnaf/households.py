"""The fictional data set shipped with the plugin (``data/households.json``).

The sandbox backend serves it as it is, and the simulator turns the same households into
CNAF's wire format, so both answer the same for the same identifiers.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import msgspec


class Household(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    numeroAllocataire: str
    codePostal: str
    description: str
    # The full body of contract §4, as the live backend would produce it.
    body: dict[str, Any]


class _DataSet(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    description: str
    households: list[Household]


@functools.cache
def households() -> dict[tuple[str, str], Household]:
    """Every household, keyed by (numeroAllocataire, codePostal)."""
    raw = resources.files("api_particulier_cnaf").joinpath("data/households.json").read_bytes()
    data = msgspec.json.decode(raw, type=_DataSet)
    return {(h.numeroAllocataire, h.codePostal): h for h in data.households}
