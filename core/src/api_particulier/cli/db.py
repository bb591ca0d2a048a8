"""``api-particulier db upgrade`` and ``db status``: the store's schema."""

from __future__ import annotations

import anyio
import click

from ..commands import CommandContext
from ..errors import ApiParticulierError
from ..store import StoreUnavailable, migrate
from ..store.schema import BranchState


@click.group(help="the store's schema: where it is, and bringing it to this release")
def db() -> None:
    pass


def _states(ctx: CommandContext, *, apply: bool) -> list[BranchState]:
    try:
        plugins = ctx.app.migrations  # the enabled plugins' tables, with the core's
        return anyio.run(lambda: migrate(ctx.settings, apply=apply, plugins=plugins))
    except StoreUnavailable as exc:
        raise ApiParticulierError(f"[core] store: {exc}") from None


@db.command(
    help="bring the store's schema to this release (run it before starting a new release "
    "on a PostgreSQL store; the embedded SQLite store upgrades itself)"
)
@click.pass_obj
def upgrade(ctx: CommandContext) -> int:
    for state in _states(ctx, apply=True):
        if state.up_to_date:
            print(f"{state.branch}: at {state.head}, nothing to do")
        else:
            print(f"{state.branch}: {state.current or 'empty'} -> {state.head}")
    return 0


@db.command(help="where the store's schema is; status 1 when it is older than this release")
@click.pass_obj
def status(ctx: CommandContext) -> int:
    behind = False
    for state in _states(ctx, apply=False):
        if state.up_to_date:
            print(f"{state.branch}: {state.head} (current)")
        else:
            behind = True
            print(f"{state.branch}: {state.current or 'empty'}, this release needs {state.head}")
    if behind:
        print("run `api-particulier db upgrade`")
    return 1 if behind else 0
