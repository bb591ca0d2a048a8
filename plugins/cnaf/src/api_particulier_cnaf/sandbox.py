"""The embedded backend: the fictional households, and failures on magic identifiers."""

from __future__ import annotations

import copy
from typing import Any

from api_particulier import ProviderBadResponse, ProviderTimeout, ProviderUnavailable, Upstream

from .codes import error_for_code
from .households import households
from .magic import NOT_FOUND_CODE, magic_case


class SandboxBackend:
    """Answers from ``data/households.json``; needs no network and is always healthy."""

    # Answers come from memory: nothing to wait on, no deadline to keep.
    deadline = None
    upstreams: tuple[Upstream, ...] = ()

    async def lookup(self, numero_allocataire: str, code_postal: str) -> dict[str, Any]:
        case = magic_case(numero_allocataire, code_postal)
        if case is not None:
            kind, code = case
            if kind == "code":
                raise error_for_code(code)
            if kind == "unusable":
                raise ProviderBadResponse()
            if kind == "fault":
                raise ProviderUnavailable()
            raise ProviderTimeout()
        household = households().get((numero_allocataire, code_postal))
        if household is None:
            raise error_for_code(NOT_FOUND_CODE)
        # A copy: the core may keep or transform what it receives.
        return copy.deepcopy(household.body)

    async def healthy(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None
