"""Identifiers that make the sandbox and the simulator fail on purpose.

With ``numeroAllocataire=1234567``, the ``codePostal`` picks the failure. The same table
drives the sandbox backend (which raises the error directly) and the simulator (which
answers on the wire what CNAF would, so that the live backend raises it).
"""

from __future__ import annotations

from typing import Final, Literal

MAGIC_ALLOCATAIRE: Final = "1234567"

Kind = Literal["code", "unusable", "fault", "timeout"]

# codePostal → (what happens, CNAF return code for kind "code").
MAGIC_CASES: Final[dict[str, tuple[Kind, int]]] = {
    "33404": ("code", 133),  # Dossier allocataire inexistant → 404
    "33400": ("code", 131),  # Absence du nom du responsable dossier → 400
    "33503": ("code", 201),  # Informations momentanément indisponibles → 503
    "33599": ("code", 134),  # not in CNAF's table → 503 "Unknown error code 134"
    "33502": ("unusable", 0),  # an answer that is not a SOAP envelope → 502
    "33500": ("fault", 0),  # a SOAP fault with HTTP 500 → 503
    "33504": ("timeout", 0),  # no answer in time → 504
}

# What CNAF answers for a household it does not know.
NOT_FOUND_CODE: Final = 133


def magic_case(numero_allocataire: str, code_postal: str) -> tuple[Kind, int] | None:
    if numero_allocataire != MAGIC_ALLOCATAIRE:
        return None
    return MAGIC_CASES.get(code_postal)
