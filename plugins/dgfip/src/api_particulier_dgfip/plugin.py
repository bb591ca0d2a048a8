"""Entry point of the DGFiP provider (``dgfip`` in the ``api_particulier`` group)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from api_particulier import Provider, hookimpl

from .backend import Backend
from .config import DgfipConfig
from .routes import build_routes
from .sandbox import SandboxBackend
from .svair.client import SvairBackend

NAME = "dgfip"
HEALTH_PATH = "/api/impots/ping"


def make_backend(config: DgfipConfig) -> Backend:
    if config.backend == "svair":
        return SvairBackend(config)
    return SandboxBackend(current_year=config.sandbox_current_year)


class DgfipPlugin:
    """Serves ``/api/v2/avis-imposition`` and its v1 alias from the configured backend."""

    def __init__(self) -> None:
        self.backend: Backend | None = None

    @hookimpl
    def register_config(self, register: Callable[[str, type[msgspec.Struct]], None]) -> None:
        register(NAME, DgfipConfig)

    @hookimpl
    def register_providers(self, register: Callable[[Provider], None], settings: Any) -> None:
        config: DgfipConfig = settings.plugin_config(NAME)
        backend = self.backend = make_backend(config)
        register(
            Provider(
                name=NAME,
                routes=build_routes(backend),
                health_path=HEALTH_PATH,
                health=backend.healthy,
                upstreams=backend.upstreams,
            )
        )

    @hookimpl
    async def startup(self, app: Any) -> None:
        if self.backend is not None:
            await self.backend.open()

    @hookimpl
    async def shutdown(self, app: Any) -> None:
        if self.backend is not None:
            await self.backend.close()
