"""The test kit for plugin authors (``api-particulier-core[testing]``).

- :func:`make_settings`, :func:`app_client`, :class:`TestClient` — an application for a
  test, its lifespan running, an HTTP client over ASGI, keys on demand;
- :class:`HookRecorder`, :class:`FakeClock` — watch the phases, move time by hand;
- :class:`UpstreamServer` — a local HTTP upstream that answers what a test registers and
  records what it receives, to test an HTTP backend against;
- :class:`PostgresServer`, :class:`RedisServer` — real PostgreSQL and Redis servers in
  temporary directories, on free loopback ports, to stop, kill or pause in a test;
- :class:`EchoProvider` — a provider whose answers each test sets, to test policies;
- :func:`check_provider_contract` — the checks every provider plugin must pass.

As a pytest plugin (``pytest_plugins = ["api_particulier.testing"]`` in a ``conftest.py``)
it also gives the fixtures ``upstream`` (a started :class:`UpstreamServer`),
``postgres_server`` (one :class:`PostgresServer` for the session), ``postgres_url`` (a new
empty database on it), ``redis_server`` (a :class:`RedisServer` of the test's own) and
``anyio_backend`` (asyncio). The tests using a server are skipped, saying why, where it is
not installed.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from .app import TestClient, app_client, make_settings
from .contract import ContractFailure, check_provider_contract
from .echo import ALL_ECHO_SCOPES, GOOD_PARAMS, EchoBody, EchoParams, EchoProvider, Person
from .postgres import SKIP_REASON as POSTGRES_SKIP_REASON
from .postgres import PostgresServer, server_binaries, temporary_postgres
from .recording import FakeClock, HookRecorder
from .redis import BINARY as REDIS_BINARY
from .redis import SKIP_REASON as REDIS_SKIP_REASON
from .redis import RedisServer
from .upstream import Received, UpstreamServer

__all__ = [
    "ALL_ECHO_SCOPES",
    "GOOD_PARAMS",
    "ContractFailure",
    "EchoBody",
    "EchoParams",
    "EchoProvider",
    "FakeClock",
    "HookRecorder",
    "Person",
    "PostgresServer",
    "Received",
    "RedisServer",
    "TestClient",
    "UpstreamServer",
    "app_client",
    "check_provider_contract",
    "make_settings",
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
