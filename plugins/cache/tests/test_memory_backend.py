"""The memory backend's bounds: entries, bytes, least recently used out first, expiry."""

from __future__ import annotations

import pytest
from api_particulier.testing import FakeClock
from api_particulier_cache.backends import MemoryBackend

pytestmark = pytest.mark.anyio


async def test_the_least_recently_used_entry_goes_first() -> None:
    cache = MemoryBackend(max_entries=2, max_bytes=1024)
    await cache.put("a", b"1", 60)
    await cache.put("b", b"2", 60)
    assert await cache.get("a") == b"1"  # a is now the most recent
    await cache.put("c", b"3", 60)
    assert await cache.get("b") is None
    assert await cache.get("a") == b"1"
    assert cache.size == (2, 2)


async def test_bytes_are_bounded_too() -> None:
    cache = MemoryBackend(max_entries=100, max_bytes=1024)
    for name in "abcd":
        await cache.put(name, b"x" * 400, 60)
    assert cache.size == (2, 800)
    assert [await cache.get(n) is not None for n in "abcd"] == [False, False, True, True]
    await cache.put("huge", b"x" * 2000, 60)  # larger than the whole cache: not kept
    assert await cache.get("huge") is None
    await cache.put("c", b"y", 60)  # replacing an entry counts its bytes once
    assert cache.size == (2, 401)


async def test_entries_expire_and_purge_empties() -> None:
    clock = FakeClock()
    cache = MemoryBackend(max_entries=10, max_bytes=1024, clock=clock)
    await cache.put("a", b"1", 10)
    clock.advance(9.9)
    assert await cache.get("a") == b"1"
    clock.advance(0.2)
    assert await cache.get("a") is None
    assert cache.size == (0, 0)
    await cache.put("b", b"2", 10)
    assert await cache.purge() == 1
    assert cache.size == (0, 0)
