"""Where applications, keys and the journal are kept: SQLite files in the embedded mode,
PostgreSQL for several hosts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import anyio.to_thread

from ..errors import ConfigError
from ..settings import ENV_PREFIX, Settings
from .base import JournalStore, KeyStore, StoreUnavailable
from .database import PostgresPluginDatabase, SQLiteDatabase, StoreDatabase
from .models import ApiKey, Application, DailyCount, KeyMatch
from .schema import JOURNAL, NO_PLUGINS, BranchState, PluginMigrations
from .sqlite import SQLiteJournalStore, SQLiteKeyStore, keys_branches, sqlite_schema

__all__ = [
    "ApiKey",
    "Application",
    "DailyCount",
    "JournalStore",
    "KeyMatch",
    "KeyStore",
    "StoreDatabase",
    "StoreUnavailable",
    "migrate",
    "open_stores",
    "store_url",
]

DATABASE_URL_ENV = ENV_PREFIX + "DATABASE_URL"
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def store_url(settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """The store named by ``$API_PARTICULIER_DATABASE_URL`` or ``[core] store`` (its
    password revealed: never log it)."""
    environ = os.environ if environ is None else environ
    configured = settings.core.store
    url = environ.get(DATABASE_URL_ENV) or (
        configured if isinstance(configured, str) else configured.reveal()
    )
    return url


def is_postgresql(url: str) -> bool:
    return url.startswith(_POSTGRES_SCHEMES)


def sqlite_directory(settings: Settings, url: str) -> Path:
    """The directory of an SQLite store's two files."""
    if url == "sqlite":
        return settings.data_dir
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    raise ConfigError(
        ['[core] store: unsupported store (use "sqlite", sqlite:///DIR or postgresql://…)']
    )


async def migrate(
    settings: Settings,
    *,
    apply: bool,
    url: str | None = None,
    plugins: PluginMigrations = NO_PLUGINS,
) -> list[BranchState]:
    """Where each branch of the store's schema is (before upgrading it, with ``apply``):
    the configured store's, or the one at ``url``. Raises :class:`StoreUnavailable` when
    the store cannot be reached."""
    url = url or store_url(settings)
    if is_postgresql(url):
        from .postgresql import run_migrations

        return await run_migrations(url, apply=apply, check=False, plugins=plugins)
    base = sqlite_directory(settings, url)
    found: list[BranchState] = []
    parts = ((keys_branches(plugins), "keys.sqlite3"), ((JOURNAL,), "journal.sqlite3"))
    for branches, name in parts:
        found += await anyio.to_thread.run_sync(
            sqlite_schema, base / name, branches, apply, plugins
        )
    return found


def plugin_database(settings: Settings, url: str | None = None) -> StoreDatabase:
    """Where plugins keep their own tables: the store's database (not yet connected)."""
    url = url or store_url(settings)
    if is_postgresql(url):
        return PostgresPluginDatabase(url)
    return SQLiteDatabase(sqlite_directory(settings, url) / "keys.sqlite3")


def open_stores(
    settings: Settings, url: str | None = None, plugins: PluginMigrations = NO_PLUGINS
) -> tuple[KeyStore, JournalStore]:
    """Build the stores named by the settings, or by ``url`` (not yet connected). The
    plugins' revisions may be added to ``plugins`` until the stores open."""
    url = url or store_url(settings)
    if is_postgresql(url):
        from .postgresql import PostgresDatabase, PostgresJournalStore, PostgresKeyStore

        pool = settings.core.postgresql
        database = PostgresDatabase(
            url, min_size=pool.min_connections, max_size=pool.max_connections, plugins=plugins
        )
        return PostgresKeyStore(database), PostgresJournalStore(
            database, chained=settings.core.journal.chain
        )
    base = sqlite_directory(settings, url)
    durable = settings.core.journal.mode == "required"
    return (
        SQLiteKeyStore(base / "keys.sqlite3", plugins),
        SQLiteJournalStore(
            base / "journal.sqlite3", durable=durable, chained=settings.core.journal.chain
        ),
    )
