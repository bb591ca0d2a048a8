"""The cache phase (``fetch_cached``): a plugin may answer from its cache, or call the
provider through ``fetch``; masking applies either way, a provider's error answers as if
there were no cache, and the cache plugin's own fault is contained like any plugin's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
import structlog
from api_particulier import Call, Denial, hookimpl
from api_particulier.errors import ProviderUnavailable
from api_particulier.testing import HookRecorder, app_client, make_settings

from .support import ALL_ECHO_SCOPES, GOOD_PARAMS, EchoProvider

pytestmark = pytest.mark.anyio

ECHO = "/api/v2/echo"


class SubjectCache:
    """The cache of plugin_hooks.md: payloads by route and subject, errors never kept."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, tuple[tuple[str, str], ...]], object] = {}
        self.seen: list[bool] = []

    @hookimpl
    async def fetch_cached(self, call: Call, fetch: Any) -> Any:
        key = (call.route_path, tuple(sorted(call.subject().items())))
        if key in self.kept:
            call.cache_hit = True
            self.seen.append(True)
            return self.kept[key]
        self.seen.append(False)
        payload = await fetch()
        self.kept[key] = payload
        return payload


async def test_a_cached_payload_answers_without_the_provider_and_is_masked_per_key(
    tmp_path: Path,
) -> None:
    provider, cache, recorder = EchoProvider(), SubjectCache(), HookRecorder()
    plugins = {"echo": provider, "cache": cache, "recorder": recorder}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        every_scope = await client.key(ALL_ECHO_SCOPES)
        name_only = await client.key(["echo_nom"])
        first = await client.http.get(ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": every_scope})
        second = await client.http.get(ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": name_only})
    assert len(provider.calls) == 1
    assert cache.seen == [False, True]
    assert first.status_code == second.status_code == 200
    assert first.json()["personne"] == {"nom": "MARTIN", "age": 42}
    # The same payload, masked for the key that asks.
    assert second.json() == {"personne": {"nom": "MARTIN"}}
    assert [(r.status, r.cache_hit) for r in recorder.records] == [(200, False), (200, True)]


async def test_a_provider_error_through_the_cache_answers_as_without_it(tmp_path: Path) -> None:
    provider, cache = EchoProvider(), SubjectCache()

    def unavailable(call: Call) -> Any:
        raise ProviderUnavailable(retry_after=7)

    async with app_client(make_settings(tmp_path), plugins={"echo": provider}) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        provider.outcome = unavailable
        without = await client.http.get(ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": key})
    plugins = {"echo": provider, "cache": cache}
    async with app_client(make_settings(tmp_path / "cached"), plugins=plugins) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        with structlog.testing.capture_logs() as logs:
            through = await client.http.get(ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": key})
            again = await client.http.get(ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": key})
    assert without.status_code == through.status_code == again.status_code == 503
    assert without.json() == through.json()
    assert through.headers["retry-after"] == "7"
    # Not kept: the second call asked the provider again.
    assert cache.seen == [False, False]
    assert not [line for line in logs if line["event"] == "plugin_failed"]


async def test_a_fault_of_the_cache_is_a_500_naming_it_and_the_provider_is_not_asked(
    tmp_path: Path,
) -> None:
    provider, recorder = EchoProvider(), HookRecorder()

    class BrokenCache:
        @hookimpl
        def fetch_cached(self, call: Call, fetch: Any) -> Any:
            raise KeyError("cache bug")

    plugins = {"echo": provider, "cache": BrokenCache(), "recorder": recorder}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        with structlog.testing.capture_logs() as logs:
            answer = await client.http.get(ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": key})
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal_error"
    assert "cache bug" not in answer.text
    assert provider.calls == []
    (failed,) = [line for line in logs if line["event"] == "plugin_failed"]
    assert (failed["plugin"], failed["phase"]) == ("cache", "fetch_cached")
    assert [(r.status, r.error) for r in recorder.records] == [(500, "internal_error")]


async def test_a_refused_call_never_reaches_the_cache(tmp_path: Path) -> None:
    provider, cache = EchoProvider(), SubjectCache()

    class Refusing:
        @hookimpl
        def check_rate_limit(self, call: Call) -> Denial:
            return Denial(status=429, error="rate_limited", reason="r", message="m")

    plugins = {"echo": provider, "cache": cache, "limit": Refusing()}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        answer = await client.http.get(ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": key})
        bad = await client.http.get(ECHO, params={"numero": "1"}, headers={"X-Api-Key": key})
    assert (answer.status_code, bad.status_code) == (429, 400)
    assert cache.seen == []
    assert provider.calls == []


async def test_a_client_gone_while_the_cache_fetches_is_a_499(tmp_path: Path) -> None:
    provider, cache, recorder = EchoProvider(), SubjectCache(), HookRecorder()
    fetching = anyio.Event()

    async def slow(call: Any) -> Any:
        fetching.set()
        await anyio.sleep(30)

    provider.outcome = slow
    plugins = {"echo": provider, "cache": cache, "recorder": recorder}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        disconnect = anyio.Event()
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> Any:
            if messages:
                return messages.pop()
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            pass

        scope = {
            "type": "http",
            "method": "GET",
            "path": ECHO,
            "raw_path": ECHO.encode(),
            "query_string": b"numero=12345&code=AB",
            "headers": [(b"x-api-key", key.encode())],
            "http_version": "1.1",
            "scheme": "http",
            "root_path": "",
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 1234),
        }
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(client.app, scope, receive, send)
                await fetching.wait()
                disconnect.set()
    assert [(r.status, r.error) for r in recorder.records] == [(499, "client_closed_request")]
    assert cache.kept == {}
