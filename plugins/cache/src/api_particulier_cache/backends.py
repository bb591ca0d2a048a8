"""Where sealed values live: each process's memory (bounded, least recently used out
first), or the deployment's Redis (one cache for every host)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis


class Backend(Protocol):
    async def get(self, name: str) -> bytes | None: ...
    async def put(self, name: str, value: bytes, ttl: float) -> None: ...
    async def delete(self, name: str) -> None: ...
    async def lock(self, name: str, ttl: float) -> bool:
        """Whether this caller may fetch ``name`` for everyone (others wait for it)."""

    async def unlock(self, name: str) -> None: ...
    async def purge(self) -> int:
        """Empty the cache; how many entries went."""


class MemoryBackend:
    def __init__(
        self, max_entries: int, max_bytes: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock

    @property
    def size(self) -> tuple[int, int]:
        """(entries, bytes) held."""
        return len(self._entries), self._bytes

    async def get(self, name: str) -> bytes | None:
        found = self._entries.get(name)
        if found is None:
            return None
        value, expires = found
        if expires <= self._clock():
            self._drop(name)
            return None
        self._entries.move_to_end(name)
        return value

    async def put(self, name: str, value: bytes, ttl: float) -> None:
        if len(value) > self._max_bytes:
            return
        self._drop(name)
        self._entries[name] = (value, self._clock() + ttl)
        self._bytes += len(value)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def _drop(self, name: str) -> None:
        found = self._entries.pop(name, None)
        if found is not None:
            self._bytes -= len(found[0])

    async def delete(self, name: str) -> None:
        self._drop(name)

    async def lock(self, name: str, ttl: float) -> bool:
        return True  # one process: the plugin's own single flight is enough

    async def unlock(self, name: str) -> None:
        return None

    async def purge(self) -> int:
        count = len(self._entries)
        self._entries.clear()
        self._bytes = 0
        return count


class RedisBackend:
    def __init__(self, client: Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    async def get(self, name: str) -> bytes | None:
        value = await self._client.get(self._prefix + name)
        return bytes(value) if value is not None else None

    async def put(self, name: str, value: bytes, ttl: float) -> None:
        await self._client.set(self._prefix + name, value, px=max(1, int(ttl * 1000)))

    async def delete(self, name: str) -> None:
        await self._client.delete(self._prefix + name)

    async def lock(self, name: str, ttl: float) -> bool:
        taken = await self._client.set(
            self._prefix + "lock:" + name, b"1", nx=True, px=max(1, int(ttl * 1000))
        )
        return bool(taken)

    async def unlock(self, name: str) -> None:
        await self._client.delete(self._prefix + "lock:" + name)

    async def purge(self) -> int:
        count = 0
        async for key in self._client.scan_iter(match=self._prefix + "*", count=500):
            count += int(await self._client.delete(key))
        return count
