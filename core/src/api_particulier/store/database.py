"""A plugin's own tables in the deployment's store: ``context.database``.

The tables are made by the plugin's revisions (``store_migrations``); this runs statements
on them, on whichever store the deployment has: ``keys.sqlite3`` in the embedded mode, the
PostgreSQL database otherwise. Statements are SQLAlchemy ``text()`` with ``:name``
parameters, or SQLAlchemy Core: written portably, one statement serves both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .base import StoreUnavailable

Statement = str | sa.Executable


def _statement(statement: Statement) -> sa.Executable:
    return sa.text(statement) if isinstance(statement, str) else statement


class StoreDatabase:
    """Runs a plugin's statements, each in a transaction of its own."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect  # "sqlite" or "postgresql"

    async def execute(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement that changes rows; the number of rows it changed."""
        raise NotImplementedError

    async def fetch_all(
        self, statement: Statement, params: Mapping[str, Any] | None = None
    ) -> list[Sequence[Any]]:
        """Run a query; its rows."""
        raise NotImplementedError

    async def execute_all(
        self, steps: Sequence[tuple[Statement, Mapping[str, Any] | None]]
    ) -> list[int]:
        """Run statements that change rows in one transaction: all of them or none (a
        statement that fails, a unique constraint for instance, undoes the others before its
        exception is raised); the number of rows each changed."""
        raise NotImplementedError

    async def close(self) -> None:
        return None


class SQLiteDatabase(StoreDatabase):
    def __init__(self, path: Path) -> None:
        super().__init__("sqlite")
        # The key store's file, in WAL mode: one writer at a time, waiting up to 5 s.
        self._engine = sa.create_engine(
            f"sqlite:///{path}", connect_args={"timeout": 5}, poolclass=sa.NullPool
        )

    def _run(self, statement: Statement, params: Mapping[str, Any] | None, rows: bool) -> Any:
        with self._engine.begin() as connection:
            result = connection.execute(_statement(statement), dict(params or {}))
            return [tuple(row) for row in result] if rows else result.rowcount

    async def execute(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        return int(await anyio.to_thread.run_sync(self._run, statement, params, False))

    def _run_all(self, steps: Sequence[tuple[Statement, Mapping[str, Any] | None]]) -> list[int]:
        with self._engine.begin() as connection:
            return [
                connection.execute(_statement(statement), dict(params or {})).rowcount
                for statement, params in steps
            ]

    async def execute_all(
        self, steps: Sequence[tuple[Statement, Mapping[str, Any] | None]]
    ) -> list[int]:
        counts: list[int] = await anyio.to_thread.run_sync(self._run_all, list(steps))
        return counts

    async def fetch_all(
        self, statement: Statement, params: Mapping[str, Any] | None = None
    ) -> list[Sequence[Any]]:
        found: list[Sequence[Any]] = await anyio.to_thread.run_sync(
            self._run, statement, params, True
        )
        return found

    async def close(self) -> None:
        self._engine.dispose()


class PostgresPluginDatabase(StoreDatabase):
    def __init__(self, url: str) -> None:
        super().__init__("postgresql")
        self._url = url
        self._engine: AsyncEngine | None = None

    def _connected(self) -> AsyncEngine:
        if self._engine is None:
            from .postgresql import sqlalchemy_url

            # Opened at first use: most deployments' plugins keep no table.
            self._engine = create_async_engine(
                sqlalchemy_url(self._url), pool_size=2, max_overflow=3, pool_pre_ping=True
            )
        return self._engine

    async def _run(self, statement: Statement, params: Mapping[str, Any] | None, rows: bool) -> Any:
        if rows:
            return await self._transaction([(statement, params)], rows=True)
        return (await self._transaction([(statement, params)], rows=False))[0]

    async def _transaction(
        self, steps: Sequence[tuple[Statement, Mapping[str, Any] | None]], *, rows: bool
    ) -> Any:
        try:
            async with self._connected().begin() as connection:
                counts: list[int] = []
                for statement, params in steps:
                    result = await connection.execute(_statement(statement), dict(params or {}))
                    if rows:
                        return [tuple(row) for row in result]
                    counts.append(result.rowcount)
                return counts
        except (OSError, sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise StoreUnavailable(f"PostgreSQL is not reachable ({type(exc).__name__})") from None
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable("PostgreSQL is not reachable (connection lost)") from None
            raise

    async def execute(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        return int(await self._run(statement, params, False))

    async def fetch_all(
        self, statement: Statement, params: Mapping[str, Any] | None = None
    ) -> list[Sequence[Any]]:
        found: list[Sequence[Any]] = await self._run(statement, params, True)
        return found

    async def execute_all(
        self, steps: Sequence[tuple[Statement, Mapping[str, Any] | None]]
    ) -> list[int]:
        counts: list[int] = await self._transaction(list(steps), rows=False)
        return counts

    async def close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()
