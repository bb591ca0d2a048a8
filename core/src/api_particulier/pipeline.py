"""Running one request through the frozen plan.

authenticate → (bearer pairing) → endpoint scope check → parameter validation →
check_consent → check_rate_limit → fetch_cached / provider fetch → masking →
response_headers → journal_subject → journal → record_call (always).

Every hook is called through :mod:`api_particulier.hooks`. Denials are values; provider
errors come from :mod:`api_particulier.errors`; anything else raised by a plugin becomes the
fixed 500 body, logged with the plugin and the phase, and never shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio
import msgspec
import structlog
from starlette.types import Receive, Scope, Send

from . import hooks
from .errors import ProviderError, ProviderTimeout
from .identity import CitizenIdentity, is_among
from .journal import JOURNAL_UNAVAILABLE, Journal
from .logs import current_call
from .masking import Compiled, Shape, apply, compile_fields, conforms, full_shape
from .params import InvalidParams, ParamsValidator
from .plan import Phase, Plan
from .responses import (
    ACCESS_DENIED,
    INSUFFICIENT_SCOPES,
    INTERNAL_ERROR,
    TOO_MANY_CREDENTIALS,
    Answer,
    choose_request_id,
    denial_answer,
    error_answer,
)
from .types import Call, CallRecord, Denial, ErrorBody, Principal, ProviderRoute

log = structlog.get_logger("api_particulier.pipeline")
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
    deadline: float | None = None
    # Set when a payload of the route's response type, seen with every scope, can be
    # encoded as it is (see masking.full_shape).
    shape: Shape | None = None

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
            deadline=route.deadline,
            shape=full_shape(fields, route.response) if route.render is None else None,
        )


class Pipeline:
    def __init__(self, plan: Plan, journal: Journal) -> None:
        self.plan = plan
        self.journal = journal
        self.authenticate = plan.for_phase(Phase.authenticate)
        self.allows_citizen_bearer = plan.for_phase(Phase.allows_citizen_bearer)
        self.check_consent = plan.for_phase(Phase.check_consent)
        self.check_rate_limit = plan.for_phase(Phase.check_rate_limit)
        # The policy phases that have implementations, in order.
        self.policies = tuple(p for p in (self.check_consent, self.check_rate_limit) if p)
        self.fetch_cached = plan.for_phase(Phase.fetch_cached)
        self.response_headers = plan.for_phase(Phase.response_headers)
        self.journal_subject = plan.for_phase(Phase.journal_subject)
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
            await send(
                {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
            )
            await send({"type": "http.response.body", "body": answer.body})
        finally:
            current_call.reset(token)

    async def handle(self, scope: Scope, receive: Receive, endpoint: Endpoint) -> Answer:
        """Run the phases; the request becomes the log context (serve() undoes it)."""
        # ASGI servers give header names in lower case; the first of a repeated name wins,
        # as with Starlette's Headers.
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in reversed(list(scope["headers"]))
        }
        pairs = parse_qsl(scope["query_string"].decode("latin-1"))
        call = Call(
            scope=scope,
            receive=receive,
            headers=headers,
            request_id=choose_request_id(scope, headers.get("x-request-id")),
            route=endpoint.route,
            route_path=endpoint.path,
            provider=endpoint.provider,
            # A name given twice keeps its last value; a declared parameter given twice is
            # refused by validation (repeated below).
            query=dict(pairs),
        )
        repeated = pairs if len(pairs) != len(call.query) else None
        current_call.set(call)
        try:
            answer = await self._phases(call, endpoint, repeated)
        except hooks.PluginFailure as failure:
            hooks.log_failure(failure)
            answer = error_answer(INTERNAL_ERROR, 500)
        except Exception as exc:
            # The phases contain what plugins raise; this is a fault of the core itself.
            log.error("unhandled_error", exc_info=exc)
            answer = error_answer(INTERNAL_ERROR, 500)
        except BaseException:
            # Cancelled (client gone, shutdown): the request still gets its journal row.
            with anyio.CancelScope(shield=True):
                await self._record(call, endpoint, 499, "client_closed_request")
            raise
        if call.principal is not None and self.response_headers:
            await hooks.each(self.response_headers, call=call, status=answer.status)
        if not await self._record(call, endpoint, answer.status, answer.error):
            answer = denial_answer(JOURNAL_UNAVAILABLE)
        answer.headers.append((b"x-request-id", call.request_id.encode("latin-1")))
        if call.response_headers:
            present = {name for name, _ in answer.headers}
            for name, value in call.response_headers.items():
                encoded = name.lower().encode("latin-1")
                if encoded not in present:
                    answer.headers.append((encoded, value.encode("latin-1")))
        return answer

    async def _phases(
        self, call: Call, endpoint: Endpoint, repeated: list[tuple[str, str]] | None
    ) -> Answer:
        """The phases; ``repeated``: the query's pairs when a name is given more than once."""
        outcome = await hooks.first(self.authenticate, call=call) if self.authenticate else None
        if not isinstance(outcome, Principal):
            call.refused_in = "authenticate"
            return denial_answer(outcome if isinstance(outcome, Denial) else ACCESS_DENIED)
        call.principal = outcome
        call.scopes = outcome.scopes
        if "x-api-key" in call.headers and _carries_bearer(call):
            accepted = hooks.collect(self.allows_citizen_bearer, principal=outcome)
            if True not in accepted:
                return denial_answer(TOO_MANY_CREDENTIALS)

        if endpoint.validator is not None:
            if endpoint.scopes.isdisjoint(call.scopes):
                return denial_answer(INSUFFICIENT_SCOPES)
            try:
                if repeated is not None:
                    endpoint.validator.refuse_repeated(repeated)
                call.params = endpoint.validator.validate(call.query)
            except InvalidParams as invalid:
                return error_answer(ErrorBody("bad_request", invalid.reason, invalid.message), 400)

        for phase in self.policies:
            denial = await hooks.first(phase, call=call)
            if denial is not None:
                if not isinstance(denial, Denial):
                    raise TypeError("a policy phase returned something else than a Denial")
                call.refused_in = phase[0].phase.name
                return denial_answer(denial)
        return await self._fetch(call, endpoint)

    async def _fetch(self, call: Call, endpoint: Endpoint) -> Answer:
        try:
            if self.fetch_cached and endpoint.route is not None:
                payload = await self._fetch_through_cache(call, endpoint)
            else:
                payload = await _provider_fetch(call, endpoint)
        except ClientGone:
            return error_answer(CLIENT_GONE, 499)
        except hooks.PluginFailure:
            raise  # the cache plugin's own fault
        except Exception as exc:
            return self._failed(exc, endpoint)
        try:
            route = endpoint.route
            if call.bound_to is not None and not _about(route, payload, call.bound_to):
                log.info("consent_not_the_citizen", plugin=endpoint.provider)
                return denial_answer(NOT_THE_CITIZEN)
            if route is None:
                return Answer(200, _encode(payload))
            shape = endpoint.shape
            if (
                shape is not None
                and endpoint.scopes <= call.scopes
                and conforms(payload, route.response, shape)
            ):
                # Every field is visible: the Struct encodes to the masked body as it is,
                # without the dicts masking would build (≈ 6-12 µs per call, measured).
                return Answer(200, _encode(payload))
            data = payload if isinstance(payload, dict) else msgspec.to_builtins(payload)
            body = apply(endpoint.fields, data, call.scopes)
            if route.render is not None:
                body = route.render(body)
            return Answer(200, _encode(body))
        except Exception as exc:
            log.error("render_failed", plugin=endpoint.provider, phase="fetch", exc_info=exc)
            return error_answer(INTERNAL_ERROR, 500)

    async def _fetch_through_cache(self, call: Call, endpoint: Endpoint) -> Any:
        """The payload from the first ``fetch_cached`` implementation that answers, else
        from the provider. What the provider raises comes out as it is, whether or not a
        cache plugin passed it on: only the cache plugin's own faults are PluginFailures."""
        raised: list[BaseException] = []

        async def fetch() -> Any:
            try:
                return await _provider_fetch(call, endpoint)
            except BaseException as exc:
                raised.append(exc)
                raise

        try:
            payload = await hooks.first(self.fetch_cached, call=call, fetch=fetch)
            if payload is None:
                payload = await fetch()
        except hooks.PluginFailure as failure:
            if failure.error in raised:
                raise failure.error from None
            raise
        return payload

    def _failed(self, error: BaseException, endpoint: Endpoint) -> Answer:
        if isinstance(error, ProviderError):
            headers = {"retry-after": str(error.retry_after)} if error.retry_after else None
            log.info(
                "provider_error", plugin=endpoint.provider, error=error.error, status=error.status
            )
            return error_answer(
                ErrorBody(error.error, error.reason, error.message), error.status, headers
            )
        log.error("plugin_failed", plugin=endpoint.provider, phase="fetch", exc_info=error)
        return error_answer(INTERNAL_ERROR, 500)

    async def _record(self, call: Call, endpoint: Endpoint, status: int, error: str | None) -> bool:
        """Hand the row to the journal, then to the record_call observers; False when the
        journal could not commit the row of a 2xx it must hold first (required mode): the
        answer is then the journal's 503, which is what the observers see."""
        principal = call.principal
        subject = scopes = None
        if call.params is not None:
            scopes = " ".join(sorted(endpoint.scopes & call.scopes))
            if self.journal_subject:
                subject = self._subject(call)
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
            subject=subject,
            scopes=scopes,
        )
        committed = await self.journal.record(record)
        if not committed:
            record = msgspec.structs.replace(
                record, status=JOURNAL_UNAVAILABLE.status, error=JOURNAL_UNAVAILABLE.error
            )
        if self.record_call:
            await hooks.each(self.record_call, record=record, call=call)
        if self.log_requests:
            log.debug("request", status=record.status, latency_ms=record.latency_ms, error=error)
        return committed

    def _subject(self, call: Call) -> str | None:
        """The first pseudonym a ``journal_subject`` implementation gives; a failing one is
        logged and never costs the call its row."""
        for step in self.journal_subject:
            try:
                subject = hooks.call_now(step, {"call": call})
            except hooks.PluginFailure as failure:
                hooks.log_failure(failure)
                continue
            if isinstance(subject, str):
                return subject
        return None


# The evidence names a citizen the answer is not about (or the route cannot say whom its
# answers are about): nothing of the answer is sent.
NOT_THE_CITIZEN = Denial(
    status=403,
    error="consent_invalid",
    reason="The consent evidence names another citizen than the data asked for",
    message="Le consentement fourni ne concerne pas l'usager dont les données sont demandées",
)


def _about(route: ProviderRoute | None, payload: Any, citizen: CitizenIdentity) -> bool:
    """Whether ``payload`` (a route's answer) is about ``citizen``."""
    if route is None or route.holders is None:
        return False
    return is_among(citizen, route.holders(payload))


async def _provider_fetch(call: Call, endpoint: Endpoint) -> Any:
    if endpoint.deadline is None:
        return await endpoint.handler(call)
    return await _waiting_fetch(endpoint.handler, call, endpoint.deadline)


class ClientGone(Exception):
    """The client closed the connection while the provider was being asked."""


# Recorded in the journal; never sent (nobody is there to read it).
CLIENT_GONE = ErrorBody(
    "client_closed_request", "The client closed the connection", "Le client s'est déconnecté"
)


async def _waiting_fetch(handler: Handler, call: Call, deadline: float) -> Any:
    """``handler(call)`` for a fetch that waits on something: cancelled past ``deadline``
    (a provider timeout), or as soon as the client goes away (the upstream call is not
    worth finishing, and the journal says 499)."""
    gone = False
    outcome: list[Any] = []
    failure: list[Exception] = []
    with anyio.move_on_after(deadline):
        async with anyio.create_task_group() as group:

            async def run() -> None:
                # In a task of its own, so that what it raises comes out as it is.
                try:
                    outcome.append(await handler(call))
                except Exception as exc:
                    failure.append(exc)
                finally:
                    group.cancel_scope.cancel()

            group.start_soon(run)
            await _until_disconnect(call)
            gone = True
            group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    if outcome:
        return outcome[0]
    if gone:
        raise ClientGone()
    raise ProviderTimeout()


async def _until_disconnect(call: Call) -> None:
    """Return when the client has gone. Once the request is read whole, a server's next
    message is the disconnect, whenever it comes; one that answers another request message
    at once instead cannot say when the client leaves: then there is nothing to watch."""
    read = False
    while True:
        message = await call.receive()
        if message["type"] == "http.disconnect":
            return
        if message["type"] == "http.request" and not message.get("more_body", False):
            if read:
                await anyio.sleep_forever()
            read = True


def _carries_bearer(call: Call) -> bool:
    return call.headers.get("authorization", "")[:7].lower() == "bearer "
