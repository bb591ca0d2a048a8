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
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from types import CoroutineType
from typing import Any

import anyio
import msgspec
import structlog
from starlette.types import Receive, Scope, Send

from .errors import ProviderError, ProviderTimeout
from .logs import current_call
from .masking import Compiled, Shape, apply, compile_fields, conforms, full_shape
from .params import InvalidParams, ParamsValidator, parse_query
from .plan import Phase, Plan
from .responses import (
    ACCESS_DENIED,
    INSUFFICIENT_SCOPES,
    INTERNAL_ERROR,
    Answer,
    choose_request_id,
    denial_answer,
    error_answer,
)
from .types import Call, CallRecord, Denial, ErrorBody, Principal, ProviderRoute

log = structlog.get_logger("api_particulier.pipeline")
_encode = msgspec.json.Encoder().encode

Handler = Callable[[Call], Awaitable[Any]]
# Headers the core writes itself; a plugin's response header of the same name is dropped.
_CORE_HEADERS = frozenset({b"content-length", b"content-type", b"x-request-id"})
# Plugins' header names, encoded once each (they are a few constants).
_encoded_names: dict[str, bytes] = {}


def _header_name(name: str) -> bytes:
    encoded = _encoded_names.get(name)
    if encoded is None:
        encoded = name.lower().encode("latin-1")
        if len(_encoded_names) < 256:
            _encoded_names[name] = encoded
    return encoded


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
    # Set when a payload of the route's response type, seen with every scope, can be
    # encoded as it is (see masking.full_shape).
    shape: Shape | None = None
    deadline: float | None = None

    @classmethod
    def for_provider(cls, provider: str, route: ProviderRoute) -> Endpoint:
        fields = compile_fields(route.fields)
        return cls(
            path=route.path,
            handler=route.fetch,
            provider=provider,
            route=route,
            validator=ParamsValidator(route.params),
            scopes=route.scopes,
            fields=fields,
            shape=full_shape(fields, route.response) if route.render is None else None,
            deadline=route.deadline,
        )


class Pipeline:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.authenticate = plan.for_phase(Phase.authenticate)
        self.check_consent = plan.for_phase(Phase.check_consent)
        self.check_rate_limit = plan.for_phase(Phase.check_rate_limit)
        self.policies = self.check_consent + self.check_rate_limit
        self.response_headers = plan.for_phase(Phase.response_headers)
        self.record_call = plan.for_phase(Phase.record_call)
        # Read once: a per-request debug line must cost nothing when debug is off.
        self.log_requests = log.is_enabled_for(logging.DEBUG)

    async def serve(self, scope: Scope, receive: Receive, send: Send, endpoint: Endpoint) -> None:
        """Answer one request of ``endpoint`` as an ASGI application."""
        # handle() puts the request in the log context; it is undone here, once the
        # request is over, so that even the net below logs with it.
        token = current_call.set(None)
        try:
            try:
                answer = await self.handle(scope, receive, endpoint)
            except Exception as exc:
                # The pipeline contains plugin failures; this is the net for its own.
                log.error("unhandled_error", exc_info=exc)
                answer = error_answer(INTERNAL_ERROR, 500)
            start = {
                "type": "http.response.start",
                "status": answer.status,
                "headers": answer.headers,
            }
            await send(start)
            await send({"type": "http.response.body", "body": answer.body})
        finally:
            current_call.reset(token)

    async def handle(self, scope: Scope, receive: Receive, endpoint: Endpoint) -> Answer:
        """Run the phases; the request becomes the log context (serve() undoes it)."""
        # ASGI servers give header names in lower case; the first of a repeated name wins,
        # as with Starlette's Headers. ASGI only promises an iterable of pairs.
        raw_headers = scope["headers"]
        if type(raw_headers) is not list:
            raw_headers = list(raw_headers)
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in reversed(raw_headers)
        }
        call = Call(
            scope=scope,
            receive=receive,
            headers=headers,
            request_id=choose_request_id(scope, headers.get("x-request-id")),
            route=endpoint.route,
            route_path=endpoint.path,
            query=parse_query(scope["query_string"]),
        )
        current_call.set(call)
        try:
            answer = await self._phases(call, endpoint)
        except Exception as exc:
            # The phases contain what plugins raise; this is a fault of the core itself.
            log.error("unhandled_error", exc_info=exc)
            answer = error_answer(INTERNAL_ERROR, 500)
        except BaseException:
            # Cancelled (client gone, shutdown): the request still gets its journal row.
            with anyio.CancelScope(shield=True):
                cancelled = self._record(call, endpoint, 499, "client_closed_request")
                if cancelled is not None and not isinstance(cancelled, Denial):
                    await cancelled
            raise
        if call.principal is not None and self.response_headers:
            pending = self._decorate(call, answer.status)
            if pending:
                await _await_pending(pending)
        veto = self._record(call, endpoint, answer.status, answer.error)
        if veto is not None and not isinstance(veto, Denial):
            veto = await veto
        if veto is not None and 200 <= answer.status < 300:
            answer = denial_answer(veto)
        raw = answer.headers
        raw.append((b"x-request-id", call.request_id.encode("latin-1")))
        texts, encoded = call.response_headers, call.encoded_response_headers
        if texts or encoded:
            present = {name for name, _ in raw} if answer.own_headers else _CORE_HEADERS
            for name, value in texts.items():
                name_bytes = _encoded_names.get(name) or _header_name(name)
                if name_bytes not in present:
                    raw.append((name_bytes, value.encode("latin-1")))
            for pair in encoded:
                if pair[0] not in present:
                    raw.append(pair)
        return answer

    async def _phases(self, call: Call, endpoint: Endpoint) -> Answer:
        # The loops over the steps are written out here rather than in a helper: this runs
        # on every request, and a coroutine per phase costs more than the phase itself.
        step = None
        try:
            outcome = None
            for step in self.authenticate:
                outcome = step.function(call) if step.argnames else step.function()
                if type(outcome) is CoroutineType or step.is_async:
                    outcome = await outcome
                if outcome is not None:
                    break
            step = None
            if not isinstance(outcome, Principal):
                return denial_answer(outcome if isinstance(outcome, Denial) else ACCESS_DENIED)
            call.principal = outcome
            call.scopes = outcome.scopes

            if endpoint.validator is not None:
                if endpoint.scopes.isdisjoint(call.scopes):
                    return denial_answer(INSUFFICIENT_SCOPES)
                try:
                    call.params = endpoint.validator.validate(call.query)
                except InvalidParams as invalid:
                    body = ErrorBody("bad_request", invalid.reason, invalid.message)
                    return error_answer(body, 400)

            for step in self.policies:
                denial = step.function(call) if step.argnames else step.function()
                if type(denial) is CoroutineType or step.is_async:
                    denial = await denial
                if denial is not None:
                    return denial_answer(denial)
            step = None
        except Exception as exc:
            if step is None:
                raise
            log.error("plugin_failed", plugin=step.plugin, phase=step.phase.name, exc_info=exc)
            return error_answer(INTERNAL_ERROR, 500)
        return await self._fetch(call, endpoint)

    async def _fetch(self, call: Call, endpoint: Endpoint) -> Answer:
        try:
            if endpoint.deadline is None:
                payload = await endpoint.handler(call)
            else:
                payload = await _within(endpoint.deadline, endpoint.handler, call)
        except ProviderError as exc:
            headers = {"retry-after": str(exc.retry_after)} if exc.retry_after else None
            log.info("provider_error", plugin=endpoint.provider, error=exc.error, status=exc.status)
            return error_answer(ErrorBody(exc.error, exc.reason, exc.message), exc.status, headers)
        except Exception as exc:
            log.error("plugin_failed", plugin=endpoint.provider, phase="fetch", exc_info=exc)
            return error_answer(INTERNAL_ERROR, 500)
        route = endpoint.route
        try:
            if route is None:
                return Answer(200, _encode(payload))
            shape = endpoint.shape
            if (
                shape is not None
                and endpoint.scopes <= call.scopes
                and conforms(payload, route.response, shape)
            ):
                # Every field is visible: the Struct encodes to the masked body as it is.
                return Answer(200, _encode(payload))
            data = payload if isinstance(payload, dict) else msgspec.to_builtins(payload)
            body = apply(endpoint.fields, data, call.scopes)
            if route.render is not None:
                body = route.render(body)
            return Answer(200, _encode(body))
        except Exception as exc:
            log.error("render_failed", plugin=endpoint.provider, phase="fetch", exc_info=exc)
            return error_answer(INTERNAL_ERROR, 500)

    def _decorate(self, call: Call, status: int) -> list[Any]:
        """Run every response_headers step; return what is left to await."""
        pending: list[Any] = []
        for step in self.response_headers:
            try:
                if step.argnames == ("call", "status"):
                    result = step.function(call, status)
                else:
                    result = step.call(call=call, status=status)
            except Exception as exc:
                log.error("plugin_failed", plugin=step.plugin, phase=step.phase.name, exc_info=exc)
                continue
            if type(result) is CoroutineType or step.is_async:
                pending.append((step, result))
        return pending

    def _record(
        self, call: Call, endpoint: Endpoint, status: int, error: str | None
    ) -> Denial | Coroutine[Any, Any, Denial | None] | None:
        """Run every record_call step: the veto, or a coroutine giving it when a step
        must be awaited (a journal that must commit before answering)."""
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
        pending: list[Any] = []
        for step in self.record_call:
            try:
                result = step.function(record) if step.argnames else step.function()
            except Exception as exc:
                log.error("plugin_failed", plugin=step.plugin, phase="record_call", exc_info=exc)
                continue
            if type(result) is CoroutineType or step.is_async:
                pending.append((step, result))
            elif isinstance(result, Denial) and veto is None:
                veto = result
        if self.log_requests:
            log.debug("request", status=status, latency_ms=record.latency_ms, error=error)
        if pending:
            return _first_veto(veto, pending)
        return veto


async def _within(deadline: float, handler: Handler, call: Call) -> Any:
    """``handler(call)``, cancelled after ``deadline`` seconds (then a provider timeout)."""
    with anyio.move_on_after(deadline):
        return await handler(call)
    # Only the deadline's cancellation ends the block without a return.
    raise ProviderTimeout()


async def _await_pending(pending: list[Any]) -> None:
    """Await the response_headers steps that returned a coroutine, logging failures."""
    for step, awaitable in pending:
        try:
            await awaitable
        except Exception as exc:
            log.error("plugin_failed", plugin=step.plugin, phase=step.phase.name, exc_info=exc)


async def _first_veto(veto: Denial | None, pending: list[Any]) -> Denial | None:
    for step, awaitable in pending:
        try:
            result = await awaitable
        except Exception as exc:
            log.error("plugin_failed", plugin=step.plugin, phase="record_call", exc_info=exc)
            continue
        if isinstance(result, Denial) and veto is None:
            veto = result
    return veto
