"""The frozen plan: which implementation of which hook runs when.

The order is data computed by a pure function, so it can be printed, served and checked by
property tests. The core owns the order of phases; inside a phase implementations run
``tryfirst`` → normal → ``trylast``, then by plugin name. Registration order (and so
entry-point discovery order, which Python leaves unspecified) never matters.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pluggy

from .errors import ConfigError


class Phase(enum.IntEnum):
    """Hooks in the order the core calls them. Boot hooks first, then request phases.

    Every hook specification has its phase here, and nothing else is here (a test holds
    the two together).
    """

    config_schema = 0
    register_providers = 1
    register_routes = 2
    store_migrations = 3
    register_commands = 4
    check_application_settings = 5
    amend_openapi = 6
    startup = 7
    authenticate = 10
    allows_citizen_bearer = 11
    check_consent = 12
    check_rate_limit = 13
    fetch_cached = 14
    response_headers = 15
    journal_subject = 16
    record_call = 17
    shutdown = 20


class Bucket(enum.IntEnum):
    tryfirst = 0
    normal = 1
    trylast = 2


@dataclass(frozen=True, slots=True)
class Step:
    phase: Phase
    bucket: Bucket
    plugin: str
    function: Callable[..., Any]
    # The hook arguments this implementation asked for (pluggy allows a subset).
    argnames: tuple[str, ...] = ()

    def describe(self) -> dict[str, str]:
        return {"phase": self.phase.name, "plugin": self.plugin, "order": self.bucket.name}

    def call(self, **values: Any) -> Any:
        """Call the implementation with the hook arguments it asked for (pluggy lets an
        implementation take a subset of the specification's arguments)."""
        return self.function(*[values[name] for name in self.argnames])


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...]

    def for_phase(self, phase: Phase) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.phase is phase)

    def describe(self) -> list[dict[str, str]]:
        return [step.describe() for step in self.steps]


# Hooks the core calls without awaiting: an ``async def`` implementation would only ever
# return a coroutine, so it is refused at boot.
SYNC_ONLY = frozenset(
    {
        Phase.config_schema,
        Phase.register_providers,
        Phase.register_routes,
        Phase.register_commands,
        Phase.check_application_settings,
        Phase.amend_openapi,
        Phase.allows_citizen_bearer,
        Phase.journal_subject,
    }
)


def sort_key(step: Step) -> tuple[int, int, str]:
    return (step.phase.value, step.bucket.value, step.plugin)


def build_plan(steps: Iterable[Step]) -> Plan:
    """Order ``steps`` into the plan. Pure: the same set in any order gives the same plan."""
    return Plan(tuple(sorted(steps, key=sort_key)))


def steps_from_manager(pm: pluggy.PluginManager) -> list[Step]:
    """Read every registered implementation of the known hooks from a plugin manager."""
    found: list[Step] = []
    for phase in Phase:
        caller = getattr(pm.hook, phase.name)
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                # Wrappers only ever see coroutine objects of async impls: refuse them.
                raise ConfigError(
                    [f"plugin {impl.plugin_name}: {phase.name} cannot be a wrapper hook"]
                )
            bucket = (
                Bucket.tryfirst
                if impl.tryfirst
                else Bucket.trylast
                if impl.trylast
                else Bucket.normal
            )
            if phase in SYNC_ONLY and inspect.iscoroutinefunction(impl.function):
                raise ConfigError(
                    [f"plugin {impl.plugin_name}: {phase.name} must be a plain function"]
                )
            found.append(
                Step(
                    phase=phase,
                    bucket=bucket,
                    plugin=impl.plugin_name,
                    function=impl.function,
                    argnames=tuple(impl.argnames),
                )
            )
    return found
