"""The ``api-particulier`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..errors import ApiParticulierError, ConfigError
from ..logs import configure_logging
from ..plan import Phase, build_plan, steps_from_manager
from ..plugins import build_manager, load_enabled
from ..settings import Settings, load_settings
from . import apps, keys, maintenance, serve

PluginCommand = tuple[
    str,
    str,
    Callable[[argparse.ArgumentParser], None],
    Callable[[Settings, argparse.Namespace], int],
]


def plugin_commands(settings: Settings | None) -> list[PluginCommand]:
    """The sub-commands the enabled plugins add (none when the configuration is broken:
    the core's commands still run and report the problem)."""
    if settings is None:
        return []
    try:
        pm = build_manager(load_enabled(settings))
        steps = build_plan(steps_from_manager(pm)).for_phase(Phase.register_commands)
    except ApiParticulierError:
        return []
    found: list[PluginCommand] = []
    for step in steps:
        step.call(register=lambda *command: found.append(command))
    return found


def build_parser(extra: Sequence[PluginCommand] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="api-particulier",
        description="Serve API Particulier and manage its keys, applications, plugins and journal.",
        epilog="Configuration: --config FILE or $API_PARTICULIER_CONFIG; without either, the "
        "embedded defaults (bundled plugins on sandbox data, SQLite in "
        "$API_PARTICULIER_DATA_DIR or ~/.local/share/api-particulier).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", metavar="FILE", help="the TOML configuration file")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve.add_parser(commands)
    keys.add_parser(commands)
    apps.add_parser(commands)
    maintenance.add_parsers(commands)
    for name, text, configure, _ in extra:
        if name in COMMANDS:
            continue  # a plugin cannot replace a core command
        configure(commands.add_parser(name, help=text, description=text))
    return parser


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "serve": serve.run,
    "keys": keys.run,
    "apps": apps.run,
    "plugins": maintenance.plugins,
    "config": maintenance.config,
    "journal": maintenance.journal,
}


def main(argv: Sequence[str] | None = None) -> int:
    # The configuration says which plugins are enabled, and so which commands exist: read
    # --config before the rest of the line.
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--config")
    known, _ = early.parse_known_args(argv)
    try:
        settings: Settings | None = load_settings(known.config)
    except ConfigError:
        settings = None
    extra = plugin_commands(settings)
    args = build_parser(extra).parse_args(argv)
    runners = {**{name: run for name, _, _, run in extra}, **COMMANDS}
    try:
        settings = load_settings(args.config)
        configure_logging(settings.core.log_format, settings.core.log_level)
        return runners[args.command](settings, args)
    except ConfigError as exc:
        print("configuration error: " + "; ".join(exc.problems), file=sys.stderr)
        return 2
    except ApiParticulierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
