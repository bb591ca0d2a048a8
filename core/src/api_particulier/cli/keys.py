"""``api-particulier keys``: issue, list, revoke and import API keys."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .. import admin
from ..app import create_app
from ..errors import ApiParticulierError, ConfigError
from ..settings import Settings
from .common import (
    add_detail_options,
    add_setting_option,
    all_scopes,
    details_from,
    parse_date,
    parse_settings,
    show_date,
    with_stores,
)


def add_parser(commands: Any) -> None:
    keys = commands.add_parser("keys", help="issue, list, revoke and import API keys")
    actions = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create",
        help="issue a key (creating its application if needed)",
        description="Issue a new key for application NAME, creating the application with the "
        "given scopes, details and settings if it does not exist (change an existing one with "
        "`apps set`). The key is printed once, alone on the last line of stdout.",
    )
    create.add_argument("--name", required=True, help="the application's name")
    create.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="SCOPE",
        help="a scope of the new application (repeat for several)",
    )
    create.add_argument(
        "--expires",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="the key stops working on this date (UTC midnight)",
    )
    add_detail_options(create)
    add_setting_option(create)
    actions.add_parser("list", help="list keys: id, application, last characters, state")
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", metavar="ID", help="the key id (`_id` of /api/introspect)")
    legacy = actions.add_parser(
        "import-legacy",
        help="register a historic key known by its SHA-512 hex",
        description="Register a key of the historic service, stored there as the SHA-512 hex "
        "of the key. It is upgraded to this service's storage at its first use.",
    )
    legacy.add_argument("--name", required=True, help="the application's name")
    legacy.add_argument("--scope", action="append", default=[], metavar="SCOPE")
    legacy.add_argument("sha512", help="SHA-512 hex of the historic key")


def run(settings: Settings, args: argparse.Namespace) -> int:
    app = create_app(settings)
    store = app.key_store

    async def create() -> int:
        unknown = sorted(set(args.scope) - set(all_scopes(app)))
        if unknown:
            print(
                f"warning: no enabled provider serves scope(s) {', '.join(unknown)}",
                file=sys.stderr,
            )
        existing = await store.application_by_name(args.name)
        if existing is None and args.setting:
            problems = admin.settings_problems(app, parse_settings(args.setting))
            if problems:
                raise ConfigError(problems)
        if existing is not None and (args.scope or details_from(args) or args.setting):
            print(
                f"warning: application {args.name} exists: --scope, details and --setting "
                "are ignored (use `apps set`)",
                file=sys.stderr,
            )
        application = existing or await admin.ensure_application(
            store, args.name, args.scope, details=details_from(args)
        )
        if existing is None and args.setting:
            application = await admin.update_settings(
                store, application, parse_settings(args.setting)
            )
        issued = await admin.issue_key(store, app.pepper, application, expires_at=args.expires)
        print(
            f"application {application.name} ({application.id}), "
            f"scopes: {' '.join(application.scopes) or '-'}"
        )
        print(f"key id {issued.key.id}; the key is shown only once:")
        print(issued.secret)
        return 0

    async def listing() -> int:
        applications = {a.id: a for a in await store.list_applications()}
        now = time.time()
        for key in await store.list_keys():
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

    async def revoke() -> int:
        if not await store.revoke_key(args.key_id, time.time()):
            raise ApiParticulierError(f"no active key with id {args.key_id}")
        print(
            f"key {args.key_id} revoked (running servers stop accepting it within "
            f"{settings.core.auth.cache_ttl:g} s)"
        )
        return 0

    async def import_legacy() -> int:
        application = await admin.ensure_application(store, args.name, args.scope)
        key = await admin.import_legacy_key(store, application, args.sha512)
        print(f"imported key id {key.id} for application {application.name}")
        return 0

    actions = {"create": create, "list": listing, "revoke": revoke, "import-legacy": import_legacy}
    return with_stores(app, actions[args.action])
