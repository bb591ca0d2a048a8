"""The fictional data set shipped with the plugin (``data/sandbox.json``).

Used by the sandbox backend and by the SVAIR simulator, so a lookup answers the same
body through both. Every person, identifier and address in it is invented.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

import msgspec

from .model import AvisImposition


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    case: str
    numeroFiscal: str
    referenceAvis: str
    avis: AvisImposition
    # How the address is printed on the notice, one entry per line; by default the
    # address is cut before its postcode.
    addressLines: tuple[str, ...] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return lookup_key(self.numeroFiscal, self.referenceAvis)

    @property
    def tax_year(self) -> int:
        return int(self.avis.anneeImpots)

    def address_lines(self) -> tuple[str, ...]:
        if self.addressLines is not None:
            return self.addressLines
        address = self.avis.foyerFiscal.adresse
        starts = [m.start() for m in re.finditer(r"(?<!\d)\d{5} ", address)]
        if not starts or starts[-1] == 0:
            return (address,)
        cut = starts[-1]
        return (address[:cut].strip(), address[cut:].strip())


class DataSet(msgspec.Struct, frozen=True, kw_only=True):
    description: str
    notices: tuple[Notice, ...]


def lookup_key(numero_fiscal: str, reference_avis: str) -> tuple[str, str]:
    return numero_fiscal.upper(), reference_avis.upper()


@functools.cache
def load() -> DataSet:
    raw = resources.files(__package__).joinpath("data", "sandbox.json").read_bytes()
    return msgspec.json.decode(raw, type=DataSet)
