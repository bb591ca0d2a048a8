"""What a CNAF backend offers the routes: one household lookup and a health probe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from api_particulier import Upstream


class CnafBackend(Protocol):
    @property
    def deadline(self) -> float | None:
        """Seconds a lookup may take (the routes' deadline); None when it never waits."""

    @property
    def upstreams(self) -> tuple[Upstream, ...]: ...

    async def lookup(self, numero_allocataire: str, code_postal: str) -> dict[str, Any]:
        """The full body of contract §4, or a provider error."""
        ...

    async def healthy(self) -> bool: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...
