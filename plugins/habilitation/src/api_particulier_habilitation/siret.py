"""What a person types for a SIRET, made comparable: the number itself is checked by the
core's :func:`api_particulier.is_valid_siret`."""

from __future__ import annotations

import re


def normalise(text: str) -> str:
    """What a person typed, without the spaces one copies from a letterhead."""
    return re.sub(r"\s+", "", text)
