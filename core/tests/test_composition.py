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
from starlette.middleware.trustedhost import TrustedHostMiddleware
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
    """A deployer's middleware: stamps every answer with its value."""

    def __init__(self, app: ASGIApp, value: str = "deployer") -> None:
        self.app = app
        self.value = value.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-stamp", self.value)]
            await send(message)

        await self.app(scope, receive, stamped)


async def test_a_deployers_middleware_applies_to_data_routes_too(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), plugins={"echo": EchoProvider()})
    app.add_middleware(StampingMiddleware, value="inner")
    app.add_middleware(StampingMiddleware, value="outer")
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            client = TestClient(app=app, http=http)
            key = await client.key(ALL_ECHO_SCOPES)
            answers = [
                await http.get("/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": key}),
                await http.head("/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": key}),
                await http.get("/api/v2/echo"),
                await http.get("/api/v2/echo/"),
                await http.get("/api/ping"),
            ]
        with pytest.raises(RuntimeError, match="before the application starts"):
            app.add_middleware(StampingMiddleware)
    assert [answer.status_code for answer in answers] == [200, 200, 401, 404, 200]
    for answer in answers:
        # The last added is the outermost: it stamps last.
        assert answer.headers.get_list("x-stamp") == ["inner", "outer"]


async def test_starlettes_own_middleware_guards_data_routes(tmp_path: Path) -> None:
    # The example of quickstart.md §6.
    app = create_app(make_settings(tmp_path), plugins={"echo": EchoProvider()})
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["particulier.example.fr"])
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            client = TestClient(app=app, http=http)
            key = await client.key(ALL_ECHO_SCOPES)
            headers = {"X-Api-Key": key}
            elsewhere = await http.get("/api/v2/echo", params=GOOD_PARAMS, headers=headers)
            ours = await http.get(
                "http://particulier.example.fr/api/v2/echo", params=GOOD_PARAMS, headers=headers
            )
    assert elsewhere.status_code == 400
    assert ours.status_code == 200
