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


def _config() -> Config:
    config = Config()
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_locations", str(MIGRATIONS / "versions"))
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def _branch_revisions(script: ScriptDirectory, branch: str) -> set[str]:
    return {r.revision for r in script.iterate_revisions(f"{branch}@head", "base")}


def head(branch: str) -> str:
    """The revision this release needs for ``branch``."""
    revision = _script().get_revision(f"{branch}@head")
    assert revision is not None
    return revision.revision


def states(connection: sa.Connection, branches: Sequence[str]) -> list[BranchState]:
    """Where each branch of this database is, and where this release needs it."""
    script = _script()
    current = set(MigrationContext.configure(connection).get_current_heads())
    found = []
    for branch in branches:
        mine = current & _branch_revisions(script, branch)
        found.append(BranchState(branch, next(iter(mine), None), head(branch)))
    return found


def upgrade(connection: sa.Connection, branches: Sequence[str]) -> list[BranchState]:
    """Bring each branch to its head; the states before the upgrade."""
    before = states(connection, branches)
    config = _config()
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


def require_current(connection: sa.Connection, branches: Sequence[str]) -> None:
    """Raise :class:`SchemaOutdated` unless every branch is at its head."""
    behind = [s for s in states(connection, branches) if not s.up_to_date]
    if behind:
        where = ", ".join(
            f"{s.branch} at {s.current or 'nothing'} (needs {s.head})" for s in behind
        )
        raise SchemaOutdated(
            f"the store's schema is older than this release: {where}; run `{UPGRADE_COMMAND}`"
        )
