"""Every hook a plugin may implement, grouped by when it runs.

The calling convention of each hook is carried out by the core, never by pluggy's
``firstresult`` or wrappers: with ``async def`` implementations those would see coroutine
objects, not results. The core builds a frozen plan at boot (see :mod:`api_particulier.plan`)
and awaits each implementation itself, in plan order.

The request and lifespan hooks may be plain functions or coroutine functions. A plain
implementation of a request hook may also return a coroutine when, this time, it has to
wait (a cache miss, a network call): the core awaits it. That keeps the common case free of
the cost of creating and awaiting a coroutine.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec
import pluggy

if TYPE_CHECKING:
    from .app import ApiApp
    from .settings import Settings
    from .types import Call, CallRecord, Denial, Principal, Provider

PROJECT = "api_particulier"
_spec = pluggy.HookspecMarker(PROJECT)

# ---------------------------------------------------------------------------------------
# Boot: called once, in plan order, while the application is built.
# ---------------------------------------------------------------------------------------


@_spec
def register_config(register: Callable[[str, type[msgspec.Struct]], None]) -> None:
    """Declare the strict Struct that validates this plugin's ``[plugins.<name>]`` table.

    Call ``register(name, StructType)`` once, with the plugin's short name. The core converts
    the table at boot and reports every error of every table together. A table without a
    registered Struct is an error, which catches typos.
    """


@_spec
def register_providers(register: Callable[[Provider], None], settings: Settings) -> None:
    """Declare the data sources this plugin serves.

    Call ``register(provider)`` for each :class:`~api_particulier.types.Provider`. Read the
    plugin's converted configuration with ``settings.plugin_config(name)``. Two providers
    declaring the same route is a boot error.
    """


@_spec
def register_commands(
    register: Callable[
        [
            str,
            str,
            Callable[[argparse.ArgumentParser], None],
            Callable[[Settings, argparse.Namespace], int],
        ],
        None,
    ],
) -> None:
    """Add sub-commands to the ``api-particulier`` command line.

    Call ``register(name, help, configure, run)``: ``configure(parser)`` adds the command's
    arguments to its own :class:`argparse.ArgumentParser`; ``run(settings, args)`` carries it
    out and returns the exit status. Only enabled plugins are asked. Raise
    :class:`~api_particulier.errors.ApiParticulierError` for a one-line error.
    """


@_spec
def check_application_settings(settings: Mapping[str, Any]) -> list[str] | None:
    """Say what is wrong with an application's per-plugin settings before they are saved.

    ``settings`` maps plugin names to their values (``{"ratelimit": {"quota": 5}}``).
    Return a list of problems (one sentence each) with this plugin's own part, or ``None``
    when it is fine. The command line (``keys create``, ``apps set``) refuses to save
    settings any enabled plugin finds wrong, so that a mistake shows at once, not as
    refused calls later. All implementations run; must be a plain function.
    """


@_spec
def startup(app: ApiApp) -> None:
    """Open what the plugin needs at run time (connections, background tasks).

    All implementations run, in plan order, before the first request is served.
    """


@_spec
def shutdown(app: ApiApp) -> None:
    """Release what ``startup`` opened. All implementations run, in reverse plan order;
    one failing does not stop the others."""


@_spec
def amend_openapi(document: dict[str, Any]) -> None:
    """Add what this plugin changes in the API to the generated OpenAPI document (a query
    parameter, a header, a status). Called once, when the document is first served; edit
    ``document`` in place.
    """


# ---------------------------------------------------------------------------------------
# Request phases, in the order the core runs them.
# ---------------------------------------------------------------------------------------


@_spec
def authenticate(call: Call) -> Principal | Denial | None:
    """Phase 1: say who is calling.

    Return a :class:`~api_particulier.types.Principal` to accept, a
    :class:`~api_particulier.types.Denial` to refuse with a specific answer, or ``None`` to
    let the next implementation try. The first non-``None`` result wins; when every
    implementation returns ``None`` the core answers 401 ``access_denied``.
    """


@_spec
def allows_citizen_bearer(principal: Principal) -> bool | None:
    """Whether a request authenticated as ``principal`` may also carry an
    ``Authorization: Bearer`` token that belongs to the citizen (a FranceConnect token).

    Asked only when both credentials are present. Without any implementation answering
    ``True`` the pair is refused with 401 ``too_many_credentials_provided``.
    """


@_spec
def check_consent(call: Call) -> Denial | None:
    """Phase 2: check the citizen's consent for this call.

    Runs after the endpoint scope check and parameter validation, so ``call.params`` holds
    the validated parameters. May narrow ``call.scopes`` to what the citizen agreed to and
    set ``call.consent_evidence`` / ``call.recipient``. The first Denial ends the request.
    """


@_spec
def check_rate_limit(call: Call) -> Denial | None:
    """Phase 3: admit or refuse the call under the caller's rate limit.

    May add headers to ``call.response_headers``; they are sent with whatever answer follows.
    The first Denial ends the request.
    """


@_spec
def response_headers(call: Call, status: int) -> None:
    """Add headers to the answer of an authenticated request, whatever its status and
    however far it went (a 403 or a 400 answers before ``check_rate_limit`` runs).

    Write into ``call.response_headers``; headers set by the answer itself win.
    """


@_spec
def record_call(record: CallRecord) -> Denial | None:
    """Phase 5: record what happened. Runs exactly once per request that reached
    authentication, after denials and errors too, before the answer is sent.

    Failures are logged with ``plugin=`` and ``phase=`` and never change the answer. A
    journal that must hold a row before data leaves (``[core.journal] mode = "required"``)
    returns a :class:`~api_particulier.types.Denial` when it could not write: a success
    answer is then replaced by that denial. Denials returned for other answers are ignored.
    """
