"""``api-particulier journal``: purge, verify the chain, export the public key."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..chain import ChainedRow, Verdict, load_public_key, public_pem, verify
from ..commands import CommandContext, Stores
from ..errors import ConfigError
from ..store import JournalStore
from .common import date_option

_PAGE = 5000


@click.group(help="maintain and verify the journal")
def journal() -> None:
    pass


@journal.command(help="delete rows older than the retention (sealed by a signed checkpoint)")
@click.pass_obj
def purge(ctx: CommandContext) -> int:
    retention = ctx.settings.core.journal.retention_days
    seal = ctx.app.journal.seal

    async def work(stores: Stores) -> int:
        removed = await stores.journal.purge_calls(time.time() - retention * 86400, seal)
        print(f"{removed} journal rows older than {retention} days removed")
        return 0

    return ctx.run(work)


@journal.command(name="public-key", help="print the public key auditors verify the journal with")
@click.pass_obj
def public_key(ctx: CommandContext) -> int:
    signer = ctx.app.signer
    if signer is None:
        raise ConfigError(
            ["no journal signing key: set [core.journal] signing_key or "
             "API_PARTICULIER_JOURNAL_SIGNING_KEY"]
        )  # fmt: skip
    sys.stdout.write(public_pem(signer.public_key))
    return 0


@journal.command(
    name="verify",
    help="walk the journal's hash chain and check its signed checkpoints; exit 1 naming "
    "the first row changed, deleted or inserted, or the first checkpoint changed",
)
@click.option(
    "--since",
    metavar="DATE",
    callback=date_option,
    help="start at the last checkpoint before DATE (YYYY-MM-DD) instead of the beginning",
)
@click.option(
    "--public-key",
    "public_key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the service's public key (PEM); default: the configured signing key's",
)
@click.pass_obj
def verify_command(ctx: CommandContext, since: float | None, public_key_path: Path | None) -> int:
    key: Ed25519PublicKey | None = None
    if public_key_path is not None:
        key = load_public_key(public_key_path.read_bytes())
    elif ctx.app.signer is not None:
        key = ctx.app.signer.public_key

    async def work(stores: Stores) -> int:
        verdict = await verify_store(stores.journal, key, since)
        for note in verdict.notes:
            print(f"note: {note}")
        if not verdict.ok:
            print(f"journal altered: {verdict.problem}", file=sys.stderr)
            return 1
        print(describe(verdict))
        return 0

    return ctx.run(work)


async def verify_store(
    store: JournalStore, key: Ed25519PublicKey | None, since: float | None
) -> Verdict:
    """:func:`api_particulier.chain.verify` over a store's rows."""
    head = await store.chain_head()

    async def rows(after: int) -> AsyncIterator[ChainedRow]:
        # After every row at position ``after``, whatever its id.
        position = (after, 2**62)
        while True:
            page = await store.chained_rows(position, _PAGE)
            for row in page:
                yield row
            if len(page) < _PAGE:
                return
            last = page[-1]
            assert last.seq is not None
            position = (last.seq, last.row_id)

    return await verify(
        head=head,
        checkpoints=await store.checkpoints(),
        rows=rows,
        unchained=await store.rows_outside_chain(head.started, 1),
        public_key=key,
        since=since,
    )


def describe(verdict: Verdict) -> str:
    if verdict.rows == 0:
        walked = "no row to walk"
    else:
        walked = (
            f"{verdict.rows} rows verified (positions {verdict.first_seq} to {verdict.last_seq})"
        )
    lines = [f"journal intact: {walked}"]
    if verdict.last_signed is not None:
        lines.append(
            f"last signed checkpoint: position {verdict.last_signed.seq} "
            f"(key {verdict.last_signed.key_id})"
        )
    if verdict.unsigned_tail:
        lines.append(f"{verdict.unsigned_tail} rows after it are chained but not signed yet")
    return "\n".join(lines)
