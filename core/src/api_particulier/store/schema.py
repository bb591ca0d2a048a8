"""The store's schema: one Alembic history for SQLite and PostgreSQL.

The history has one branch per database part, named by its label: ``keys`` (applications
and keys) and ``journal`` (the calls). On PostgreSQL every branch lives in the one
database; in the embedded SQLite mode, ``keys`` is ``keys.sqlite3`` and ``journal`` is
``journal.sqlite3``.

The embedded mode upgrades itself when it opens; a PostgreSQL store is upgraded by
``api-particulier db upgrade`` (before a rolling restart), and a service finding it at an
older revision refuses to start, naming that command.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"
KEYS = "keys"
JOURNAL = "journal"
UPGRADE_COMMAND = "api-particulier db upgrade"

# The revision at which a database made before migrations existed is stamped, by a table it
# holds.
_PRE_MIGRATION = {KEYS: ("applications", "keys_0001"), JOURNAL: ("calls", "journal_0001")}


class SchemaOutdated(Exception):
    """The store is at an older revision than this release needs."""


@dataclass(frozen=True)
class BranchState:
    branch: str
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


class PluginMigrations:
    """The plugins' revision directories (``store_migrations``), by plugin name: each is a
    branch of the history labelled with its plugin's name. Filled at boot, before any store
    opens; read by the stores and the ``db`` commands."""

    def __init__(self) -> None:
        self.directories: dict[str, Path] = {}

    def add(self, plugin: str, directory: Path) -> None:
        self.directories[plugin] = directory

    def problems(self) -> list[str]:
        """What is wrong with the plugins' revisions, one line each."""
        found = []
        for plugin, directory in sorted(self.directories.items()):
            if not directory.is_dir():
                found.append(f"plugin {plugin!r}: store_migrations: no directory {directory}")
                continue
            try:
                _script(self).get_revision(f"{plugin}@head")
            except Exception as exc:  # alembic's own errors: a label missing, a broken file
                found.append(
                    f"plugin {plugin!r}: store_migrations: no branch labelled {plugin!r} "
                    f"({type(exc).__name__})"
                )
        return found

    def branches(self) -> tuple[str, ...]:
        return tuple(sorted(self.directories))


NO_PLUGINS = PluginMigrations()


def _config(plugins: PluginMigrations = NO_PLUGINS) -> Config:
    config = Config()
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", str(MIGRATIONS))
    locations = [MIGRATIONS / "versions", *(plugins.directories[p] for p in plugins.branches())]
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    return config


def _script(plugins: PluginMigrations = NO_PLUGINS) -> ScriptDirectory:
    return ScriptDirectory.from_config(_config(plugins))


def _branch_revisions(script: ScriptDirectory, branch: str) -> set[str]:
    return {r.revision for r in script.iterate_revisions(f"{branch}@head", "base")}


def head(branch: str, plugins: PluginMigrations = NO_PLUGINS) -> str:
    """The revision this release needs for ``branch``."""
    revision = _script(plugins).get_revision(f"{branch}@head")
    assert revision is not None
    return revision.revision


def states(
    connection: sa.Connection, branches: Sequence[str], plugins: PluginMigrations = NO_PLUGINS
) -> list[BranchState]:
    """Where each branch of this database is, and where this release needs it."""
    script = _script(plugins)
    current = set(MigrationContext.configure(connection).get_current_heads())
    found = []
    for branch in branches:
        mine = current & _branch_revisions(script, branch)
        found.append(BranchState(branch, next(iter(mine), None), head(branch, plugins)))
    return found


def upgrade(
    connection: sa.Connection, branches: Sequence[str], plugins: PluginMigrations = NO_PLUGINS
) -> list[BranchState]:
    """Bring each branch to its head; the states before the upgrade."""
    before = states(connection, branches, plugins)
    config = _config(plugins)
    config.attributes["connection"] = connection
    inspector = sa.inspect(connection)
    for state in before:
        if state.current is None and state.branch in _PRE_MIGRATION:
            table, revision = _PRE_MIGRATION[state.branch]
            if inspector.has_table(table):
                command.stamp(config, revision)
        if not state.up_to_date:
            command.upgrade(config, f"{state.branch}@head")
    connection.commit()
    return before


def require_current(
    connection: sa.Connection, branches: Sequence[str], plugins: PluginMigrations = NO_PLUGINS
) -> None:
    """Raise :class:`SchemaOutdated` unless every branch is at its head."""
    behind = [s for s in states(connection, branches, plugins) if not s.up_to_date]
    if behind:
        where = ", ".join(
            f"{s.branch} at {s.current or 'nothing'} (needs {s.head})" for s in behind
        )
        raise SchemaOutdated(
            f"the store's schema is older than this release: {where}; run `{UPGRADE_COMMAND}`"
        )
