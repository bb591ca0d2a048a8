"""The rate-limit policy: phase 3 of the pipeline, and the RateLimit headers of every
authenticated answer."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from api_particulier import Call, Denial, Principal, Provider, hookimpl
from api_particulier.settings import Settings

from .backends import Limiter, build_limiter
from .config import RateLimitConfig
from .headers import encoded_rate_limit_headers, refusal
from .memory import Clock
from .openapi import document_headers
from .window import Decision

if TYPE_CHECKING:
    from api_particulier.app import ApiApp

log = structlog.get_logger("api_particulier_ratelimit")

NAME = "ratelimit"
# Where check_rate_limit leaves its decision for response_headers.
DECISION = "ratelimit.decision"
MAX_QUOTA = 1_000_000


class RateLimitPlugin:
    def __init__(
        self, *, environ: Mapping[str, str] | None = None, clock: Clock | None = None
    ) -> None:
        self.config = RateLimitConfig()
        self._environ = environ
        self._clock = clock
        self._limiter: Limiter | None = None
        self._warned: set[str] = set()

    @property
    def limiter(self) -> Limiter:
        if self._limiter is None:
            self._limiter = self._build()
        return self._limiter

    def _build(self) -> Limiter:
        if self._clock is None:
            return build_limiter(self.config, self._environ)
        return build_limiter(self.config, self._environ, clock=self._clock)

    def state(self) -> dict[str, object]:
        """The limiter's mode (``redis``, ``degrade`` …), for operators and tests."""
        return self.limiter.state()

    # -- boot -----------------------------------------------------------------------------

    @hookimpl
    def register_config(self, register: Callable[[str, type[msgspec.Struct]], None]) -> None:
        register(NAME, RateLimitConfig)

    @hookimpl
    def register_providers(self, register: Callable[[Provider], None], settings: Settings) -> None:
        # No provider here: this is the first hook that sees the converted table, so a
        # redis backend without a URL fails at boot rather than at the first request.
        self.config = settings.plugin_config(NAME)
        self._limiter = self._build()

    @hookimpl
    async def startup(self, app: ApiApp) -> None:
        workers = app.settings.core.workers
        if self.config.backend == "memory" and workers > self.config.replicas:
            # Each worker would admit the whole quota: the bound would be workers × quota.
            log.warning(
                "ratelimit_memory_per_worker",
                workers=workers,
                replicas=self.config.replicas,
                advice='use backend = "redis", or set replicas to the number of workers',
            )
        await self.limiter.start()

    @hookimpl
    async def shutdown(self, app: ApiApp) -> None:
        await self.limiter.close()

    @hookimpl
    def amend_openapi(self, document: dict[str, Any]) -> None:
        closed = self.config.backend == "redis" and self.config.fail == "closed"
        document_headers(document, self.config.quota, self.config.window, with_503=closed)

    # -- requests -------------------------------------------------------------------------

    @hookimpl
    def check_application_settings(self, settings: Mapping[str, Any]) -> list[str] | None:
        own = settings.get(NAME)
        if not own:
            return None
        if not isinstance(own, Mapping) or set(own) - {"quota"}:
            return [f"{NAME}: the only application setting is quota"]
        value = own.get("quota")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUOTA:
            return [f"{NAME}.quota must be an integer from 1 to {MAX_QUOTA}"]
        return None

    @hookimpl
    def check_rate_limit(self, call: Call) -> Denial | Coroutine[Any, Any, Any] | None:
        principal = call.principal
        if principal is None:
            return None
        decision = self.limiter.hit_now(principal.key_id, self.quota(principal))
        if decision is None:
            return self._check_remotely(call, principal)
        return self._admit(call, decision)

    async def _check_remotely(self, call: Call, principal: Principal) -> Denial | None:
        decision = await self.limiter.hit(principal.key_id, self.quota(principal))
        return self._admit(call, decision)

    def _admit(self, call: Call, decision: Decision) -> Denial | None:
        call.extras[DECISION] = decision
        if decision.admitted:
            return None
        return refusal(decision, self.config.window)

    @hookimpl
    def response_headers(self, call: Call, status: int) -> Coroutine[Any, Any, Any] | None:
        principal = call.principal
        if principal is None:
            return None
        decision = call.extras.get(DECISION)
        if decision is None:
            # Answered before phase 3 (403, 400): report the state, count nothing.
            decision = self.limiter.peek_now(principal.key_id, self.quota(principal))
            if decision is None:
                return self._peek_remotely(call, principal)
        call.encoded_response_headers += encoded_rate_limit_headers(decision, self.config.window)
        return None

    async def _peek_remotely(self, call: Call, principal: Principal) -> None:
        decision = await self.limiter.peek(principal.key_id, self.quota(principal))
        call.encoded_response_headers += encoded_rate_limit_headers(decision, self.config.window)

    def quota(self, principal: Principal) -> int:
        """The application's own quota (``ratelimit.quota`` in its settings), else the
        configured one."""
        own = principal.settings.get(NAME)
        if not own:
            return self.config.quota
        value = own.get("quota") if isinstance(own, Mapping) else None
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_QUOTA:
            return value
        if value is not None and principal.application_id not in self._warned:
            self._warned.add(principal.application_id)
            log.warning(
                "ratelimit_quota_ignored",
                application_id=principal.application_id,
                advice=f"ratelimit.quota must be an integer from 1 to {MAX_QUOTA}",
            )
        return self.config.quota
