"""``api-particulier plugins``, ``config check`` and ``journal purge``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..app import create_app
from ..settings import Settings
from .common import with_stores


def add_parsers(commands: Any) -> None:
    commands.add_parser("plugins", help="show installed and enabled plugins and the plan")
    config = commands.add_parser("config", help="check the configuration")
    config_actions = config.add_subparsers(dest="action", metavar="ACTION", required=True)
    config_actions.add_parser(
        "check", help="validate the configuration and print it (secrets by variable name only)"
    )
    journal = commands.add_parser("journal", help="maintain the journal")
    journal_actions = journal.add_subparsers(dest="action", metavar="ACTION", required=True)
    journal_actions.add_parser("purge", help="delete rows older than the retention")


def plugins(settings: Settings, args: argparse.Namespace) -> int:
    described = create_app(settings).describe_plugins()
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
        print(f"  {step['phase']:<22} {step['plugin']:<12} {step['order']}")
    return 0


def config(settings: Settings, args: argparse.Namespace) -> int:
    create_app(settings)
    print(json.dumps(settings.dump(), indent=2, ensure_ascii=False))
    print("configuration ok", file=sys.stderr)
    return 0


def journal(settings: Settings, args: argparse.Namespace) -> int:
    app = create_app(settings)
    retention = settings.core.journal.retention_days

    async def purge() -> int:
        removed = await app.journal_store.purge_calls(time.time() - retention * 86400)
        print(f"{removed} journal rows older than {retention} days removed")
        return 0

    return with_stores(app, purge)
