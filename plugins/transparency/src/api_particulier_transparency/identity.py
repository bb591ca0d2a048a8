"""Whether a citizen's FranceConnect identity is one of the persons a provider's answer is
about: names compared without accents, case or punctuation, birth dates exactly."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from api_particulier import Holder
from api_particulier_consent.franceconnect import Identity


def name_tokens(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c if c.isalpha() else " " for c in decomposed if not unicodedata.combining(c))
    return letters.upper().split()


def matches(identity: Identity, holders: Iterable[Holder]) -> bool:
    """True when a holder bears the identity's family name and first given name and was
    born on its birth date."""
    family = name_tokens(identity.family_name or "")
    given = name_tokens(identity.given_name or "")
    if not family or not given or not identity.birthdate:
        return False
    for holder in holders:
        names = set(name_tokens(holder.names))
        if set(family) <= names and given[0] in names and holder.birthdate == identity.birthdate:
            return True
    return False
