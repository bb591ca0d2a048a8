"""``api-particulier apps``: the applications keys belong to (habilitations)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import msgspec

from .. import admin
from ..app import create_app
from ..errors import ApiParticulierError, ConfigError
from ..settings import Settings
from ..store import Application, KeyStore
from .common import (
    add_detail_options,
    add_setting_option,
    details_from,
    parse_date,
    parse_settings,
    show_date,
    with_stores,
)


def add_parser(commands: Any) -> None:
    apps = commands.add_parser("apps", help="list, show and change applications")
    actions = apps.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="one line per application")
    show = actions.add_parser("show", help="everything known of one application, as JSON")
    show.add_argument("name", metavar="NAME")
    change = actions.add_parser(
        "set",
        help="change an application's scopes, details, expiry or plugin settings",
        description="Change application NAME. Running servers see the change when their "
        "key cache expires ([core.auth] cache_ttl).",
    )
    change.add_argument("name", metavar="NAME")
    change.add_argument("--add-scope", action="append", default=[], metavar="SCOPE")
    change.add_argument("--remove-scope", action="append", default=[], metavar="SCOPE")
    change.add_argument(
        "--expires",
        metavar="YYYY-MM-DD|never",
        help="the application stops working on this date (UTC midnight)",
    )
    change.add_argument(
        "--unset", action="append", default=[], metavar="PLUGIN.KEY", help="remove a plugin setting"
    )
    add_detail_options(change)
    add_setting_option(change)


async def _named(store: KeyStore, name: str) -> Application:
    application = await store.application_by_name(name)
    if application is None:
        raise ApiParticulierError(f"no application named {name!r}")
    return application


def run(settings: Settings, args: argparse.Namespace) -> int:
    app = create_app(settings)
    store = app.key_store

    async def listing() -> int:
        for application in await store.list_applications():
            print(
                f"{application.id}  {application.name}  {len(application.scopes)} scopes  "
                f"expires {show_date(application.expires_at)}"
            )
        return 0

    async def show() -> int:
        application = await _named(store, args.name)
        keys = [
            {
                "id": k.id,
                "hint": k.hint,
                "revoked": k.revoked_at is not None,
                "expires": show_date(k.expires_at),
            }
            for k in await store.list_keys()
            if k.application_id == application.id
        ]
        print(
            json.dumps(
                {**msgspec.to_builtins(application), "keys": keys}, indent=2, ensure_ascii=False
            )
        )
        return 0

    async def change() -> int:
        application = await _named(store, args.name)
        scopes = (set(application.scopes) | set(args.add_scope)) - set(args.remove_scope)
        expires_at = application.expires_at
        if args.expires == "never":
            expires_at = None
        elif args.expires:
            try:
                expires_at = parse_date(args.expires)
            except argparse.ArgumentTypeError as exc:
                raise ApiParticulierError(str(exc)) from None
        settings = admin.merge_settings(
            application.settings, parse_settings(args.setting), args.unset
        )
        problems = admin.settings_problems(app, settings)
        if problems:
            raise ConfigError(problems)
        updated = msgspec.structs.replace(
            application,
            scopes=tuple(sorted(scopes)),
            expires_at=expires_at,
            settings=settings,
            **details_from(args),
        )
        await store.update_application(updated)
        print(f"application {updated.name} updated; scopes: {' '.join(updated.scopes) or '-'}")
        return 0

    actions = {"list": listing, "show": show, "set": change}
    return with_stores(app, actions[args.action])
