"""Logging: JSON lines in production, readable lines in a terminal.

Request context (request id, route, key id) is added to each line from the request being
served in the current context (:data:`current_call`). What is logged is chosen at each
call site: never keys, citizen identifiers, names or query strings.
"""

from __future__ import annotations

import logging
import sys
import traceback
from contextvars import ContextVar
from typing import TYPE_CHECKING, Literal

import structlog

if TYPE_CHECKING:
    from .types import Call

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(
    fmt: Literal["auto", "json", "console"] = "auto", level: str = "info"
) -> None:
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_request_context,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_exception,
            renderer,
        ],
        # The level check happens before any processor runs: a debug line costs nothing
        # when debug is off.
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )


class _Stderr:
    """Whatever ``sys.stderr`` is at write time (tests and daemons replace it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def redact_exception(
    logger: object, name: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Replace ``exc_info`` by the exception's type and the frames it went through.

    An exception's message and its frames' variables can hold anything the code was
    handling — a citizen's identifiers, an upstream's answer, a key — so neither is logged.
    """
    exc_info = event.pop("exc_info", None)
    if exc_info is None or exc_info is False:
        return event
    if exc_info is True:
        exc_info = sys.exc_info()[1]
    if isinstance(exc_info, tuple):
        exc_info = exc_info[1]
    if isinstance(exc_info, BaseException):
        chain: list[dict[str, object]] = []
        current: BaseException | None = exc_info
        while current is not None and len(chain) < 5:
            frames = traceback.extract_tb(current.__traceback__)
            chain.append(
                {
                    "type": f"{type(current).__module__}.{type(current).__qualname__}",
                    "frames": [f"{f.filename}:{f.lineno} in {f.name}" for f in frames[-8:]],
                }
            )
            current = current.__cause__ or current.__context__
        event["exception"] = chain
    return event


# The request being served in this context. One variable set per request is cheaper than
# binding each field; the fields are read only when a line is actually written.
current_call: ContextVar[Call | None] = ContextVar("api_particulier_call", default=None)


def add_request_context(
    logger: object, name: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Add the request id, route and key id of the request being served, if any."""
    call = current_call.get()
    if call is not None:
        event.setdefault("request_id", call.request_id)
        event.setdefault("route", call.route_path)
        principal = call.principal
        event.setdefault("key_id", principal.key_id if principal is not None else None)
    return event
