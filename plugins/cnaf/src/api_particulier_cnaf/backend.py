"""What a CNAF backend offers the routes: one household lookup and a health probe."""

from __future__ import annotations

from typing import Any, Protocol


class CnafBackend(Protocol):
    async def lookup(self, numero_allocataire: str, code_postal: str) -> dict[str, Any]:
        """The full body of contract §4, or a provider error."""
        ...

    async def healthy(self) -> bool: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...
