"""Where applications, keys and the journal are kept: SQLite files in the embedded mode,
PostgreSQL for several hosts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError
from ..settings import ENV_PREFIX, Settings
from .base import JournalStore, KeyStore, StoreUnavailable
from .models import ApiKey, Application, KeyMatch
from .sqlite import SQLiteJournalStore, SQLiteKeyStore

__all__ = [
    "ApiKey",
    "Application",
    "JournalStore",
    "KeyMatch",
    "KeyStore",
    "StoreUnavailable",
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


def open_stores(settings: Settings) -> tuple[KeyStore, JournalStore]:
    """Build the stores named by the settings (not yet connected)."""
    url = store_url(settings)
    if is_postgresql(url):
        from .postgresql import PostgresDatabase, PostgresJournalStore, PostgresKeyStore

        pool = settings.core.postgresql
        database = PostgresDatabase(
            url, min_size=pool.min_connections, max_size=pool.max_connections
        )
        return PostgresKeyStore(database), PostgresJournalStore(database)
    if url == "sqlite":
        base = settings.data_dir
    elif url.startswith("sqlite:///"):
        base = Path(url.removeprefix("sqlite:///"))
    else:
        raise ConfigError(
            ['[core] store: unsupported store (use "sqlite", sqlite:///DIR or postgresql://…)']
        )
    durable = settings.core.journal.mode == "required"
    return (
        SQLiteKeyStore(base / "keys.sqlite3"),
        SQLiteJournalStore(base / "journal.sqlite3", durable=durable),
    )
