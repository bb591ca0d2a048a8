"""A citizen's own identity (FranceConnect's pivot identity), and whether an answer is
about them: what binds evidence carried by the citizen to the data asked for.

Names are compared without accents, case or punctuation; birth dates exactly. A person of
the answer (a :class:`~api_particulier.Holder`, as the provider names them) is the citizen
when their names hold the citizen's family name and first given name and they were born
on the citizen's birth date.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from .types import Holder


@dataclass(frozen=True, kw_only=True)
class CitizenIdentity:
    """Who the citizen is, as their identity provider says: ``birthdate`` ``YYYY-MM-DD``."""

    given_name: str
    family_name: str
    birthdate: str


def name_tokens(text: str) -> list[str]:
    """The words of a name, in capitals, without accents or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c if c.isalpha() else " " for c in decomposed if not unicodedata.combining(c))
    return letters.upper().split()


def is_among(identity: CitizenIdentity, holders: Iterable[Holder]) -> bool:
    """Whether one of ``holders`` is the citizen of ``identity``; never for an identity
    missing a family name, a given name or a birth date."""
    family = name_tokens(identity.family_name)
    given = name_tokens(identity.given_name)
    if not family or not given or not identity.birthdate:
        return False
    for holder in holders:
        names = set(name_tokens(holder.names))
        if set(family) <= names and given[0] in names and holder.birthdate == identity.birthdate:
            return True
    return False
