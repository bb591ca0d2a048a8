"""The service on a PostgreSQL store, against real servers: the schema commands, the refusal
to serve an older schema, calls end to end, and PostgreSQL stopped under load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import msgspec
import pytest
from api_particulier.app import StartupError, create_app
from api_particulier.cli import main
from api_particulier.settings import Settings
from api_particulier.store.postgresql import run_migrations
from api_particulier.testing import (
    GOOD_PARAMS,
    EchoProvider,
    PostgresServer,
    TestClient,
    app_client,
    make_settings,
)
from api_particulier.testing.postgres import SKIP_REASON, server_binaries, temporary_postgres

pytestmark = pytest.mark.anyio


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_db_status_and_upgrade_through_the_environment(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("API_PARTICULIER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("API_PARTICULIER_DATABASE_URL", postgres_url)

    status, out, _ = run_cli(capsys, "db", "status")
    assert status == 1
    assert "keys: empty, this release needs keys_0001" in out
    assert "journal: empty, this release needs journal_0003" in out
    assert "run `api-particulier db upgrade`" in out

    # An older schema is refused with one line naming the command, by commands as by serve.
    status, out, err = run_cli(capsys, "keys", "list")
    assert status == 2
    refusal = err.strip().splitlines()[-1]  # after the embedded pepper's warning
    assert refusal.startswith("configuration error: [core] store: ")
    assert "api-particulier db upgrade" in refusal
    assert postgres_url not in err

    status, out, _ = run_cli(capsys, "db", "upgrade")
    assert status == 0
    assert "keys: empty -> keys_0001" in out
    assert "journal: empty -> journal_0003" in out

    status, out, _ = run_cli(capsys, "db", "status")
    assert status == 0
    assert "keys: keys_0001 (current)" in out
    status, out, _ = run_cli(capsys, "db", "upgrade")
    assert "keys: at keys_0001, nothing to do" in out

    # Nothing was written in the data directory: the store is PostgreSQL's.
    assert not list(tmp_path.glob("*.sqlite3"))


async def test_a_store_at_an_older_schema_refuses_to_start(
    postgres_url: str, tmp_path: Path
) -> None:
    app = create_app(make_settings(tmp_path, store=postgres_url), plugins={})
    with pytest.raises(StartupError) as refused:
        async with app.running():
            pass
    (problem,) = refused.value.problems
    assert "api-particulier db upgrade" in problem
    assert postgres_url not in problem


async def test_calls_end_to_end_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    await run_migrations(postgres_url, apply=True)
    settings = make_settings(tmp_path, enabled=["echo"], store=postgres_url, auth={"cache_ttl": 0})
    async with app_client(settings, plugins={"echo": EchoProvider()}) as client:
        key = await client.key(["echo_nom"])
        for _ in range(3):
            answer = await client.http.get(
                EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": key}
            )
            assert answer.status_code == 200
        await client.app.journal.flush()
        rows = await client.app.journal_store.recent_calls(10)
        assert [row.status for row in rows] == [200, 200, 200]
        stats = await client.http.get("/api/stats")
        assert stats.json() == 3

        (stored,) = await client.app.key_store.list_keys()
        assert await client.app.key_store.revoke_key(stored.id, 0.0)
        refused = await client.http.get(
            EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": key}
        )
        assert refused.status_code == 401


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of the test's own, to stop and start again."""
    if server_binaries() is None:
        pytest.skip(SKIP_REASON)
    with temporary_postgres() as server:
        yield server


async def test_postgresql_stopped_then_back(own_postgres: PostgresServer, tmp_path: Path) -> None:
    await run_migrations(own_postgres.url, apply=True)
    settings = make_settings(
        tmp_path, enabled=["echo"], store=own_postgres.url, auth={"cache_ttl": 300}
    )
    provider = EchoProvider()
    async with app_client(settings, plugins={"echo": provider}) as client:
        known = await client.key(["echo_nom"])
        other = await client.key(["echo_nom"])

        sent: list[int] = []

        async def ask(key: str) -> int:
            answer = await client.http.get(
                EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": key}
            )
            sent.append(answer.status_code)
            return answer.status_code

        assert await ask(known) == 200  # verified: cached for cache_ttl
        own_postgres.stop()

        # Under load: 200 calls at once with the verified key, 50 with one never seen.
        during: list[int] = []

        async def one(key: str) -> None:
            during.append(await ask(key))

        async with anyio.create_task_group() as load:
            for index in range(250):
                load.start_soon(one, known if index % 5 else other)
        assert sorted(during) == [200] * 200 + [503] * 50
        calls_before = len(provider.calls)
        refused = await client.http.get(
            EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": other}
        )
        sent.append(refused.status_code)
        assert refused.status_code == 503
        assert refused.json()["error"] == "service_unavailable"
        assert refused.headers["retry-after"] == "1"
        assert len(provider.calls) == calls_before  # the provider was not called
        assert (await client.http.get("/api/stats")).status_code in (200, 503)

        own_postgres.start()
        for _ in range(150):  # the pool reconnects on its own: no restart
            if await ask(other) == 200:
                break
            await anyio.sleep(0.2)
        assert await ask(other) == 200

        # Every request has its row, those of the outage included, once the writer caught up.
        statuses: list[int] = []
        for _ in range(100):
            await client.app.journal.flush()
            statuses = [row.status for row in await client.app.journal_store.recent_calls(500)]
            if len(statuses) >= len(sent):
                break
            await anyio.sleep(0.1)
        assert sorted(statuses) == sorted(sent)
        assert 503 in statuses


async def test_a_revocation_reaches_another_host_at_once(postgres_url: str, tmp_path: Path) -> None:
    """Two applications (two hosts) on one database, keys trusted for five minutes: a key
    revoked, or an application narrowed, on one is refused by the other within a second."""
    await run_migrations(postgres_url, apply=True)

    def host(name: str) -> Settings:
        return make_settings(
            tmp_path / name, enabled=["echo"], store=postgres_url, auth={"cache_ttl": 300}
        )

    pepper = tmp_path / "one" / "pepper"
    async with app_client(host("one"), plugins={"echo": EchoProvider()}) as one:
        (tmp_path / "two").mkdir()
        (tmp_path / "two" / "pepper").write_bytes(pepper.read_bytes())  # the same pepper
        async with app_client(host("two"), plugins={"echo": EchoProvider()}) as two:
            key = await one.key(["echo_nom", "echo_age"], name="mairie")
            other = await one.key(["echo_nom", "echo_age"], name="caf")

            async def status(client: TestClient, key: str) -> int:
                answer = await client.http.get(
                    EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": key}
                )
                return answer.status_code

            async def body(client: TestClient, key: str) -> dict[str, object]:
                answer = await client.http.get(
                    EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": key}
                )
                return dict(answer.json())

            assert await status(two, key) == 200  # now cached by host two for 300 s
            assert (await body(two, other))["personne"] == {"nom": "MARTIN", "age": 42}

            mairie = await one.app.key_store.application_by_name("mairie")
            assert mairie is not None
            keys = await one.app.key_store.list_keys()
            (revoked,) = [k for k in keys if k.application_id == mairie.id]
            assert await one.app.key_store.revoke_key(revoked.id, 1.0)
            caf = await one.app.key_store.application_by_name("caf")
            assert caf is not None
            await one.app.key_store.update_application(
                msgspec.structs.replace(caf, scopes=("echo_nom",))
            )

            for _ in range(50):
                if await status(two, key) == 401:
                    break
                await anyio.sleep(0.05)
            assert await status(two, key) == 401
            assert (await body(two, other))["personne"] == {"nom": "MARTIN"}
