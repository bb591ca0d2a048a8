"""What the commands share: option types, details and settings options, scopes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..app import ApiApp

F = TypeVar("F", bound=Callable[..., Any])

DETAIL_OPTIONS = (
    ("--siret", "siret", "the administration's SIRET"),
    ("--legal-basis", "legal_basis", "the legal basis (e.g. article L114-8 CRPA)"),
    ("--simplification", "simplification", "how the procedure is simplified for citizens"),
    ("--technical-contact", "technical_contact", "technical contact (e-mail)"),
    ("--dpo-contact", "dpo_contact", "data protection officer contact (e-mail)"),
    ("--recipients", "recipients", "who receives the data (services, roles)"),
    ("--authorization-ref", "authorization_ref", "reference of the authorisation"),
)


def parse_date(text: str) -> float:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()


def date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """A click callback: ``YYYY-MM-DD`` as the epoch of its UTC midnight."""
    return None if value is None else parse_date(value)


def show_date(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date().isoformat()


def detail_options(command: F) -> F:
    for option, field, text in reversed(DETAIL_OPTIONS):
        command = click.option(option, field, help=text)(command)
    return command


def details_from(values: dict[str, Any]) -> dict[str, str]:
    return {field: values[field] for _, field, _ in DETAIL_OPTIONS if values.get(field)}


def setting_option(command: F) -> F:
    return click.option(
        "--setting",
        "settings",
        multiple=True,
        metavar="PLUGIN.KEY=VALUE",
        help="a per-application policy value read by a plugin, e.g. ratelimit.quota=5 "
        "(VALUE is read as JSON when it parses, else as text); repeat for several",
    )(command)


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
