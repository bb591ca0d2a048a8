"""The whole plugin: configuration, parameters, answer, scopes, and the fetch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import msgspec
from api_particulier import (
    Call,
    Provider,
    ProviderRoute,
    RouteExamples,
    SubjectNotFound,
    hookimpl,
)


class HelloConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[plugins.hello]`` table."""

    greeting: str = "Bonjour"


class HelloParams(msgspec.Struct, frozen=True, kw_only=True):
    identifiant: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[0-9]{4}$",
            extra={"message": "L'identifiant n'est pas correctement formaté"},
        ),
    ]


class Greeting(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    langue: str


# A fictional data set: identifiers that exist.
_KNOWN = {"0001": "fr", "0002": "br"}


class HelloPlugin:
    def __init__(self) -> None:
        self.config = HelloConfig()

    @hookimpl
    def config_schema(self) -> type[HelloConfig]:
        return HelloConfig

    @hookimpl
    def register_providers(self, register: Callable[[Provider], None], config: HelloConfig) -> None:
        self.config = config
        route = ProviderRoute(
            path="/api/hello",
            params=HelloParams,
            response=Greeting,
            # Each leaf names the scope that unmasks it.
            fields={"message": "hello_message", "langue": "hello_langue"},
            fetch=self.fetch,
            summary="Greet a citizen",
            provider_statuses=(404,),
            # Answers come from memory: nothing to wait on.
            deadline=None,
            # What the contract suite asks about: a citizen, a stranger, a bad identifier.
            examples=RouteExamples(
                found={"identifiant": "0001"},
                not_found={"identifiant": "0009"},
                invalid={"identifiant": "x"},
            ),
        )
        register(
            Provider(
                routes=(route,),
                health_path="/api/hello/ping",
                health=self.health,
                # What people read for each scope (access requests, citizens' report).
                scope_labels={"hello_message": "Message d'accueil", "hello_langue": "Langue"},
            )
        )

    async def fetch(self, call: Call) -> Greeting:
        assert isinstance(call.params, HelloParams)
        language = _KNOWN.get(call.params.identifiant)
        if language is None:
            raise SubjectNotFound(message="Aucun citoyen ne porte cet identifiant")
        return Greeting(message=self.config.greeting, langue=language)

    async def health(self) -> bool:
        return True
