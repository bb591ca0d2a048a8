"""Where applications, keys and the journal are kept."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..settings import Settings
from .base import JournalStore, KeyStore
from .models import ApiKey, Application, KeyMatch
from .sqlite import SQLiteJournalStore, SQLiteKeyStore

__all__ = [
    "ApiKey",
    "Application",
    "JournalStore",
    "KeyMatch",
    "KeyStore",
    "open_stores",
]


def open_stores(settings: Settings) -> tuple[KeyStore, JournalStore]:
    """Build the stores named by ``[core] store`` (not yet connected)."""
    store = settings.core.store
    if store == "sqlite":
        base = settings.data_dir
    elif store.startswith("sqlite:///"):
        base = Path(store.removeprefix("sqlite:///"))
    else:
        raise ConfigError([f'[core] store: unsupported store {store!r} (use "sqlite")'])
    durable = settings.core.journal.mode == "required"
    return (
        SQLiteKeyStore(base / "keys.sqlite3"),
        SQLiteJournalStore(base / "journal.sqlite3", durable=durable),
    )
