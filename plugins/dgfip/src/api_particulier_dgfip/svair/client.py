"""The live backend: DGFiP's SVAIR form, scraped as its own web page does it.

One lookup is a GET of the form (for the ``javax.faces.ViewState`` and the current field
names; reused for ``viewstate_reuse`` seconds) and a POST of the identifiers, whose HTML
answer is parsed. The whole lookup runs under one deadline (``connect_timeout +
read_timeout``), which the route also declares to the core as its deadline: whatever the
lookup waits on, it ends by then. Outcomes (upstreams.md §1.6): success → the notice;
not-found page → 404; anti-bruteforce page → 509; any other page, an unexpected status or
an answer over ``max_answer_bytes`` → 502; upstream 5xx and transport failures → 503 (and,
after several in a row, the circuit breaker of :class:`~api_particulier.upstream.Upstream`
answers 503 at once for a while); no answer in time → 504.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import anyio.to_thread
from api_particulier import ProviderError, Upstream, UpstreamResponse

from .. import errors
from ..config import DgfipConfig
from ..model import AvisImposition
from .form import FORM_PATH, FormState, parse_form_page
from .parser import parse_result_page

# The POST body is encoded here, as a browser does, rather than by aiohttp's FormData:
# the same bytes at half the cost.
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
# Real SVAIR pages weigh about 4 KB and are parsed in a fifth of a millisecond, on the event
# loop. A larger page (an upstream gone wrong) is parsed in a worker thread: lexbor releases
# the GIL while it builds the tree, and Python's switch interval keeps the rest of the parse
# from holding the event loop more than a few milliseconds at a time.
INLINE_PARSE_BYTES = 64 * 1024

P = TypeVar("P", bytes, str)
R = TypeVar("R")


class SvairBackend:
    def __init__(self, config: DgfipConfig) -> None:
        base = config.url if config.url.endswith("/") else config.url + "/"
        self.form_url = urljoin(base, FORM_PATH)
        self.deadline = config.deadline
        self.reuse = config.viewstate_reuse
        self.upstream = Upstream(
            "dgfip-svair",
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            max_concurrency=config.max_concurrency,
            # Never retried past a connection failure: every POST counts against the
            # anti-bruteforce budget of the caller's address.
            connect_retries=1,
            max_body_bytes=config.max_answer_bytes,
        )
        self._form: tuple[float, FormState] | None = None
        self._form_lock = asyncio.Lock()

    @property
    def upstreams(self) -> tuple[Upstream, ...]:
        return (self.upstream,)

    async def open(self) -> None:
        await self.upstream.open()

    async def close(self) -> None:
        await self.upstream.close()

    async def lookup(self, numero_fiscal: str, reference_avis: str) -> AvisImposition:
        # One deadline handed to every upstream call of the lookup, rather than a timer
        # around it: a timer costs more than the rest of the bookkeeping of a call.
        deadline = time.perf_counter() + self.deadline
        return await self._lookup(numero_fiscal, reference_avis, deadline)

    async def healthy(self) -> bool:
        """A cheap real probe: the form page answers and carries a ViewState."""
        try:
            await self._fetch_form(time.perf_counter() + self.deadline)
        except ProviderError:
            return False
        return True

    async def _lookup(
        self, numero_fiscal: str, reference_avis: str, deadline: float
    ) -> AvisImposition:
        state, reused = await self._form_state(deadline)
        page = await self._submit(state, numero_fiscal, reference_avis, deadline)
        if reused and _is_blank_form(page):
            # The blank form back means the ViewState was refused before any lookup
            # was made: fetch a fresh one and try once more.
            self._form = None
            state, _ = await self._form_state(deadline)
            page = await self._submit(state, numero_fiscal, reference_avis, deadline)
        return await _parsed(parse_result_page, page)

    async def _submit(
        self, state: FormState, numero_fiscal: str, reference_avis: str, deadline: float
    ) -> bytes:
        response = await self.upstream.request(
            "POST",
            self._action_url(state),
            data=state.encode(numero_fiscal, reference_avis),
            headers=_FORM_HEADERS,
            operation="submit",
            deadline=deadline,
        )
        return _page(response).body

    async def _form_state(self, deadline: float) -> tuple[FormState, bool]:
        """The form to post and whether it was reused from an earlier GET."""
        if self.reuse <= 0:
            return await self._fetch_form(deadline), False
        cached = self._fresh_form()
        if cached is not None:
            return cached, True
        # One GET for every lookup that arrives while the cached form is stale; waiting
        # for another lookup's GET counts against this lookup's deadline too.
        try:
            async with asyncio.timeout(deadline - time.perf_counter()):
                await self._form_lock.acquire()
        except TimeoutError:
            raise errors.timeout() from None
        try:
            cached = self._fresh_form()
            if cached is not None:
                return cached, True
            state = await self._fetch_form(deadline)
            self._form = (time.monotonic(), state)
            return state, False
        finally:
            self._form_lock.release()

    def _fresh_form(self) -> FormState | None:
        if self._form is not None and time.monotonic() - self._form[0] < self.reuse:
            return self._form[1]
        return None

    async def _fetch_form(self, deadline: float) -> FormState:
        response = await self.upstream.request(
            "GET", self.form_url, operation="form", deadline=deadline
        )
        return await _parsed(parse_form_page, _page(response).text())

    def _action_url(self, state: FormState) -> str:
        """The form's action, unless it points away from the configured host."""
        if state.action:
            target = urljoin(self.form_url, state.action)
            if urlsplit(target)[:2] == urlsplit(self.form_url)[:2]:
                return target
        return self.form_url


async def _parsed(parse: Callable[[P], R], page: P) -> R:
    """``parse(page)``: on the event loop for a page of a normal size, else in a thread."""
    if len(page) <= INLINE_PARSE_BYTES:
        return parse(page)
    return await anyio.to_thread.run_sync(parse, page)


def _page(response: UpstreamResponse) -> UpstreamResponse:
    """The response, if it is a page to read."""
    if response.status >= 500:
        raise errors.unavailable()
    if response.status != 200:
        # Redirects, 4xx (our own requests refused): nothing usable came back.
        raise errors.bad_response()
    return response


def _is_blank_form(page: bytes) -> bool:
    return (
        b":spi" in page
        and b"nonTrouve" not in page
        and b"interdit" not in page
        and b"titre_affiche_avis" not in page
    )
