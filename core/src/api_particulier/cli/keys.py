"""``api-particulier keys``: issue, list, revoke and import API keys."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from .. import admin
from ..commands import CommandContext, Stores
from ..errors import ApiParticulierError, ConfigError
from .common import (
    all_scopes,
    date_option,
    detail_options,
    details_from,
    parse_settings,
    setting_option,
    show_date,
)


@click.group(help="issue, list, revoke and import API keys")
def keys() -> None:
    pass


@keys.command(
    help="Issue a new key for application NAME, creating the application with the given "
    "scopes, details and settings if it does not exist (change an existing one with `apps "
    "set`). The key is printed once, alone on the last line of stdout.",
    short_help="issue a key (creating its application if needed)",
)
@click.option("--name", required=True, help="the application's name")
@click.option(
    "--scope", "scopes", multiple=True, metavar="SCOPE", help="a scope of the new application"
)
@click.option(
    "--expires",
    callback=date_option,
    metavar="YYYY-MM-DD",
    help="the key stops working on this date (UTC midnight)",
)
@detail_options
@setting_option
@click.pass_obj
def create(
    ctx: CommandContext,
    /,
    name: str,
    scopes: tuple[str, ...],
    expires: float | None,
    settings: tuple[str, ...],
    **details: Any,
) -> int:
    app = ctx.app
    wanted = parse_settings(settings)
    unknown = sorted(set(scopes) - set(all_scopes(app)))
    if unknown:
        print(f"warning: no enabled provider serves scope(s) {', '.join(unknown)}", file=sys.stderr)

    async def work(stores: Stores) -> int:
        existing = await stores.keys.application_by_name(name)
        if existing is None and wanted:
            problems = admin.settings_problems(app, wanted)
            if problems:
                raise ConfigError(problems)
        if existing is not None and (scopes or details_from(details) or wanted):
            print(
                f"warning: application {name} exists: --scope, details and --setting "
                "are ignored (use `apps set`)",
                file=sys.stderr,
            )
        application = existing or await admin.ensure_application(
            stores.keys, name, scopes, details=details_from(details)
        )
        if existing is None and wanted:
            application = await admin.update_settings(stores.keys, application, wanted)
        issued = await admin.issue_key(stores.keys, app.pepper, application, expires_at=expires)
        print(
            f"application {application.name} ({application.id}), "
            f"scopes: {' '.join(application.scopes) or '-'}"
        )
        print(f"key id {issued.key.id}; the key is shown only once:")
        print(issued.secret)
        return 0

    return ctx.run(work)


@keys.command(name="list", help="list keys: id, application, last characters, state")
@click.pass_obj
def listing(ctx: CommandContext) -> int:
    async def work(stores: Stores) -> int:
        applications = {a.id: a for a in await stores.keys.list_applications()}
        now = time.time()
        for key in await stores.keys.list_keys():
            owner = applications.get(key.application_id)
            state = (
                "revoked"
                if key.revoked_at
                else "expired"
                if key.expires_at is not None and key.expires_at <= now
                else "active"
            )
            print(
                f"{key.id}  {owner.name if owner else '?'}  …{key.hint or '(imported)'}  "
                f"{state}  expires {show_date(key.expires_at)}"
            )
        return 0

    return ctx.run(work)


@keys.command(help="revoke a key by its id")
@click.argument("key_id", metavar="ID")
@click.pass_obj
def revoke(ctx: CommandContext, key_id: str) -> int:
    async def work(stores: Stores) -> int:
        if not await stores.keys.revoke_key(key_id, time.time()):
            raise ApiParticulierError(f"no active key with id {key_id}")
        print(
            f"key {key_id} revoked (running servers stop accepting it within "
            f"{ctx.settings.core.auth.cache_ttl:g} s)"
        )
        return 0

    return ctx.run(work)


@keys.command(
    name="import-legacy",
    help="Register a key of the historic service, stored there as the SHA-512 hex of the "
    "key. It is upgraded to this service's storage at its first use.",
    short_help="register a historic key known by its SHA-512 hex",
)
@click.option("--name", required=True, help="the application's name")
@click.option("--scope", "scopes", multiple=True, metavar="SCOPE")
@click.argument("sha512")
@click.pass_obj
def import_legacy(ctx: CommandContext, name: str, scopes: tuple[str, ...], sha512: str) -> int:
    async def work(stores: Stores) -> int:
        application = await admin.ensure_application(stores.keys, name, scopes)
        key = await admin.import_legacy_key(stores.keys, application, sha512)
        print(f"imported key id {key.id} for application {application.name}")
        return 0

    return ctx.run(work)
