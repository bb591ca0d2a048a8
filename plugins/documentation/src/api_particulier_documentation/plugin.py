"""``/documentation``: the API's documentation for administrations.

The generated OpenAPI document (``/api/open-api.json``) rendered by Swagger UI, whose files
the service serves itself (``/static/swagger-ui``, copied from the pinned release by
``scripts/vendor_swagger_ui.py``), beside a DSFR page that explains how to try the API with
a sandbox key and the fictional citizens the providers know.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from api_particulier import Pages, PluginContext, WebRoute, hookimpl
from starlette.requests import Request
from starlette.responses import Response

from .config import DocumentationConfig

HERE = Path(__file__).parent
SWAGGER_UI = HERE / "swagger-ui"
# The release copied beside this module (scripts/vendor_swagger_ui.py), named on the page.
SWAGGER_UI_VERSION = (SWAGGER_UI / "VERSION").read_text().strip()
pages = Pages(HERE / "templates")


class DocumentationPlugin:
    def __init__(self) -> None:
        self._sandbox_key: str | None = None
        self._examples: list[dict[str, str]] = []

    @hookimpl
    def config_schema(self) -> type[DocumentationConfig]:
        return DocumentationConfig

    @hookimpl
    def register_routes(
        self, register: Callable[[WebRoute], None], config: DocumentationConfig
    ) -> None:
        register(WebRoute(path="/documentation", endpoint=self.page, menu_label="Documentation"))
        register(WebRoute.static("/static/swagger-ui", SWAGGER_UI))
        register(WebRoute.static("/static/documentation", HERE / "assets"))

    @hookimpl
    def startup(self, context: PluginContext) -> None:
        config: DocumentationConfig = context.config
        self._sandbox_key = config.sandbox_key.reveal() if config.sandbox_key else None
        # A call each route answers with fictional data: its declared example.
        self._examples = [
            {
                "provider": provider.name or "",
                "summary": route.summary,
                "url": f"{route.path}?{urlencode(dict(route.examples.found))}",
            }
            for provider in context.providers
            for route in provider.routes
            if route.examples is not None and not route.deprecated
        ]

    async def page(self, request: Request) -> Response:
        return pages.render(
            request,
            "documentation.html",
            {
                "sandbox_key": self._sandbox_key,
                "examples": self._examples,
                "version": SWAGGER_UI_VERSION,
            },
        )
