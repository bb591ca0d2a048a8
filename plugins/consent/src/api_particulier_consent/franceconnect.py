"""Checking a citizen's FranceConnect access token at an introspection endpoint.

Two answer shapes are understood:

- ``rfc7662`` (RFC 7662): ``POST token=…&token_type_hint=access_token`` with HTTP Basic
  client credentials; answer ``{"active": bool, "scope": "a b", "exp": int, "client_id": …}``.
- ``checktoken`` (FranceConnect v1 for data providers): ``POST {"token": "…"}``; a 200
  answer ``{"scope": ["a", "b"], "client": {"client_id": …}, "token_lifetime": s?, …}`` means
  active, any 4xx answer means unknown or expired.

Answers are cached under a digest of the token (never the token), for the configured time
and never past the token's own expiry.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import msgspec
import structlog
from api_particulier import CitizenIdentity, ProviderBadResponse, Upstream, UpstreamResponse
from msgspec import Meta

from .config import FranceConnectConfig
from .denials import EvidenceRefused, Invalid

log = structlog.get_logger("api_particulier_consent.franceconnect")

# RFC 6750 b64token; anything else never reaches the introspection endpoint.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{1,4096}={0,2}", re.ASCII)
# Inactive answers are final (a token never becomes active again) but kept briefly, so a
# stale token retried in a loop does not hammer the endpoint.
_NEGATIVE_TTL = 60.0


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    """The citizen's identity as FranceConnect gives it (the "pivot" identity's claims)."""

    given_name: str | None = None
    family_name: str | None = None
    # YYYY-MM-DD
    birthdate: str | None = None

    def citizen(self) -> CitizenIdentity:
        """The identity the core binds a call to (a missing claim binds to no one)."""
        return CitizenIdentity(
            given_name=self.given_name or "",
            family_name=self.family_name or "",
            birthdate=self.birthdate or "",
        )


@dataclass(frozen=True, slots=True)
class TokenInfo:
    active: bool
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    expires_at: float | None = None
    # Who the token belongs to, when the endpoint says (checktoken's ``identity``, or the
    # claims of an RFC 7662 answer).
    identity: Identity | None = None


class _Rfc7662(msgspec.Struct, kw_only=True):
    active: bool
    scope: str = ""
    # Unix seconds; bounded, so that no answer overflows a float (and any real one fits).
    exp: Annotated[float, Meta(ge=0, le=1e12)] | None = None
    client_id: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    birthdate: str | None = None


class _CheckTokenClient(msgspec.Struct, kw_only=True):
    client_id: str | None = None


class _CheckToken(msgspec.Struct, kw_only=True):
    scope: list[str] | str
    client: _CheckTokenClient | None = None
    token_lifetime: Annotated[float, Meta(ge=0, le=1e9)] | None = None
    identity: Identity | None = None


def token_digest(token: str) -> str:
    """The evidence id of a token: SHA-256, hex, shortened; not reversible to the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


def well_formed(token: str) -> bool:
    """Whether ``token`` has a bearer token's shape (RFC 6750's b64token, 4 KiB at most,
    two padding characters at most): anything else is refused before anyone is asked."""
    return _TOKEN.fullmatch(token) is not None


class Introspector:
    def __init__(
        self,
        config: FranceConnectConfig,
        *,
        clock: Callable[[], float] = time.time,
        upstream: Upstream | None = None,
        client_secret: str | None = None,
    ) -> None:
        self.config = config
        # The client secret as text, for a sandbox whose secret is no environment
        # variable; otherwise config.client_secret's.
        self._client_secret = client_secret
        self._clock = clock
        self._upstream = upstream or Upstream(
            "franceconnect_introspection",
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
        )
        self._cache: OrderedDict[str, tuple[TokenInfo, float]] = OrderedDict()

    async def open(self) -> None:
        await self._upstream.open()

    async def close(self) -> None:
        await self._upstream.close()
        self._cache.clear()

    def _headers(self) -> dict[str, str]:
        headers = {"accept": "application/json"}
        configured = self.config.client_secret
        secret = self._client_secret or (configured.reveal() if configured is not None else None)
        if self.config.client_id and secret is not None:
            pair = f"{self.config.client_id}:{secret}".encode()
            headers["authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers

    async def check(self, token: str) -> TokenInfo:
        """The token's state; raises EvidenceRefused for a malformed token and the provider
        errors of :mod:`api_particulier.errors` when the endpoint cannot answer."""
        if not well_formed(token):
            raise EvidenceRefused(Invalid.FC_MALFORMED)
        digest = token_digest(token)
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del self._cache[digest]
        info = await self._ask(token)
        self._remember(digest, info, now)
        return info

    async def _ask(self, token: str) -> TokenInfo:
        headers = self._headers()
        if self.config.shape == "rfc7662":
            response = await self._upstream.request(
                "POST",
                self.config.introspection_url,
                data={"token": token, "token_type_hint": "access_token"},
                headers=headers,
                operation="introspect",
            )
            return self._read_rfc7662(response)
        headers["content-type"] = "application/json"
        response = await self._upstream.request(
            "POST",
            self.config.introspection_url,
            data=msgspec.json.encode({"token": token}),
            headers=headers,
            operation="checktoken",
        )
        return self._read_checktoken(response)

    def _read_rfc7662(self, response: UpstreamResponse) -> TokenInfo:
        if response.status != 200:
            log.warning("introspection_refused", status=response.status)
            raise ProviderBadResponse()
        try:
            answer = msgspec.json.decode(response.body, type=_Rfc7662)
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise ProviderBadResponse() from None
        if not answer.active:
            return TokenInfo(active=False)
        return TokenInfo(
            active=True,
            scopes=self._map_scopes(answer.scope.split()),
            client_id=answer.client_id,
            expires_at=float(answer.exp) if answer.exp is not None else None,
            identity=Identity(
                given_name=answer.given_name,
                family_name=answer.family_name,
                birthdate=answer.birthdate,
            )
            if answer.family_name
            else None,
        )

    def _read_checktoken(self, response: UpstreamResponse) -> TokenInfo:
        if 400 <= response.status < 500 and response.status not in (401, 403, 429):
            return TokenInfo(active=False)
        if response.status != 200:
            log.warning("introspection_refused", status=response.status)
            raise ProviderBadResponse()
        try:
            answer = msgspec.json.decode(response.body, type=_CheckToken)
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise ProviderBadResponse() from None
        scopes = answer.scope.split() if isinstance(answer.scope, str) else answer.scope
        lifetime = answer.token_lifetime
        return TokenInfo(
            active=True,
            scopes=self._map_scopes(scopes),
            client_id=answer.client.client_id if answer.client else None,
            expires_at=self._clock() + float(lifetime) if lifetime is not None else None,
            identity=answer.identity,
        )

    def _map_scopes(self, consented: list[str]) -> frozenset[str]:
        mapped: set[str] = set()
        for scope in consented:
            mapped.update(self.config.scopes.get(scope, ()))
            if self.config.pass_through_api_scopes:
                mapped.add(scope)
        return frozenset(mapped)

    def _remember(self, digest: str, info: TokenInfo, now: float) -> None:
        if info.active:
            until = now + self.config.cache_ttl
            if info.expires_at is not None:
                until = min(until, info.expires_at)
        else:
            until = now + min(self.config.cache_ttl, _NEGATIVE_TTL)
        if until <= now:
            return
        self._cache[digest] = (info, until)
        while len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)


def check_active(info: TokenInfo, now: float, client_id: str | None) -> TokenInfo:
    """Refuse an inactive or expired token, or one issued to another FranceConnect client."""
    if not info.active or (info.expires_at is not None and info.expires_at <= now):
        raise EvidenceRefused(Invalid.FC_INACTIVE)
    if client_id is not None and info.client_id != client_id:
        raise EvidenceRefused(Invalid.FC_CLIENT)
    return info
