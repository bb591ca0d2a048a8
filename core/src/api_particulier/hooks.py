"""The hook runner: the one place that calls hook implementations.

Every call site of the core goes through these functions; each names its calling
convention:

- :func:`first` — implementations in plan order until one returns something other than
  ``None``; that result (``authenticate``, ``check_consent``, ``check_rate_limit``,
  ``fetch_cached``);
- :func:`each` — every implementation, in plan order or in reverse (``startup``,
  ``shutdown``, ``response_headers``, ``record_call``), failures raised or logged;
- :func:`collect` — every implementation of a boot hook, plain functions, their results
  in plan order (``config_schema``, ``register_*``, ``check_application_settings``,
  ``amend_openapi``, ``allows_citizen_bearer``).

An implementation may be a plain function or ``async def``, and whatever it returns that can
be awaited — a coroutine, a task, a future — is awaited (:func:`awaitable` tells which).
An exception an implementation raises leaves as :class:`PluginFailure`, which names the
plugin and the phase, or is logged with them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import CoroutineType
from typing import Any

import structlog

from .plan import Step

_log = structlog.get_logger("api_particulier.hooks")

# A hook argument that differs per plugin (each plugin's own context): a function of the
# plugin's name.
PerPlugin = Callable[[str], Any]


class PluginFailure(Exception):
    """A plugin raised: which plugin, in which phase, and the exception."""

    def __init__(self, plugin: str, phase: str, error: BaseException) -> None:
        super().__init__(f"{plugin} failed in {phase}")
        self.plugin = plugin
        self.phase = phase
        self.error = error

    @classmethod
    def of(cls, step: Step, error: BaseException) -> PluginFailure:
        return cls(step.plugin, step.phase.name, error)


def awaitable(value: Any) -> bool:
    """Whether ``value`` is to be awaited: a coroutine (said first: the usual case), or
    anything else awaitable (a task, a future)."""
    return type(value) is CoroutineType or (value is not None and inspect.isawaitable(value))


def call_now(
    step: Step, values: Mapping[str, Any], per_plugin: Mapping[str, PerPlugin] | None = None
) -> Any:
    """Call one implementation; an exception becomes :class:`PluginFailure`. What it
    returns is returned as is, awaitable or not."""
    # pluggy lets an implementation take a subset of the specification's arguments.
    try:
        if per_plugin is None:
            return step.function(*[values[name] for name in step.argnames])
        return step.function(
            *[
                per_plugin[name](step.plugin) if name in per_plugin else values[name]
                for name in step.argnames
            ]
        )
    except Exception as exc:
        raise PluginFailure.of(step, exc) from exc


async def call(
    step: Step, values: Mapping[str, Any], per_plugin: Mapping[str, PerPlugin] | None = None
) -> Any:
    """Call one implementation and settle its result; failures as in :func:`call_now`."""
    result = call_now(step, values, per_plugin)
    if not awaitable(result):
        return result
    try:
        return await result
    except Exception as exc:
        raise PluginFailure.of(step, exc) from exc


async def first(steps: Iterable[Step], **values: Any) -> Any:
    """The first result other than ``None``, in plan order; ``None`` when there is none.
    Later implementations do not run. A failure raises :class:`PluginFailure`."""
    # The bodies of call() and call_now(), written out: this runs for every phase of every
    # request.
    for step in steps:
        try:
            result = step.function(*[values[name] for name in step.argnames])
        except Exception as exc:
            raise PluginFailure.of(step, exc) from exc
        if type(result) is CoroutineType or (result is not None and inspect.isawaitable(result)):
            try:
                result = await result
            except Exception as exc:
                raise PluginFailure.of(step, exc) from exc
        if result is not None:
            return result
    return None


async def each(
    steps: Sequence[Step],
    *,
    failures: str = "log",
    reverse: bool = False,
    per_plugin: Mapping[str, PerPlugin] | None = None,
    **values: Any,
) -> None:
    """Run every implementation, in plan order or in reverse.

    ``failures="log"``: a failure is logged as ``plugin_failed`` with ``plugin=`` and
    ``phase=`` and the next implementation runs; ``"raise"``: it raises
    :class:`PluginFailure` and the rest do not run.
    """
    for step in reversed(steps) if reverse else steps:
        try:
            await call(step, values, per_plugin)
        except PluginFailure as failure:
            if failures == "raise":
                raise
            log_failure(failure)


def collect(steps: Iterable[Step], **values: Any) -> list[Any]:
    """Every result, in plan order (boot hooks: plain functions, nothing awaited). A
    failure raises :class:`PluginFailure`."""
    results = []
    for step in steps:
        result = call_now(step, values)
        if awaitable(result):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise PluginFailure.of(step, TypeError(f"{step.phase.name} must be a plain function"))
        results.append(result)
    return results


def log_failure(failure: PluginFailure) -> None:
    """The log line of a contained failure: the plugin, the phase, the exception's type and
    frames (never its message: see :func:`api_particulier.logs.redact_exception`)."""
    _log.error("plugin_failed", plugin=failure.plugin, phase=failure.phase, exc_info=failure.error)
