"""A provider for tests of policies and of the core: it answers what each test sets.

``EchoProvider`` serves ``/api/v2/echo?numero=12345&code=AB`` (``numero``: five digits,
spaces removed; ``code``: two capitals) with a nested answer — ``personne`` (a container:
``nom``, ``age``) and ``revenu`` — under three scopes, and records who it was asked about.
Set ``outcome`` to a function of the call giving the payload (or raising a provider
error); it may be ``async``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import msgspec

from ..markers import hookimpl
from ..types import Call, Provider, ProviderRoute, RouteExamples

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
ALL_ECHO_SCOPES = ["echo_nom", "echo_age", "echo_revenu"]
ECHO_SCOPE_LABELS = {"echo_nom": "Nom", "echo_age": "Âge", "echo_revenu": "Revenu"}
GOOD_PARAMS = {"numero": "12345", "code": "AB"}
UNKNOWN_PARAMS = {"numero": "00000", "code": "AB"}


class EchoProvider:
    """See the module. Subclasses may serve another path or declare another response."""

    path = "/api/v2/echo"
    response: type[msgspec.Struct] = EchoBody
    deadline: float | None = 10.0
    # Set to make the route cacheable by a response cache (seconds).
    cache_ttl: float | None = None

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.outcome: Callable[[Call], Any] = _default_outcome
        self.healthy = True
        self.health_calls = 0

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
            cache_ttl=self.cache_ttl,
            examples=RouteExamples(
                found=GOOD_PARAMS, not_found=UNKNOWN_PARAMS, invalid={"numero": "12", "code": "AB"}
            ),
        )
        register(
            Provider(
                routes=(route,),
                health_path="/api/echo/ping",
                health=self.health,
                scope_labels=ECHO_SCOPE_LABELS,
            )
        )

    async def fetch(self, call: Call) -> Any:
        self.calls.append(call.subject())
        result = self.outcome(call)
        return await result if inspect.isawaitable(result) else result

    async def health(self) -> bool:
        self.health_calls += 1
        return self.healthy


def _default_outcome(call: Call) -> Any:
    from ..errors import SubjectNotFound

    if call.subject().get("numero") == UNKNOWN_PARAMS["numero"]:
        raise SubjectNotFound()
    hidden = "do not show"  # a field the tree never declares, not a password
    return EchoBody(personne=Person(nom="MARTIN", age=42), revenu=None, secret=hidden)
