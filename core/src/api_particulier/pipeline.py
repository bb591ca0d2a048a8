"""Running one request through the frozen plan.

authenticate → endpoint scope check → parameter validation → check_consent →
check_rate_limit → provider fetch → record_call (always).

The core awaits each implementation itself, in plan order. Denials are values; provider
errors come from :mod:`api_particulier.errors`; anything else raised by a plugin becomes the
fixed 500 body, logged with the plugin and the phase, and never shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import CoroutineType
from typing import Any

import anyio
import msgspec
import structlog
from starlette.requests import Request
from starlette.responses import Response

from .errors import ProviderError
from .masking import Compiled, apply, compile_fields
from .params import InvalidParams, ParamsValidator, parse_query
from .plan import Phase, Plan, Step
from .responses import (
    ACCESS_DENIED,
    INSUFFICIENT_SCOPES,
    INTERNAL_ERROR,
    denial_response,
    error_response,
    json_response,
    request_id,
)
from .types import Call, CallRecord, Denial, ErrorBody, Principal, ProviderRoute

log = structlog.get_logger("api_particulier.pipeline")
_bind = structlog.contextvars.bind_contextvars
_encode = msgspec.json.Encoder().encode

Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A route that runs the pipeline: a provider route, or a core route such as introspect."""

    path: str
    handler: Handler
    provider: str | None = None
    route: ProviderRoute | None = None
    validator: ParamsValidator | None = None
    scopes: frozenset[str] = frozenset()
    fields: Compiled = ()

    @classmethod
    def for_provider(cls, provider: str, route: ProviderRoute) -> Endpoint:
        return cls(
            path=route.path,
            handler=route.fetch,
            provider=provider,
            route=route,
            validator=ParamsValidator(route.params),
            scopes=route.scopes,
            fields=compile_fields(route.fields),
        )


class PluginFailure(Exception):
    """An implementation raised outside the error tree; carries where, never what."""

    def __init__(self, plugin: str, phase: str) -> None:
        self.plugin = plugin
        self.phase = phase
        super().__init__(f"{plugin} failed in {phase}")


async def _run_steps(steps: tuple[Step, ...], argument: Any) -> Any:
    """Await each step in order; return the first non-None result."""
    for step in steps:
        try:
            result = step.function(argument) if step.argnames else step.function()
            if step.is_async or type(result) is CoroutineType:
                result = await result
        except Exception as exc:
            raise PluginFailure(step.plugin, step.phase.name) from exc
        if result is not None:
            return result
    return None


class Pipeline:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.authenticate = plan.for_phase(Phase.authenticate)
        self.check_consent = plan.for_phase(Phase.check_consent)
        self.check_rate_limit = plan.for_phase(Phase.check_rate_limit)
        self.response_headers = plan.for_phase(Phase.response_headers)
        self.record_call = plan.for_phase(Phase.record_call)
        # Read once: a per-request debug line must cost nothing when debug is off.
        self.log_requests = log.is_enabled_for(logging.DEBUG)

    async def handle(self, request: Request, endpoint: Endpoint) -> Response:
        call = Call(
            request=request,
            request_id=request_id(request),
            route=endpoint.route,
            route_path=endpoint.path,
            query=parse_query(request.scope["query_string"]),
        )
        # Each request runs in a task of its own, so these bindings end with it; key_id is
        # reset for servers that run requests in one task (test clients).
        _bind(request_id=call.request_id, route=endpoint.path, key_id=None)
        try:
            response, error = await self._phases(call, endpoint)
        except Exception as exc:
            # The phases contain what plugins raise; this is a fault of the core itself.
            log.error("unhandled_error", exc_info=exc)
            response, error = error_response(INTERNAL_ERROR, 500), INTERNAL_ERROR.error
        except BaseException:
            # Cancelled (client gone, shutdown): the request still gets its journal row.
            with anyio.CancelScope(shield=True):
                await self._record(call, endpoint, 499, "client_closed_request")
            raise
        if call.principal is not None and self.response_headers:
            await self._decorate(call, response.status_code)
        veto = await self._record(call, endpoint, response.status_code, error)
        if veto is not None and 200 <= response.status_code < 300:
            response, error = denial_response(veto), veto.error
        # Appended to the raw list: MutableHeaders would rescan it for every header.
        raw = response.raw_headers
        raw.append((b"x-request-id", call.request_id.encode("latin-1")))
        if call.response_headers:
            present = {name for name, _ in raw}
            for name, value in call.response_headers.items():
                encoded = name.lower().encode("latin-1")
                if encoded not in present:
                    raw.append((encoded, value.encode("latin-1")))
        return response

    async def _phases(self, call: Call, endpoint: Endpoint) -> tuple[Response, str | None]:
        try:
            outcome = await _run_steps(self.authenticate, call)
            if not isinstance(outcome, Principal):
                denial = outcome if isinstance(outcome, Denial) else ACCESS_DENIED
                return denial_response(denial), denial.error
            call.principal = outcome
            call.scopes = outcome.scopes
            _bind(key_id=outcome.key_id)

            if endpoint.validator is not None:
                if endpoint.scopes.isdisjoint(call.scopes):
                    return denial_response(INSUFFICIENT_SCOPES), INSUFFICIENT_SCOPES.error
                try:
                    call.params = endpoint.validator.validate(call.query)
                except InvalidParams as invalid:
                    body = ErrorBody("bad_request", invalid.reason, invalid.message)
                    return error_response(body, 400), body.error

            for steps in (self.check_consent, self.check_rate_limit):
                denial = await _run_steps(steps, call)
                if denial is not None:
                    return denial_response(denial), denial.error
        except PluginFailure as failure:
            log.error(
                "plugin_failed",
                plugin=failure.plugin,
                phase=failure.phase,
                exc_info=failure.__cause__,
            )
            return error_response(INTERNAL_ERROR, 500), INTERNAL_ERROR.error
        return await self._fetch(call, endpoint)

    async def _fetch(self, call: Call, endpoint: Endpoint) -> tuple[Response, str | None]:
        try:
            payload = await endpoint.handler(call)
        except ProviderError as exc:
            headers = {"retry-after": str(exc.retry_after)} if exc.retry_after else None
            log.info("provider_error", plugin=endpoint.provider, error=exc.error, status=exc.status)
            return error_response(
                ErrorBody(exc.error, exc.reason, exc.message), exc.status, headers
            ), exc.error
        except Exception as exc:
            log.error("plugin_failed", plugin=endpoint.provider, phase="fetch", exc_info=exc)
            return error_response(INTERNAL_ERROR, 500), INTERNAL_ERROR.error
        route = endpoint.route
        if route is None:
            return json_response(payload), None
        try:
            data = payload if isinstance(payload, dict) else msgspec.to_builtins(payload)
            body = apply(endpoint.fields, data, call.scopes)
            if route.render is not None:
                body = route.render(body)
            return json_response(_encode(body)), None
        except Exception as exc:
            log.error("render_failed", plugin=endpoint.provider, phase="fetch", exc_info=exc)
            return error_response(INTERNAL_ERROR, 500), INTERNAL_ERROR.error

    async def _decorate(self, call: Call, status: int) -> None:
        for step in self.response_headers:
            try:
                if step.argnames == ("call", "status"):
                    result = step.function(call, status)
                else:
                    result = step.call(call=call, status=status)
                if step.is_async or type(result) is CoroutineType:
                    await result
            except Exception as exc:
                log.error("plugin_failed", plugin=step.plugin, phase=step.phase.name, exc_info=exc)

    async def _record(
        self, call: Call, endpoint: Endpoint, status: int, error: str | None
    ) -> Denial | None:
        principal = call.principal
        record = CallRecord(
            request_id=call.request_id,
            time=time.time(),
            route=endpoint.path,
            status=status,
            latency_ms=round((time.perf_counter() - call.started) * 1000, 3),
            key_id=principal.key_id if principal else None,
            application_id=principal.application_id if principal else None,
            provider=endpoint.provider,
            cache_hit=call.cache_hit,
            consent_evidence=call.consent_evidence,
            recipient=call.recipient,
            error=error,
        )
        veto: Denial | None = None
        for step in self.record_call:
            try:
                result = step.function(record) if step.argnames else step.function()
                if step.is_async or type(result) is CoroutineType:
                    result = await result
            except Exception as exc:
                log.error("plugin_failed", plugin=step.plugin, phase="record_call", exc_info=exc)
                continue
            if isinstance(result, Denial) and veto is None:
                veto = result
        if self.log_requests:
            log.debug("request", status=status, latency_ms=record.latency_ms, error=error)
        return veto
