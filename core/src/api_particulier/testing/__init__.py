"""The test kit for plugin authors (``api-particulier-core[testing]``).

- :func:`make_settings`, :func:`app_client`, :class:`TestClient` — an application for a
  test, its lifespan running, an HTTP client over ASGI, keys on demand;
- :class:`HookRecorder`, :class:`FakeClock` — watch the phases, move time by hand;
- :class:`UpstreamServer` — a local HTTP upstream that answers what a test registers and
  records what it receives, to test an HTTP backend against;
- :class:`EchoProvider` — a provider whose answers each test sets, to test policies;
- :func:`check_provider_contract` — the checks every provider plugin must pass.

As a pytest plugin (``pytest_plugins = ["api_particulier.testing"]`` in a ``conftest.py``)
it also gives the fixtures ``upstream`` (a started :class:`UpstreamServer`) and
``anyio_backend`` (asyncio).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .app import TestClient, app_client, make_settings
from .contract import ContractFailure, check_provider_contract
from .echo import ALL_ECHO_SCOPES, GOOD_PARAMS, EchoBody, EchoParams, EchoProvider, Person
from .recording import FakeClock, HookRecorder
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
    "Received",
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


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
