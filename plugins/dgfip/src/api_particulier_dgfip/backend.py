"""What the routes need from a data source; the sandbox and SVAIR backends both fit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .model import AvisImposition

if TYPE_CHECKING:
    from api_particulier import Upstream


class Backend(Protocol):
    @property
    def deadline(self) -> float | None:
        """Seconds a lookup may take (the route's deadline); None when it never waits."""

    @property
    def upstreams(self) -> tuple[Upstream, ...]: ...

    async def lookup(self, numero_fiscal: str, reference_avis: str) -> AvisImposition:
        """The notice, or a provider error (404, 502, 503, 504, 509)."""

    async def healthy(self) -> bool: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...
