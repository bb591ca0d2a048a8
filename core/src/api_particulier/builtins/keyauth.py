"""Built-in authentication by API key (contract §2).

Keys travel in the ``X-Api-Key`` header only. A verified key is cached for a few seconds
(``[core.auth] cache_ttl``), which bounds how long a revocation takes to apply; refusals are
never cached, so a flood of random keys cannot grow memory, and a malformed key is refused
before any store lookup. When the store cannot be reached, keys verified within the TTL
keep working and the others are answered 503 (never 500) until it is back.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import structlog

from .. import keys
from ..context import PluginContext
from ..faults import Faults
from ..markers import hookimpl
from ..responses import ACCESS_DENIED
from ..settings import AuthConfig
from ..store import KeyMatch, KeyStore, StoreUnavailable
from ..types import Call, Denial, Principal

log = structlog.get_logger("api_particulier.keyauth")

KEY_IN_QUERY = Denial(
    status=401,
    error="access_denied",
    reason="API keys are accepted in the X-Api-Key header only",
    message="Votre jeton d'API doit être transmis dans l'en-tête X-Api-Key, jamais dans l'adresse",
)
KEY_STORE_UNAVAILABLE = Denial(
    status=503,
    error="service_unavailable",
    reason="The store is not available",
    message="Le service est momentanément indisponible, veuillez réessayer",
    headers={"retry-after": "1"},
)
# Lower-cased: `?token=`, `?API-Key=`, `?apiKey=` … are all refused.
_QUERY_KEY_NAMES = frozenset({"token", "api-key", "apikey", "api_key", "x-api-key"})


class KeyAuthPlugin:
    """Built in: the core registers it with the stores and the pepper it was built with."""

    def __init__(
        self, store: KeyStore, pepper: bytes, config: AuthConfig, faults: Faults | None = None
    ) -> None:
        self._store = store
        self._faults = faults if faults is not None else Faults()
        self._pepper = pepper
        self._ttl = config.cache_ttl
        self._size = config.cache_size
        # key → (principal, trusted until); bounded, oldest entry evicted first. Keyed by the
        # key itself so that a hit costs one dict lookup: the entry lives no longer than the
        # TTL after the key's last verification, in this process's memory only.
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        # Whether the store holds keys imported from the historic service (checked again
        # at most once a minute, so importing keys needs no restart).
        self._imported_keys = False
        self._imported_checked = 0.0

    @hookimpl
    async def startup(self, context: PluginContext) -> None:
        try:
            await self._has_imported_keys()
        except StoreUnavailable:
            self._faults.report("store")  # asked again by the first legacy-shaped key
        # A key revoked or an application changed by another host is forgotten at once
        # where the store announces it (PostgreSQL), within cache_ttl anyway.
        context.background(lambda: self._store.watch_changes(self.forget))

    def forget(self, changed: str) -> None:
        """Drop the cached keys of this key id or application id."""
        stale = [
            key
            for key, (principal, _) in self._cache.items()
            if changed in (principal.key_id, principal.application_id)
        ]
        for key in stale:
            del self._cache[key]

    @hookimpl
    async def authenticate(self, call: Call) -> Principal | Denial | None:
        for name in call.query:
            if name.lower() in _QUERY_KEY_NAMES:
                return KEY_IN_QUERY
        key = call.headers.get("x-api-key")
        if key is None:
            return None
        return await self.verify(key.strip())

    def _cached(self, key: str) -> Principal | None:
        """The principal of a key verified less than ``cache_ttl`` ago and not expired."""
        cached = self._cache.get(key)
        if cached is None or cached[1] <= time.monotonic():
            return None
        principal = cached[0]
        if principal.expires_at is not None and principal.expires_at <= time.time():
            return None
        return principal

    async def verify(self, key: str) -> Principal | Denial:
        now = time.time()
        principal = self._cached(key)
        if principal is not None:
            return principal
        try:
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
        except StoreUnavailable as exc:
            log.warning("key_store_unavailable", problem=str(exc))
            self._faults.report("store")
            return KEY_STORE_UNAVAILABLE
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
        """Whether the store holds keys imported from the historic service (asked at most
        once a minute until it does). The store away, the caller answers 503: a legacy key
        cannot be told from an unknown one without it."""
        if not self._imported_keys and time.monotonic() - self._imported_checked > 60:
            self._imported_keys = await self._store.has_imported_keys()
            self._imported_checked = time.monotonic()
        return self._imported_keys

    async def _lookup(self, digest: str, now: float) -> KeyMatch | None:
        return await self._store.find_active_key(digest, now)

    async def _upgrade_legacy(self, key: str, digest: str, now: float) -> KeyMatch | None:
        match = await self._store.find_active_legacy_key(keys.legacy_digest(key), now)
        if match is not None:
            await self._store.upgrade_legacy_key(match.key.id, digest)
            log.info("legacy_key_upgraded", key_id=match.key.id)
        return match

    def _remember(self, key: str, principal: Principal) -> None:
        self._cache[key] = (principal, time.monotonic() + self._ttl)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
