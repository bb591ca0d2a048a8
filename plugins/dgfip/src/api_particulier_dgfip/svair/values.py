"""Normalisation of the texts of SVAIR result cells (upstreams.md §1.5).

Every function raises only :class:`~api_particulier.errors.ProviderBadResponse`.
"""

from __future__ import annotations

import datetime as dt
import html
import re

from ..errors import bad_response

_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_INTEGER = re.compile(r"^-?\d{1,15}$")
_NOT_DIGITS = re.compile(r"[^0-9-]")
_PARTS = re.compile(r"\d{1,3}(\.\d{1,4})?")
_COUNT = re.compile(r"\d{1,4}")
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")


def clean(text: str) -> str:
    """Trim a cell; entities left as text by browser-saved pages (``&nbsp;``, ``&#160;``)
    are resolved so that their letters and digits never leak into values."""
    # Most cells hold no entity: the test spares a call per cell.
    return (html.unescape(text) if "&" in text else text).strip()


def normalise_label(text: str) -> str:
    """A row label as the parser compares it: entities resolved, spaces squeezed, case
    folded. Labels are the same few strings on every page: each is normalised once."""
    found = _labels.get(text)
    if found is None:
        found = _squeeze(clean(text)).casefold()
        if len(_labels) >= _LABELS_KEPT:  # pages with labels never seen: stay bounded
            _labels.clear()
        _labels[text] = found
    return found


_labels: dict[str, str] = {}
_LABELS_KEPT = 512


def _squeeze(text: str, separator: str = " ") -> str:
    """Every run of whitespace (NBSP included) replaced by ``separator``, ends trimmed."""
    return separator.join(text.split())


def money(text: str) -> int | None:
    """``17 580 €`` → 17580; ``Non imposable`` and cells without digits → None."""
    digits = _NOT_DIGITS.sub("", clean(text))
    if not digits.replace("-", ""):  # "Non imposable", "-", an empty cell
        return None
    if not _INTEGER.match(digits):
        raise bad_response()
    return int(digits)


def parts(text: str) -> int | float:
    """``1.00`` → 1, ``2.50`` → 2.5 (a decimal comma is accepted too)."""
    value = _squeeze(clean(text), "").replace(",", ".")
    if not _PARTS.fullmatch(value):
        raise bad_response()
    number = float(value)
    return int(number) if number.is_integer() else number


def integer(text: str) -> int:
    value = _squeeze(clean(text), "")
    if not _COUNT.fullmatch(value):
        raise bad_response()
    return int(value)


def date_or_text(text: str) -> str:
    """A valid ``d/m/yyyy`` date → ``dd/mm/yyyy``; anything else (``-``, a year) as is."""
    value = clean(text)
    match = _DATE.match(value)
    if match is None:
        return value
    day, month, year = map(int, match.groups())
    try:
        dt.date(year, month, day)
    except ValueError:
        return value
    return f"{day:02d}/{month:02d}/{year}"


def years(title: str) -> tuple[str, str]:
    """``Impôt 2015 sur les revenus de l'année 2014`` → ("2015", "2014"); "" when absent."""
    found = _YEAR.findall(clean(title))
    tax_year = found[0] if found else ""
    income_year = found[1] if len(found) > 1 else ""
    return tax_year, income_year
