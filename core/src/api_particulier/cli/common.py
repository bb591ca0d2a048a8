"""What the sub-commands share: argument types, settings parsing, store lifetime."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import anyio

from ..app import ApiApp
from ..errors import ConfigError

DETAIL_OPTIONS = (
    ("--siret", "siret", "the administration's SIRET"),
    ("--legal-basis", "legal_basis", "the legal basis (e.g. article L114-8 CRPA)"),
    ("--simplification", "simplification", "how the procedure is simplified for citizens"),
    ("--technical-contact", "technical_contact", "technical contact (e-mail)"),
    ("--dpo-contact", "dpo_contact", "data protection officer contact (e-mail)"),
    ("--authorization-ref", "authorization_ref", "reference of the authorisation"),
)


def parse_date(text: str) -> float:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()


def show_date(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date().isoformat()


def add_detail_options(parser: argparse.ArgumentParser) -> None:
    for option, _, text in DETAIL_OPTIONS:
        parser.add_argument(option, help=text)


def details_from(args: argparse.Namespace) -> dict[str, str]:
    return {field: getattr(args, field) for _, field, _ in DETAIL_OPTIONS if getattr(args, field)}


def add_setting_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="PLUGIN.KEY=VALUE",
        help="a per-application policy value read by a plugin, e.g. ratelimit.quota=5 "
        "(VALUE is read as JSON when it parses, else as text); repeat for several",
    )


def parse_settings(pairs: Sequence[str]) -> dict[str, dict[str, Any]]:
    settings: dict[str, dict[str, Any]] = {}
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


def all_scopes(app: ApiApp) -> list[str]:
    return sorted({scope for p in app.providers for r in p.routes for scope in r.scopes})


def with_stores(app: ApiApp, work: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run ``work`` with the application's stores open."""

    async def run() -> int:
        await app.key_store.open()
        await app.journal_store.open()
        try:
            return await work()
        finally:
            await app.journal_store.close()
            await app.key_store.close()

    return anyio.run(run)
