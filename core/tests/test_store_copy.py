"""`api-particulier store copy`: a populated SQLite deployment moved to PostgreSQL and back,
with equal counts, nothing copied twice, and keys that keep working (same pepper)."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest
from api_particulier.cli import main
from api_particulier.testing import GOOD_PARAMS, EchoProvider, TestClient, app_client, make_settings


def copy(capsys: pytest.CaptureFixture[str], source: str, target: str) -> dict[str, list[int]]:
    status = main(["store", "copy", source, target])
    out = capsys.readouterr().out
    assert status == 0, out
    counts = {}
    for found in re.finditer(r"^(.+): (\d+) copied; (\d+) in SRC, (\d+) in DST$", out, re.M):
        counts[found[1]] = [int(found[2]), int(found[3]), int(found[4])]
    assert set(counts) == {"applications", "keys", "journal rows"}, out
    return counts


async def ask(client: TestClient, key: str) -> int:
    answer = await client.http.get(
        EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": key}
    )
    return int(answer.status_code)


def test_sqlite_to_postgresql_and_back(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("API_PARTICULIER_DATA_DIR", str(data_dir))

    async def populate() -> tuple[str, str]:
        embedded = make_settings(data_dir, enabled=["echo"], auth={"cache_ttl": 0})
        async with app_client(embedded, plugins={"echo": EchoProvider()}) as client:
            kept = await client.key(["echo_nom"], name="mairie")
            gone = await client.key(["echo_nom", "echo_age"], name="caf")
            for key in (kept, kept, gone):
                assert await ask(client, key) == 200
            caf = await client.app.key_store.application_by_name("caf")
            assert caf is not None
            keys = await client.app.key_store.list_keys()
            (revoked,) = [k for k in keys if k.application_id == caf.id]
            await client.app.key_store.revoke_key(revoked.id, 1.0)
            assert await ask(client, gone) == 401
        return kept, gone

    kept, gone = anyio.run(populate)
    source = f"sqlite:///{data_dir}"

    first = copy(capsys, source, postgres_url)
    assert first == {
        "applications": [2, 2, 2],
        "keys": [2, 2, 2],
        "journal rows": [4, 4, 4],
    }
    again = copy(capsys, source, postgres_url)
    assert again == {"applications": [0, 2, 2], "keys": [0, 2, 2], "journal rows": [0, 4, 4]}

    async def serve_from_postgresql() -> int:
        # With the data directory's pepper: the keys work as before.
        on_postgres = make_settings(data_dir, enabled=["echo"], store=postgres_url)
        async with app_client(on_postgres, plugins={"echo": EchoProvider()}) as client:
            assert await ask(client, kept) == 200
            assert await ask(client, gone) == 401
            await client.app.journal.flush()
            return await client.app.journal_store.count_calls()

    assert anyio.run(serve_from_postgresql) == 4 + 2  # the copied rows, then these two calls

    back = copy(capsys, postgres_url, f"sqlite:///{tmp_path / 'back'}")
    assert back == {"applications": [2, 2, 2], "keys": [2, 2, 2], "journal rows": [6, 6, 6]}
