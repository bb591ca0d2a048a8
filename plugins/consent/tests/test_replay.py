"""Replay memories: one first use per key, shared where they say they are."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_particulier.app import StartupError, create_app
from api_particulier.store import migrate
from api_particulier.testing import make_settings
from api_particulier_consent.plugin import ConsentPlugin
from api_particulier_consent.replay import MemoryReplayStore, SqliteReplayStore, StoreReplayStore

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


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store'}"
    return str(request.getfixturevalue("postgres_url"))


async def test_the_deployments_store_is_shared_by_two_hosts(store_url: str, tmp_path: Path) -> None:
    """The "store" backend, the default: its table made by the plugin's own revision (by the
    embedded SQLite store itself, by `db upgrade` on PostgreSQL), one first use across two
    hosts' applications."""
    settings = make_settings(tmp_path, enabled=["consent"], store=store_url)
    hosts = [create_app(settings, plugins={"consent": ConsentPlugin()}) for _ in range(2)]
    assert hosts[0].migrations.branches() == ("consent",)
    if store_url.startswith("postgresql"):
        with pytest.raises(StartupError, match="db upgrade"):
            async with hosts[0].running():
                pass
        states = await migrate(settings, apply=True, plugins=hosts[0].migrations)
        assert {s.branch for s in states} == {"keys", "journal", "consent"}
    async with hosts[0].running(), hosts[1].running():
        one, two = (StoreReplayStore(host.database) for host in hosts)
        later = time.time() + 60
        assert await one.first_use("app:jti-1", later)
        assert not await two.first_use("app:jti-1", later)
        assert not await one.first_use("app:jti-1", later)
        assert await two.first_use("app:jti-2", later)
        assert await one.first_use("app:old", time.time() - 1)
        assert await two.first_use("app:old", later)  # an expired receipt's row is taken over
    states = await migrate(settings, apply=False, plugins=hosts[0].migrations)
    assert all(state.up_to_date for state in states)
