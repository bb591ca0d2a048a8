"""``api-particulier store copy SRC DST``: move a deployment between stores."""

from __future__ import annotations

import anyio
import click

from ..commands import CommandContext
from ..errors import ApiParticulierError
from ..store import StoreUnavailable, migrate, open_stores
from ..store.copy import CopyReport, copy_stores
from ..store.schema import SchemaOutdated


@click.group(help="the store as a whole")
def store() -> None:
    pass


@store.command(
    help="Copy applications, keys and journal from the store SRC into the store DST "
    '(each "sqlite", sqlite:///DIR or postgresql://…; DST\'s schema is upgraded first). '
    "Run it again at will: nothing is copied twice. Prints the counts on both sides; the "
    "keys keep working on DST with the same pepper.",
    short_help="copy a store into another (SQLite ⇄ PostgreSQL)",
)
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
@click.pass_obj
def copy(ctx: CommandContext, source: str, target: str) -> int:
    settings = ctx.settings
    plugins = ctx.app.migrations  # the enabled plugins' tables are made in DST too

    async def work() -> CopyReport:
        await migrate(settings, apply=True, url=target, plugins=plugins)
        sides = [open_stores(settings, source), open_stores(settings, target)]
        opened = []
        try:
            for side in sides:
                for one in side:
                    await one.open()
                    opened.append(one)
            return await copy_stores(sides[0], sides[1])
        finally:
            for one in reversed(opened):
                await one.close()

    try:
        report = anyio.run(work)
    except (StoreUnavailable, SchemaOutdated) as exc:
        raise ApiParticulierError(f"store: {exc}") from None
    for name, tally in (
        ("applications", report.applications),
        ("keys", report.keys),
        ("journal rows", report.calls),
    ):
        print(f"{name}: {tally.copied} copied; {tally.source} in SRC, {tally.target} in DST")
    complete = all(t.target >= t.source for t in (report.applications, report.keys, report.calls))
    return 0 if complete else 1
