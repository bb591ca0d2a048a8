"""The ``api-particulier`` command (click).

The enabled plugins add their own commands through ``register_commands(cli)``; which
plugins are enabled depends on ``--config``, so it is read before the rest of the line.
Errors are one line on standard error: ``configuration error: …`` (status 2), ``error: …``
(status 1); a wrong argument prints click's usage line (status 2).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from .. import __version__, hooks
from ..commands import CommandContext
from ..errors import ApiParticulierError, ConfigError
from ..logs import configure_logging
from ..plan import Phase, build_plan, steps_from_manager
from ..plugins import build_manager, load_enabled
from ..settings import load_settings
from . import apps, db, journal, keys, maintenance, serve, store

CORE_COMMANDS = ("serve", "keys", "apps", "plugins", "config", "journal", "db", "store")


def build_cli() -> click.Group:
    @click.group(
        help="Serve API Particulier and manage its keys, applications, plugins and journal.",
        epilog="Configuration: --config FILE or $API_PARTICULIER_CONFIG; without either, the "
        "embedded defaults (bundled plugins on sandbox data, SQLite in "
        "$API_PARTICULIER_DATA_DIR or ~/.local/share/api-particulier).",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    @click.version_option(__version__, prog_name="api-particulier", message="%(prog)s %(version)s")
    @click.option("--config", metavar="FILE", help="the TOML configuration file")
    @click.pass_context
    def cli(ctx: click.Context, config: str | None) -> None:
        ctx.obj = CommandContext(config)
        settings = ctx.obj.settings
        configure_logging(settings.core.log_format, settings.core.log_level)

    for command in (serve.serve, keys.keys, apps.apps, maintenance.plugins, maintenance.config):
        cli.add_command(command)
    cli.add_command(journal.journal)
    cli.add_command(db.db)
    cli.add_command(store.store)
    return cli


def add_plugin_commands(cli: click.Group, config_path: str | None) -> None:
    """The commands of the enabled plugins (none when the configuration is broken: the
    core's commands still run and report the problem). A plugin cannot replace a core
    command."""
    try:
        settings = load_settings(config_path)
        pm = build_manager(load_enabled(settings))
        steps = build_plan(steps_from_manager(pm)).for_phase(Phase.register_commands)
    except ApiParticulierError:
        return
    for step in steps:
        scratch = click.Group()
        try:
            hooks.collect([step], cli=scratch)
        except hooks.PluginFailure as failure:
            hooks.log_failure(failure)
            continue
        for name, command in scratch.commands.items():
            if name not in CORE_COMMANDS:
                cli.add_command(command, name)


def _config_path(argv: Sequence[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--config="):
            return arg.partition("=")[2]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    cli = build_cli()
    add_plugin_commands(cli, _config_path(args))
    try:
        result = cli.main(args, prog_name="api-particulier", standalone_mode=False)
    except ConfigError as exc:
        print("configuration error: " + "; ".join(exc.problems), file=sys.stderr)
        return 2
    except ApiParticulierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except (KeyboardInterrupt, click.Abort):
        return 130
    return result if isinstance(result, int) else 0
