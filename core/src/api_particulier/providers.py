"""Collecting what the plugins declare at boot — providers and web routes — and refusing,
before anything is served, what could not be served as declared."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any

import msgspec

from . import hooks
from .errors import ConfigError
from .plan import Phase, Plan
from .types import Provider, ProviderRoute
from .web import WebRoute

# Paths the core serves itself.
CORE_PATHS = (
    "/api/ping",
    "/api/stats",
    "/api/introspect",
    "/api/open-api.json",
    "/api/open-api.yml",
    "/api/plugins",
    "/",
    "/static/dsfr",
)


def collect_providers(plan: Plan, configs: Mapping[str, Any]) -> tuple[Provider, ...]:
    """Every provider of every plugin, named (by default after its plugin) and checked."""
    found: list[Provider] = []
    for step in plan.for_phase(Phase.register_providers):

        def register(provider: Provider, plugin: str = step.plugin) -> None:
            if not isinstance(provider, Provider):
                raise ConfigError([f"plugin {plugin!r} registered {provider!r}, not a Provider"])
            if provider.name is None:
                provider = dataclasses.replace(provider, name=plugin)
            found.append(provider)

        hooks.call_now(step, {"register": register, "config": configs.get(step.plugin)})
    problems: list[str] = []
    names = [p.name for p in found]
    for name in sorted({n for n in names if names.count(n) > 1}, key=str):
        problems.append(f"two providers are named {name!r}")
    for provider in found:
        unknown = sorted(set(provider.scope_labels) - provider.scopes)
        if unknown:
            problems.append(f"{provider.name}: labels for unknown scopes {', '.join(unknown)}")
        for route in provider.routes:
            problems.extend(
                f"{provider.name} {route.path}: {problem}" for problem in route_problems(route)
            )
    if problems:
        raise ConfigError(problems)
    return tuple(sorted(found, key=lambda p: p.name or ""))


def collect_web_routes(plan: Plan, configs: Mapping[str, Any]) -> tuple[tuple[str, WebRoute], ...]:
    """Every (plugin, route) declared with ``register_routes``."""
    found: list[tuple[str, WebRoute]] = []
    for step in plan.for_phase(Phase.register_routes):

        def register(route: WebRoute, plugin: str = step.plugin) -> None:
            if not isinstance(route, WebRoute):
                raise ConfigError([f"plugin {plugin!r} registered {route!r}, not a WebRoute"])
            found.append((plugin, route))

        hooks.call_now(step, {"register": register, "config": configs.get(step.plugin)})
    return tuple(found)


def check_paths(providers: tuple[Provider, ...], routes: tuple[tuple[str, WebRoute], ...]) -> None:
    """No path served twice, whoever declared it."""
    owners = [(p.name or "", _paths(p)) for p in providers]
    owners += [(plugin, [route.path]) for plugin, route in routes]
    problems = _path_problems(owners)
    if problems:
        raise ConfigError(problems)


def _paths(provider: Provider) -> list[str]:
    paths = [route.path for route in provider.routes]
    if provider.health_path:
        paths.append(provider.health_path)
    return paths


def _path_problems(owners: list[tuple[str, list[str]]]) -> list[str]:
    seen: dict[str, str] = dict.fromkeys(CORE_PATHS, "core")
    problems = []
    for owner, paths in sorted(owners, key=lambda item: item[0]):
        for path in paths:
            if path in seen:
                problems.append(f"route {path} declared by both {seen[path]} and {owner}")
            seen[path] = owner
    return problems


def route_problems(route: ProviderRoute) -> list[str]:
    """What is wrong with a route's declaration: a field tree naming what the response
    Struct does not have (a typo would silently never show), or types that are not Structs."""
    problems: list[str] = []
    declared: tuple[tuple[str, Any], ...] = (("params", route.params), ("response", route.response))
    for kind, struct in declared:
        if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
            problems.append(f"{kind} must be a msgspec.Struct type")
    if not problems:
        _tree_problems(route.fields, route.response, "", problems)
    return problems


def _tree_problems(
    tree: Mapping[str, Any], struct: type[msgspec.Struct], where: str, problems: list[str]
) -> None:
    fields = {info.encode_name: info for info in msgspec.structs.fields(struct)}
    for key, node in tree.items():
        path = f"{where}.{key}" if where else key
        info = fields.get(key)
        if info is None:
            problems.append(f"field tree: {path!r} is not a field of {struct.__name__}")
            continue
        if isinstance(node, Mapping):
            inner = struct_of(info.type)
            if inner is None:
                problems.append(f"field tree: {path!r} is a container but not a Struct field")
            else:
                _tree_problems(node, inner, path, problems)
        elif not isinstance(node, str) or not node:
            problems.append(f"field tree: {path!r} must name its scope")


def struct_of(annotation: Any) -> type[msgspec.Struct] | None:
    """The Struct type of a field, through ``Annotated`` and unions with UNSET or None."""
    candidates = [annotation, *typing.get_args(annotation)]
    for candidate in candidates:
        origin = typing.get_origin(candidate)
        if origin is typing.Annotated:
            candidate = typing.get_args(candidate)[0]
        if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
            return candidate
    return None
