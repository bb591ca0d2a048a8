"""Replay memory: a receipt id is accepted once, by any worker sharing the memory.

Each backend answers one atomic question: "is this the first use of ``key``?", and keeps
the answer until ``expires_at`` (after which the receipt is refused as expired anyway).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import anyio.to_thread

if TYPE_CHECKING:
    from api_particulier import StoreDatabase
    from redis.asyncio import Redis


class ReplayStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def first_use(self, key: str, expires_at: float) -> bool: ...


class MemoryReplayStore:
    """One process only: for tests and single-worker deployments."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._next_purge = 0.0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._seen.clear()

    async def first_use(self, key: str, expires_at: float) -> bool:
        now = time.time()
        if now >= self._next_purge:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
            self._next_purge = now + 60
        known = self._seen.get(key)
        if known is not None and known > now:
            return False
        self._seen[key] = expires_at
        return True


_SCHEMA = """
CREATE TABLE IF NOT EXISTS used_receipts (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS used_receipts_expiry ON used_receipts(expires_at);
"""
# Insert, or take over a row whose receipt has expired; one statement, so two workers
# racing on the same key cannot both see a first use.
_CLAIM = """
INSERT INTO used_receipts(key, expires_at) VALUES (?, ?)
ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at
WHERE used_receipts.expires_at <= ?
"""


class SqliteReplayStore:
    """A file shared by every worker process of one host (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._next_purge = 0.0

    async def open(self) -> None:
        await anyio.to_thread.run_sync(self._connect)

    def _connect(self) -> None:
        with self._lock:
            if self._connection is not None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA busy_timeout=5000")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(_SCHEMA)
            self._connection = connection

    async def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    async def first_use(self, key: str, expires_at: float) -> bool:
        return await anyio.to_thread.run_sync(self._claim, key, expires_at)

    def _claim(self, key: str, expires_at: float) -> bool:
        now = time.time()
        with self._lock:
            connection = self._connection
            if connection is None:
                raise RuntimeError("replay store used before open() or after close()")
            cursor = connection.execute(_CLAIM, (key, expires_at, now))
            claimed = cursor.rowcount == 1
            if now >= self._next_purge:
                self._next_purge = now + 300
                connection.execute("DELETE FROM used_receipts WHERE expires_at <= ?", (now,))
            return claimed


# Insert, or take over a row whose receipt has expired, in one statement: SQLite and
# PostgreSQL both read it, and two hosts racing on one key cannot both see a first use.
_STORE_CLAIM = """
INSERT INTO consent_used_receipts (key, expires_at) VALUES (:key, :expires_at)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
WHERE consent_used_receipts.expires_at <= :now
"""


class StoreReplayStore:
    """In the deployment's store (``context.database``): shared by every worker and every
    host of a PostgreSQL deployment, by every worker of an embedded one."""

    def __init__(self, database: StoreDatabase) -> None:
        self._database = database
        self._next_purge = 0.0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None  # the database is the deployment's: the core closes it

    async def first_use(self, key: str, expires_at: float) -> bool:
        now = time.time()
        claimed = await self._database.execute(
            _STORE_CLAIM, {"key": key, "expires_at": expires_at, "now": now}
        )
        if now >= self._next_purge:
            self._next_purge = now + 300
            await self._database.execute(
                "DELETE FROM consent_used_receipts WHERE expires_at <= :now", {"now": now}
            )
        return claimed == 1


class RedisReplayStore:
    """Shared by several hosts, on the deployment's Redis: ``SET key 1 NX PXAT expiry``."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None  # the client is the deployment's: the core closes it

    async def first_use(self, key: str, expires_at: float) -> bool:
        expiry_ms = max(int(expires_at * 1000), int(time.time() * 1000) + 1000)
        stored = await self._client.set(self._prefix + key, b"1", nx=True, pxat=expiry_ms)
        return bool(stored)
