"""What the routes need from a data source; the sandbox and SVAIR backends both fit."""

from __future__ import annotations

from typing import Protocol

from .model import AvisImposition


class Backend(Protocol):
    async def lookup(self, numero_fiscal: str, reference_avis: str) -> AvisImposition:
        """The notice, or a provider error (404, 502, 503, 504, 509)."""

    async def healthy(self) -> bool: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...
