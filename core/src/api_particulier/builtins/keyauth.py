"""Built-in authentication by API key (contract §2).

Keys travel in the ``X-Api-Key`` header only. A verified key is cached for a few seconds
(``[core.auth] cache_ttl``), which bounds how long a revocation takes to apply; refusals are
never cached, so a flood of random keys cannot grow memory, and a malformed key is refused
before any store lookup.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import structlog

from .. import hookimpl, keys
from ..plan import Phase, Step
from ..responses import ACCESS_DENIED
from ..types import Call, Denial, Principal

if TYPE_CHECKING:
    from ..app import ApiApp
    from ..store import KeyMatch, KeyStore

log = structlog.get_logger("api_particulier.keyauth")

KEY_IN_QUERY = Denial(
    status=401,
    error="access_denied",
    reason="API keys are accepted in the X-Api-Key header only",
    message="Votre jeton d'API doit être transmis dans l'en-tête X-Api-Key, jamais dans l'adresse",
)
TOO_MANY_CREDENTIALS = Denial(
    status=401,
    error="too_many_credentials_provided",
    reason="Too many credentials provided, both API key and access token were found",
    message="Votre requête porte trop de moyens d'authentification, veuillez choisir entre "
    "clé d'API ou jeton FranceConnect",
)
# Lower-cased: `?token=`, `?API-Key=`, `?apiKey=` … are all refused.
_QUERY_KEY_NAMES = frozenset({"token", "api-key", "apikey", "api_key", "x-api-key"})


class KeyAuthPlugin:
    def __init__(self) -> None:
        self._store: KeyStore | None = None
        self._bearer_steps: tuple[Step, ...] = ()
        self._pepper = b""
        self._ttl = 5.0
        self._size = 10_000
        # key → (principal, trusted until); bounded, oldest entry evicted first. Keyed by the
        # key itself so that a hit costs one dict lookup: the entry lives no longer than the
        # TTL after the key's last verification, in this process's memory only.
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        # Whether the store holds keys imported from the historic service (checked again
        # at most once a minute, so importing keys needs no restart).
        self._imported_keys = False
        self._imported_checked = 0.0

    @hookimpl
    async def startup(self, app: ApiApp) -> None:
        self._store = app.key_store
        self._bearer_steps = app.plan.for_phase(Phase.allows_citizen_bearer)
        self._pepper = app.pepper
        self._ttl = app.settings.core.auth.cache_ttl
        self._size = app.settings.core.auth.cache_size
        await self._has_imported_keys()

    @hookimpl
    def authenticate(self, call: Call) -> Principal | Denial | Coroutine[Any, Any, Any] | None:
        for name in call.query:
            if name.lower() in _QUERY_KEY_NAMES:
                return KEY_IN_QUERY
        headers = call.headers
        key = headers.get("x-api-key")
        if key is None:
            return None
        key = key.strip()
        bearer = headers.get("authorization", "")[:7].lower() == "bearer "
        principal = self._cached(key)
        if principal is not None:
            return self._with_bearer(principal, bearer)
        return self._authenticate_from_store(key, bearer)

    async def _authenticate_from_store(self, key: str, bearer: bool) -> Principal | Denial:
        outcome = await self.verify(key)
        return self._with_bearer(outcome, bearer) if isinstance(outcome, Principal) else outcome

    def _with_bearer(self, principal: Principal, bearer: bool) -> Principal | Denial:
        if bearer and not self._bearer_allowed(principal):
            return TOO_MANY_CREDENTIALS
        return principal

    def _cached(self, key: str) -> Principal | None:
        """The principal of a key verified less than ``cache_ttl`` ago and not expired."""
        cached = self._cache.get(key)
        if cached is None or cached[1] <= time.monotonic():
            return None
        principal = cached[0]
        if principal.expires_at is not None and principal.expires_at <= time.time():
            return None
        return principal

    def _bearer_allowed(self, principal: Principal) -> bool:
        return any(step.call(principal=principal) is True for step in self._bearer_steps)

    async def verify(self, key: str) -> Principal | Denial:
        now = time.time()
        principal = self._cached(key)
        if principal is not None:
            return principal
        if keys.is_well_formed(key):
            imported = False
        elif keys.may_be_legacy(key) and await self._has_imported_keys():
            imported = True
        else:
            return ACCESS_DENIED
        digest = keys.digest(self._pepper, key)
        match = await self._lookup(digest, now)
        if match is None and imported:
            match = await self._upgrade_legacy(key, digest, now)
        if match is None or not match.key.is_active(now):
            return ACCESS_DENIED
        application = match.application
        if application.expires_at is not None and application.expires_at <= now:
            return ACCESS_DENIED
        expiries = [t for t in (match.key.expires_at, application.expires_at) if t is not None]
        principal = Principal(
            key_id=match.key.id,
            application_id=application.id,
            application_name=application.name,
            scopes=frozenset(application.scopes),
            expires_at=min(expiries) if expiries else None,
            settings=application.settings,
        )
        self._remember(key, principal)
        return principal

    async def _has_imported_keys(self) -> bool:
        if not self._imported_keys and time.monotonic() - self._imported_checked > 60:
            assert self._store is not None
            self._imported_checked = time.monotonic()
            self._imported_keys = await self._store.has_imported_keys()
        return self._imported_keys

    async def _lookup(self, digest: str, now: float) -> KeyMatch | None:
        assert self._store is not None
        return await self._store.find_active_key(digest, now)

    async def _upgrade_legacy(self, key: str, digest: str, now: float) -> KeyMatch | None:
        assert self._store is not None
        match = await self._store.find_active_legacy_key(keys.legacy_digest(key), now)
        if match is not None:
            await self._store.upgrade_legacy_key(match.key.id, digest)
            log.info("legacy_key_upgraded", key_id=match.key.id)
        return match

    def _remember(self, key: str, principal: Principal) -> None:
        self._cache[key] = (principal, time.monotonic() + self._ttl)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
