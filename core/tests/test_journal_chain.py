"""The journal's hash chain and signed checkpoints, on SQLite and PostgreSQL: every edit of
the stored rows or checkpoints is found and named, purges keep the chain verifiable."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from api_particulier.chain import GENESIS, Signer, link, public_pem
from api_particulier.cli import main
from api_particulier.cli.journal import verify_store
from api_particulier.journal import Journal
from api_particulier.settings import JournalConfig
from api_particulier.store import JournalStore
from api_particulier.store.postgresql import PostgresDatabase, PostgresJournalStore, run_migrations
from api_particulier.store.scope_sets import scope_set_key
from api_particulier.store.sqlite import SQLiteJournalStore
from api_particulier.types import CallRecord
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.anyio

SIGNER = Signer(Ed25519PrivateKey.generate())
KEY = SIGNER.public_key
Execute = Callable[..., Awaitable[Any]]
SCOPES = "dgfip_revenu_fiscal_reference"


def record(n: int, time: float | None = None) -> CallRecord:
    return CallRecord(
        request_id=f"req-{n}",
        time=1000.0 + n if time is None else time,
        route="/api/v2/avis-imposition",
        status=200,
        latency_ms=1.5,
        key_id="key-1",
        application_id="app-1",
        provider="dgfip",
        subject=f"pseudonym-{n % 3}",
        scopes=SCOPES,
    )


class Journaled:
    """A journal store, a way to edit its tables behind its back (``?`` placeholders), and
    a checkpoint signer."""

    def __init__(self, store: JournalStore, execute: Execute) -> None:
        self.store = store
        self.execute = execute

    async def write(self, count: int, batch: int = 4, start: int = 1) -> None:
        for first in range(start, start + count, batch):
            await self.store.write_calls(
                [record(n) for n in range(first, min(first + batch, start + count))]
            )

    async def sign_head(self) -> None:
        head = await self.store.chain_head()
        await self.store.add_checkpoint(
            SIGNER.sign(seq=head.seq, digest=head.digest, time=2000.0 + head.seq, kind="periodic")
        )

    async def problem(self, since: float | None = None) -> str | None:
        return (await verify_store(self.store, KEY, since)).problem


@contextlib.asynccontextmanager
async def sqlite_journal(path: Path) -> AsyncIterator[Journaled]:
    store = SQLiteJournalStore(path)
    await store.open()

    async def execute(sql: str, *args: Any) -> Any:
        with contextlib.closing(sqlite3.connect(path)) as connection, connection:
            return connection.execute(sql, args).fetchall()

    try:
        yield Journaled(store, execute)
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def postgres_journal(url: str) -> AsyncIterator[Journaled]:
    await run_migrations(url, apply=True)
    store = PostgresJournalStore(PostgresDatabase(url))
    await store.open()
    connection = await asyncpg.connect(url)

    async def execute(sql: str, *args: Any) -> Any:
        for n in range(1, len(args) + 1):
            sql = sql.replace("?", f"${n}", 1)
        return await connection.fetch(sql, *args)

    try:
        yield Journaled(store, execute)
    finally:
        await connection.close()
        await store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Journaled]:
    if request.param == "sqlite":
        async with sqlite_journal(tmp_path / "journal.sqlite3") as journaled:
            yield journaled
        return
    async with postgres_journal(request.getfixturevalue("postgres_url")) as journaled:
        yield journaled


async def test_an_untouched_journal_verifies(journal: Journaled) -> None:
    await journal.write(10)
    await journal.sign_head()
    await journal.write(3, start=11)
    verdict = await verify_store(journal.store, KEY, None)
    assert verdict.ok, verdict.problem
    assert (verdict.rows, verdict.first_seq, verdict.last_seq) == (13, 1, 13)
    assert verdict.last_signed is not None and verdict.last_signed.seq == 10
    assert verdict.unsigned_tail == 3


async def test_rows_are_chained_in_commit_order(journal: Journaled) -> None:
    await journal.write(6, batch=4)
    rows = await journal.store.chained_rows((0, 0), 100)
    previous = GENESIS
    for position, row in enumerate(rows, start=1):
        assert row.seq == position
        assert row.digest == link(previous, position, row.record)
        previous = row.digest or ""
    assert (await journal.store.chain_head()).digest == previous


async def test_a_changed_row_is_named(journal: Journaled) -> None:
    await journal.write(8)
    await journal.sign_head()
    await journal.execute("UPDATE calls SET status = 404 WHERE seq = 5")
    problem = await journal.problem()
    assert problem is not None
    assert "position 5, request req-5) was changed" in problem


async def test_a_deleted_row_is_named(journal: Journaled) -> None:
    await journal.write(8)
    await journal.sign_head()
    await journal.execute("DELETE FROM calls WHERE seq = 4")
    assert await journal.problem() == (
        "the row at position 4 was deleted (before row 5 (position 5, request req-5))"
    )


async def test_the_last_rows_deleted_are_named(journal: Journaled) -> None:
    await journal.write(8)
    await journal.sign_head()
    await journal.execute("DELETE FROM calls WHERE seq > 6")
    problem = await journal.problem()
    assert problem is not None and "from position 7 to 8" in problem


async def test_a_row_inserted_at_a_taken_position_is_named(journal: Journaled) -> None:
    await journal.write(8)
    rows = await journal.store.chained_rows((3, 0), 1)
    forged = rows[0]
    await journal.execute(
        "INSERT INTO calls (request_id, time, route, status, latency_ms, cache_hit, seq, digest)"
        " VALUES ('forged', ?, '/api/v2/avis-imposition', 200, 1.0, ?, 3, ?)",
        forged.record.time,
        False,
        forged.digest,
    )
    problem = await journal.problem()
    assert problem is not None
    assert "request forged) was inserted: position 3 is already taken" in problem


async def test_a_row_inserted_with_the_rest_renumbered_is_named(journal: Journaled) -> None:
    await journal.write(8)
    previous = (await journal.store.chained_rows((3, 0), 1))[0]
    assert previous.seq == 3 and previous.digest is not None
    forged = record(99)
    await journal.execute("UPDATE calls SET seq = seq + 1 WHERE seq > 3")
    await journal.execute(
        "INSERT INTO calls (request_id, time, route, status, latency_ms, key_id, "
        "application_id, provider, cache_hit, subject, scope_set, seq, digest) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 4, ?)",
        forged.request_id,
        forged.time,
        forged.route,
        forged.status,
        forged.latency_ms,
        forged.key_id,
        forged.application_id,
        forged.provider,
        False,
        forged.subject,
        # The same scopes as the rows written before: their set is already stored.
        scope_set_key(forged.scopes or ""),
        link(previous.digest, 4, forged),
    )
    problem = await journal.problem()
    assert problem is not None
    assert "(position 4, request req-99) was inserted before row" in problem


async def test_a_row_slipped_in_outside_the_chain_is_named(journal: Journaled) -> None:
    await journal.write(4)
    head = await journal.store.chain_head()
    await journal.execute(
        "INSERT INTO calls (request_id, time, route, status, latency_ms, cache_hit) "
        "VALUES ('slipped', ?, '/api/v2/avis-imposition', 200, 1.0, ?)",
        head.started + 1,
        False,
    )
    problem = await journal.problem()
    assert problem is not None and "request slipped) was inserted outside the chain" in problem


async def test_rows_rewritten_with_their_digests_recomputed_fail_the_checkpoint(
    journal: Journaled,
) -> None:
    await journal.write(8)
    await journal.sign_head()
    # Whoever writes the database can recompute every digest, but not sign.
    rows = await journal.store.chained_rows((0, 0), 100)
    previous = GENESIS
    for row in rows:
        assert row.seq is not None
        changed = row.record if row.seq != 2 else record(2, time=row.record.time + 0.5)
        digest = link(previous, row.seq, changed)
        await journal.execute(
            "UPDATE calls SET time = ?, digest = ? WHERE seq = ?", changed.time, digest, row.seq
        )
        previous = digest
    await journal.execute("UPDATE journal_chain SET digest = ?", previous)
    problem = await journal.problem()
    assert problem is not None and "the rows up to position 8 are not those signed" in problem


async def test_a_changed_checkpoint_is_named(journal: Journaled) -> None:
    await journal.write(4)
    await journal.sign_head()
    assert await journal.problem() is None
    await journal.execute("UPDATE journal_checkpoints SET time = time + 60")
    problem = await journal.problem()
    assert problem is not None
    assert problem.startswith("checkpoint at position 4 (")
    assert "does not carry a valid signature of this key" in problem


async def test_another_key_does_not_verify(journal: Journaled) -> None:
    await journal.write(2)
    await journal.sign_head()
    other = Ed25519PrivateKey.generate().public_key()
    verdict = await verify_store(journal.store, other, None)
    assert not verdict.ok


async def test_purges_keep_the_chain_verifiable(journal: Journaled) -> None:
    log = Journal(journal.store, JournalConfig(), signer=SIGNER)
    await journal.write(10)
    await log.checkpoint()
    removed = await journal.store.purge_calls(1000.0 + 6, log.seal)
    assert removed == 5
    verdict = await verify_store(journal.store, KEY, None)
    assert verdict.ok, verdict.problem
    assert (verdict.first_seq, verdict.last_seq) == (6, 10)
    await journal.write(4, start=11)
    assert await log.checkpoint() is not None
    assert await journal.store.purge_calls(1000.0 + 12, log.seal) == 6
    verdict = await verify_store(journal.store, KEY, None)
    assert verdict.ok, verdict.problem
    assert (verdict.rows, verdict.first_seq) == (3, 12)
    # Everything purged: the cut is the head, and the next rows follow it.
    assert await journal.store.purge_calls(5000.0, log.seal) == 3
    await journal.write(2, start=20)
    assert (await verify_store(journal.store, KEY, None)).ok
    # A changed row after a purge is still found.
    await journal.execute("UPDATE calls SET route = '/x' WHERE seq = 16")
    problem = await journal.problem()
    assert problem is not None and "position 16" in problem


async def test_since_starts_at_the_last_checkpoint_before_the_date(journal: Journaled) -> None:
    await journal.write(6)
    await journal.sign_head()  # position 6, signed at 2006
    await journal.write(3, start=7)
    await journal.execute("UPDATE calls SET status = 500 WHERE seq = 2")
    assert await journal.problem() is not None
    verdict = await verify_store(journal.store, KEY, 2010.0)
    assert verdict.ok, verdict.problem
    assert (verdict.first_seq, verdict.rows) == (7, 3)


async def test_batches_of_two_processes_chain_in_turn(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    async with sqlite_journal(path) as first, sqlite_journal(path) as second:
        await first.write(3)
        await second.write(3, start=4)
        await first.write(3, start=7)
        verdict = await verify_store(first.store, KEY, None)
        assert verdict.ok, verdict.problem
        assert verdict.rows == 9


# -- random edits ---------------------------------------------------------------------------

_edits = st.lists(
    st.tuples(st.sampled_from(["change", "delete", "insert"]), st.integers(1, 12)),
    min_size=1,
    max_size=3,
)


@settings(max_examples=40, deadline=None)
@given(edits=_edits, signed=st.booleans())
def test_any_edit_of_the_rows_is_found(edits: list[tuple[str, int]], signed: bool) -> None:
    async def scenario(path: Path) -> None:
        async with sqlite_journal(path) as journaled:
            await journaled.write(12, batch=5)
            if signed:
                await journaled.sign_head()
            assert await journaled.problem() is None
            for kind, position in edits:
                if kind == "change":
                    await journaled.execute(
                        "UPDATE calls SET latency_ms = latency_ms + 1 WHERE seq = ?", position
                    )
                elif kind == "delete":
                    await journaled.execute("DELETE FROM calls WHERE seq = ?", position)
                else:
                    await journaled.execute(
                        "INSERT INTO calls (request_id, time, route, status, latency_ms, "
                        "cache_hit, seq, digest) VALUES ('x', 1.0, '/', 200, 1.0, 0, ?, ?)",
                        position,
                        GENESIS,
                    )
            assert await journaled.problem() is not None

    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(scenario(Path(directory) / "journal.sqlite3"))


# -- the commands ----------------------------------------------------------------------------


def test_verify_and_public_key_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("API_PARTICULIER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("API_PARTICULIER_CONFIG", raising=False)
    monkeypatch.setenv("API_PARTICULIER_DISABLE_PLUGINS", "dgfip,cnaf,consent,ratelimit,cache")
    assert main(["journal", "public-key"]) == 0
    pem = capsys.readouterr().out
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    # The embedded mode generated its key once: the same on the next run.
    assert main(["journal", "public-key"]) == 0
    assert capsys.readouterr().out == pem
    key_file = tmp_path / "auditor.pem"
    key_file.write_text(pem)

    async def fill() -> None:
        from api_particulier.app import journal_signer
        from api_particulier.settings import load_settings

        signer = journal_signer(load_settings())
        assert signer is not None and public_pem(signer.public_key) == pem
        async with sqlite_journal(tmp_path / "journal.sqlite3") as journaled:
            await journaled.write(5)
            log = Journal(journaled.store, JournalConfig(), signer=signer)
            await log.checkpoint()

    asyncio.run(fill())
    assert main(["journal", "verify", "--public-key", str(key_file)]) == 0
    out = capsys.readouterr().out
    assert "journal intact: 5 rows verified (positions 1 to 5)" in out
    assert "last signed checkpoint: position 5" in out
    with contextlib.closing(sqlite3.connect(tmp_path / "journal.sqlite3")) as db, db:
        db.execute("UPDATE calls SET status = 500 WHERE seq = 2")
    assert main(["journal", "verify"]) == 1
    err = capsys.readouterr().err
    assert "journal altered: row 2 (position 2, request req-2) was changed" in err
    # From the checkpoint signed after the change, nothing is wrong.
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    assert main(["journal", "verify", "--since", tomorrow]) == 0


# -- upgrading a journal of an older release ------------------------------------------------


async def test_a_journal_of_the_previous_release_upgrades_and_chains_on(tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic import command
    from api_particulier.store.schema import _config

    path = tmp_path / "journal.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, "journal_0001")
        connection.execute(
            sa.text(
                "INSERT INTO calls (request_id, time, route, status, latency_ms, cache_hit) "
                "VALUES ('old', 5.0, '/api/v2/avis-imposition', 200, 1.0, 0)"
            )
        )
        connection.commit()
    engine.dispose()
    async with sqlite_journal(path) as journaled:  # the store upgrades its file
        await journaled.write(3)
        verdict = await verify_store(journaled.store, KEY, None)
        assert verdict.ok, verdict.problem
        assert verdict.rows == 3
        assert [r.request_id for r in await journaled.store.recent_calls(10)][-1] == "old"


async def test_rows_written_outside_the_chain_are_named(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    async with sqlite_journal(path) as chained:
        await chained.write(3)
    store = SQLiteJournalStore(path, chained=False)
    await store.open()
    try:
        await store.write_calls([record(4, time=time.time())])
        assert [r.request_id for r in await store.recent_calls(1)] == ["req-4"]
        verdict = await verify_store(store, KEY, None)
        assert verdict.problem is not None
        assert "request req-4) was inserted outside the chain" in verdict.problem
    finally:
        await store.close()


def _epoch(year: int, month: int, day: int) -> float:
    return dt.datetime(year, month, day, tzinfo=dt.UTC).timestamp()


async def test_a_purge_drops_only_the_months_the_chain_no_longer_needs(postgres_url: str) -> None:
    async with postgres_journal(postgres_url) as journaled:
        store = journaled.store
        assert isinstance(store, PostgresJournalStore)
        made = await store.ensure_partitions(_epoch(2026, 1, 15))
        assert made[:3] == ["calls_2026_01", "calls_2026_02", "calls_2026_03"]
        january, march = _epoch(2026, 1, 10), _epoch(2026, 3, 10)
        february = _epoch(2026, 2, 10)
        # The February row is written after a March one: a host whose clock was behind.
        await store.write_calls([record(1, time=january), record(2, time=march)])
        await store.write_calls([record(3, time=february)])
        log = Journal(store, JournalConfig(), signer=SIGNER)
        assert await store.purge_calls(_epoch(2026, 3, 1), log.seal) == 1
        partitions = {
            row["relname"]
            for row in await journaled.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'calls'"
            )
        }
        assert "calls_2026_01" not in partitions
        assert "calls_2026_02" in partitions  # the chain still needs its row
        verdict = await verify_store(store, KEY, None)
        assert verdict.ok, verdict.problem
        assert (verdict.first_seq, verdict.last_seq) == (2, 3)
        # Once the chain has moved past it, the month goes whole.
        await store.write_calls([record(4, time=_epoch(2026, 4, 2))])
        assert await store.purge_calls(_epoch(2026, 4, 1), log.seal) == 2
        verdict = await verify_store(store, KEY, None)
        assert verdict.ok, verdict.problem
        assert (verdict.first_seq, verdict.rows) == (4, 1)


async def test_a_changed_scope_set_names_the_first_row_that_uses_it(journal: Journaled) -> None:
    await journal.write(6)
    # The scopes' text is kept once per set: rewriting it rewrites every row using it.
    await journal.execute(
        "UPDATE journal_scope_sets SET scopes = ? WHERE scopes = ?",
        "dgfip_revenu_fiscal_reference dgfip_adresse_fiscale_taxation",
        "dgfip_revenu_fiscal_reference",
    )
    problem = await journal.problem()
    assert problem is not None
    assert "position 1, request req-1) was changed" in problem


def _fill_at_journal_0002(connection: Any, records: list[CallRecord]) -> None:
    """Bring a journal database to journal_0002 and write ``records`` as that release did:
    chained, the scopes' text in each row."""
    import sqlalchemy as sa
    from alembic import command
    from api_particulier.chain import rows as chain_rows
    from api_particulier.store.schema import _config

    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "journal_0002")
    written, head = chain_rows(records, (0, GENESIS))
    assert head is not None
    columns = (*CallRecord.__struct_fields__, "seq", "digest")
    for row in written:
        connection.execute(
            sa.text(
                f"INSERT INTO calls ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join(':' + name for name in columns)})"
            ),
            dict(zip(columns, row, strict=True)),
        )
    connection.execute(
        sa.text("UPDATE journal_chain SET seq = :seq, digest = :digest WHERE id = 1"),
        {"seq": head[0], "digest": head[1]},
    )
    connection.commit()


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_a_journal_with_scopes_in_each_row_upgrades_and_verifies(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import sqlalchemy as sa
    from api_particulier.store.postgresql import sqlalchemy_url
    from sqlalchemy.ext.asyncio import create_async_engine

    records = [record(n) for n in range(1, 5)] + [
        msgspec.structs.replace(record(5), scopes="dgfip_nombre_parts"),
        msgspec.structs.replace(record(6), scopes=None),
    ]
    if store == "sqlite":
        path = tmp_path / "journal.sqlite3"
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            _fill_at_journal_0002(connection, records)
        engine.dispose()
        opened = sqlite_journal(path)  # the store upgrades its file
    else:
        url = request.getfixturevalue("postgres_url")
        async_engine = create_async_engine(sqlalchemy_url(url), poolclass=sa.NullPool)
        async with async_engine.connect() as async_connection:
            await async_connection.run_sync(lambda c: _fill_at_journal_0002(c, records))
        await async_engine.dispose()
        opened = postgres_journal(url)  # `db upgrade`, then the store
    async with opened as journaled:
        assert await journaled.store.calls_between(0.0, 1e12) == records
        verdict = await verify_store(journaled.store, KEY, None)
        assert verdict.ok, verdict.problem
        await journaled.write(2, start=7)
        assert (await verify_store(journaled.store, KEY, None)).rows == 8
        sets = await journaled.execute("SELECT key, scopes FROM journal_scope_sets ORDER BY scopes")
        assert [tuple(found) for found in sets] == [
            (scope_set_key("dgfip_nombre_parts"), "dgfip_nombre_parts"),
            (scope_set_key(SCOPES), SCOPES),
        ]


async def test_the_scope_sets_go_back_into_the_rows_on_downgrade(tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic import command
    from api_particulier.store.schema import _config

    path = tmp_path / "journal.sqlite3"
    async with sqlite_journal(path) as journaled:
        await journaled.write(3)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.downgrade(config, "journal_0002")
        rows = connection.execute(sa.text("SELECT seq, scopes FROM calls ORDER BY seq")).all()
        tables = sa.inspect(connection).get_table_names()
        connection.commit()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(1, SCOPES), (2, SCOPES), (3, SCOPES)]
    assert "journal_scope_sets" not in tables
