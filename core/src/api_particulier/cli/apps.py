"""``api-particulier apps``: the applications keys belong to (habilitations)."""

from __future__ import annotations

import json
from typing import Any

import click
import msgspec

from .. import admin
from ..commands import CommandContext, Stores
from ..errors import ApiParticulierError, ConfigError
from ..store import Application, KeyStore
from .common import (
    detail_options,
    details_from,
    parse_date,
    parse_settings,
    setting_option,
    show_date,
)


@click.group(help="list, show and change applications")
def apps() -> None:
    pass


async def _named(store: KeyStore, name: str) -> Application:
    application = await store.application_by_name(name)
    if application is None:
        raise ApiParticulierError(f"no application named {name!r}")
    return application


@apps.command(name="list", help="one line per application")
@click.pass_obj
def listing(ctx: CommandContext) -> int:
    async def work(stores: Stores) -> int:
        for application in await stores.keys.list_applications():
            print(
                f"{application.id}  {application.name}  {len(application.scopes)} scopes  "
                f"expires {show_date(application.expires_at)}"
            )
        return 0

    return ctx.run(work)


@apps.command(help="everything known of one application, as JSON")
@click.argument("name", metavar="NAME")
@click.pass_obj
def show(ctx: CommandContext, name: str) -> int:
    async def work(stores: Stores) -> int:
        application = await _named(stores.keys, name)
        keys = [
            {
                "id": k.id,
                "hint": k.hint,
                "revoked": k.revoked_at is not None,
                "expires": show_date(k.expires_at),
            }
            for k in await stores.keys.list_keys()
            if k.application_id == application.id
        ]
        shown = {**msgspec.to_builtins(application), "keys": keys}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return 0

    return ctx.run(work)


@apps.command(
    name="set",
    help="Change application NAME. Running servers see the change when their key cache "
    "expires ([core.auth] cache_ttl).",
    short_help="change an application's scopes, details, expiry or plugin settings",
)
@click.argument("name", metavar="NAME")
@click.option("--add-scope", multiple=True, metavar="SCOPE")
@click.option("--remove-scope", multiple=True, metavar="SCOPE")
@click.option(
    "--expires",
    metavar="YYYY-MM-DD|never",
    help="the application stops working on this date (UTC midnight)",
)
@click.option("--unset", multiple=True, metavar="PLUGIN.KEY", help="remove a plugin setting")
@detail_options
@setting_option
@click.pass_obj
def change(
    ctx: CommandContext,
    /,
    name: str,
    add_scope: tuple[str, ...],
    remove_scope: tuple[str, ...],
    expires: str | None,
    unset: tuple[str, ...],
    settings: tuple[str, ...],
    **details: Any,
) -> int:
    app = ctx.app

    async def work(stores: Stores) -> int:
        application = await _named(stores.keys, name)
        scopes = (set(application.scopes) | set(add_scope)) - set(remove_scope)
        expires_at = application.expires_at
        if expires == "never":
            expires_at = None
        elif expires:
            try:
                expires_at = parse_date(expires)
            except click.BadParameter as exc:
                raise ApiParticulierError(exc.message) from None
        merged = admin.merge_settings(application.settings, parse_settings(settings), unset)
        problems = admin.settings_problems(app, merged)
        if problems:
            raise ConfigError(problems)
        updated = msgspec.structs.replace(
            application,
            scopes=tuple(sorted(scopes)),
            expires_at=expires_at,
            settings=merged,
            **details_from(details),
        )
        await stores.keys.update_application(updated)
        print(f"application {updated.name} updated; scopes: {' '.join(updated.scopes) or '-'}")
        return 0

    return ctx.run(work)
