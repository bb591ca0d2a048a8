"""Plugins composed in one service: what two of them declare never clashes in the OpenAPI
document, and a deployer's Starlette middleware sees every route, data routes included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec
import pytest
from api_particulier import Call, Provider, ProviderRoute, hookimpl
from api_particulier.app import create_app
from api_particulier.testing import TestClient, app_client, make_settings
from openapi_spec_validator import validate
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .support import ALL_ECHO_SCOPES, GOOD_PARAMS, EchoProvider

pytestmark = pytest.mark.anyio


def provider_with_an_answer_named_answer(path: str, scope: str) -> type:
    """A plugin whose response Struct is called ``Answer`` — as another plugin's may be."""

    class Answer(msgspec.Struct, frozen=True):
        value: str

    class Params(msgspec.Struct, frozen=True):
        id: str

    Answer.__module__ = Params.__module__ = f"plugin_{scope}.models"

    class Plugin:
        @hookimpl
        def register_providers(self, register: Callable[[Provider], None]) -> None:
            route = ProviderRoute(
                path=path,
                params=Params,
                response=Answer,
                fields={"value": scope},
                fetch=self.fetch,
                summary=path,
                deadline=None,
            )
            register(Provider(routes=(route,)))

        async def fetch(self, call: Call) -> Answer:
            return Answer(value="x")

    return Plugin


async def test_structs_of_the_same_name_in_two_plugins(tmp_path: Path) -> None:
    plugins = {
        "one": provider_with_an_answer_named_answer("/api/one", "one_value"),
        "two": provider_with_an_answer_named_answer("/api/two", "two_value"),
    }
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        document = (await client.http.get("/api/open-api.json")).json()
        key = await client.key(["one_value"])
        answered = await client.http.get("/api/one", params={"id": "1"}, headers={"X-Api-Key": key})
    validate(document)
    refs = {
        path: document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]["$ref"]
        for path in ("/api/one", "/api/two")
    }
    assert refs["/api/one"] != refs["/api/two"]
    assert answered.json() == {"value": "x"}


class StampingMiddleware:
    """A deployer's middleware: stamps every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-stamp", b"deployer")]
            await send(message)

        await self.app(scope, receive, stamped)


async def test_a_deployers_middleware_applies_to_data_routes_too(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), plugins={"echo": EchoProvider()})
    app.starlette.add_middleware(StampingMiddleware)
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            client = TestClient(app=app, http=http)
            key = await client.key(ALL_ECHO_SCOPES)
            data = await http.get("/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": key})
            ping = await http.get("/api/ping")
    assert data.status_code == 200
    assert data.headers["x-stamp"] == "deployer"
    assert ping.headers["x-stamp"] == "deployer"
