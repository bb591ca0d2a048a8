"""Finding, loading and registering plugins, and building the frozen plan."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass

import pluggy

from . import hookspecs
from .errors import ConfigError
from .settings import Settings

GROUP = "api_particulier"
# Names a plugin cannot take: the core's built-ins and its own parts.
RESERVED_NAMES = ("keyauth", "journal", "core")


@dataclass(frozen=True)
class InstalledPlugin:
    name: str
    value: str
    distribution: str | None
    version: str | None


def installed_plugins() -> dict[str, InstalledPlugin]:
    """Plugins declared by installed distributions, by entry-point name."""
    found: dict[str, InstalledPlugin] = {}
    for ep in importlib.metadata.entry_points(group=GROUP):
        dist = ep.dist
        found[ep.name] = InstalledPlugin(
            name=ep.name,
            value=ep.value,
            distribution=dist.metadata["Name"] if dist else None,
            version=dist.version if dist else None,
        )
    return dict(sorted(found.items()))


def load_enabled(settings: Settings) -> dict[str, object]:
    """Import the enabled plugins; an enabled plugin that is not installed is an error."""
    installed = {ep.name: ep for ep in importlib.metadata.entry_points(group=GROUP)}
    wanted = (
        settings.enabled
        if settings.enabled is not None
        else tuple(name for name in installed if settings.is_enabled(name))
    )
    problems = [
        f"enabled plugin {name!r} is not installed"
        for name in wanted
        if name not in installed and name not in settings.disabled
    ]
    if problems:
        raise ConfigError(problems)
    loaded: dict[str, object] = {}
    for name in sorted(wanted):
        if name in settings.disabled:
            continue
        try:
            loaded[name] = installed[name].load()
        except Exception as exc:
            raise ConfigError([f"plugin {name!r} cannot be loaded ({exc})"]) from exc
    return loaded


def build_manager(
    plugins: Mapping[str, object], builtins: Mapping[str, object] | None = None
) -> pluggy.PluginManager:
    """One plugin manager per application: the core's ``builtins``, then ``plugins`` by
    name. The name a plugin is registered under is its name everywhere.

    A plugin given as a class is instantiated here, so each application owns its state.
    """
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    for name, builtin in (builtins or {}).items():
        pm.register(builtin, name=name)
    for name in sorted(plugins):
        if name in RESERVED_NAMES:
            raise ConfigError([f"plugin name {name!r} is reserved by the core"])
        plugin = plugins[name]
        try:
            pm.register(plugin() if isinstance(plugin, type) else plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise ConfigError([f"plugin {name!r}: {exc}"]) from None
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigError([f"plugin hook without specification: {exc}"]) from None
    return pm
