"""The SVAIR simulator: an aiohttp server answering like ``cfsmsp.impots.gouv.fr/secavis``.

- ``GET /secavis/`` and ``GET /secavis/faces/commun/index.jsf``: the form with a fresh
  ViewState;
- ``POST /secavis/faces/commun/index.jsf`` (urlencoded, any ``<form>:spi`` /
  ``<form>:num_facture`` names): the result page of a notice of the data set, the
  not-found page, or the blocked page after ``block_after`` failed lookups. A ViewState
  the simulator did not issue gets the blank form back, as a stale one would.

Failure modes, by identifier (the same value in both fields, as in the sandbox):
``1111111111404`` not found, ``…502`` a page that is neither a result nor an error,
``…503`` HTTP 503, ``…504`` no answer for ``hang_seconds``, ``…509`` the blocked page.
``latency`` delays every answer; ``pages`` serves given raw pages for given identifiers
(used to replay recorded answers). Counters ``gets`` and ``posts`` tell what was called,
``received`` the identifiers of every POST, as they arrived.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Iterable, Mapping
from types import TracebackType

from aiohttp import web

from ..dataset import Notice, load, lookup_key
from . import render

FORM_PATHS = ("/secavis/", "/secavis/faces/commun/index.jsf")
POST_PATH = "/secavis/faces/commun/index.jsf"
HTML = "text/html; charset=UTF-8"
# How many issued ViewStates are remembered; older ones get the blank form back.
ISSUED_KEPT = 10_000


class SvairSimulator:
    def __init__(
        self,
        *,
        notices: Iterable[Notice] | None = None,
        pages: Mapping[tuple[str, str], str] | None = None,
        latency: float = 0.0,
        hang_seconds: float = 30.0,
        block_after: int | None = None,
        check_view_state: bool = True,
    ) -> None:
        source = notices if notices is not None else load().notices
        self.notices = {notice.key: notice for notice in source}
        self.pages = {lookup_key(*key): page for key, page in (pages or {}).items()}
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.block_after = block_after
        self.check_view_state = check_view_state
        self.gets = 0
        self.posts = 0
        self.failed_lookups = 0
        # What the last POST carried, field names included, for tests of the client.
        self.last_form: dict[str, str] = {}
        # (numéro fiscal, référence d'avis) of every POST, in order.
        self.received: list[tuple[str, str]] = []
        # Issued ViewStates, oldest first (a dict: membership is checked on every POST).
        self._issued: dict[str, None] = {}
        # Each notice's answer page, rendered on its first lookup.
        self._result_pages: dict[tuple[str, str], bytes] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def app(self) -> web.Application:
        app = web.Application()
        for path in FORM_PATHS:
            app.router.add_get(path, self._form)
        app.router.add_post(POST_PATH, self._submit)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve until :meth:`stop`; return the base URL (``http://host:port/secavis/``)."""
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, backlog=1024)
        await site.start()
        bound = self._runner.addresses[0]
        self.base_url = f"http://{bound[0]}:{bound[1]}/secavis/"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SvairSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    def _view_state(self) -> str:
        # Opaque client-side state, shaped like the real one (base64).
        token = base64.b64encode(b"RxJe" + secrets.token_bytes(48)).decode()
        self._issued[token] = None
        if len(self._issued) > ISSUED_KEPT:
            del self._issued[next(iter(self._issued))]
        return token

    async def _form(self, request: web.Request) -> web.Response:
        self.gets += 1
        await self._delay()
        return web.Response(text=render.form_page(self._view_state()), content_type="text/html")

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        self.posts += 1
        await self._delay()
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.last_form = form
        spi = next((v for k, v in form.items() if k.endswith(":spi")), "")
        reference = next((v for k, v in form.items() if k.endswith(":num_facture")), "")
        self.received.append((spi, reference))
        view_state = form.get("javax.faces.ViewState", "")
        if not view_state or (self.check_view_state and view_state not in self._issued):
            return _html(render.form_page(self._view_state()))
        if self.block_after is not None and self.failed_lookups >= self.block_after:
            return _html(render.blocked_page(self._view_state()))
        if spi == reference and spi.startswith("1111111111"):
            magic = await self._magic(spi[-3:])
            if magic is not None:
                return magic
        key = lookup_key(spi, reference)
        if key in self.pages:
            return _html(self.pages[key])
        notice = self.notices.get(key)
        if notice is None:
            self.failed_lookups += 1
            return _html(render.not_found_page(self._view_state()))
        page = self._result_pages.get(key)
        if page is None:
            page = self._result_pages[key] = render.result_page(notice).encode()
        return _html(page)

    async def _magic(self, code: str) -> web.Response | None:
        if code == "404":
            return _html(render.not_found_page(self._view_state()))
        if code == "502":
            return _html(render.garbage_page())
        if code == "503":
            return web.Response(status=503, text="Service Unavailable")
        if code == "504":
            await asyncio.sleep(self.hang_seconds)
            return _html(render.garbage_page())
        if code == "509":
            return _html(render.blocked_page(self._view_state()))
        return None

    async def _delay(self) -> None:
        if self.latency > 0:
            await asyncio.sleep(self.latency)


def _html(page: str | bytes) -> web.Response:
    # Every outcome of the real form, errors included, is a 200 HTML page.
    body = page.encode() if isinstance(page, str) else page
    return web.Response(body=body, content_type="text/html", charset="utf-8")
