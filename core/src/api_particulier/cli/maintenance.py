"""``api-particulier plugins`` and ``config check``."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import click

from ..commands import CommandContext
from ..scaffold import new_plugin


@click.group(
    invoke_without_command=True,
    help="Without a command: the installed and enabled plugins, the providers and the plan.",
    short_help="show installed and enabled plugins and the plan",
)
@click.pass_context
def plugins(ctx: click.Context) -> int:
    if ctx.invoked_subcommand is not None:
        return 0
    described = ctx.obj.app.describe_plugins()
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
        print(f"  {step['phase']:<26} {step['plugin']:<12} {step['order']}")
    return 0


@plugins.command(
    name="new",
    help="Write a provider distribution api-particulier-NAME in DIR (default: the current "
    "directory): a sandbox backend, an HTTP backend, two scopes, validation, a 404, and "
    "tests that pass at once. Install it with `api-particulier plugins install -e`.",
    short_help="scaffold a provider plugin",
)
@click.argument("name")
@click.option("--dir", "directory", default=".", metavar="DIR", help="where to write it")
def new(name: str, directory: str) -> int:
    target = new_plugin(name, Path(directory))
    print(f"{target}: the {name} provider; test it with `pytest` there, install it with")
    print(f'`api-particulier plugins install -e {target}`, then enable "{name}".')
    return 0


@plugins.command(
    help="Install plugin distributions (a path, a wheel, a PyPI name, with -e for a source "
    "tree under development) into the environment this command runs from — the service's "
    "own — with pip when it has pip, else with uv. Enable them in the configuration next.",
    short_help="install plugins into the service's own environment",
)
@click.option("-e", "--editable", "editable", multiple=True, metavar="PATH")
@click.argument("specs", nargs=-1, metavar="SPEC...")
def install(editable: tuple[str, ...], specs: tuple[str, ...]) -> int:
    wanted = [arg for path in editable for arg in ("-e", path)] + list(specs)
    if not wanted:
        raise click.UsageError("name at least one plugin to install")
    command = _installer() + wanted
    print(f"installing into {sys.prefix}", file=sys.stderr)
    return subprocess.run(command, check=False).returncode  # noqa: S603 - the user's request


def _installer() -> list[str]:
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip", "install"]
    uv = shutil.which("uv")
    runner = [uv] if uv else [shutil.which("python3") or "python3", "-m", "uv"]
    return [*runner, "pip", "install", "--python", sys.executable]


@click.group(help="check the configuration")
def config() -> None:
    pass


@config.command(
    help="Validate the configuration, start every plugin once and stop it, and print the "
    "configuration (secrets by variable name only). A plugin that cannot start fails here "
    "as it would fail `serve`.",
    short_help="validate the configuration and print it (secrets by variable name only)",
)
@click.pass_obj
def check(ctx: CommandContext) -> int:
    app = ctx.app

    async def trial() -> None:
        async with app.running():
            pass

    anyio.run(trial)
    print(json.dumps(ctx.settings.dump(), indent=2, ensure_ascii=False))
    print("configuration ok", file=sys.stderr)
    return 0
