"""Small plugins the core's tests assemble applications from."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from api_particulier import Call, Provider, ProviderRoute, hookimpl

NUMERO_MESSAGE = "Le numéro n'est pas correctement formaté"
CODE_MESSAGE = "Le code n'est pas correctement formaté"


class EchoParams(msgspec.Struct, frozen=True, kw_only=True):
    numero: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[0-9]{5}$", extra={"message": NUMERO_MESSAGE, "remove_spaces": True}
        ),
    ]
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", extra={"message": CODE_MESSAGE})]


class Person(msgspec.Struct, frozen=True):
    nom: str
    age: int


class EchoBody(msgspec.Struct, frozen=True):
    personne: Person
    revenu: int | None
    secret: str


ECHO_FIELDS = {
    "personne": {"nom": "echo_nom", "age": "echo_age"},
    "revenu": "echo_revenu",
    # "secret" is returned by the provider but declared nowhere: it must never be shown.
}


class EchoProvider:
    """A provider whose behaviour each test sets: a body, or an exception to raise.

    Subclasses may serve another path or declare another response Struct.
    """

    name = "echo"
    path = "/api/v2/echo"
    response: type[msgspec.Struct] = EchoBody
    deadline: float | None = 10.0

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.outcome: Callable[[Call], Any] = lambda call: EchoBody(
            personne=Person(nom="MARTIN", age=42), revenu=None, secret="do not show"
        )

    @hookimpl
    def register_providers(self, register: Callable[[Provider], None]) -> None:
        route = ProviderRoute(
            path=self.path,
            params=EchoParams,
            response=self.response,
            fields=ECHO_FIELDS,
            fetch=self.fetch,
            summary="Echo",
            provider_statuses=(404, 502, 503, 504),
            deadline=self.deadline,
        )
        register(
            Provider(
                routes=(route,),
                health_path=f"/api/{self.name}/ping",
                health=self.health,
            )
        )

    async def fetch(self, call: Call) -> Any:
        self.calls.append(call.subject())
        result = self.outcome(call)
        return await result if inspect.isawaitable(result) else result

    healthy = True
    health_calls = 0

    async def health(self) -> bool:
        self.health_calls += 1
        return self.healthy


ALL_ECHO_SCOPES = ["echo_nom", "echo_age", "echo_revenu"]
GOOD_PARAMS = {"numero": "12345", "code": "AB"}
