"""A FranceConnect-like token introspection server, for tests and local integration.

It issues access tokens with chosen scopes, lifetimes and clients, revokes them, and
answers both shapes the plugin understands on 127.0.0.1:

- ``POST /introspect`` — RFC 7662, client authenticated with HTTP Basic;
- ``POST /api/v1/checktoken`` — FranceConnect's historic shape, ``{"token": …}``.

Usage::

    async with IntrospectionSimulator(client_id="api", client_secret="s3cret") as fc:
        token = fc.issue(["dgfip_revenu_fiscal_reference"], lifetime=60)
        ... # [plugins.consent.franceconnect] introspection_url = fc.url + "/introspect"
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

import msgspec
from aiohttp import web

# Tokens held at most: a running sandbox must not grow with every token it hands out.
MAX_TOKENS = 10_000


@dataclass
class IssuedToken:
    scopes: tuple[str, ...]
    expires_at: float
    client_id: str
    revoked: bool = False
    # The citizen's pivot identity claims (given_name, family_name, birthdate).
    identity: dict[str, str] | None = None


@dataclass
class IntrospectionSimulator:
    client_id: str = "api-particulier"
    client_secret: str = "introspection-secret"  # noqa: S105 - a test server's fixed secret
    clock: Callable[[], float] = time.time
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    # How many introspection requests arrived (to prove caching and "never called").
    requests: int = 0
    # When set, every answer is this HTTP status with an empty body (upstream trouble).
    fail_status: int | None = None
    # Seconds to wait before answering (timeouts).
    delay: float = 0.0
    url: str = ""
    _runner: web.AppRunner | None = None

    def issue(
        self,
        scopes: Iterable[str],
        *,
        lifetime: float = 600,
        client_id: str = "fc-client",
        identity: Mapping[str, str] | None = None,
    ) -> str:
        if len(self.tokens) >= MAX_TOKENS:
            self._forget_dead()
        token = secrets.token_urlsafe(32)
        self.tokens[token] = IssuedToken(
            scopes=tuple(scopes),
            expires_at=self.clock() + lifetime,
            client_id=client_id,
            identity=dict(identity) if identity is not None else None,
        )
        return token

    def _forget_dead(self) -> None:
        """Drop expired and revoked tokens; past the bound still, the oldest (the embedded
        mode's page issues one per click, to anyone)."""
        now = self.clock()
        for token in [t for t, i in self.tokens.items() if i.revoked or i.expires_at <= now]:
            del self.tokens[token]
        while len(self.tokens) >= MAX_TOKENS:
            del self.tokens[next(iter(self.tokens))]

    def revoke(self, token: str) -> None:
        self.tokens[token].revoked = True

    def _live(self, token: str) -> IssuedToken | None:
        issued = self.tokens.get(token)
        if issued is None or issued.revoked or issued.expires_at <= self.clock():
            return None
        return issued

    async def _before(self) -> web.Response | None:
        self.requests += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_status is not None:
            return web.Response(status=self.fail_status)
        return None

    async def _introspect(self, request: web.Request) -> web.Response:
        failed = await self._before()
        if failed is not None:
            return failed
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client"}, status=401)
        form = await request.post()
        token = form.get("token")
        issued = self._live(token) if isinstance(token, str) else None
        if issued is None:
            return web.json_response({"active": False})
        return web.json_response(
            {
                "active": True,
                "scope": " ".join(issued.scopes),
                "exp": int(issued.expires_at),
                "client_id": issued.client_id,
                "token_type": "access_token",
                **(issued.identity or {}),
            }
        )

    async def _checktoken(self, request: web.Request) -> web.Response:
        failed = await self._before()
        if failed is not None:
            return failed
        try:
            body = msgspec.json.decode(await request.read())
        except msgspec.DecodeError:
            body = None
        token = body.get("token") if isinstance(body, dict) else None
        issued = self._live(token) if isinstance(token, str) else None
        if issued is None:
            return web.json_response(
                {"status": "fail", "message": "Le jeton d'accès n'a pas été trouvé ou est expiré."},
                status=400,
            )
        return web.json_response(
            {
                "scope": list(issued.scopes),
                "identity": issued.identity or {"given_name": "Camille", "family_name": "Martin"},
                "client": {"client_id": issued.client_id, "name": "Service de test"},
                "token_lifetime": int(issued.expires_at - self.clock()),
            }
        )

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/introspect", self._introspect)
        app.router.add_post("/api/v1/checktoken", self._checktoken)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._runner = runner
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> IntrospectionSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
