"""The ``api-particulier`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..errors import ApiParticulierError, ConfigError
from ..logs import configure_logging
from ..settings import Settings, load_settings
from . import apps, keys, maintenance, serve


def build_parser() -> argparse.ArgumentParser:
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
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        configure_logging(settings.core.log_format, settings.core.log_level)
        return COMMANDS[args.command](settings, args)
    except ConfigError as exc:
        print("configuration error: " + "; ".join(exc.problems), file=sys.stderr)
        return 2
    except ApiParticulierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
