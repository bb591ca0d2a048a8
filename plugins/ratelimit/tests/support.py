"""A tiny data provider to put the rate limit in front of."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import msgspec
from api_particulier import Call, Provider, ProviderRoute, hookimpl

PATH = "/api/echo"
SCOPE = "echo_valeur"
OTHER_SCOPE = "autre_chose"


class EchoParams(msgspec.Struct, frozen=True, kw_only=True):
    numero: Annotated[
        str,
        msgspec.Meta(pattern=r"^[0-9]{3}$", extra={"message": "Le numéro est mal formé"}),
    ]


class Echo(msgspec.Struct, frozen=True, kw_only=True):
    valeur: str


class EchoPlugin:
    @hookimpl
    def register_providers(self, register: Callable[[Provider], None]) -> None:
        register(
            Provider(
                name="echo",
                routes=(
                    ProviderRoute(
                        path=PATH,
                        params=EchoParams,
                        response=Echo,
                        fields={"valeur": SCOPE},
                        fetch=self.fetch,
                        summary="Echo",
                    ),
                ),
            )
        )

    async def fetch(self, call: Call) -> Echo:
        assert isinstance(call.params, EchoParams)
        return Echo(valeur=call.params.numero)
