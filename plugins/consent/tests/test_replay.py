"""Replay memories: one first use per key, shared where they say they are."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_particulier_consent.replay import MemoryReplayStore, SqliteReplayStore

pytestmark = pytest.mark.anyio


async def test_memory() -> None:
    store = MemoryReplayStore()
    await store.open()
    later = time.time() + 60
    assert await store.first_use("a", later)
    assert not await store.first_use("a", later)
    assert await store.first_use("b", later)
    assert await store.first_use("gone", time.time() - 1)
    assert await store.first_use("gone", later)  # an expired entry is forgotten
    await store.close()


async def test_sqlite_is_shared_by_two_processes_worth_of_connections(tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite3"
    one, two = SqliteReplayStore(path), SqliteReplayStore(path)
    await one.open()
    await two.open()
    later = time.time() + 60
    try:
        assert await one.first_use("app:jti-1", later)
        assert not await two.first_use("app:jti-1", later)
        assert not await one.first_use("app:jti-1", later)
        assert await two.first_use("app:jti-2", later)
        assert await one.first_use("app:old", time.time() - 1)
        assert await two.first_use("app:old", later)
    finally:
        await one.close()
        await two.close()


async def test_sqlite_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite3"
    store = SqliteReplayStore(path)
    await store.open()
    assert await store.first_use("k", time.time() + 60)
    await store.close()
    store = SqliteReplayStore(path)
    await store.open()
    assert not await store.first_use("k", time.time() + 60)
    await store.close()
