"""The values that flow through the pipeline.

Plugins receive and return these; they are the public vocabulary of the hook contract.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import msgspec

from .params import FieldRule, ParamsValidator

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import Message, Receive, Scope

    from .identity import CitizenIdentity
    from .upstream import Upstream


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the application behind a key, as resolved by ``authenticate``.

    ``settings`` carries the per-application policy values that policy plugins read
    (``{"ratelimit": {"quota": 5}, "consent": {...}}``), keyed by plugin name.
    """

    key_id: str
    application_id: str
    application_name: str
    scopes: frozenset[str]
    expires_at: float | None = None
    settings: Mapping[str, Any] = msgspec.field(default_factory=dict)


class Denial(msgspec.Struct, frozen=True, kw_only=True):
    """A policy refusal. Returning one from a phase hook ends the request with this answer."""

    status: int
    error: str
    reason: str
    message: str
    headers: Mapping[str, str] = msgspec.field(default_factory=dict)


class ErrorBody(msgspec.Struct, frozen=True):
    """The body of every non-2xx answer (contract §5)."""

    error: str
    reason: str
    message: str


class CallRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One journal row: what happened to one request, without personal data."""

    request_id: str
    time: float
    route: str
    status: int
    latency_ms: float
    key_id: str | None = None
    application_id: str | None = None
    # The provider plugin that served the route; None for core routes such as introspect.
    provider: str | None = None
    cache_hit: bool = False
    consent_evidence: str | None = None
    recipient: str | None = None
    # The error code of a non-2xx answer (``access_denied``, ``not_found`` …).
    error: str | None = None
    # A keyed pseudonym of the citizen the call was about (``journal_subject``), never
    # their identifiers: who looked at a citizen's data can be told to them alone.
    subject: str | None = None
    # The route's scopes the answer could show (the key's, narrowed by consent), sorted,
    # space-separated; None before the parameters were validated.
    scopes: str | None = None


@dataclass(frozen=True, kw_only=True)
class RouteExamples:
    """Subjects a route's provider answers in a known way in its default (sandbox)
    configuration: they drive the provider contract suite
    (``api_particulier.testing.check_provider_contract``)."""

    # Parameters of a subject the provider knows: 200.
    found: Mapping[str, str]
    # Parameters of a well-formed subject it does not know: 404 not_found.
    not_found: Mapping[str, str] | None = None
    # Parameters validation must refuse before the provider is asked: 400.
    invalid: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Holder:
    """A person an answer is about, as the provider names them: what a citizen's own
    identity (FranceConnect's) is matched with before they are shown the calls about the
    identifiers they gave. ``names``: family and given names in any order; ``birthdate``:
    ``YYYY-MM-DD``."""

    names: str
    birthdate: str


@dataclass(frozen=True, kw_only=True)
class ProviderRoute:
    """One HTTP route served by a provider plugin.

    Everything the core needs to serve it comes from this declaration: the parameter Struct
    (validated before any policy sees the call), the response Struct (for OpenAPI), the
    scope of each response field (endpoint scope check and masking), and ``fetch``.

    ``fields`` maps each leaf of the response to the scope that unmasks it, as a nested
    mapping mirroring the body: ``{"declarant1": {"nom": "dgfip_declarant1_nom"}, ...}``.
    A nested mapping is a container, always present in the answer (possibly ``{}``); a
    string is a leaf, present only when its scope is held. Fields not declared are never
    shown, whatever the provider returned.
    """

    path: str
    params: type[msgspec.Struct]
    response: type[msgspec.Struct]
    fields: Mapping[str, Any]
    fetch: Callable[[Call], Awaitable[Any]]
    summary: str
    description: str = ""
    tags: tuple[str, ...] = ()
    deprecated: bool = False
    # Statuses the provider itself may produce (404, 509 …), documented in OpenAPI.
    provider_statuses: tuple[int, ...] = (502, 503, 504)
    # Applied after masking, e.g. the v1 alias omitting unknown money fields.
    render: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Query names of the parameters that identify the citizen; consent evidence is bound to
    # them. None means every parameter of the Struct.
    subject_params: tuple[str, ...] | None = None
    # Query names of the parameters that name the citizen themself rather than one
    # document of theirs (a tax number, not a notice's reference): the journal's pseudonym
    # of the citizen is made of them, so that a citizen finds every call about them with
    # what they know. None means ``subject_params``.
    citizen_params: tuple[str, ...] | None = None
    # The persons an answer of the route is about (a payload as ``fetch`` returns it). A
    # route that declares it lets a citizen's identity be checked against the identifiers
    # they give: the citizen gives the route's other parameters too (a notice's reference
    # besides the tax number), and must be one of the persons the answer names.
    holders: Callable[[Any], Sequence[Holder]] | None = None
    # Seconds the whole fetch may take, whatever it waits on (upstream calls, locks, a
    # parse in a worker thread): past it, the fetch is cancelled and the answer is 504
    # ``timeout_error``. ``None`` for a fetch that never waits (a sandbox data set): it
    # then runs without a timer.
    deadline: float | None = 10.0
    # What the contract suite asks the route about (see RouteExamples).
    examples: RouteExamples | None = None
    # Seconds a successful answer may be kept by a response cache (contract §10; a cache
    # plugin's configuration may say otherwise). None: never cached.
    cache_ttl: float | None = None

    @cached_property
    def scopes(self) -> frozenset[str]:
        return frozenset(_leaf_scopes(self.fields))

    @cached_property
    def subject_fields(self) -> tuple[tuple[str, str], ...]:
        """(attribute, query name) of each parameter identifying the citizen."""
        fields = msgspec.structs.fields(self.params)
        names = self.subject_params
        return tuple(
            (f.name, f.encode_name) for f in fields if names is None or f.encode_name in names
        )

    @cached_property
    def citizen_fields(self) -> tuple[tuple[str, str], ...]:
        """(attribute, query name) of each parameter naming the citizen themself."""
        names = self.citizen_params
        if names is None:
            return self.subject_fields
        fields = msgspec.structs.fields(self.params)
        return tuple((f.name, f.encode_name) for f in fields if f.encode_name in names)

    def citizen_identifiers(self, given: Mapping[str, str]) -> dict[str, str] | None:
        """The citizen's identifiers for this route, as a data call's validated parameters
        give them (:meth:`Call.citizen`): ``given`` checked and normalised by the route's
        own rules (spaces removed where the route removes them). None when one is missing
        or invalid."""
        return self._checked(given, [query for _, query in self.citizen_fields])

    def checked_query(self, given: Mapping[str, str]) -> dict[str, str] | None:
        """Every parameter of the route, from ``given``, checked and normalised as
        :meth:`citizen_identifiers` does; None when one is missing or invalid."""
        return self._checked(given, list(self._param_rules))

    @cached_property
    def _param_rules(self) -> dict[str, FieldRule]:
        """The route's parameter rules by query name, in declaration order."""
        return {rule.name: rule for rule in ParamsValidator(self.params).rules}

    def _checked(self, given: Mapping[str, str], names: Sequence[str]) -> dict[str, str] | None:
        rules = self._param_rules
        found = {}
        for query in names:
            value = given.get(query)
            rule = rules[query]
            if value is None:
                return None
            if rule.remove_spaces:
                value = value.replace(" ", "")
            if not rule.accepts(value):
                return None
            found[query] = str(msgspec.convert(value, rule.annotation, strict=False))
        return found


def _leaf_scopes(tree: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for node in tree.values():
        if isinstance(node, Mapping):
            found.extend(_leaf_scopes(node))
        else:
            found.append(node)
    return found


@dataclass(frozen=True, kw_only=True)
class Provider:
    """A data source: its routes, its health check (contract §7), and what it needs open
    while the service runs.

    ``name`` defaults to the plugin's name. The core opens the ``upstreams`` before the
    plugins' ``startup`` and closes them after their ``shutdown``; ``open`` and ``close``,
    when given, run at the same moments for anything else the provider holds. A provider
    thus needs no ``startup`` of its own.
    """

    routes: tuple[ProviderRoute, ...]
    name: str | None = None
    # What people read for the provider (French), on public pages: "Avis d'impôt sur le
    # revenu (DGFiP)". None: its name.
    label: str | None = None
    health_path: str | None = None
    health: Callable[[], Awaitable[bool]] | None = None
    # The upstream clients the routes call through: opened and closed by the core, and
    # their state (calls in flight, circuit breaker) served by ``/api/plugins``.
    upstreams: tuple[Upstream, ...] = ()
    open: Callable[[], Awaitable[None]] | None = None
    close: Callable[[], Awaitable[None]] | None = None
    # A French label per scope, for people choosing scopes (an access request form): a
    # label naming a scope none of the routes has is refused at boot.
    scope_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        """The label, or the name when the provider declares none."""
        return self.label or self.name or ""

    @property
    def scopes(self) -> frozenset[str]:
        """Every scope of every route of the provider."""
        return frozenset(scope for route in self.routes for scope in route.scopes)


class Call:
    """The state of one request as it moves through the phases.

    Plugins read it and may write ``scopes`` (narrowing only), ``response_headers``,
    ``consent_evidence``, ``recipient``, ``bound_to``, ``cache_hit`` and ``extras``.
    ``refused_in`` is set by the pipeline; ``upstream_ms`` and ``upstream_outcome`` by
    :class:`~api_particulier.Upstream` for each call it makes while the request is served.

    ``headers`` maps each request header's lower-case name to its value (the first one when
    a name is repeated); ``request`` builds a Starlette ``Request`` for the rarer needs.
    """

    __slots__ = (
        "_receive",
        "_request",
        "bound_to",
        "cache_hit",
        "consent_evidence",
        "extras",
        "headers",
        "params",
        "principal",
        "provider",
        "query",
        "recipient",
        "refused_in",
        "request_id",
        "response_headers",
        "route",
        "route_path",
        "scope",
        "scopes",
        "started",
        "upstream_ms",
        "upstream_outcome",
    )

    def __init__(
        self,
        *,
        scope: Scope,
        receive: Receive,
        headers: dict[str, str],
        request_id: str,
        route: ProviderRoute | None,
        route_path: str,
        query: dict[str, str],
        provider: str | None = None,
    ) -> None:
        self.scope = scope
        # The name of the provider serving the route (None on core routes).
        self.provider = provider
        self._receive = receive
        self._request: Request | None = None
        self.headers = headers
        self.request_id = request_id
        self.route = route
        self.route_path = route_path
        # The query string, parsed once (a name given twice keeps its last value).
        self.query = query
        self.started = time.perf_counter()
        self.principal: Principal | None = None
        self.params: msgspec.Struct | None = None
        self.scopes: frozenset[str] = frozenset()
        self.response_headers: dict[str, str] = {}
        self.consent_evidence: str | None = None
        self.recipient: str | None = None
        # The citizen the call's evidence names (a consent plugin's FranceConnect token):
        # the provider's answer must be about them (its route's ``holders``), else the core
        # refuses it (403 consent_invalid) and nothing of it is sent. None: not bound.
        self.bound_to: CitizenIdentity | None = None
        self.cache_hit = False
        self.extras: dict[str, Any] = {}
        # The phase whose refusal ended the request: ``authenticate`` (401, or the key
        # store's 503), ``check_consent`` or ``check_rate_limit`` (a policy's Denial); None
        # when no phase refused. Set by the pipeline, for ``record_call`` observers.
        self.refused_in: str | None = None
        # Milliseconds spent waiting on upstreams (every Upstream.request of the call, added
        # up) and the outcome of the last one (``ok``, ``upstream_error`` for a 5xx,
        # ``timeout``, ``connect_error`` …); None when no upstream was called. Written by
        # Upstream.request while the call is served.
        self.upstream_ms: float | None = None
        self.upstream_outcome: str | None = None

    async def receive(self) -> Message:
        """The next ASGI message of the request (``http.disconnect`` once the client left)."""
        return await self._receive()

    @property
    def request(self) -> Request:
        """The Starlette request (built on first use: most calls only need ``headers``)."""
        if self._request is None:
            from starlette.requests import Request

            self._request = Request(self.scope, self._receive)
        return self._request

    def citizen(self) -> dict[str, str]:
        """The validated parameters naming the citizen themself (the route's
        ``citizen_params``), as strings by their query names."""
        if self.params is None or self.route is None:
            return {}
        params = self.params
        return {query: str(getattr(params, attr)) for attr, query in self.route.citizen_fields}

    def subject(self) -> dict[str, str]:
        """The validated parameters that identify the citizen, as strings by their query
        names (what integrators see)."""
        if self.params is None or self.route is None:
            return {}
        params = self.params
        return {query: str(getattr(params, attr)) for attr, query in self.route.subject_fields}
