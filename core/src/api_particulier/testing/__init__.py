"""The test kit for plugin authors (``api-particulier-core[testing]``).

- :func:`make_settings`, :func:`app_client`, :class:`TestClient` — an application for a
  test, its lifespan running, an HTTP client over ASGI, keys on demand;
- :class:`HookRecorder`, :class:`FakeClock` — watch the phases, move time by hand;
- :class:`UpstreamServer` — a local HTTP upstream that answers what a test registers and
  records what it receives, to test an HTTP backend against;
- :class:`PostgresServer`, :class:`RedisServer` — real PostgreSQL and Redis servers in
  temporary directories, on free loopback ports, to stop, kill or pause in a test;
- :class:`EchoProvider` — a provider whose answers each test sets, to test policies;
- :func:`check_provider_contract` — the checks every provider plugin must pass;
- :func:`wait_until_serving`, :func:`stop_serving` — the service started as processes of
  its own (``api-particulier serve``, several workers or hosts): wait for each to answer,
  stop each cleanly;
- :func:`serve_live` — the service on a real loopback port; with Debian's Chromium,
  :func:`assert_images_have_text_alternative` and :func:`save_screenshot` for pages.

As a pytest plugin (``pytest_plugins = ["api_particulier.testing"]`` in a ``conftest.py``)
it also gives the fixtures ``upstream`` (a started :class:`UpstreamServer`),
``postgres_server`` (one :class:`PostgresServer` for the session), ``postgres_url`` (a new
empty database on it), ``redis_server`` (a :class:`RedisServer` of the test's own) and
``anyio_backend`` (asyncio), ``live_server`` (a factory: ``url = live_server(settings,
plugins=...)`` serves the app on 127.0.0.1 for the test), ``chromium`` (a headless
browser for the test) and ``browser_page`` (a Playwright page, synchronous API, that
fails the test on a console error, an uncaught exception or a sub-resource that fails, and
reaches nothing but loopback). The tests using a server or the browser are skipped, saying
why, where it is not installed (a missing browser fails them when
``API_PARTICULIER_REQUIRE_BROWSER`` is set, as in CI).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..settings import Settings
from .app import TestClient, app_client, make_settings
from .bodies import chunked
from .browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PageWatch,
    assert_images_have_text_alternative,
    browser_required,
    chromium_available,
    keep_to_loopback,
    run_async,
    save_screenshot,
)
from .browser import SKIP_REASON as BROWSER_SKIP_REASON
from .contract import ContractFailure, check_provider_contract
from .echo import ALL_ECHO_SCOPES, GOOD_PARAMS, EchoBody, EchoParams, EchoProvider, Person
from .live import LiveServer, serve_live
from .postgres import SKIP_REASON as POSTGRES_SKIP_REASON
from .postgres import PostgresServer, server_binaries, temporary_postgres
from .processes import stop_serving, wait_until_serving
from .recording import FakeClock, HookRecorder
from .redis import BINARY as REDIS_BINARY
from .redis import SKIP_REASON as REDIS_SKIP_REASON
from .redis import RedisServer
from .upstream import Received, UpstreamServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = [
    "ALL_ECHO_SCOPES",
    "GOOD_PARAMS",
    "ContractFailure",
    "EchoBody",
    "EchoParams",
    "EchoProvider",
    "FakeClock",
    "HookRecorder",
    "LiveServer",
    "PageWatch",
    "Person",
    "PostgresServer",
    "Received",
    "RedisServer",
    "TestClient",
    "UpstreamServer",
    "app_client",
    "assert_images_have_text_alternative",
    "check_provider_contract",
    "chunked",
    "keep_to_loopback",
    "make_settings",
    "run_async",
    "save_screenshot",
    "serve_live",
    "stop_serving",
    "wait_until_serving",
]


@pytest.fixture
async def upstream() -> AsyncIterator[UpstreamServer]:
    """A local upstream, started for the test and stopped after it."""
    async with UpstreamServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the test session."""
    if server_binaries() is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    with temporary_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database (no schema) on the session's server."""
    return postgres_server.create_database(f"test_{uuid.uuid4().hex[:16]}")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A Redis server of the test's own, killed after it."""
    if REDIS_BINARY is None:
        pytest.skip(REDIS_SKIP_REASON)
    directory = Path(tempfile.mkdtemp(prefix="api-particulier-redis-"))
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(name="live_server")
def live_server_fixture() -> Iterator[Callable[..., str]]:
    """Start the service for the test: ``url = live_server(settings, plugins={...})``; each
    one started is stopped after the test."""
    with contextlib.ExitStack() as started:

        def start(settings: Settings, *, plugins: Mapping[str, object] | None = None) -> str:
            return started.enter_context(serve_live(settings, plugins=plugins))

        yield start


@pytest.fixture
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, for one test (never a downloaded browser).

    One per test, not per session: Playwright's synchronous API keeps an event loop of its
    own marked as running while it is started, and the asynchronous tests that follow
    could not run theirs."""
    if not chromium_available():
        if browser_required():
            pytest.fail(BROWSER_SKIP_REASON)
        pytest.skip(BROWSER_SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (French, 1280 px wide) that reaches only loopback;
    the test fails if, while it ran, the page logged an error, threw, or failed to load a
    style sheet, script, font or image."""
    context = chromium.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.route("**/*", keep_to_loopback)
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    try:
        yield page
    finally:
        context.close()
    assert not watch.faults, "the page went wrong: " + "; ".join(watch.faults)
