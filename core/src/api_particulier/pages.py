"""Server-rendered HTML pages in the State's design system (DSFR).

A plugin with pages keeps its Jinja2 templates in a folder of its own and renders them with
:class:`Pages`; its templates extend ``dsfr/base.html``, the core's layout (header, skip
links, footer, the DSFR files the service serves under ``/static/dsfr``), and fill its
blocks ``title`` and ``content`` (and ``head`` for anything more in ``<head>``). Every page
thus loads the same style sheet and scripts from the service itself, never from a CDN.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from .web import MENU_SCOPE_KEY, MenuEntry

# Where the core's layout and the DSFR files live inside the installed package.
CORE_TEMPLATES = Path(__file__).parent / "templates"
DSFR_FILES = Path(__file__).parent / "static" / "dsfr"
DSFR_URL = "/static/dsfr"

# Pages load only the service's own files. Inline style attributes stay allowed: DSFR
# components and server-drawn SVG charts use them; scripts never run inline.
DEFAULT_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class Pages:
    """The templates of one plugin, rendered into HTML answers.

    ``templates`` is the plugin's folder; names not found there are looked up in the core's
    (``dsfr/base.html``). Autoescaping is on for every template and an undefined variable is
    an error, so that a typo fails a test instead of printing an empty string.
    """

    def __init__(
        self,
        templates: Path | str,
        *,
        globals: Mapping[str, Any] | None = None,
        content_security_policy: str = DEFAULT_CONTENT_SECURITY_POLICY,
    ) -> None:
        self.environment = jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(templates), jinja2.FileSystemLoader(CORE_TEMPLATES)]
            ),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.globals.update({"dsfr_url": DSFR_URL, **(globals or {})})
        self.content_security_policy = content_security_policy

    def render_text(self, name: str, context: Mapping[str, Any] | None = None) -> str:
        """The page ``name`` as text (for an e-mail body, or a test)."""
        return self.environment.get_template(name).render(dict(context or {}))

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """The answer for ``request``: template ``name`` with ``context``, ``request`` and
        ``menu`` (the site's menu, :class:`~api_particulier.web.MenuEntry` items)."""
        menu: tuple[MenuEntry, ...] = request.scope.get(MENU_SCOPE_KEY, ())
        html = self.render_text(name, {**(context or {}), "request": request, "menu": menu})
        answer_headers = {
            "content-security-policy": self.content_security_policy,
            "referrer-policy": "same-origin",
            "x-content-type-options": "nosniff",
            **(headers or {}),
        }
        return HTMLResponse(html, status_code=status_code, headers=answer_headers)


_CORE_PAGES = Pages(CORE_TEMPLATES)


async def home_page(request: Request) -> HTMLResponse:
    """``/``: what the service is, and the way to each page of the menu."""
    return _CORE_PAGES.render(request, "home.html")
