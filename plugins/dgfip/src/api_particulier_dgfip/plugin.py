"""Entry point of the DGFiP provider (``dgfip`` in the ``api_particulier`` group)."""

from __future__ import annotations

from collections.abc import Callable

from api_particulier import Provider, hookimpl

from .backend import Backend
from .config import DgfipConfig
from .routes import SCOPE_LABELS, build_routes
from .sandbox import SandboxBackend
from .svair.client import SvairBackend

HEALTH_PATH = "/api/impots/ping"


def make_backend(config: DgfipConfig) -> Backend:
    if config.backend == "svair":
        return SvairBackend(config)
    return SandboxBackend(current_year=config.sandbox_current_year)


class DgfipPlugin:
    """Serves ``/api/v2/avis-imposition`` and its v1 alias from the configured backend;
    the core opens and closes its upstream.

    ``backend`` replaces the configured one (an embedding application, or a test counting
    lookups); without it the ``[plugins.dgfip]`` table decides.
    """

    def __init__(self, backend: Backend | None = None) -> None:
        self.backend = backend

    @hookimpl
    def config_schema(self) -> type[DgfipConfig]:
        return DgfipConfig

    @hookimpl
    def register_providers(self, register: Callable[[Provider], None], config: DgfipConfig) -> None:
        backend = self.backend = self.backend or make_backend(config)
        register(
            Provider(
                routes=build_routes(backend),
                health_path=HEALTH_PATH,
                health=backend.healthy,
                upstreams=backend.upstreams,
                scope_labels=SCOPE_LABELS,
            )
        )
