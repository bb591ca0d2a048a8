"""What the OpenAPI document says in a format that JSON Schema cannot check, taught to
schemathesis so that the values it generates as valid are valid.

Loaded by the conformance test through ``SCHEMATHESIS_HOOKS``.
"""

from __future__ import annotations

import schemathesis
from api_particulier.siret import luhn_valid
from hypothesis import strategies as st


def _with_luhn_key(first: str) -> str:
    """``first`` (13 digits) followed by the digit that makes the Luhn key hold."""
    return next(first + digit for digit in "0123456789" if luhn_valid(first + digit))


# format "siret": 14 digits whose Luhn key holds (the recipient parameter).
schemathesis.openapi.format(
    "siret", st.from_regex(r"[0-9]{13}", fullmatch=True).map(_with_luhn_key)
)
