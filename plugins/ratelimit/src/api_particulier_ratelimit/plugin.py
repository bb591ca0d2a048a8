"""The rate-limit policy: phase 3 of the pipeline, and the RateLimit headers of every
authenticated answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from api_particulier import Call, Denial, PluginContext, Principal, hookimpl

from .backends import Limiter, build_limiter
from .config import RateLimitConfig
from .headers import rate_limit_headers, refusal
from .memory import Clock
from .openapi import document_headers
from .window import Decision

log = structlog.get_logger("api_particulier_ratelimit")

# Where check_rate_limit leaves its decision for response_headers.
DECISION = "ratelimit.decision"
MAX_QUOTA = 1_000_000


class RateLimitPlugin:
    def __init__(self, *, clock: Clock | None = None) -> None:
        self.config = RateLimitConfig()
        self._clock = clock
        self._limiter: Limiter | None = None
        self._warned: set[str] = set()

    @property
    def limiter(self) -> Limiter:
        if self._limiter is None:
            raise RuntimeError("the rate limit is used before the service started")
        return self._limiter

    def state(self) -> dict[str, object]:
        """The limiter's mode (``redis``, ``degrade`` …), for operators and tests."""
        return self.limiter.state()

    # -- lifespan -------------------------------------------------------------------------

    @hookimpl
    def config_schema(self) -> type[RateLimitConfig]:
        return RateLimitConfig

    @hookimpl
    async def startup(self, context: PluginContext) -> None:
        self.config = context.config
        faults = context.faults
        if self._clock is None:
            self._limiter = build_limiter(self.config, context.redis, faults=faults)
        else:
            self._limiter = build_limiter(
                self.config, context.redis, clock=self._clock, faults=faults
            )
        if self.config.backend == "memory" and context.workers > self.config.replicas:
            # Each worker would admit the whole quota: the bound would be workers × quota.
            context.log.warning(
                "ratelimit_memory_per_worker",
                workers=context.workers,
                replicas=self.config.replicas,
                advice='use backend = "redis", or set replicas to the number of workers',
            )
        await self._limiter.start()

    @hookimpl
    async def shutdown(self) -> None:
        if self._limiter is not None:
            await self._limiter.close()

    @hookimpl
    def amend_openapi(self, document: dict[str, Any]) -> None:
        closed = self.config.backend == "redis" and self.config.fail == "closed"
        document_headers(document, self.config.quota, self.config.window, with_503=closed)

    # -- requests -------------------------------------------------------------------------

    @hookimpl
    def check_application_settings(self, settings: Mapping[str, Any]) -> list[str] | None:
        own = settings.get("ratelimit")
        if not own:
            return None
        if not isinstance(own, Mapping) or set(own) - {"quota"}:
            return ["ratelimit: the only application setting is quota"]
        value = own.get("quota")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUOTA:
            return [f"ratelimit.quota must be an integer from 1 to {MAX_QUOTA}"]
        return None

    @hookimpl
    async def check_rate_limit(self, call: Call) -> Denial | None:
        principal = call.principal
        if principal is None:
            return None
        decision = await self.limiter.hit(principal.key_id, self.quota(principal))
        call.extras[DECISION] = decision
        if decision.admitted:
            return None
        return refusal(decision, self.config.window)

    @hookimpl
    async def response_headers(self, call: Call) -> None:
        principal = call.principal
        if principal is None:
            return
        decision: Decision | None = call.extras.get(DECISION)
        if decision is None:
            # Answered before phase 3 (403, 400): report the state, count nothing.
            decision = await self.limiter.peek(principal.key_id, self.quota(principal))
        call.response_headers.update(rate_limit_headers(decision, self.config.window))

    def quota(self, principal: Principal) -> int:
        """The application's own quota (``ratelimit.quota`` in its settings), else the
        configured one."""
        own = principal.settings.get("ratelimit")
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
