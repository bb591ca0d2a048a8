"""The response cache end to end: contract §10's behaviour, its two backends (Redis a real
server), its privacy at rest, single flight, faults and key rotation."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from api_particulier import Call, SubjectNotFound
from api_particulier.testing import (
    ALL_ECHO_SCOPES,
    GOOD_PARAMS,
    EchoProvider,
    FakeClock,
    RedisServer,
    TestClient,
    app_client,
    make_settings,
)
from api_particulier_cache.plugin import CachePlugin
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

pytestmark = pytest.mark.anyio

KEY = "k" * 40
OLD_KEY = "o" * 40
LOOKUP = "l" * 40


class CountingEcho(EchoProvider):
    cache_ttl = 60.0


@asynccontextmanager
async def cached(
    tmp_path: Path,
    *,
    table: Mapping[str, Any] | None = None,
    redis_url: str | None = None,
    clock: FakeClock | None = None,
    provider: EchoProvider | None = None,
) -> AsyncIterator[tuple[TestClient, EchoProvider, CachePlugin]]:
    provider = provider or CountingEcho()
    plugin = CachePlugin(clock=clock) if clock is not None else CachePlugin()
    settings = make_settings(
        tmp_path,
        enabled=["echo", "cache"],
        plugins={"cache": dict(table or {})},
        redis={"url": redis_url} if redis_url else {},
    )
    async with app_client(settings, plugins={"echo": provider, "cache": plugin}) as client:
        yield client, provider, plugin


async def get(client: TestClient, key: str, headers: Mapping[str, str] | None = None) -> Any:
    return await client.http.get(
        EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": key, **(headers or {})}
    )


def redis_table(**more: Any) -> dict[str, Any]:
    return {
        "backend": "redis",
        "key": {"env": "CACHE_TEST_KEY"},
        "lookup_secret": {"env": "CACHE_TEST_LOOKUP"},
        **more,
    }


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_TEST_KEY", KEY)
    monkeypatch.setenv("CACHE_TEST_OLD_KEY", OLD_KEY)
    monkeypatch.setenv("CACHE_TEST_LOOKUP", LOOKUP)


async def test_a_second_call_is_served_from_the_cache_with_the_headers(tmp_path: Path) -> None:
    clock = FakeClock()
    async with cached(tmp_path, clock=clock) as (client, provider, _):
        key = await client.key(ALL_ECHO_SCOPES)
        first = await get(client, key)
        assert first.status_code == 200
        assert first.headers["x-response-cached"] == "false"
        assert "x-cache-expires-in" not in first.headers
        clock.advance(20)
        second = await get(client, key)
        assert second.json() == first.json()
        assert second.headers["x-response-cached"] == "true"
        assert second.headers["x-cache-expires-in"] == "40"
        assert len(provider.calls) == 1
        await client.app.journal.flush()
        rows = await client.app.journal_store.recent_calls(2)
        assert [row.cache_hit for row in rows] == [True, False]

        clock.advance(41)  # expired: asked again
        third = await get(client, key)
        assert third.headers["x-response-cached"] == "false"
        assert len(provider.calls) == 2


async def test_no_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    async with cached(tmp_path) as (client, provider, _):
        key = await client.key(ALL_ECHO_SCOPES)
        bypass = {"Cache-Control": "no-cache"}
        assert (await get(client, key, bypass)).headers["x-response-cached"] == "false"
        assert (await get(client, key)).headers["x-response-cached"] == "false"  # not written
        assert (await get(client, key, bypass)).headers["x-response-cached"] == "false"  # not read
        assert (await get(client, key)).headers["x-response-cached"] == "true"
        assert len(provider.calls) == 3


async def test_masking_applies_after_the_cache(tmp_path: Path) -> None:
    async with cached(tmp_path) as (client, provider, _):
        everything = await client.key(ALL_ECHO_SCOPES)
        names_only = await client.key(["echo_nom"])
        full = await get(client, everything)
        assert full.json()["personne"] == {"nom": "MARTIN", "age": 42}
        narrow = await get(client, names_only)
        assert narrow.headers["x-response-cached"] == "true"
        assert narrow.json() == {"personne": {"nom": "MARTIN"}}
        assert len(provider.calls) == 1


async def test_errors_are_never_cached(tmp_path: Path) -> None:
    provider = CountingEcho()

    def missing(call: Call) -> Any:
        raise SubjectNotFound()

    provider.outcome = missing
    async with cached(tmp_path, provider=provider) as (client, _, _):
        key = await client.key(ALL_ECHO_SCOPES)
        for _ in range(2):
            answer = await get(client, key)
            assert answer.status_code == 404
            assert answer.headers["x-response-cached"] == "false"
        assert len(provider.calls) == 2


async def test_a_route_without_a_ttl_is_not_cached_and_says_nothing(tmp_path: Path) -> None:
    async with cached(tmp_path, provider=EchoProvider()) as (client, provider, _):
        key = await client.key(ALL_ECHO_SCOPES)
        for _ in range(2):
            assert "x-response-cached" not in (await get(client, key)).headers
        assert len(provider.calls) == 2


async def test_the_configured_ttl_wins_and_zero_switches_off(tmp_path: Path) -> None:
    async with cached(tmp_path, table={"ttl": {"echo": 0}}) as (client, provider, _):
        key = await client.key(ALL_ECHO_SCOPES)
        await get(client, key)
        await get(client, key)
        assert len(provider.calls) == 2


async def slow(call: Call) -> Any:
    await anyio.sleep(0.3)
    return EchoProvider().outcome(call)


async def test_concurrent_misses_make_one_call_in_a_process(tmp_path: Path) -> None:
    provider = CountingEcho()
    provider.outcome = slow
    async with cached(tmp_path, provider=provider) as (client, _, _):
        key = await client.key(ALL_ECHO_SCOPES)
        answers = await asyncio.gather(*(get(client, key) for _ in range(100)))
        assert {a.status_code for a in answers} == {200}
        assert len(provider.calls) == 1


async def test_two_hosts_share_one_redis_without_clear_data_and_one_upstream_call(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    one, two = CountingEcho(), CountingEcho()
    one.outcome = two.outcome = slow
    table = redis_table()
    async with (
        cached(tmp_path / "a", table=table, redis_url=redis_server.url, provider=one) as (a, _, _),
        cached(tmp_path / "b", table=table, redis_url=redis_server.url, provider=two) as (b, _, _),
    ):
        key_a = await a.key(ALL_ECHO_SCOPES)
        key_b = await b.key(ALL_ECHO_SCOPES)
        answers = await asyncio.gather(
            *(get(a, key_a) for _ in range(50)), *(get(b, key_b) for _ in range(50))
        )
        assert {x.status_code for x in answers} == {200}
        assert len(one.calls) + len(two.calls) == 1  # one upstream call for 100 misses
        again = await get(b, key_b)
        assert again.headers["x-response-cached"] == "true"
        assert int(again.headers["x-cache-expires-in"]) <= 60

        # What an operator with redis-cli sees.
        port = str(redis_server.port)
        scan = await anyio.run_process(["redis-cli", "-p", port, "--scan"])
        names = scan.stdout.split()
        assert names
        values = [
            (await anyio.run_process(["redis-cli", "-p", port, "--no-raw", "GET", name])).stdout
            for name in names
        ]
        for name in names:  # prefix + HMAC in hex: nothing of the parameters
            assert name.startswith(b"api-particulier:cache:")
            assert b"12345" not in name and b"AB" not in name
        for value in values:
            assert b"12345" not in value  # the citizen's identifier
            assert b"MARTIN" not in value  # a value, never in clear
            assert value.startswith(b'"')  # a value there is, escaped by redis-cli


async def test_redis_down_answers_from_the_provider(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    async with cached(tmp_path, table=redis_table(), redis_url=redis_server.url) as (
        client,
        provider,
        _,
    ):
        key = await client.key(ALL_ECHO_SCOPES)
        await get(client, key)
        redis_server.kill()
        for _ in range(3):
            answer = await get(client, key)
            assert answer.status_code == 200
            assert answer.headers["x-response-cached"] == "false"
        assert len(provider.calls) == 4
        # Each failed lookup and write is counted for operators (context.faults).
        assert client.app.faults.totals()["redis"] >= 3


async def test_rotation_reads_old_values_and_an_unknown_key_is_a_miss(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    old = redis_table(key={"env": "CACHE_TEST_OLD_KEY"})
    async with cached(tmp_path / "1", table=old, redis_url=redis_server.url) as (client, _, _):
        await get(client, await client.key(ALL_ECHO_SCOPES))
    rotated = redis_table(previous_keys=[{"env": "CACHE_TEST_OLD_KEY"}])
    async with cached(tmp_path / "2", table=rotated, redis_url=redis_server.url) as (
        client,
        provider,
        _,
    ):
        answer = await get(client, await client.key(ALL_ECHO_SCOPES))
        assert answer.headers["x-response-cached"] == "true"  # sealed by the old key
        assert provider.calls == []
    async with cached(tmp_path / "3", table=old, redis_url=redis_server.url) as (client, _, _):
        await client.app.journal.flush()
    # Without the old key, the value cannot be opened: a miss, and the entry is replaced.
    async with cached(tmp_path / "4", table=redis_table(), redis_url=redis_server.url) as (
        client,
        provider,
        _,
    ):
        key = await client.key(ALL_ECHO_SCOPES)
        assert (await get(client, key)).headers["x-response-cached"] == "false"
        assert (await get(client, key)).headers["x-response-cached"] == "true"
        assert len(provider.calls) == 1


_scopes = st.lists(st.sampled_from(ALL_ECHO_SCOPES), min_size=1, unique=True)
_numeros = st.sampled_from(["12345", "54321", "00000", "12", "123 45"])
_steps = st.lists(st.tuples(st.integers(0, 2), _numeros, st.booleans()), min_size=1, max_size=8)


@settings(max_examples=25)
@given(keys=st.lists(_scopes, min_size=3, max_size=3), steps=_steps)
def test_the_answer_with_the_cache_is_the_answer_without(
    keys: list[list[str]], steps: list[tuple[int, str, bool]]
) -> None:
    """Any sequence of keys, scopes and parameters (found, unknown, invalid, with spaces;
    with or without no-cache) gets the same statuses and bodies with the cache on as off."""

    async def scenario() -> None:
        with tempfile.TemporaryDirectory() as directory:
            base = Path(directory)
            plain = make_settings(base / "off", enabled=["echo"])
            async with (
                cached(base / "on") as (on, _, _),
                app_client(plain, plugins={"echo": CountingEcho()}) as off,
            ):
                on_keys = [await on.key(scopes) for scopes in keys]
                off_keys = [await off.key(scopes) for scopes in keys]
                for who, numero, bypass in steps:
                    params = {"numero": numero, "code": "AB"}
                    headers = {"Cache-Control": "no-cache"} if bypass else {}
                    answers = [
                        await client.http.get(
                            EchoProvider.path,
                            params=params,
                            headers={"X-Api-Key": key_list[who], **headers},
                        )
                        for client, key_list in ((on, on_keys), (off, off_keys))
                    ]
                    with_cache, without = answers
                    assert with_cache.status_code == without.status_code
                    assert with_cache.json() == without.json()

    anyio.run(scenario)


async def test_cache_purge_empties_redis(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with cached(tmp_path, table=redis_table(), redis_url=redis_server.url) as (client, _, _):
        await get(client, await client.key(ALL_ECHO_SCOPES))
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
enabled = ["cache"]
[core]
data_dir = "{tmp_path}"
[core.redis]
url = "{redis_server.url}"
[plugins.cache]
backend = "redis"
key = {{ env = "CACHE_TEST_KEY" }}
lookup_secret = {{ env = "CACHE_TEST_LOOKUP" }}
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("API_PARTICULIER_PEPPER", "p" * 40)
    done = await anyio.run_process(
        [sys.executable, "-m", "api_particulier", "--config", str(config), "cache", "purge"],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip().endswith("1 cached entries removed")
    redis = Redis.from_url(redis_server.url)
    try:
        assert [name async for name in redis.scan_iter(match="*")] == []
    finally:
        await redis.aclose()


async def test_refusals_before_the_cache_say_they_were_not_served_from_it(
    tmp_path: Path,
) -> None:
    async with cached(tmp_path) as (client, provider, _):
        key = await client.key(ALL_ECHO_SCOPES)
        wrong_scope = await client.key(["not_an_echo_scope"])
        invalid = await client.http.get(EchoProvider.path, headers={"X-Api-Key": key})
        forbidden = await get(client, wrong_scope)
        unknown = await get(client, "apip_unknown")
        assert (invalid.status_code, forbidden.status_code, unknown.status_code) == (400, 403, 401)
        assert invalid.headers["x-response-cached"] == "false"
        assert forbidden.headers["x-response-cached"] == "false"
        assert "x-response-cached" not in unknown.headers  # no key: nothing route-dependent
        assert provider.calls == []
