"""The consent policy plugin: phase 2 of the pipeline (``check_consent``).

Per application, a policy names the evidence of the citizen's agreement it accepts
(``identifiers``, ``receipt``, ``franceconnect``) and whether the data recipient must be
named. The call's effective scopes become the key's scopes ∩ the consented scopes, so
masking shows only what the citizen agreed to share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import structlog
from api_particulier import (
    Call,
    ConfigError,
    Denial,
    PluginContext,
    Principal,
    ProviderError,
    ProviderTimeout,
    hookimpl,
    is_valid_siret,
)

from . import openapi
from .cli import consent_commands
from .config import ConsentConfig, ReplayConfig
from .denials import (
    CONSENT_REQUIRED,
    INTROSPECTION_TIMEOUT,
    INTROSPECTION_UNAVAILABLE,
    INVALID_RECIPIENT,
    MISSING_RECIPIENT,
    POLICY_MISCONFIGURED,
    RECEIPT_TOO_LONG,
    EvidenceRefused,
    Invalid,
    consent_invalid,
)
from .franceconnect import Introspector, check_active, token_digest
from .policy import Policy, PolicyCache, PolicyError, compile_policy
from .receipt import MAX_RECEIPT_BYTES, ReceiptRules, verify_receipt
from .replay import (
    MemoryReplayStore,
    RedisReplayStore,
    ReplayStore,
    SqliteReplayStore,
    StoreReplayStore,
)
from .subject import subject_digest

if TYPE_CHECKING:
    pass

log = structlog.get_logger("api_particulier_consent")

RECEIPT_HEADER = "x-consent-receipt"


def build_replay_store(context: PluginContext, config: ReplayConfig) -> ReplayStore:
    redis, data_dir = context.redis, context.data_dir
    if config.backend == "memory":
        return MemoryReplayStore()
    if config.backend == "store":
        return StoreReplayStore(context.database)
    if config.backend == "redis":
        if redis is None:
            raise ConfigError(
                [
                    "[plugins.consent] replay.backend = 'redis' needs the deployment's Redis: "
                    "[core.redis] url, or API_PARTICULIER_REDIS_URL"
                ]
            )
        return RedisReplayStore(redis, config.redis_prefix)
    path = Path(config.path).expanduser() if config.path else data_dir / "consent-replay.sqlite3"
    return SqliteReplayStore(path)


def _evidence_sent(call: Call, policy: Policy) -> tuple[str, str] | None:
    """The first kind of evidence, in the policy's order, that this request carries.

    Evidence that was sent is always checked when the policy accepts its kind; the order
    decides only between several sent together. "identifiers" is the fallback when nothing
    else was sent.
    """
    for kind in policy.evidence:
        if kind == "receipt":
            receipt = call.headers.get(RECEIPT_HEADER)
            if receipt is not None:
                return kind, receipt
        elif kind == "franceconnect":
            token = _bearer(call)
            if token is not None:
                return kind, token
    return None


def _bearer(call: Call) -> str | None:
    value = call.headers.get("authorization")
    if value is None or value[:7].lower() != "bearer ":
        return None
    return value[7:].strip()


class ConsentPlugin:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.config = ConsentConfig()
        self._clock = clock
        self._policies = PolicyCache(self.config.default_policy)
        self._replay: ReplayStore | None = None
        self._introspector: Introspector | None = None

    # -- boot ------------------------------------------------------------------------------

    @hookimpl
    def config_schema(self) -> type[ConsentConfig]:
        return ConsentConfig

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        cli.add_command(consent_commands)

    @hookimpl
    def store_migrations(self) -> Path:
        """The table of used receipt ids (the "store" replay backend)."""
        return Path(__file__).parent / "migrations"

    @hookimpl
    async def startup(self, context: PluginContext) -> None:
        self.config = context.config
        self._policies = PolicyCache(self.config.default_policy)
        replay = build_replay_store(context, self.config.replay)
        await replay.open()
        self._replay = replay
        if self.config.franceconnect is not None:
            introspector = Introspector(self.config.franceconnect, clock=self._clock)
            await introspector.open()
            self._introspector = introspector

    @hookimpl
    async def shutdown(self) -> None:
        replay, self._replay = self._replay, None
        introspector, self._introspector = self._introspector, None
        if replay is not None:
            await replay.close()
        if introspector is not None:
            await introspector.close()

    @hookimpl
    def amend_openapi(self, document: dict[str, Any]) -> None:
        openapi.amend(document)

    # -- requests --------------------------------------------------------------------------

    def _policy(self, principal: Principal) -> Policy:
        return self._policies.get(principal.application_id, principal.settings.get("consent"))

    @hookimpl
    def allows_citizen_bearer(self, principal: Principal) -> bool | None:
        try:
            policy = self._policy(principal)
        except PolicyError:
            return None
        return True if policy.accepts("franceconnect") else None

    @hookimpl
    def check_application_settings(self, settings: Mapping[str, Any]) -> list[str] | None:
        if "consent" not in settings:
            return None
        try:
            compile_policy(settings["consent"], self.config.default_policy)
        except PolicyError as exc:
            return [str(exc)]
        return None

    @hookimpl
    async def check_consent(self, call: Call) -> Denial | None:
        principal = call.principal
        if call.route is None or principal is None:
            return None  # core routes (introspect) carry no citizen data
        try:
            policy = self._policy(principal)
        except PolicyError as exc:
            log.error(
                "consent_policy_invalid", application_id=principal.application_id, problem=str(exc)
            )
            return POLICY_MISCONFIGURED
        denial = self._check_recipient(call, policy)
        if denial is not None:
            return denial
        receipt = call.headers.get(RECEIPT_HEADER)
        if receipt is not None and len(receipt) > MAX_RECEIPT_BYTES:
            # Refused whatever the policy, as the document says: never read, never logged.
            return RECEIPT_TOO_LONG
        sent = _evidence_sent(call, policy)
        if sent is not None:
            return await self._check_sent(call, policy, *sent)
        if policy.accepts("identifiers"):
            call.consent_evidence = "identifiers"
            return None
        log.info(
            "consent_refused", application_id=principal.application_id, why=CONSENT_REQUIRED.error
        )
        return CONSENT_REQUIRED

    def _check_recipient(self, call: Call, policy: Policy) -> Denial | None:
        raw = call.query.get("recipient")
        value = raw.replace(" ", "") if raw is not None else ""
        if not value:
            return MISSING_RECIPIENT if policy.recipient_required else None
        if not is_valid_siret(value):
            return INVALID_RECIPIENT
        call.recipient = value
        return None

    async def _check_sent(self, call: Call, policy: Policy, kind: str, value: str) -> Denial | None:
        assert call.principal is not None
        try:
            if kind == "receipt":
                await self._check_receipt(call, policy, value)
                denial = None
            else:
                denial = await self._check_franceconnect(call, policy, value)
        except EvidenceRefused as refused:
            log.info(
                "consent_refused", application_id=call.principal.application_id,
                why=refused.why.name,
            )  # fmt: skip
            return consent_invalid(refused.why)
        if denial is not None:
            log.info(
                "consent_refused", application_id=call.principal.application_id, why=denial.error
            )
        return denial

    @staticmethod
    def _effective(call: Call, consented: frozenset[str]) -> frozenset[str]:
        """Key scopes ∩ consented scopes; refused when nothing of this route remains."""
        assert call.route is not None
        effective = call.scopes & consented
        if effective.isdisjoint(call.route.scopes):
            raise EvidenceRefused(Invalid.SCOPE)
        return effective

    async def _check_receipt(self, call: Call, policy: Policy, receipt: str) -> None:
        assert call.principal is not None and self._replay is not None
        config = self.config
        verified = verify_receipt(
            receipt,
            keys=policy.keys,
            rules=ReceiptRules(
                audience=config.audience,
                max_lifetime=config.max_lifetime,
                clock_skew=config.clock_skew,
            ),
            subject=subject_digest(call.subject()),
            now=self._clock(),
        )
        effective = self._effective(call, verified.scopes)
        # Last, so that a receipt refused for another reason is not spent.
        replay_key = f"{call.principal.application_id}:{verified.jti}"
        if not await self._replay.first_use(replay_key, verified.expires_at):
            raise EvidenceRefused(Invalid.REPLAYED)
        call.scopes = effective
        call.consent_evidence = f"receipt:{verified.jti}"

    async def _check_franceconnect(self, call: Call, policy: Policy, token: str) -> Denial | None:
        introspector = self._introspector
        if introspector is None:
            log.error("franceconnect_not_configured")
            return POLICY_MISCONFIGURED
        try:
            info = await introspector.check(token)
        except ProviderTimeout:
            return INTROSPECTION_TIMEOUT
        except ProviderError:
            return INTROSPECTION_UNAVAILABLE
        check_active(info, self._clock(), policy.franceconnect_client_id)
        if info.identity is None:
            # Without the holder's identity, nothing ties the token to the citizen the
            # parameters name: any citizen's token would open anyone's data.
            raise EvidenceRefused(Invalid.FC_NO_IDENTITY)
        call.scopes = self._effective(call, info.scopes)
        call.consent_evidence = f"franceconnect:{token_digest(token)}"
        # The core sends the answer only if it is about the token's holder (contract §2:
        # consent evidence is bound to the citizen the parameters name).
        call.bound_to = info.identity.citizen()
        return None
