"""The ``api-particulier`` command."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import anyio

from . import __version__, admin
from .app import ApiApp, create_app
from .errors import ApiParticulierError, ConfigError
from .logs import configure_logging
from .settings import Settings, load_settings

DEMO_APPLICATION = "demo"


def _parse_date(text: str) -> float:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="api-particulier",
        description="Serve API Particulier and manage its keys, plugins and journal.",
        epilog="Configuration: --config FILE or $API_PARTICULIER_CONFIG; without either, "
        "embedded defaults (sandbox data, SQLite in $API_PARTICULIER_DATA_DIR).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", metavar="FILE", help="the TOML configuration file")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run the HTTP service",
        description="Run the HTTP service. On an empty store, create "
        "a demo application and print its key once.",
    )
    serve.add_argument("--host", help="address to listen on (default from [core] host)")
    serve.add_argument("--port", type=int, help="port to listen on (default from [core] port)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")

    keys_cmd = commands.add_parser("keys", help="create, list and revoke API keys")
    keys_sub = keys_cmd.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = keys_sub.add_parser(
        "create",
        help="issue a key (creating its application if needed)",
        description="Issue a new key for application NAME, creating the application with the "
        "given scopes if it does not exist. The key is printed once, alone on the last line.",
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
        type=_parse_date,
        metavar="YYYY-MM-DD",
        help="the key stops working on this date (UTC midnight)",
    )
    for option, text in (
        ("--siret", "the administration's SIRET"),
        ("--legal-basis", "the legal basis (e.g. article L114-8 CRPA)"),
        ("--simplification", "how the procedure is simplified for citizens"),
        ("--technical-contact", "technical contact (e-mail)"),
        ("--dpo-contact", "data protection officer contact (e-mail)"),
        ("--authorization-ref", "reference of the authorisation"),
    ):
        create.add_argument(option, help=text)
    create.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="PLUGIN.KEY=VALUE",
        help="a per-application policy value, e.g. ratelimit.quota=5 "
        "(VALUE is read as JSON when it parses, else as text)",
    )
    keys_sub.add_parser("list", help="list keys (never shows them)")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", metavar="ID", help="the key id (`_id` of /api/introspect)")
    import_cmd = keys_sub.add_parser(
        "import-legacy", help="register a historic key known by its SHA-512 hex"
    )
    import_cmd.add_argument("--name", required=True, help="the application's name")
    import_cmd.add_argument("--scope", action="append", default=[], metavar="SCOPE")
    import_cmd.add_argument("sha512", help="SHA-512 hex of the historic key")

    commands.add_parser("plugins", help="show installed and enabled plugins and the plan")
    config_cmd = commands.add_parser("config", help="check or show the configuration")
    config_sub = config_cmd.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_sub.add_parser(
        "check", help="validate the configuration and print it, secrets shown by variable name only"
    )
    journal = commands.add_parser("journal", help="maintain the journal")
    journal_sub = journal.add_subparsers(dest="journal_command", metavar="ACTION", required=True)
    journal_sub.add_parser("purge", help="delete rows older than the retention")
    return parser


def _parse_settings(pairs: Sequence[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        plugin, dot, key = name.partition(".")
        if not sep or not dot or not plugin or not key:
            raise ConfigError([f"--setting {pair!r}: expected PLUGIN.KEY=VALUE"])
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        settings.setdefault(plugin, {})[key] = value
    return settings


def _run(work: Callable[[], Coroutine[Any, Any, int]]) -> int:
    return anyio.run(work)


async def _with_stores(app: ApiApp, work: Callable[[], Coroutine[Any, Any, int]]) -> int:
    await app.key_store.open()
    await app.journal_store.open()
    try:
        return await work()
    finally:
        await app.journal_store.close()
        await app.key_store.close()


def _all_scopes(app: ApiApp) -> list[str]:
    return sorted({scope for p in app.providers for r in p.routes for scope in r.scopes})


async def _ensure_demo_key(app: ApiApp, host: str, port: int) -> None:
    if not app.settings.core.create_demo_key or await app.key_store.list_applications():
        return
    application = await admin.ensure_application(
        app.key_store,
        DEMO_APPLICATION,
        _all_scopes(app),
        details={"simplification": "Demonstration application holding every scope"},
    )
    issued = await admin.issue_key(app.key_store, app.pepper, application)
    shown_host = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host  # noqa: S104
    print(
        f"Demo application created. Its key, shown only this once:\n\n    {issued.secret}\n",
        file=sys.stderr,
    )
    print(
        f"Try it:\n\n    curl -H 'X-Api-Key: {issued.secret}' "
        f"http://{shown_host}:{port}/api/introspect\n",
        file=sys.stderr,
        flush=True,
    )


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    host = args.host or settings.core.host
    port = args.port or settings.core.port
    workers = args.workers or settings.core.workers
    app = create_app(settings)

    async def prepare() -> int:
        await _ensure_demo_key(app, host, port)
        return 0

    _run(lambda: _with_stores(app, prepare))
    # Access logs are off: uvicorn's would print query strings, which carry identifiers.
    # The journal records every call instead.
    config = dict(
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        loop="auto",
        http="auto",
        proxy_headers=False,
        server_header=False,
    )
    if workers > 1:
        # Each worker builds its own app from the environment: hand it the same file.
        if settings.source is not None:
            os.environ["API_PARTICULIER_CONFIG"] = str(settings.source)
        uvicorn.run("api_particulier.asgi:app", workers=workers, **config)  # type: ignore[arg-type]
    else:
        uvicorn.run(app, **config)  # type: ignore[arg-type]
    return 0


def _keys(settings: Settings, args: argparse.Namespace) -> int:
    app = create_app(settings)
    store = app.key_store

    async def work() -> int:
        if args.keys_command == "create":
            details = {
                field: getattr(args, field)
                for field in (
                    "siret",
                    "legal_basis",
                    "simplification",
                    "technical_contact",
                    "dpo_contact",
                    "authorization_ref",
                )
                if getattr(args, field)
            }
            known = set(_all_scopes(app))
            unknown = sorted(set(args.scope) - known)
            if unknown:
                print(
                    f"warning: no enabled provider serves scope(s) {', '.join(unknown)}",
                    file=sys.stderr,
                )
            application = await admin.ensure_application(
                store, args.name, args.scope, details=details
            )
            if args.scope and set(args.scope) != set(application.scopes):
                print(
                    f"warning: application {application.name} exists; its scopes are kept "
                    "as they are, --scope is ignored",
                    file=sys.stderr,
                )
            if args.setting:
                merged = {**application.settings}
                for plugin, values in _parse_settings(args.setting).items():
                    merged[plugin] = {**merged.get(plugin, {}), **values}
                await store.update_application_settings(application.id, merged)
            issued = await admin.issue_key(store, app.pepper, application, expires_at=args.expires)
            print(
                f"application {application.name} ({application.id}), "
                f"scopes: {' '.join(application.scopes) or '-'}"
            )
            print(f"key id {issued.key.id}; the key is shown only once:")
            print(issued.secret)
        elif args.keys_command == "list":
            applications = {a.id: a for a in await store.list_applications()}
            for key in await store.list_keys():
                owner = applications.get(key.application_id)
                state = "revoked" if key.revoked_at else "active"
                expires = (
                    dt.datetime.fromtimestamp(key.expires_at, dt.UTC).date().isoformat()
                    if key.expires_at
                    else "never"
                )
                print(
                    f"{key.id}  {owner.name if owner else '?'}  "
                    f"…{key.hint or '(imported)'}  {state}  expires {expires}"
                )
        elif args.keys_command == "revoke":
            if not await store.revoke_key(args.key_id, time.time()):
                raise ApiParticulierError(f"no active key with id {args.key_id}")
            print(
                f"key {args.key_id} revoked (running servers stop accepting it within "
                f"{settings.core.auth.cache_ttl:g} s)"
            )
        elif args.keys_command == "import-legacy":
            application = await admin.ensure_application(store, args.name, args.scope)
            key = await admin.import_legacy_key(store, application, args.sha512)
            print(f"imported key id {key.id} for application {application.name}")
        return 0

    return _run(lambda: _with_stores(app, work))


def _plugins(settings: Settings) -> int:
    app = create_app(settings)
    described = app.describe_plugins()
    print("installed:")
    for plugin in described["installed"]:
        mark = "enabled" if plugin["enabled"] else "not enabled"
        print(f"  {plugin['name']:<12} {plugin['distribution']} {plugin['version']}  ({mark})")
    print("registered: " + ", ".join(described["registered"]))
    print("providers:")
    for provider in described["providers"]:
        print(f"  {provider['name']}: {', '.join(provider['routes'])}")
    print("plan:")
    for step in described["plan"]:
        print(f"  {step['phase']:<18} {step['plugin']:<12} {step['order']}")
    return 0


def _journal(settings: Settings) -> int:
    app = create_app(settings)

    async def work() -> int:
        cutoff = time.time() - settings.core.journal.retention_days * 86400
        removed = await app.journal_store.purge_calls(cutoff)
        print(
            f"{removed} journal rows older than {settings.core.journal.retention_days} days removed"
        )
        return 0

    return _run(lambda: _with_stores(app, work))


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        configure_logging(settings.core.log_format, settings.core.log_level)
        if args.command == "serve":
            return _serve(settings, args)
        if args.command == "keys":
            return _keys(settings, args)
        if args.command == "plugins":
            return _plugins(settings)
        if args.command == "config":
            create_app(settings)
            print(json.dumps(settings.dump(), indent=2, ensure_ascii=False))
            print("configuration ok", file=sys.stderr)
            return 0
        if args.command == "journal":
            return _journal(settings)
    except ConfigError as exc:
        print("configuration error: " + "; ".join(exc.problems), file=sys.stderr)
        return 2
    except ApiParticulierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
